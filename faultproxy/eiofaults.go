package faultproxy

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

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
//
// v3 payloads are left alone (nil): the payload faults act on v4 only.
func editPayload(in *instance, ck chunk, edit func(p engineio.Packet, seg []byte) [][]byte) *chunk {
	u := ck.u
	if u.eio != nil && u.eio.v3 {
		return nil
	}
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
	return &chunk{data: msg, at: ck.at, u: &unit{kind: unitHTTPMessage, bodyAt: bodyAt, eio: u.eio}}
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
