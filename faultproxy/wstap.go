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
}

func (c *conn) signalReq() {
	select {
	case c.reqSig <- struct{}{}:
	default:
	}
}

func (c *conn) pushReq(r reqRecord) {
	c.mu.Lock()
	c.reqSeq++
	r.seq, r.at = c.reqSeq, time.Now()
	c.reqQ = append(c.reqQ, r)
	c.mu.Unlock()
	c.signalReq()
}

func (c *conn) popReq() (reqRecord, bool) {
	c.mu.Lock()
	defer c.signalReq()
	defer c.mu.Unlock()
	if len(c.reqQ) == 0 {
		return reqRecord{}, false
	}
	r := c.reqQ[0]
	c.reqQ = c.reqQ[1:]
	return r, true
}

func (c *conn) unpopReq(r reqRecord) {
	c.mu.Lock()
	c.reqQ = append([]reqRecord{r}, c.reqQ...)
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
			u := &unit{kind: unitHTTPMessage, bodyAt: t.headLen}
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
			return t.opaque(ck, emit) // chunked or read-until-close bodies are not followed
		default:
			n = resp.ContentLength
		}
		if rec.pollGET && resp.StatusCode == http.StatusOK && n > 0 && n <= maxFrame && t.c.eioV4() {
			t.mode = tapMsg
			t.headLen = end + 4
			t.msgLen = end + 4 + int(n)
			continue
		}
		rest := t.acc[end+4:]
		if err := emit(chunk{data: head, at: ck.at, u: &unit{kind: unitHTTPResponseHead, status: resp.StatusCode, bodyLen: n}}); err != nil {
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
