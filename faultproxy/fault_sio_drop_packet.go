package faultproxy

import (
	"fmt"
	"strings"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// SIODropPacket drops Socket.IO packets in its direction, selected by type,
// namespace and event name, every match or only the Nth (counted per
// connection and direction, over the packets that match all the given
// criteria). Packets are read with protocol/socketio from the Engine.IO
// MESSAGE packets the tap decodes: whole WebSocket messages, and v4 polling
// payloads, which are rewritten with a correct Content-Length (a payload
// left empty becomes one noop packet) as [EIODropPacket] does.
//
// A dropped BINARY_EVENT or BINARY_ACK takes its attachments with it: the
// next Attachments binary Engine.IO messages in the same direction are
// dropped too (they may span WebSocket frames and polling payloads), so the
// peer never sees a header without its attachments or an orphan
// attachment. Attachments are never matched on their own. Engine.IO
// packets other than MESSAGE, and messages that do not decode as Socket.IO
// packets, pass. Counting (Nth, attachments still to drop) is per
// connection: over polling with a client that opens one connection per
// request, as Node's does, a binary packet whose attachments travel in a
// later response on another connection would be split, and so would one
// whose fault is removed between header and attachments; servers send a
// header and its attachments in one payload in practice. Type "sio_drop_packet", attributes "packet" (a type name
// such as "event", or a list), "namespace", "event" and "nth".
type SIODropPacket struct {
	Name      string    // default "sio_drop_packet"
	Direction Direction // default Downstream
	Scope     Scope     // AfterBytes must be 0
	// Types lists the packet types to act on; empty means any type. An
	// EVENT filter does not imply BINARY_EVENT: list both to drop both.
	Types []socketio.PacketType
	// Namespace, if set, restricts the match to packets of this namespace
	// ("/" is the main namespace); it must start with "/".
	Namespace string
	// Event, if set, restricts the match to EVENT and BINARY_EVENT packets
	// with this event name; Types, if set, must then include one of them.
	Event string
	// Nth, if positive, acts on the Nth matching packet only (1-based); 0
	// acts on every matching packet.
	Nth int
}

// Type implements Fault.
func (SIODropPacket) Type() string { return "sio_drop_packet" }

// Validate implements Fault.
func (f SIODropPacket) Validate() error {
	typ := f.Type()
	if err := validateUnitScope(typ, f.Scope); err != nil {
		return err
	}
	if err := validateCommon(typ, f.Direction, Scope{}); err != nil {
		return err
	}
	if len(f.Types) == 0 && f.Namespace == "" && f.Event == "" {
		return &FieldError{Fault: typ, Field: "Types", Attr: "packet", Reason: "give at least one of packet, namespace and event"}
	}
	eventType := false
	for _, t := range f.Types {
		if !t.Valid() {
			return &FieldError{Fault: typ, Field: "Types", Attr: "packet", Reason: fmt.Sprintf("unknown packet type %d", t)}
		}
		eventType = eventType || t == socketio.Event || t == socketio.BinaryEvent
	}
	if f.Namespace != "" && !strings.HasPrefix(f.Namespace, "/") {
		return &FieldError{Fault: typ, Field: "Namespace", Attr: "namespace", Reason: fmt.Sprintf("must start with \"/\", got %q", f.Namespace)}
	}
	if f.Event != "" && len(f.Types) > 0 && !eventType {
		return &FieldError{Fault: typ, Field: "Event", Attr: "event", Reason: "an event name only matches event and binary_event packets, and packet lists neither"}
	}
	if f.Nth < 0 {
		return &FieldError{Fault: typ, Field: "Nth", Attr: "nth", Reason: "must not be negative"}
	}
	return nil
}

func (f SIODropPacket) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type sioDropB struct {
	f       SIODropPacket
	seen    int // matching packets so far
	pending int // attachments of a dropped binary header still to drop
}

// decoder returns the Socket.IO decoder for the connection's protocol: v4
// over Engine.IO v3, v5 otherwise. Limits are lifted: the proxy only reads
// headers and must not refuse what a peer accepts.
func (b *sioDropB) decoder(in *instance) socketio.Decoder {
	d := socketio.Decoder{MaxAttachments: -1, AllowZeroAttachments: true}
	if !in.c.eioV4() {
		d.Version = socketio.V4
	}
	return d
}

// drop decides on one Engine.IO packet; where names the transport.
func (b *sioDropB) drop(in *instance, p engineio.Packet, where string) bool {
	if p.Type != engineio.Message {
		return false
	}
	if p.Binary {
		if b.pending == 0 {
			return false
		}
		b.pending--
		in.decide("drop", fmt.Sprintf("attachment of a dropped binary packet, %d bytes (%s), %d more to drop", len(p.Data), where, b.pending))
		return true
	}
	sp, err := b.decoder(in).Decode(p.Data)
	if err != nil || !b.match(sp) {
		return false
	}
	b.seen++
	if b.f.Nth > 0 && b.seen != b.f.Nth {
		return false
	}
	if sp.Type.IsBinary() {
		b.pending = sp.Attachments
	}
	in.decide("drop", describeSIO(sp, b.seen, where))
	return true
}

func (b *sioDropB) match(p socketio.Packet) bool {
	f := b.f
	if len(f.Types) > 0 {
		ok := false
		for _, t := range f.Types {
			ok = ok || t == p.Type
		}
		if !ok {
			return false
		}
	}
	if f.Namespace != "" && p.Namespace() != f.Namespace {
		return false
	}
	if f.Event != "" {
		if p.Type != socketio.Event && p.Type != socketio.BinaryEvent {
			return false
		}
		if name, err := p.EventName(); err != nil || name != f.Event {
			return false
		}
	}
	return true
}

func (b *sioDropB) process(in *instance, ck chunk, next emitFunc) error {
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
	case u.kind == unitWSFrame:
		if t, _, ok := u.packetType(); !ok || t != engineio.Message {
			break
		}
		if p := u.packet(); p != nil && b.drop(in, *p, "websocket") {
			return nil
		}
	}
	return next(ck)
}

// sioDropPacketKind registers SIODropPacket (see registry.go).
var sioDropPacketKind = faultKind{
	typ: "sio_drop_packet", goType: "SIODropPacket", level: "socket.io", where: "socket.io (WebSocket, v4 polling)",
	toxiproxy: false, stream: "downstream",
	summary: "`packet` name or list (connect, disconnect, event, ack, connect_error, binary_event, binary_ack; default any), `namespace`, `event`, `nth`",
	attrs:   []AttrSpec{{"packet", "name or list", "packet types: connect, disconnect, event, ack, connect_error, binary_event, binary_ack (default any)"}, {"namespace", "string", "only packets of this namespace, e.g. \"/\" or \"/admin\""}, {"event", "string", "only event and binary_event packets with this name"}, {"nth", "count", "act on the nth match only (0 = every)"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return SIODropPacket{Name: name, Direction: dir, Scope: sc, Types: parseSIOTypes(a, "packet"), Namespace: a.str("namespace"), Event: a.str("event"), Nth: int(a.int("nth"))}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(SIODropPacket)
		attrs["packet"], attrs["namespace"], attrs["event"], attrs["nth"] = sioTypeNames(f.Types), f.Namespace, f.Event, f.Nth
	},
	behaviour: func(x Fault) behaviour { return &sioDropB{f: x.(SIODropPacket)} },
}
