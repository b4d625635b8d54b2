package faultproxy

import (
	"sync/atomic"
	"time"
)

// Timeout is Toxiproxy's "timeout": while active it discards every byte in its
// direction and, Timeout after activation, closes the connection; Timeout 0
// holds the connection open forever. If the fault is removed or expires after
// it discarded data, the connection is closed (the byte stream is broken) and
// the decision log says so; if nothing was discarded, traffic resumes.
// Toxiproxy type "timeout", attribute "timeout" (ms).
type Timeout struct {
	Name      string    // default "timeout_<direction>"
	Direction Direction // default Downstream
	Scope     Scope
	Timeout   time.Duration // >= 0; 0 = never close
}

// Type implements Fault.
func (Timeout) Type() string { return "timeout" }

// Validate implements Fault.
func (f Timeout) Validate() error {
	if err := validateCommon(f.Type(), f.Direction, f.Scope); err != nil {
		return err
	}
	return nonNeg(f.Type(), "Timeout", "timeout", int64(f.Timeout))
}

func (f Timeout) meta() faultMeta { return faultMeta{f.Name, f.Direction, f.Scope, levelStream} }

type timeoutB struct {
	f         Timeout
	discarded atomic.Bool
}

func (b *timeoutB) process(in *instance, ck chunk, _ emitFunc) error {
	if !b.discarded.Swap(true) {
		in.decide("discard", "")
	}
	return nil
}

func (b *timeoutB) run(in *instance) {
	if b.f.Timeout == 0 {
		return
	}
	if ok, err := in.wait(time.Now().Add(b.f.Timeout)); ok && err == nil {
		in.decide("close", "timeout "+b.f.Timeout.String())
		in.c.abort(CloseFIN)
	}
}

func (b *timeoutB) deactivated(in *instance, reason string) {
	if b.discarded.Load() {
		in.decide("close", reason+" after discarding data")
		in.c.abort(CloseFIN)
	}
}

// timeoutKind registers Timeout (see registry.go).
var timeoutKind = faultKind{
	typ: "timeout", goType: "Timeout", level: "stream", where: "stream",
	toxiproxy: true, stream: "downstream",
	summary: "`timeout` ms (0 = hold forever; discards data)",
	attrs:   []AttrSpec{{"timeout", "ms", "discard data and close after this; 0 = hold forever"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return Timeout{Name: name, Direction: dir, Scope: sc, Timeout: a.dur("timeout", time.Millisecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(Timeout)
		attrs["timeout"] = ms(f.Timeout)
	},
	behaviour: func(x Fault) behaviour { return &timeoutB{f: x.(Timeout)} },
}
