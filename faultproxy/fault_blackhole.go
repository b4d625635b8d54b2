package faultproxy

import "sync/atomic"

// Blackhole holds every byte in its direction while active: the connection
// stays open, nothing is forwarded, and once the proxy's buffers fill the
// sender sees TCP back-pressure (a silent, half-open network). When the fault
// expires (Scope.For) or is removed, the held bytes are forwarded intact.
// Type "blackhole" (no Toxiproxy equivalent; Toxiproxy's "timeout" with
// timeout 0 discards instead, see [Timeout]).
type Blackhole struct {
	Name      string    // default "blackhole_<direction>"
	Direction Direction // default Downstream
	Scope     Scope
}

// Type implements Fault.
func (Blackhole) Type() string { return "blackhole" }

// Validate implements Fault.
func (f Blackhole) Validate() error { return validateCommon(f.Type(), f.Direction, f.Scope) }

func (f Blackhole) meta() faultMeta { return faultMeta{f.Name, f.Direction, f.Scope, levelStream} }

type blackholeB struct{ held atomic.Bool }

func (b *blackholeB) process(in *instance, ck chunk, next emitFunc) error {
	if !b.held.Swap(true) {
		in.decide("hold", "")
	}
	<-in.ctx.Done()
	if in.c.ctx.Err() != nil {
		return errAborted
	}
	return next(ck)
}

func (b *blackholeB) activationNote() string {
	return "blackhole starts: nothing is forwarded in this direction from now"
}

func (b *blackholeB) deactivated(in *instance, _ string) {
	if b.held.Load() {
		in.decide("release", "")
	}
}

// blackholeKind registers Blackhole (see registry.go).
var blackholeKind = faultKind{
	typ: "blackhole", goType: "Blackhole", level: "stream", where: "stream",
	toxiproxy: false, stream: "downstream",
	summary: "— (holds bytes; use `for_ms`)",
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return Blackhole{Name: name, Direction: dir, Scope: sc}
	},
	behaviour: func(x Fault) behaviour { return &blackholeB{} },
}
