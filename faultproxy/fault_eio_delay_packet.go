package faultproxy

import (
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// EIODelayPacket holds Engine.IO packets of the given types for Delay before
// forwarding them (e.g. a PONG that arrives just before or after
// pingTimeout). Order is kept: what follows waits too. Over long-polling the
// whole request or response carrying a matching packet is delayed. Type
// "eio_delay_packet", attributes "packet", "nth", "probe" and "delay_ms".
type EIODelayPacket struct {
	Name      string    // default "eio_delay_packet"
	Direction Direction // default Downstream
	Scope     Scope     // AfterBytes must be 0
	Packets   []engineio.PacketType
	Nth       int  // as in EIODropPacket
	Probe     bool // as in EIODropPacket
	Delay     time.Duration
}

// Type implements Fault.
func (EIODelayPacket) Type() string { return "eio_delay_packet" }

// Validate implements Fault.
func (f EIODelayPacket) Validate() error {
	if err := validatePacketMatch(f.Type(), f.Direction, f.Scope, f.Packets, f.Nth); err != nil {
		return err
	}
	return nonNeg(f.Type(), "Delay", "delay_ms", int64(f.Delay))
}

func (f EIODelayPacket) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type eioDelayB struct {
	m     packetMatch
	delay time.Duration
}

func (b *eioDelayB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	hit := false
	switch {
	case u == nil:
	case u.kind == unitHTTPMessage:
		editPayload(in, ck, func(p engineio.Packet, seg []byte) [][]byte {
			if ok, n := b.m.hit(p); ok {
				in.decide("delay", describePacket(p, n, "polling")+" by "+b.delay.String())
				hit = true
			}
			return [][]byte{seg}
		})
	case u.kind == unitWSFrame:
		if ok, n := b.m.hitUnit(u); ok {
			in.decide("delay", describeUnit(u, n)+" by "+b.delay.String())
			hit = true
		}
	}
	if hit {
		if _, err := in.wait(time.Now().Add(b.delay)); err != nil {
			return err
		}
	}
	return next(ck)
}

// eioDelayPacketKind registers EIODelayPacket (see registry.go).
var eioDelayPacketKind = faultKind{
	typ: "eio_delay_packet", goType: "EIODelayPacket", level: "engine.io", where: "engine.io",
	toxiproxy: false, stream: "downstream",
	summary: "`packet`, `nth`, `probe`, `delay_ms`",
	attrs:   append(packetAttrs[:3:3], AttrSpec{"delay_ms", "ms", "how long to hold a matching packet"}),
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return EIODelayPacket{Name: name, Direction: dir, Scope: sc, Packets: parsePacketTypes(a, "packet"), Nth: int(a.int("nth")), Probe: a.boolean("probe"), Delay: a.dur("delay_ms", time.Millisecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(EIODelayPacket)
		attrs["packet"], attrs["nth"], attrs["probe"], attrs["delay_ms"] = packetNames(f.Packets), f.Nth, f.Probe, ms(f.Delay)
	},
	behaviour: func(x Fault) behaviour {
		return &eioDelayB{m: packetMatch{packets: x.(EIODelayPacket).Packets, nth: x.(EIODelayPacket).Nth, probe: x.(EIODelayPacket).Probe}, delay: x.(EIODelayPacket).Delay}
	},
}
