package faultproxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/siospec/siospec/protocol/engineio"
)

// maxFrame is the largest WebSocket frame the tap buffers to inspect; larger
// frames are forwarded as they arrive, without a unit.
const maxFrame = 1 << 20

// unitWSFrame marks a complete WebSocket frame unit.
const unitWSFrame unitKind = unitHTTPRequestHead + 1

// wsFrame describes a WebSocket frame unit.
type wsFrame struct {
	fin    bool
	opcode byte
}

// respTap follows the downstream side of a tapped connection whose first
// request was a WebSocket upgrade: it parses the response head and, after a
// 101, cuts the stream into WebSocket frames.
type respTap struct {
	c     *conn
	mode  tapMode
	acc   []byte
	ws    *wsFramer
	began bool
}

// tapAwait101 is the upstream tap's state after forwarding an upgrade request
// that opened the connection; tapWS follows WebSocket frames.
const (
	tapAwait101 tapMode = tapDiscard + 1 + iota
	tapWS
)

func (t *respTap) feed(ck chunk, emit emitFunc) error {
	if !t.began {
		t.began = true
		t.mode = tapOpaque
		if tags := t.c.tags.Load(); tags != nil && tags.Upgrade {
			t.mode = tapHead
		}
	}
	switch t.mode {
	case tapWS:
		return t.ws.feed(ck, emit)
	case tapHead:
		t.acc = append(t.acc, ck.data...)
		end := bytes.Index(t.acc, []byte("\r\n\r\n"))
		if end < 0 {
			if len(t.acc) > maxHead || !bytes.HasPrefix(t.acc, []byte("HTTP/"[:min(5, len(t.acc))])) {
				return t.opaque(ck, emit)
			}
			return nil
		}
		head := t.acc[:end+4]
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			return t.opaque(ck, emit)
		}
		// Mark the upgrade before the client can see the 101 and start
		// sending frames.
		t.c.upgraded()
		rest := append([]byte(nil), t.acc[end+4:]...)
		t.acc = nil
		t.mode = tapWS
		t.ws = &wsFramer{c: t.c, dir: Downstream}
		if err := emit(chunk{data: head, at: ck.at}); err != nil {
			return err
		}
		if len(rest) > 0 {
			return t.ws.feed(chunk{data: rest, at: ck.at}, emit)
		}
		return nil
	}
	return emit(ck)
}

func (t *respTap) opaque(ck chunk, emit emitFunc) error {
	t.mode = tapOpaque
	rest := t.acc
	t.acc = nil
	return emit(chunk{data: rest, at: ck.at})
}

func (t *respTap) flush(emit emitFunc) error {
	if len(t.acc) > 0 && t.mode == tapHead {
		return t.opaque(chunk{}, emit)
	}
	if t.ws != nil {
		return t.ws.flush(emit)
	}
	return nil
}

// upgraded records that the connection switched to WebSocket.
func (c *conn) upgraded() {
	c.ws.Store(true)
	c.mu.Lock()
	c.info.Upgraded = true
	c.mu.Unlock()
}

// wsFramer cuts one direction of a WebSocket connection into frames.
type wsFramer struct {
	c    *conn
	dir  Direction
	acc  []byte
	skip int64 // bytes of an oversized frame still to forward untouched
}

// wsHeader parses a frame header: its length and the payload length.
func wsHeader(b []byte) (hl int, plen int64, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	hl = 2
	switch n := b[1] & 0x7f; n {
	case 126:
		hl += 2
	case 127:
		hl += 8
	default:
		plen = int64(n)
	}
	if b[1]&0x80 != 0 {
		hl += 4
	}
	if len(b) < hl {
		return 0, 0, false
	}
	switch b[1] & 0x7f {
	case 126:
		plen = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		plen = int64(binary.BigEndian.Uint64(b[2:]) &^ (1 << 63))
	}
	return hl, plen, true
}

func (f *wsFramer) feed(ck chunk, emit emitFunc) error {
	data := ck.data
	for len(data) > 0 {
		if f.skip > 0 {
			n := int64(len(data))
			if n > f.skip {
				n = f.skip
			}
			if err := emit(chunk{data: data[:n], at: ck.at, buf: ck.buf}); err != nil {
				return err
			}
			data = data[n:]
			f.skip -= n
			continue
		}
		f.acc = append(f.acc, data...)
		data = nil
		for len(f.acc) > 0 {
			hl, plen, ok := wsHeader(f.acc)
			if !ok {
				break
			}
			total := int64(hl) + plen
			if total > maxFrame {
				// Too big to hold: forward it as it comes.
				n := min(total, int64(len(f.acc)))
				if err := emit(chunk{data: f.acc[:n], at: ck.at}); err != nil {
					return err
				}
				f.skip = total - n
				rest := f.acc[n:]
				f.acc = nil
				if len(rest) > 0 {
					data = rest
				}
				break
			}
			if int64(len(f.acc)) < total {
				break
			}
			frame := f.acc[:total]
			if err := emit(chunk{data: frame, at: ck.at, u: f.unit(frame, hl)}); err != nil {
				return err
			}
			f.acc = append(f.acc[:0], f.acc[total:]...)
		}
	}
	return nil
}

