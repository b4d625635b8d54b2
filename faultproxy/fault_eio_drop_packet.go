package faultproxy

import "github.com/siospec/siospec/protocol/engineio"

// EIODropPacket drops Engine.IO packets of the given types in its direction:
// every such packet, or only the Nth (counted per connection and direction).
// Over WebSocket the frame carrying the packet is removed whole, so the
// stream stays well framed; over long-polling the packet is cut out of the
// payload and Content-Length fixed (a payload left empty becomes one noop
// packet). Type "eio_drop_packet", attributes "packet" (a type name such as
// "ping", or a list of them), "nth" and "probe".
type EIODropPacket struct {
	Name      string    // default "eio_drop_packet"
	Direction Direction // default Downstream
	Scope     Scope     // AfterBytes must be 0
	// Packets lists the packet types to act on; it must not be empty.
	Packets []engineio.PacketType
	// Nth, if positive, acts on the Nth matching packet only (1-based); 0
	// acts on every matching packet.
	Nth int
	// Probe restricts the match to packets whose data is "probe" (the
	// upgrade probe: 2probe / 3probe).
	Probe bool
}

// Type implements Fault.
func (EIODropPacket) Type() string { return "eio_drop_packet" }

// Validate implements Fault.
func (f EIODropPacket) Validate() error {
	return validatePacketMatch(f.Type(), f.Direction, f.Scope, f.Packets, f.Nth)
}

func (f EIODropPacket) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type eioDropB struct{ m packetMatch }

func (b *eioDropB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	switch {
	case u == nil:
		return next(ck)
	case u.kind == unitHTTPMessage:
		msg := editPayload(in, ck, func(p engineio.Packet, seg []byte) [][]byte {
			if ok, n := b.m.hit(p); ok {
				in.decide("drop", describePacket(p, n, "polling"))
				return nil
			}
			return [][]byte{seg}
		})
		if msg == nil {
			return next(ck)
		}
		return next(*msg)
	case u.kind == unitWSFrame:
		if ok, n := b.m.hitUnit(u); ok {
			in.decide("drop", describeUnit(u, n))
			return nil
		}
	}
	return next(ck)
}

// eioDropPacketKind registers EIODropPacket (see registry.go).
var eioDropPacketKind = faultKind{
	typ: "eio_drop_packet", goType: "EIODropPacket", level: "engine.io", where: "engine.io (WebSocket, v4 polling)",
	toxiproxy: false, stream: "downstream",
	summary: "`packet` name or list, `nth`, `probe`",
	attrs:   packetAttrs,
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return EIODropPacket{Name: name, Direction: dir, Scope: sc, Packets: parsePacketTypes(a, "packet"), Nth: int(a.int("nth")), Probe: a.boolean("probe")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(EIODropPacket)
		attrs["packet"], attrs["nth"], attrs["probe"] = packetNames(f.Packets), f.Nth, f.Probe
	},
	behaviour: func(x Fault) behaviour {
		return &eioDropB{m: packetMatch{packets: x.(EIODropPacket).Packets, nth: x.(EIODropPacket).Nth, probe: x.(EIODropPacket).Probe}}
	},
}
