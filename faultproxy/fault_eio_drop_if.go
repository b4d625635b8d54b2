package faultproxy

import "github.com/siospec/siospec/protocol/engineio"

// EIODropIf is the Go-only escape hatch: DropIf is called for every Engine.IO
// packet the tap decodes in the fault's direction (Both for both), from the
// proxy's goroutines (concurrently for the two directions; it must be safe
// for that and quick), and the packet is dropped when it returns true, as
// [EIODropPacket] drops. The packet's Data is only valid during the call.
// It has no control-API form.
type EIODropIf struct {
	Name      string    // default "eio_drop_if"
	Direction Direction // default Downstream
	Scope     Scope     // AfterBytes must be 0
	DropIf    func(Direction, engineio.Packet) bool
}

// Type implements Fault.
func (EIODropIf) Type() string { return "eio_drop_if" }

// Validate implements Fault.
func (f EIODropIf) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := validateCommon(f.Type(), f.Direction, Scope{}); err != nil {
		return err
	}
	if f.DropIf == nil {
		return &FieldError{Fault: f.Type(), Field: "DropIf", Attr: "-", Reason: "must not be nil"}
	}
	return nil
}

func (f EIODropIf) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type eioDropIfB struct {
	f    EIODropIf
	seen int
}

func (b *eioDropIfB) drop(in *instance, p engineio.Packet, where string) bool {
	b.seen++
	if !b.f.DropIf(in.dir, p) {
		return false
	}
	in.decide("drop", describePacket(p, b.seen, where))
	return true
}

func (b *eioDropIfB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	switch {
	case u == nil:
	case u.kind == unitHTTPMessage:
		msg := editPayload(in, ck, func(p engineio.Packet, seg []byte) [][]byte {
			if b.drop(in, p, "polling") {
				return nil
			}
			return [][]byte{seg}
		})
		if msg != nil {
			return next(*msg)
		}
	case u.packet() != nil:
		if b.drop(in, *u.packet(), "websocket") {
			return nil
		}
	}
	return next(ck)
}

// eioDropIfKind registers EIODropIf (see registry.go).
var eioDropIfKind = faultKind{
	typ: "eio_drop_if", goType: "EIODropIf", level: "engine.io", where: "engine.io",
	toxiproxy: false, stream: "downstream",
	summary:   "callback `DropIf(Direction, engineio.Packet) bool`",
	behaviour: func(x Fault) behaviour { return &eioDropIfB{f: x.(EIODropIf)} },
}
