package faultproxy

import "time"

// ResetPeer resets the whole connection (SO_LINGER=0 on both sockets, so each
// peer sees a TCP RST) Timeout after activation, whether or not data flows.
// Unlike Toxiproxy it does not wait for the first chunk (use Scope.AfterBytes
// for that) and it touches linger only on the connection it resets.
// Toxiproxy type "reset_peer", attribute "timeout" (ms).
type ResetPeer struct {
	Name    string // default "reset_peer"
	Scope   Scope
	Timeout time.Duration // >= 0
}

// Type implements Fault.
func (ResetPeer) Type() string { return "reset_peer" }

// Validate implements Fault.
func (f ResetPeer) Validate() error {
	if err := validateCommon(f.Type(), 0, f.Scope); err != nil {
		return err
	}
	return nonNeg(f.Type(), "Timeout", "timeout", int64(f.Timeout))
}

func (f ResetPeer) meta() faultMeta { return faultMeta{f.Name, Both, f.Scope, levelConn} }

type resetB struct{ f ResetPeer }

func (b *resetB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

func (b *resetB) run(in *instance) {
	if ok, err := in.wait(time.Now().Add(b.f.Timeout)); ok && err == nil {
		in.decide("reset", "after "+b.f.Timeout.String())
		in.c.abort(CloseRST)
	}
}

// resetPeerKind registers ResetPeer (see registry.go).
var resetPeerKind = faultKind{
	typ: "reset_peer", goType: "ResetPeer", level: "connection", where: "connection",
	toxiproxy: true, stream: "downstream",
	summary: "`timeout` ms (RST, also on idle connections)",
	attrs:   []AttrSpec{{"timeout", "ms", "reset (RST) this long after activation"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return ResetPeer{Name: name, Scope: sc, Timeout: a.dur("timeout", time.Millisecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(ResetPeer)
		attrs["timeout"] = ms(f.Timeout)
	},
	behaviour: func(x Fault) behaviour { return &resetB{f: x.(ResetPeer)} },
}
