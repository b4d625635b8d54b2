package faultproxy

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// Engine.IO packet faults act on packets the protocol tap decoded: whole
// WebSocket messages, and the v4 payloads of polling GET responses and POST
// requests with a Content-Length. They need the tap, which connections
// accepted while a protocol fault exists get. Not handled: v3 payloads,
// chunked bodies, fragmented WebSocket messages.

// packetMatch selects packets by type, occurrence and probe data.
type packetMatch struct {
	packets []engineio.PacketType
	nth     int
	probe   bool
	seen    int // matching packets counted so far on this instance
}

// hit counts p if it matches and reports whether this occurrence is the
// one (or one of those) the fault acts on, with its ordinal.
func (m *packetMatch) hit(p engineio.Packet) (bool, int) {
	if !m.matchType(p.Type, p.Binary) || (m.probe && string(p.Data) != "probe") {
		return false, 0
	}
	return m.count()
}

// hitUnit is hit for the packet a WebSocket frame unit carries; it decodes
// the packet's data only when it must (probe matching).
func (m *packetMatch) hitUnit(u *unit) (bool, int) {
	t, bin, ok := u.packetType()
	if !ok || !m.matchType(t, bin) {
		return false, 0
	}
	if m.probe {
		if p := u.packet(); p == nil || string(p.Data) != "probe" {
			return false, 0
		}
	}
	return m.count()
}

func (m *packetMatch) matchType(t engineio.PacketType, binary bool) bool {
	for _, want := range m.packets {
		if (want == t && !binary) || (want == engineio.Message && binary) {
			return true
		}
	}
	return false
}

func (m *packetMatch) count() (bool, int) {
	m.seen++
	if m.nth > 0 && m.seen != m.nth {
		return false, m.seen
	}
	return true, m.seen
}

// describeUnit describes the packet of a WebSocket frame unit.
func describeUnit(u *unit, n int) string {
	if p := u.packet(); p != nil {
		return describePacket(*p, n, "websocket")
	}
	t, _, _ := u.packetType()
	return fmt.Sprintf("%s #%d (websocket, data not decodable)", t, n)
}

func describePacket(p engineio.Packet, n int, where string) string {
	data := string(p.Data)
	if p.Binary {
		data = fmt.Sprintf("<%d binary bytes>", len(p.Data))
	} else if len(data) > 40 {
		data = data[:40] + "..."
	}
	return fmt.Sprintf("%s #%d %q (%s)", p.Type, n, data, where)
}

func validatePacketMatch(typ string, dir Direction, s Scope, packets []engineio.PacketType, nth int) error {
	if err := validateUnitScope(typ, s); err != nil {
		return err
	}
	if err := validateCommon(typ, dir, Scope{}); err != nil {
		return err
	}
	if len(packets) == 0 {
		return &FieldError{Fault: typ, Field: "Packets", Attr: "packet", Reason: "name at least one packet type"}
	}
	for _, t := range packets {
		if !t.Valid() {
			return &FieldError{Fault: typ, Field: "Packets", Attr: "packet", Reason: fmt.Sprintf("unknown packet type %d", t)}
		}
	}
	if nth < 0 {
		return &FieldError{Fault: typ, Field: "Nth", Attr: "nth", Reason: "must not be negative"}
	}
	return nil
}

func packetMeta(name string, d Direction, s Scope) faultMeta {
	if d == DirDefault {
		d = Downstream
	}
	return faultMeta{name, d, s, levelUnit}
}

// editPayload rewrites a polling message unit: edit gets each packet's
// segment and returns the segments to put in its place. If nothing changed
// it returns nil; otherwise the new message as a chunk that still carries a
// message unit, so later stages see it. A payload left empty becomes one noop
// packet (an empty payload is not valid, EIO-POLL-12).
func editPayload(in *instance, ck chunk, edit func(p engineio.Packet, seg []byte) [][]byte) *chunk {
	u := ck.u
	head, body := ck.data[:u.bodyAt], ck.data[u.bodyAt:]
	segs := bytes.Split(body, []byte{engineio.RecordSeparator})
	out := make([][]byte, 0, len(segs)+1)
	changed := false
	for _, seg := range segs {
		p, err := engineio.ParseText(engineio.V4, seg)
		if err != nil {
			out = append(out, seg)
			continue
		}
		repl := edit(p, seg)
		if len(repl) != 1 || !bytes.Equal(repl[0], seg) {
			changed = true
		}
		out = append(out, repl...)
	}
	if !changed {
		return nil
	}
	newBody := bytes.Join(out, []byte{engineio.RecordSeparator})
	if len(out) == 0 {
		newBody = []byte{engineio.Noop.Char()}
		in.decide("replace", "emptied polling payload replaced by a noop packet")
	}
	msg := setContentLength(head, len(newBody))
	bodyAt := len(msg)
	msg = append(msg, newBody...)
	return &chunk{data: msg, at: ck.at, u: &unit{kind: unitHTTPMessage, bodyAt: bodyAt}}
}

