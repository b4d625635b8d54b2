package faultproxy

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// maxHead is the largest HTTP request head the tap buffers; longer heads
// switch the tap to opaque mode.
const maxHead = 64 << 10

// unitKind says what a parsed unit is.
type unitKind uint8

const (
	unitHTTPRequestHead unitKind = iota + 1
	// unitHTTPMessage is a whole polling request or response (head and
	// Engine.IO payload, body at bodyAt).
	unitHTTPMessage
	// unitWSFrame is a complete WebSocket frame.
	unitWSFrame
	// unitHTTPResponseHead is a response head whose body (bodyLen bytes)
	// follows as plain chunks; polling responses held whole are
	// unitHTTPMessage instead.
	unitHTTPResponseHead
)

// unit is a parsed protocol unit riding on a chunk whose data are exactly the
// unit's wire bytes. Unit-aware stages may change raw (and must keep data and
// raw consistent), drop the unit, or answer the client.
type unit struct {
	kind     unitKind
	req      *http.Request    // parsed head (no body)
	upgrade  bool             // the head asks for a protocol upgrade
	rejected bool             // a stage answered the client itself; discard the rest
	bodyAt   int              // for unitHTTPMessage: where the payload starts
	frame    *wsFrame         // for unitWSFrame
	pkt      *engineio.Packet // the Engine.IO packet a whole WebSocket message carries, once decoded
	decoded  bool             // pkt has been computed (see packet)
	wire     []byte           // unitWSFrame: the frame's bytes, valid while the chunk is
	hl       int              // unitWSFrame: header length
	v3       bool             // unitWSFrame: the session speaks Engine.IO v3
	ord      int              // requests: per-session ordinal of a polling request with a sid (0 otherwise)
	status   int              // unitHTTPResponseHead: the status code
	bodyLen  int64            // unitHTTPResponseHead: body bytes that follow the head
	eio      *eioMeta         // the Engine.IO session and transport the unit belongs to, when known
}

// eioMeta says which Engine.IO exchange a unit belongs to, for observers
// (see [EIOObserve]): the request's sid, transport and protocol revision
// (for a response, those of the request it answers).
type eioMeta struct {
	sid       string
	transport string // "polling" or "websocket" (the request's transport parameter)
	v3        bool   // EIO=3
	binary    bool   // a v3 polling body in the XHR2 binary form (application/octet-stream)
	pollGET   bool   // responses: the answer to a polling GET (its body is a payload)
	pollPOST  bool   // requests: a polling POST (its body is a payload)
}

// metaOfRequest returns the Engine.IO metadata of a request.
func metaOfRequest(req *http.Request, upgrade bool) *eioMeta {
	q := req.URL.Query()
	m := &eioMeta{sid: q.Get("sid"), transport: q.Get("transport"), v3: q.Get("EIO") == "3"}
	m.pollPOST = req.Method == http.MethodPost && m.transport == "polling"
	m.pollGET = req.Method == http.MethodGet && m.transport == "polling" && !upgrade
	m.binary = isOctetStream(req.Header)
	return m
}

func isOctetStream(h http.Header) bool {
	ct, _, _ := strings.Cut(h.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/octet-stream")
}

// tapMode is the state of an httpTap.
type tapMode uint8

const (
	tapHead    tapMode = iota // expecting (more of) a request head
	tapBody                   // inside a Content-Length body
	tapOpaque                 // unparseable or upgraded: forward untouched
	tapDiscard                // a stage answered the client: drop everything
)

// httpTap cuts the upstream byte stream into HTTP/1.1 request heads and body
// bytes and tags the connection with what it sees.
type httpTap struct {
	c        *conn
	mode     tapMode
	acc      []byte // partial head
	bodyLeft int64
	requests int
	ws       *wsFramer // after a 101 (tapWS)
	pending  *unit     // the polling POST being buffered (tapMsg)
	msgLen   int       // its head + body length
}

// tapper is a protocol tap in front of a link's chain.
type tapper interface {
	feed(ck chunk, emit emitFunc) error
	flush(emit emitFunc) error
}

// ConnInfo describes an open connection, with the tags the protocol tap
// learned from its first HTTP request (empty when the connection is not
// tapped or has sent none). See [Options.Tap].
type ConnInfo struct {
	Ordinal   uint64    `json:"ordinal"`
	Opened    time.Time `json:"opened"`
	Client    string    `json:"client"`
	Method    string    `json:"method,omitempty"`
	Path      string    `json:"path,omitempty"`
	SID       string    `json:"sid,omitempty"`       // query parameter "sid"
	Transport string    `json:"transport,omitempty"` // query parameter "transport"
	EIO       string    `json:"eio,omitempty"`       // query parameter "EIO"
	Upgrade   bool      `json:"upgrade,omitempty"`   // the first request asked for an upgrade
	Upgraded  bool      `json:"upgraded,omitempty"`  // the server answered it with 101: WebSocket
	Requests  int       `json:"requests"`            // request heads seen so far
	// RequestOrdinal is the per-session ordinal of the first request when
	// it is a polling request with a sid (see [RequestMatch]), else 0.
	RequestOrdinal int `json:"request_ordinal,omitempty"`
}

// Conns returns the open connections, oldest first.
func (p *Proxy) Conns() []ConnInfo {
	p.mu.Lock()
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	out := make([]ConnInfo, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		info := c.info
		c.mu.Unlock()
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ConnInfo) int { return int(a.Ordinal) - int(b.Ordinal) })
	return out
}

