package faultproxy

import "time"

// Bandwidth limits its direction to RateKBps kilobytes (1000 bytes) per second,
// pacing in slices of at most 100 ms worth of data. 0 means unlimited.
// Toxiproxy type "bandwidth", attribute "rate" (KB/s).
type Bandwidth struct {
	Name      string    // default "bandwidth_<direction>"
	Direction Direction // default Downstream
	Scope     Scope
	RateKBps  int64 // kilobytes per second, >= 0; 0 = unlimited
}

// Type implements Fault.
func (Bandwidth) Type() string { return "bandwidth" }

// Validate implements Fault.
func (f Bandwidth) Validate() error {
	if err := validateCommon(f.Type(), f.Direction, f.Scope); err != nil {
		return err
	}
	return nonNeg(f.Type(), "RateKBps", "rate", f.RateKBps)
}

func (f Bandwidth) meta() faultMeta { return faultMeta{f.Name, f.Direction, f.Scope, levelStream} }

type bandwidthB struct {
	f    Bandwidth
	next time.Time // when the next slice may go
}

func (b *bandwidthB) process(in *instance, ck chunk, next emitFunc) error {
	rate := b.f.RateKBps * 1000
	if rate <= 0 {
		return next(ck)
	}
	slice := max(rate/10, 1)
	data := ck.data
	for len(data) > 0 {
		n := min(int64(len(data)), slice)
		if now := time.Now(); b.next.Before(now) {
			b.next = now
		}
		ok, err := in.wait(b.next)
		if err != nil {
			return err
		}
		if !ok {
			return next(chunk{data: data, at: ck.at, buf: ck.buf})
		}
		if err := next(chunk{data: data[:n], at: ck.at, buf: ck.buf}); err != nil {
			return err
		}
		b.next = b.next.Add(time.Duration(n) * time.Second / time.Duration(rate))
		data = data[n:]
	}
	return nil
}

// bandwidthKind registers Bandwidth (see registry.go).
var bandwidthKind = faultKind{
	typ: "bandwidth", goType: "Bandwidth", level: "stream", where: "stream",
	toxiproxy: true, stream: "downstream",
	summary: "`rate` KB/s (0 = unlimited)",
	attrs:   []AttrSpec{{"rate", "KB/s", "rate limit, 0 = unlimited"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return Bandwidth{Name: name, Direction: dir, Scope: sc, RateKBps: a.int("rate")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(Bandwidth)
		attrs["rate"] = f.RateKBps
	},
	behaviour: func(x Fault) behaviour { return &bandwidthB{f: x.(Bandwidth)} },
}