// setContentLength returns a copy of head with its Content-Length set to n.
func setContentLength(head []byte, n int) []byte {
	lines := bytes.SplitAfter(head, []byte("\r\n"))
	out := make([]byte, 0, len(head)+8)
	for _, ln := range lines {
		name, _, ok := bytes.Cut(ln, []byte(":"))
		if ok && strings.EqualFold(strings.TrimSpace(string(name)), "Content-Length") {
			out = append(out, name...)
			out = append(out, ": "...)
			out = strconv.AppendInt(out, int64(n), 10)
			out = append(out, "\r\n"...)
			continue
		}
		out = append(out, ln...)
	}
	return out
}

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

// DelayPollResponse holds the Nth polling GET response of a connection (or
// every one, Nth 0) for Delay: a slow or buffering intermediary on the
// long-polling transport. Only complete v4 polling responses up to 1 MiB are
// seen (see [Options.Tap]). Type "delay_poll_response", attributes "nth" and
// "delay_ms".
type DelayPollResponse struct {
	Name  string // default "delay_poll_response"
	Scope Scope  // AfterBytes must be 0
	Nth   int    // 1-based; 0 = every polling response
	Delay time.Duration
}

// Type implements Fault.
func (DelayPollResponse) Type() string { return "delay_poll_response" }

// Validate implements Fault.
func (f DelayPollResponse) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if f.Nth < 0 {
		return &FieldError{Fault: f.Type(), Field: "Nth", Attr: "nth", Reason: "must not be negative"}
	}
	return nonNeg(f.Type(), "Delay", "delay_ms", int64(f.Delay))
}

func (f DelayPollResponse) meta() faultMeta {
	return faultMeta{f.Name, Downstream, f.Scope, levelUnit}
}

type delayPollB struct {
	f    DelayPollResponse
	seen int
}

func (b *delayPollB) process(in *instance, ck chunk, next emitFunc) error {
	if ck.u == nil || ck.u.kind != unitHTTPMessage {
		return next(ck)
	}
	b.seen++
	if b.f.Nth > 0 && b.seen != b.f.Nth {
		return next(ck)
	}
	in.decide("delay", fmt.Sprintf("polling response #%d by %s", b.seen, b.f.Delay))
	if _, err := in.wait(time.Now().Add(b.f.Delay)); err != nil {
		return err
	}
	return next(ck)
}

// WSCloseMidFrame cuts the connection in the middle of the Nth complete
// WebSocket frame in its direction (counted per connection; 0 means the first
// one): half the frame is forwarded, then the connection is closed with
// Close (FIN or RST). Type "ws_close_mid_frame", attributes "nth" and
// "close".
type WSCloseMidFrame struct {
	Name      string    // default "ws_close_mid_frame"
	Direction Direction // default Downstream
	Scope     Scope     // AfterBytes must be 0
	Nth       int
	Close     CloseMode
}

// Type implements Fault.
func (WSCloseMidFrame) Type() string { return "ws_close_mid_frame" }

// Validate implements Fault.
func (f WSCloseMidFrame) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := validateCommon(f.Type(), f.Direction, Scope{}); err != nil {
		return err
	}
	if f.Nth < 0 {
		return &FieldError{Fault: f.Type(), Field: "Nth", Attr: "nth", Reason: "must not be negative"}
	}
	if f.Close > CloseRST {
		return &FieldError{Fault: f.Type(), Field: "Close", Attr: "close", Reason: "unknown close mode"}
	}
	return nil
}

func (f WSCloseMidFrame) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type midFrameB struct {
	f    WSCloseMidFrame
	seen int
}

func (b *midFrameB) process(in *instance, ck chunk, next emitFunc) error {
	if ck.u == nil || ck.u.kind != unitWSFrame {
		return next(ck)
	}
	b.seen++
	if b.seen != max(b.f.Nth, 1) {
		return next(ck)
	}
	half := len(ck.data) / 2
	in.decide("close", fmt.Sprintf("frame #%d after %d of %d bytes (%s)", b.seen, half, len(ck.data), b.f.Close))
	if err := next(chunk{data: ck.data[:half], at: ck.at, buf: ck.buf}); err != nil {
		return err
	}
	in.c.abort(b.f.Close)
	return errAborted
}