// feed runs ck through the tap, emitting heads as units and everything else
// as plain chunks.
func (t *httpTap) feed(ck chunk, emit emitFunc) error {
	data := ck.data
	for len(data) > 0 {
		switch t.mode {
		case tapOpaque:
			return emit(chunk{data: data, at: ck.at, buf: ck.buf})
		case tapDiscard:
			return nil
		case tapAwait101:
			if t.c.ws.Load() {
				t.mode = tapWS
				t.ws = &wsFramer{c: t.c, dir: Upstream}
			} else {
				t.mode = tapOpaque // bytes before any 101: not a WebSocket
			}
		case tapWS:
			return t.ws.feed(chunk{data: data, at: ck.at, buf: ck.buf}, emit)
		case tapBody:
			n := int64(len(data))
			if n > t.bodyLeft {
				n = t.bodyLeft
			}
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
			if err := t.drainHeads(ck, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

// drainHeads emits every complete head in acc and what follows it.
func (t *httpTap) drainHeads(ck chunk, emit emitFunc) error {
	for len(t.acc) > 0 {
		if t.mode == tapMsg {
			// A polling POST travels as one unit, head and payload.
			if len(t.acc) < t.msgLen {
				return nil
			}
			u := t.pending
			t.pending = nil
			t.mode = tapHead
			if err := emit(chunk{data: t.acc[:t.msgLen], at: ck.at, u: u}); err != nil {
				return err
			}
			t.acc = append(t.acc[:0], t.acc[t.msgLen:]...)
			continue
		}
		if t.mode != tapHead {
			return nil
		}
		if !looksLikeRequest(t.acc) {
			return t.goOpaque(ck, emit)
		}
		end := bytes.Index(t.acc, []byte("\r\n\r\n"))
		if end < 0 {
			if len(t.acc) > maxHead {
				return t.goOpaque(ck, emit)
			}
			return nil // wait for the rest of the head
		}
		head := t.acc[:end+4]
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			return t.goOpaque(ck, emit)
		}
		u := &unit{kind: unitHTTPRequestHead, req: req, upgrade: isUpgrade(req.Header)}
		u.eio = metaOfRequest(req, u.upgrade)
		q := req.URL.Query()
		transport := q.Get("transport")
		if sid := q.Get("sid"); transport == "polling" && sid != "" {
			u.ord = t.c.p.requestOrdinal(req.Method, sid)
		}
		t.tag(req, u.upgrade, u.ord)
		t.c.pushReq(reqRecord{
			method:  req.Method,
			uri:     req.URL.RequestURI(),
			ord:     u.ord,
			upgrade: u.upgrade,
			pollGET: req.Method == http.MethodGet && transport == "polling" && !u.upgrade,
			eio:     u.eio,
		})
		// Hold a polling POST until its payload is complete, unless the client
		// waits for "100 Continue" before sending it. v3 payloads are held
		// too, for observers; the payload faults leave them alone (see
		// editPayload).
		if req.Method == http.MethodPost && transport == "polling" && len(req.TransferEncoding) == 0 &&
			req.ContentLength > 0 && req.ContentLength <= maxFrame &&
			!strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
			u.kind = unitHTTPMessage
			u.bodyAt = end + 4
			t.pending = u
			t.msgLen = end + 4 + int(req.ContentLength)
			t.mode = tapMsg
			continue
		}
		rest := t.acc[end+4:]
		if err := emit(chunk{data: head, at: ck.at, u: u}); err != nil {
			return err
		}
		switch {
		case u.rejected:
			t.mode = tapDiscard
			t.acc = nil
			return nil
		case u.upgrade && t.requests == 1:
			// The downstream tap follows the response; after a 101 both
			// directions carry WebSocket frames.
			t.mode = tapAwait101
		case u.upgrade:
			t.mode = tapOpaque // an upgrade on a reused connection is not followed
		case len(req.TransferEncoding) > 0:
			t.mode = tapOpaque // chunked request bodies are not followed yet
		case req.ContentLength > 0:
			t.mode = tapBody
			t.bodyLeft = req.ContentLength
		}
		t.acc = append(t.acc[:0], rest...)
		if t.mode != tapHead && len(t.acc) > 0 {
			rest := t.acc
			t.acc = nil
			if err := t.feed(chunk{data: rest, at: ck.at}, emit); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *httpTap) goOpaque(ck chunk, emit emitFunc) error {
	t.mode = tapOpaque
	rest := t.acc
	t.acc = nil
	return emit(chunk{data: rest, at: ck.at})
}

// flush forwards a partial head at end of stream.
func (t *httpTap) flush(emit emitFunc) error {
	if t.ws != nil {
		return t.ws.flush(emit)
	}
	if len(t.acc) == 0 || (t.mode != tapHead && t.mode != tapMsg) {
		return nil
	}
	return t.goOpaque(chunk{at: time.Now()}, emit)
}

func (t *httpTap) tag(req *http.Request, upgrade bool, ord int) {
	t.requests++
	c := t.c
	c.mu.Lock()
	c.info.Requests = t.requests
	if t.requests > 1 {
		c.mu.Unlock()
		return
	}
	q := req.URL.Query()
	c.info.Method = req.Method
	c.info.Path = req.URL.Path
	c.info.SID = q.Get("sid")
	c.info.Transport = q.Get("transport")
	c.info.EIO = q.Get("EIO")
	c.info.Upgrade = upgrade
	c.info.RequestOrdinal = ord
	info := c.info
	c.tags.Store(&info)
	var waiting []*instance
	for e, list := range c.insts {
		if e.m.scope.hasTagMatch() {
			waiting = append(waiting, list...)
		}
	}
	c.mu.Unlock()
	// Instances attached later see the tags in attach.
	for _, in := range waiting {
		in.tagged(info)
	}
}

// looksLikeRequest reports whether b can be the start of a request line: an
// upper-case method token followed by a space.
func looksLikeRequest(b []byte) bool {
	for i, ch := range b {
		switch {
		case ch == ' ' && i > 0:
			return true
		case ch >= 'A' && ch <= 'Z' && i < 20:
		default:
			return false
		}
	}
	return true // too short to tell
}

func isUpgrade(h http.Header) bool {
	if h.Get("Upgrade") == "" {
		return false
	}
	for _, v := range h.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// stripUpgradeHeaders removes Upgrade, Connection and Sec-WebSocket-* header
// lines (with any continuation lines) from a raw head, keeping every other
// byte as it was. It returns the new head and the names removed.
func stripUpgradeHeaders(head []byte) ([]byte, []string) {
	lines := bytes.SplitAfter(head, []byte("\r\n"))
	out := make([]byte, 0, len(head))
	var removed []string
	dropping := false
	for i, ln := range lines {
		if i == 0 || len(ln) == 0 || bytes.Equal(ln, []byte("\r\n")) {
			out = append(out, ln...)
			dropping = false
			continue
		}
		if ln[0] == ' ' || ln[0] == '\t' { // obs-fold continuation
			if !dropping {
				out = append(out, ln...)
			}
			continue
		}
		name, _, _ := bytes.Cut(ln, []byte(":"))
		n := strings.ToLower(strings.TrimSpace(string(name)))
		if n == "upgrade" || n == "connection" || strings.HasPrefix(n, "sec-websocket-") {
			removed = append(removed, strings.TrimSpace(string(name)))
			dropping = true
			continue
		}
		dropping = false
		out = append(out, ln...)
	}
	return out, removed
}

func validateUnitScope(typ string, s Scope) error {
	if err := validateCommon(typ, 0, s); err != nil {
		return err
	}
	if s.AfterBytes != 0 {
		return &FieldError{Fault: typ, Field: "Scope.AfterBytes", Attr: "after_bytes", Reason: "protocol faults act on whole requests; use after_ms"}
	}
	return nil
}

// wsAccept computes Sec-WebSocket-Accept for a key (RFC 6455 section 4.2.2).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}
