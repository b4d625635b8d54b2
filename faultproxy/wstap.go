package faultproxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// maxFrame is the largest WebSocket frame the tap buffers to inspect; larger
// frames are forwarded as they arrive, without a unit.
const maxFrame = 1 << 20

// wsFrame describes a WebSocket frame unit.
type wsFrame struct {
	fin    bool
	opcode byte
}

// respTap follows the downstream side of a tapped connection: it pairs
// response heads with the requests the upstream tap saw, buffers polling GET
// responses whole (so their Engine.IO payload can be inspected), and after a
// 101 to an upgrade cuts the stream into WebSocket frames.
type respTap struct {
	c        *conn
	mode     tapMode
	acc      []byte
	bodyLeft int64
	msgLen   int
	headLen  int
	msgMeta  *eioMeta // the held message's metadata (tapMsg)
	ws       *wsFramer
}

// Tap modes beyond httpTap's: tapAwait101 is the upstream tap's state after
// forwarding an upgrade request that opened the connection; tapWS follows
// WebSocket frames; tapMsg buffers a whole polling message.
const (
	tapAwait101 tapMode = tapDiscard + 1 + iota
	tapWS
	tapMsg
)

// reqRecord is what the response tap needs to know about a request.
type reqRecord struct {
	seq     uint64    // per connection, from 1
	at      time.Time // when the tap read the head
	method  string
	uri     string
	ord     int // per-session ordinal of a polling request (see RequestMatch)
	upgrade bool
	pollGET bool
	eio     *eioMeta // the request's Engine.IO metadata (responses carry it)
}

// reqChangedLocked wakes everyone waiting for reqQ to change (c.mu held).
func (c *conn) reqChangedLocked() {
	close(c.reqSig)
	c.reqSig = make(chan struct{})
}

func (c *conn) pushReq(r reqRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqSeq++
	r.seq, r.at = c.reqSeq, time.Now()
	c.reqQ = append(c.reqQ, r)
	c.reqChangedLocked()
}

func (c *conn) popReq() (reqRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reqQ) == 0 {
		return reqRecord{}, false
	}
	r := c.reqQ[0]
	c.reqQ = c.reqQ[1:]
	c.reqChangedLocked()
	return r, true
}

func (c *conn) unpopReq(r reqRecord) {
	c.mu.Lock()
	c.reqQ = append([]reqRecord{r}, c.reqQ...)
	c.reqChangedLocked()
	c.mu.Unlock()
}

// eioV4 reports whether the connection speaks Engine.IO v4 (not EIO=3).
func (c *conn) eioV4() bool {
	tags := c.tags.Load()
	return tags == nil || tags.EIO != "3"
}

func (t *respTap) feed(ck chunk, emit emitFunc) error {
	data := ck.data
	for len(data) > 0 {
		switch t.mode {
		case tapWS:
			return t.ws.feed(chunk{data: data, at: ck.at, buf: ck.buf}, emit)
		case tapBody:
			n := min(int64(len(data)), t.bodyLeft)
			if err := emit(chunk{data: data[:n], at: ck.at, buf: ck.buf}); err != nil {
				return err
			}
			data = data[n:]
			t.bodyLeft -= n
			if t.bodyLeft == 0 {
				t.mode = tapHead
			}
		case tapHead, tapMsg:
			t.acc = append(t.acc, data...)
			data = nil
			if err := t.drain(ck, emit); err != nil {
				return err
			}
		default:
			return emit(chunk{data: data, at: ck.at, buf: ck.buf})
		}
	}
	return nil
}

