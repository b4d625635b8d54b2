package faultproxy

import "time"

// Latency delays every chunk in its direction by Latency ± a uniform random
// Jitter, measured from when the proxy read the chunk. Order is preserved and
// reading continues while chunks wait, so latency does not limit throughput.
// Toxiproxy type "latency", attributes "latency" and "jitter" (ms).
type Latency struct {
	Name      string    // unique per proxy; default "latency_<direction>"
	Direction Direction // default Downstream
	Scope     Scope
	Latency   time.Duration // base delay per chunk, >= 0
	Jitter    time.Duration // uniform ±Jitter added per chunk (result clamped at 0), >= 0
}

// Type implements Fault.
func (Latency) Type() string { return "latency" }

// Validate implements Fault.
func (f Latency) Validate() error {
	if err := validateCommon(f.Type(), f.Direction, f.Scope); err != nil {
		return err
	}
	if err := nonNeg(f.Type(), "Latency", "latency", int64(f.Latency)); err != nil {
		return err
	}
	return nonNeg(f.Type(), "Jitter", "jitter", int64(f.Jitter))
}

func (f Latency) meta() faultMeta { return faultMeta{f.Name, f.Direction, f.Scope, levelStream} }

type latencyB struct{ f Latency }

func (b *latencyB) process(in *instance, ck chunk, next emitFunc) error {
	d := b.f.Latency
	if j := b.f.Jitter; j > 0 {
		d += time.Duration(in.rng.Int64N(2*int64(j)+1)) - j
		if d < 0 {
			d = 0
		}
	}
	in.decide("delay", d.String())
	release := ck.at.Add(d)
	if _, err := in.wait(release); err != nil {
		return err
	}
	ck.at = time.Now()
	return next(ck)
}

// latencyKind registers Latency (see registry.go).
var latencyKind = faultKind{
	typ: "latency", goType: "Latency", level: "stream", where: "stream",
	toxiproxy: true, stream: "downstream",
	summary: "`latency` ms, `jitter` ms",
	attrs:   []AttrSpec{{"latency", "ms", "delay per chunk"}, {"jitter", "ms", "uniform ± jitter per chunk"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return Latency{Name: name, Direction: dir, Scope: sc, Latency: a.dur("latency", time.Millisecond), Jitter: a.dur("jitter", time.Millisecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(Latency)
		attrs["latency"], attrs["jitter"] = ms(f.Latency), ms(f.Jitter)
	},
	behaviour: func(x Fault) behaviour { return &latencyB{f: x.(Latency)} },
}