func (f *wsFramer) flush(emit emitFunc) error {
	if len(f.acc) == 0 {
		return nil
	}
	rest := f.acc
	f.acc = nil
	return emit(chunk{data: rest})
}

// unit describes a complete frame, decoding the Engine.IO packet it carries
// when it is a whole text or binary message.
func (f *wsFramer) unit(frame []byte, hl int) *unit {
	fr := &wsFrame{fin: frame[0]&0x80 != 0, opcode: frame[0] & 0x0f}
	u := &unit{kind: unitWSFrame, frame: fr}
	if !fr.fin || (fr.opcode != 1 && fr.opcode != 2) {
		return u
	}
	payload := append([]byte(nil), frame[hl:]...)
	if frame[1]&0x80 != 0 {
		mask := frame[hl-4 : hl]
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	v := engineio.V4
	if tags := f.c.tags.Load(); tags != nil && tags.EIO == "3" {
		v = engineio.V3
	}
	if p, err := engineio.ParseFrame(v, fr.opcode == 2, payload); err == nil {
		u.pkt = &p
	}
	return u
}

// EIODropPacket drops Engine.IO packets of the given types carried in
// WebSocket messages in its direction: every such packet, or only the Nth
// (counted per connection and direction). The WebSocket frame carrying the
// packet is removed whole, so the stream stays well framed. It needs the
// protocol tap, which connections accepted while a protocol fault exists
// get; packets in HTTP long-polling bodies are not dropped yet.
// Type "eio_drop_packet", attributes "packet" (a type name such as "ping",
// or a list of them), "nth" and "probe".
type EIODropPacket struct {
	Name      string    // default "eio_drop_packet"
	Direction Direction // default Downstream
	Scope     Scope     // AfterBytes must be 0
	// Packets lists the packet types to drop; it must not be empty.
	Packets []engineio.PacketType
	// Nth, if positive, drops only the Nth matching packet (1-based); 0
	// drops every matching packet.
	Nth int
	// Probe restricts the match to packets whose data is "probe" (the
	// upgrade probe: 2probe / 3probe).
	Probe bool
}

// Type implements Fault.
func (EIODropPacket) Type() string { return "eio_drop_packet" }

// Validate implements Fault.
func (f EIODropPacket) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := validateCommon(f.Type(), f.Direction, Scope{}); err != nil {
		return err
	}
	if len(f.Packets) == 0 {
		return &FieldError{Fault: f.Type(), Field: "Packets", Attr: "packet", Reason: "name at least one packet type"}
	}
	for _, t := range f.Packets {
		if !t.Valid() {
			return &FieldError{Fault: f.Type(), Field: "Packets", Attr: "packet", Reason: fmt.Sprintf("unknown packet type %d", t)}
		}
	}
	if f.Nth < 0 {
		return &FieldError{Fault: f.Type(), Field: "Nth", Attr: "nth", Reason: "must not be negative"}
	}
	return nil
}

func (f EIODropPacket) meta() faultMeta {
	d := f.Direction
	if d == DirDefault {
		d = Downstream
	}
	return faultMeta{f.Name, d, f.Scope, levelUnit}
}

type eioDropB struct {
	f    EIODropPacket
	seen int
}

func (b *eioDropB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	if u == nil || u.pkt == nil {
		return next(ck)
	}
	p := *u.pkt
	match := false
	for _, t := range b.f.Packets {
		match = match || (t == p.Type && !p.Binary) || (t == engineio.Message && p.Binary)
	}
	if !match || (b.f.Probe && string(p.Data) != "probe") {
		return next(ck)
	}
	b.seen++
	if b.f.Nth > 0 && b.seen != b.f.Nth {
		return next(ck)
	}
	data := string(p.Data)
	if p.Binary {
		data = fmt.Sprintf("<%d binary bytes>", len(p.Data))
	} else if len(data) > 40 {
		data = data[:40] + "..."
	}
	in.decide("drop", fmt.Sprintf("%s #%d %q", p.Type, b.seen, data))
	return nil
}

// parsePacketTypes reads packet type names ("ping", or ["ping","pong"]).
func parsePacketTypes(a *attrReader, name string) []engineio.PacketType {
	v, ok := a.raw(name)
	if !ok {
		return nil
	}
	var names []string
	if s := bytes.TrimSpace(v); len(s) > 0 && s[0] == '"' {
		names = []string{a.str(name)}
	} else if err := json.Unmarshal(v, &names); err != nil {
		a.fail(name, "must be a packet type name or a list of them, got "+string(v))
		return nil
	}
	var out []engineio.PacketType
	for _, n := range names {
		found := false
		for t := engineio.Open; t <= engineio.Noop; t++ {
			if strings.EqualFold(t.String(), n) {
				out = append(out, t)
				found = true
			}
		}
		if !found {
			a.fail(name, fmt.Sprintf("unknown packet type %q (want open, close, ping, pong, message, upgrade or noop)", n))
		}
	}
	return out
}