// drain emits every complete response head or polling message in acc.
func (t *respTap) drain(ck chunk, emit emitFunc) error {
	for len(t.acc) > 0 {
		if t.mode == tapMsg {
			if len(t.acc) < t.msgLen {
				return nil
			}
			u := &unit{kind: unitHTTPMessage, bodyAt: t.headLen, eio: t.msgMeta}
			t.mode = tapHead
			t.c.learnOpen(t.acc[t.headLen:t.msgLen])
			if err := emit(chunk{data: t.acc[:t.msgLen], at: ck.at, u: u}); err != nil {
				return err
			}
			t.acc = append(t.acc[:0], t.acc[t.msgLen:]...)
			continue
		}
		if t.mode != tapHead {
			return nil
		}
		if !bytes.HasPrefix(t.acc, []byte("HTTP/")[:min(5, len(t.acc))]) {
			return t.opaque(ck, emit)
		}
		end := bytes.Index(t.acc, []byte("\r\n\r\n"))
		if end < 0 {
			if len(t.acc) > maxHead {
				return t.opaque(ck, emit)
			}
			return nil
		}
		rec, ok := t.c.popReq()
		if !ok {
			return t.opaque(ck, emit)
		}
		head := t.acc[:end+4]
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: rec.method})
		if err != nil {
			return t.opaque(ck, emit)
		}
		if resp.StatusCode/100 == 1 && resp.StatusCode != http.StatusSwitchingProtocols {
			t.c.unpopReq(rec) // an interim response: the final one follows
		}
		if rec.upgrade && resp.StatusCode == http.StatusSwitchingProtocols {
			// Mark the upgrade before the client can see the 101 and start
			// sending frames.
			t.c.upgraded()
			rest := append([]byte(nil), t.acc[end+4:]...)
			t.acc = nil
			t.mode = tapWS
			t.ws = &wsFramer{c: t.c, dir: Downstream}
			if err := emit(chunk{data: head, at: ck.at, u: &unit{kind: unitHTTPResponseHead, status: resp.StatusCode}}); err != nil {
				return err
			}
			if len(rest) > 0 {
				return t.ws.feed(chunk{data: rest, at: ck.at}, emit)
			}
			return nil
		}
		var n int64
		switch {
		case rec.method == http.MethodHead || resp.StatusCode/100 == 1 || resp.StatusCode == 204 || resp.StatusCode == 304:
		case len(resp.TransferEncoding) > 0 || resp.ContentLength < 0:
			// Chunked or read-until-close bodies are not followed; observers
			// learn which response the opaque bytes begin with.
			t.c.respOpaque.Store(&opaqueResp{seq: rec.seq, meta: respMeta(rec, resp), payload: rec.pollGET && resp.StatusCode == http.StatusOK})
			return t.opaque(ck, emit)
		default:
			n = resp.ContentLength
		}
		meta := respMeta(rec, resp)
		if rec.pollGET && resp.StatusCode == http.StatusOK && n > 0 && n <= maxFrame {
			t.mode = tapMsg
			t.msgMeta = meta
			t.headLen = end + 4
			t.msgLen = end + 4 + int(n)
			continue
		}
		rest := t.acc[end+4:]
		if err := emit(chunk{data: head, at: ck.at, u: &unit{kind: unitHTTPResponseHead, status: resp.StatusCode, bodyLen: n, eio: meta}}); err != nil {
			return err
		}
		t.acc = append(t.acc[:0], rest...)
		if n > 0 {
			t.mode = tapBody
			t.bodyLeft = n
			rest := t.acc
			t.acc = nil
			if err := t.feed(chunk{data: rest, at: ck.at}, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// respMeta is the Engine.IO metadata of a response: its request's, with the
// body's form.
func respMeta(rec reqRecord, resp *http.Response) *eioMeta {
	if rec.eio == nil {
		return nil
	}
	m := *rec.eio
	m.pollPOST = false
	m.pollGET = m.pollGET && resp.StatusCode == http.StatusOK
	m.binary = isOctetStream(resp.Header)
	return &m
}

func (t *respTap) opaque(ck chunk, emit emitFunc) error {
	t.mode = tapOpaque
	rest := t.acc
	t.acc = nil
	return emit(chunk{data: rest, at: ck.at})
}

func (t *respTap) flush(emit emitFunc) error {
	if len(t.acc) > 0 && (t.mode == tapHead || t.mode == tapMsg) {
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
	acc  []byte // a frame (or its header) being held whole for unit stages
	hdr  []byte // a header split between chunks, already forwarded
	skip int64  // bytes of the current frame still to forward untouched

	unitsHook func() bool // tests: replaces wantUnits
}

// wsHeaderLen returns how long the header starting with b is, as far as b
// tells: 2 until the second byte is known.
func wsHeaderLen(b []byte) int {
	if len(b) < 2 {
		return 2
	}
	hl := 2
	switch b[1] & 0x7f {
	case 126:
		hl += 2
	case 127:
		hl += 8
	}
	if b[1]&0x80 != 0 {
		hl += 4
	}
	return hl
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
	units := f.wantUnits()
	if !units {
		if len(f.acc) > 0 {
			// A frame was being held for a stage that is gone: forward
			// what was held and follow the frame from there.
			held := f.acc
			f.acc = f.acc[:0]
			if hl, plen, ok := wsHeader(held); ok {
				f.skip = int64(hl) + plen - int64(len(held))
			} else {
				f.hdr = append(f.hdr[:0], held...)
			}
			if err := emit(chunk{data: held, at: ck.at}); err != nil {
				return err
			}
		}
		// Only delimit frames; the chunk goes out as it came, in one write.
		f.advance(data, false)
		return emit(ck)
	}
	for len(data) > 0 {
		if f.skip > 0 || len(f.hdr) > 0 {
			// The rest of a frame that is forwarded as it comes (too big to
			// hold, or begun while no stage wanted whole frames).
			n := f.advance(data, true)
			if err := emit(chunk{data: data[:n], at: ck.at, buf: ck.buf}); err != nil {
				return err
			}
			data = data[n:]
			continue
		}
		if len(f.acc) > 0 {
			// Complete the frame begun in an earlier chunk.
			hl, plen, ok := wsHeader(f.acc)
			if !ok {
				// Take only header bytes: a short frame may end inside
				// the next 14.
				k := min(len(data), wsHeaderLen(f.acc)-len(f.acc))
				f.acc = append(f.acc, data[:k]...)
				data = data[k:]
				continue
			}
			total := int64(hl) + plen
			if total > maxFrame {
				held := f.acc
				f.acc = f.acc[:0]
				f.skip = total - int64(len(held))
				if err := emit(chunk{data: held, at: ck.at}); err != nil {
					return err
				}
				continue
			}
			k := min(int64(len(data)), total-int64(len(f.acc)))
			f.acc = append(f.acc, data[:k]...)
			data = data[k:]
			if int64(len(f.acc)) < total {
				continue
			}
			frame := f.acc
			err := emit(chunk{data: frame, at: ck.at, u: f.unit(frame, hl)})
			f.acc = f.acc[:0]
			if err != nil {
				return err
			}
			continue
		}
		// At a frame boundary: a whole frame goes out without a copy, a
		// partial one is held, an oversized one is streamed.
		hl, plen, ok := wsHeader(data)
		if !ok {
			f.acc = append(f.acc, data...)
			return nil
		}
		total := int64(hl) + plen
		switch {
		case total > maxFrame:
			n := min(int64(len(data)), total)
			f.skip = total - n
			if err := emit(chunk{data: data[:n], at: ck.at, buf: ck.buf}); err != nil {
				return err
			}
			data = data[n:]
		case int64(len(data)) >= total:
			frame := data[:total]
			if err := emit(chunk{data: frame, at: ck.at, buf: ck.buf, u: f.unit(frame, hl)}); err != nil {
				return err
			}
			data = data[total:]
		default:
			f.acc = append(f.acc, data...)
			return nil
		}
	}
	return nil
}

// advance follows frame boundaries over data without holding anything: it
// consumes the rest of the current frame (skip) and the headers of the
// following ones (a header split between chunks is kept in hdr). With stop
// it returns at the first frame boundary; it returns how many bytes it
// consumed.
func (f *wsFramer) advance(data []byte, stop bool) int {
	i := 0
	for i < len(data) {
		if f.skip > 0 {
			n := min(int64(len(data)-i), f.skip)
			i += int(n)
			f.skip -= n
			if stop && f.skip == 0 {
				return i
			}
			continue
		}
		if len(f.hdr) == 0 {
			if stop {
				return i
			}
			hl, plen, ok := wsHeader(data[i:])
			if !ok {
				f.hdr = append(f.hdr, data[i:]...)
				return len(data)
			}
			i += hl
			f.skip = plen
			continue
		}
		k := min(len(data)-i, 14-len(f.hdr))
		old := len(f.hdr)
		f.hdr = append(f.hdr, data[i:i+k]...)
		hl, plen, ok := wsHeader(f.hdr)
		if !ok {
			i += k
			continue
		}
		i += hl - old
		f.hdr = f.hdr[:0]
		f.skip = plen
		if stop && plen == 0 {
			return i
		}
	}
	return i
}

// wantUnits reports whether a stage of the link's chain acts on protocol
// units; if none does, frames are only delimited, not held or decoded.
func (f *wsFramer) wantUnits() bool {
	if f.unitsHook != nil {
		return f.unitsHook()
	}
	for _, in := range *f.c.link(f.dir).chain.Load() {
		if in.e.m.level == levelUnit {
			return true
		}
	}
	return false
}

func (f *wsFramer) flush(emit emitFunc) error {
	if len(f.acc) == 0 {
		return nil
	}
	rest := f.acc
	f.acc = nil
	return emit(chunk{data: rest})
}

// unit describes a complete frame; the Engine.IO packet it carries is
// decoded on demand (see unit.packet).
func (f *wsFramer) unit(frame []byte, hl int) *unit {
	fr := &wsFrame{fin: frame[0]&0x80 != 0, opcode: frame[0] & 0x0f}
	v3 := false
	if f.c != nil {
		tags := f.c.tags.Load()
		v3 = tags != nil && tags.EIO == "3"
	}
	return &unit{kind: unitWSFrame, frame: fr, wire: frame, hl: hl, v3: v3}
}

// packetType returns the type of the Engine.IO packet a whole text or
// binary WebSocket message carries, and whether it is binary, reading one
// byte at most; ok is false for other frames, fragments and unknown types.
func (u *unit) packetType() (t engineio.PacketType, binary, ok bool) {
	if u.kind != unitWSFrame {
		return 0, false, false
	}
	if u.decoded || u.v3 {
		if p := u.packet(); p != nil {
			return p.Type, p.Binary, true
		}
		return 0, false, false
	}
	fr := u.frame
	switch {
	case !fr.fin:
		return 0, false, false
	case fr.opcode == 2:
		return engineio.Message, true, true
	case fr.opcode != 1 || len(u.wire) <= u.hl:
		return 0, false, false
	}
	c := u.wire[u.hl]
	if u.wire[1]&0x80 != 0 {
		c ^= u.wire[u.hl-4]
	}
	p, err := engineio.ParseText(engineio.V4, []byte{c})
	if err != nil {
		return 0, false, false
	}
	return p.Type, false, true
}

// packet returns the Engine.IO packet a whole text or binary WebSocket
// message carries, or nil (other frames, fragments, undecodable data). It
// decodes once, from the frame's bytes, so it must be called while the
// chunk carrying the unit is valid; the packet's Data is a copy.
func (u *unit) packet() *engineio.Packet {
	if u.kind != unitWSFrame || u.decoded {
		return u.pkt
	}
	u.decoded = true
	fr, frame, hl := u.frame, u.wire, u.hl
	if !fr.fin || (fr.opcode != 1 && fr.opcode != 2) {
		return nil
	}
	payload := append([]byte(nil), frame[hl:]...)
	if frame[1]&0x80 != 0 {
		mask := frame[hl-4 : hl]
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	v := engineio.V4
	if u.v3 {
		v = engineio.V3
	}
	if p, err := engineio.ParseFrame(v, fr.opcode == 2, payload); err == nil {
		u.pkt = &p
	}
	return u.pkt
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
