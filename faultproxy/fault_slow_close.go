package faultproxy

import "time"

// SlowClose delays propagating the end of stream (FIN) in its direction by
// Delay. Toxiproxy type "slow_close", attribute "delay" (ms).
type SlowClose struct {
	Name      string    // default "slow_close_<direction>"
	Direction Direction // default Downstream
	Scope     Scope
	Delay     time.Duration // >= 0
}

// Type implements Fault.
func (SlowClose) Type() string { return "slow_close" }

// Validate implements Fault.
func (f SlowClose) Validate() error {
	if err := validateCommon(f.Type(), f.Direction, f.Scope); err != nil {
		return err
	}
	return nonNeg(f.Type(), "Delay", "delay", int64(f.Delay))
}

func (f SlowClose) meta() faultMeta { return faultMeta{f.Name, f.Direction, f.Scope, levelStream} }

type slowCloseB struct{ f SlowClose }

func (b *slowCloseB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

func (b *slowCloseB) onEOF(in *instance) error {
	in.decide("delay_close", b.f.Delay.String())
	_, err := in.wait(time.Now().Add(b.f.Delay))
	return err
}

// slowCloseKind registers SlowClose (see registry.go).
var slowCloseKind = faultKind{
	typ: "slow_close", goType: "SlowClose", level: "stream", where: "stream",
	toxiproxy: true, stream: "downstream",
	summary: "`delay` ms",
	attrs:   []AttrSpec{{"delay", "ms", "delay before propagating EOF"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return SlowClose{Name: name, Direction: dir, Scope: sc, Delay: a.dur("delay", time.Millisecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(SlowClose)
		attrs["delay"] = ms(f.Delay)
	},
	behaviour: func(x Fault) behaviour { return &slowCloseB{f: x.(SlowClose)} },
}
