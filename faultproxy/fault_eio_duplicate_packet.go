package faultproxy

import "github.com/siospec/siospec/protocol/engineio"

// EIODuplicatePacket sends Engine.IO packets of the given types twice: the
// WebSocket frame is repeated, or the packet is repeated inside its polling
// payload. Type "eio_duplicate_packet", attributes "packet", "nth" and
// "probe".
type EIODuplicatePacket struct {
	Name      string    // default "eio_duplicate_packet"
	Direction Direction // default Downstream
	Scope     Scope     // AfterBytes must be 0
	Packets   []engineio.PacketType
	Nth       int  // as in EIODropPacket
	Probe     bool // as in EIODropPacket
}

// Type implements Fault.
func (EIODuplicatePacket) Type() string { return "eio_duplicate_packet" }

// Validate implements Fault.
func (f EIODuplicatePacket) Validate() error {
	return validatePacketMatch(f.Type(), f.Direction, f.Scope, f.Packets, f.Nth)
}

func (f EIODuplicatePacket) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type eioDupB struct{ m packetMatch }

func (b *eioDupB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	switch {
	case u == nil:
	case u.kind == unitHTTPMessage:
		msg := editPayload(in, ck, func(p engineio.Packet, seg []byte) [][]byte {
			if ok, n := b.m.hit(p); ok {
				in.decide("duplicate", describePacket(p, n, "polling"))
				return [][]byte{seg, seg}
			}
			return [][]byte{seg}
		})
		if msg != nil {
			return next(*msg)
		}
	case u.kind == unitWSFrame:
		if ok, n := b.m.hitUnit(u); ok {
			in.decide("duplicate", describeUnit(u, n))
			if err := next(ck); err != nil {
				return err
			}
		}
	}
	return next(ck)
}

// eioDuplicatePacketKind registers EIODuplicatePacket (see registry.go).
var eioDuplicatePacketKind = faultKind{
	typ: "eio_duplicate_packet", goType: "EIODuplicatePacket", level: "engine.io", where: "engine.io",
	toxiproxy: false, stream: "downstream",
	summary: "`packet`, `nth`, `probe`",
	attrs:   packetAttrs,
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return EIODuplicatePacket{Name: name, Direction: dir, Scope: sc, Packets: parsePacketTypes(a, "packet"), Nth: int(a.int("nth")), Probe: a.boolean("probe")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(EIODuplicatePacket)
		attrs["packet"], attrs["nth"], attrs["probe"] = packetNames(f.Packets), f.Nth, f.Probe
	},
	behaviour: func(x Fault) behaviour {
		return &eioDupB{m: packetMatch{packets: x.(EIODuplicatePacket).Packets, nth: x.(EIODuplicatePacket).Nth, probe: x.(EIODuplicatePacket).Probe}}
	},
}
