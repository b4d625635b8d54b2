package faultproxy

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/siospec/siospec/protocol/engineio"
)

// EIOObserve is a Go-only observer: Observe is called for every Engine.IO
// packet the protocol tap decodes in the fault's direction (Both for both),
// and for every unit of Engine.IO data it could not decode, each time with
// the transport connection, the transport, the protocol revision and the
// session it belongs to. It never changes the traffic. Observe runs on the
// proxy's goroutines (concurrently for the two directions and for different
// connections; it must be safe for that and quick); the packet's Data is
// only valid during the call.
//
// What the tap decodes: whole WebSocket messages (text and binary frames
// with FIN), and polling payloads held whole: the v4 form (EIO-POLL-02) and
// both v3 forms, text "<length>:<packet>" records and the XHR2 binary form
// (application/octet-stream). What it reports undecoded: polling bodies it
// does not hold (chunked, larger than 1 MiB, sent after "100 Continue"),
// payloads that do not parse (the packets before the error are reported),
// fragmented or oversized WebSocket messages, and bytes the tap forwards
// opaquely (a request or response it could not parse, an upgrade on a
// reused connection).
//
// It has no control-API form.
type EIOObserve struct {
	Name      string    // default "eio_observe"
	Direction Direction // default Downstream
	Scope     Scope     // AfterBytes must be 0
	Observe   func(EIOObservation)
}

// EIOObservation is one thing an [EIOObserve] saw.
type EIOObservation struct {
	Direction Direction
	// Conn is the proxy connection's ordinal ([ConnInfo.Ordinal]).
	Conn uint64
	// Transport is "polling" or "websocket" ("" when the tap cannot tell).
	Transport string
	// EIO is the Engine.IO protocol revision, 3 or 4 (0 when unknown).
	EIO int
	// SID is the Engine.IO session: the request's sid query parameter;
	// for a handshake (a request without one) the sid of the open packet
	// that answers it; for a response, that of the request it answers. ""
	// when the tap cannot tell.
	SID string
	// Packet is the decoded packet, nil for an undecoded unit.
	Packet *engineio.Packet
	// Undecoded is, for an undecoded unit, how many bytes of Engine.IO
	// data the tap could not decode (0 when it does not know), and Why says
	// what they were.
	Undecoded int
	Why       string
}

// Type implements Fault.
func (EIOObserve) Type() string { return "eio_observe" }

// Validate implements Fault.
func (f EIOObserve) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := validateCommon(f.Type(), f.Direction, Scope{}); err != nil {
		return err
	}
	if f.Observe == nil {
		return &FieldError{Fault: f.Type(), Field: "Observe", Attr: "-", Reason: "must not be nil"}
	}
	return nil
}

func (f EIOObserve) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

// eioObserveB is the behaviour on one direction of one connection.
type eioObserveB struct {
	f EIOObserve
	// bodyLeft: bytes of a body that passes as plain chunks after the
	// head unit that announced it; body is that head's metadata, and
	// payload whether the body is an Engine.IO payload.
	bodyLeft int64
	body     *eioMeta
	payload  bool
}

func (b *eioObserveB) emit(in *instance, m *eioMeta, sid string, p *engineio.Packet, undecoded int, why string) {
	o := EIOObservation{Direction: in.dir, Conn: in.c.ord, SID: sid, Packet: p, Undecoded: undecoded, Why: why}
	if m != nil {
		o.Transport, o.EIO = m.transport, 4
		if m.v3 {
			o.EIO = 3
		}
	}
	b.f.Observe(o)
}

func (b *eioObserveB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	switch {
	case u == nil:
		b.plain(in, len(ck.data))
	case u.kind == unitHTTPMessage:
		b.bodyLeft = 0
		b.message(in, u, ck.data[u.bodyAt:])
	case u.kind == unitHTTPRequestHead:
		b.bodyLeft, b.body, b.payload = 0, u.eio, false
		if u.req != nil && u.req.ContentLength > 0 {
			b.bodyLeft = u.req.ContentLength
			b.payload = u.eio != nil && u.eio.pollPOST
		}
		if u.req != nil && len(u.req.TransferEncoding) > 0 && u.eio != nil && u.eio.pollPOST {
			b.emit(in, u.eio, u.eio.sid, nil, 0, "polling request with a chunked body (not followed)")
		}
	case u.kind == unitHTTPResponseHead:
		b.bodyLeft, b.body, b.payload = u.bodyLen, u.eio, false
		if u.status == http.StatusSwitchingProtocols {
			b.bodyLeft = 0
			break
		}
		b.payload = u.eio != nil && u.eio.pollGET && u.bodyLen > 0
	case u.kind == unitWSFrame:
		b.frame(in, u)
	}
	return next(ck)
}

// plain accounts for bytes that passed without a unit.
func (b *eioObserveB) plain(in *instance, n int) {
	if n == 0 {
		return
	}
	if b.bodyLeft > 0 {
		k := min(int64(n), b.bodyLeft)
		b.bodyLeft -= k
		if b.payload {
			why := "polling payload not held whole (too large or sent after 100 Continue)"
			b.emit(in, b.body, b.body.sid, nil, int(k), why)
		}
		if n -= int(k); n == 0 {
			return
		}
	}
	// Opaque bytes: after a 101 they are WebSocket frames passed unframed
	// (oversized, or a stage that wanted no units), else a stream the tap
	// gave up on.
	if in.c.ws.Load() {
		m := &eioMeta{transport: "websocket", v3: !in.c.eioV4()}
		b.emit(in, m, in.c.wsSID(), nil, n, "WebSocket bytes not cut into whole messages")
		return
	}
	if o := in.c.respOpaque.Load(); o != nil && in.dir == Downstream {
		in.c.mu.Lock()
		last := in.c.reqSeq
		in.c.mu.Unlock()
		switch {
		case last != o.seq:
			// Later requests on the connection: their responses are in
			// the opaque stream too.
			b.emit(in, nil, "", nil, n, "responses after a chunked or unbounded one (not followed)")
		case o.payload && o.meta != nil:
			b.emit(in, o.meta, o.meta.sid, nil, n, "chunked or unbounded polling response (not followed)")
		case o.payload:
			b.emit(in, nil, "", nil, n, "chunked or unbounded polling response (not followed)")
		}
		// else: the body of a response that carries no Engine.IO payload
		// (an error, a POST's "ok").
		return
	}
	b.emit(in, nil, "", nil, n, "bytes the tap could not parse as HTTP (forwarded opaquely)")
}

// opaqueResp is the response the downstream tap stopped following.
type opaqueResp struct {
	seq     uint64   // its request's reqRecord.seq
	meta    *eioMeta // its metadata (nil when unknown)
	payload bool     // its body is an Engine.IO payload (a polling GET's 200)
}

// message decodes a polling payload held whole.
func (b *eioObserveB) message(in *instance, u *unit, body []byte) {
	m := u.eio
	if m == nil || (!m.pollGET && !m.pollPOST) {
		return // not an Engine.IO payload (an error or a POST's "ok")
	}
	v := engineio.V4
	if m.v3 {
		v = engineio.V3
	}
	pkts, err := engineio.DecodePayload(v, m.v3 && m.binary, body)
	sid := m.sid
	if sid == "" {
		for _, p := range pkts {
			if p.Type == engineio.Open && !p.Binary {
				sid = openSID(p.Data)
				break
			}
		}
	}
	for i := range pkts {
		b.emit(in, m, sid, &pkts[i], 0, "")
	}
	if err != nil {
		b.emit(in, m, sid, nil, len(body), fmt.Sprintf("polling payload not decodable after %d packet(s): %v", len(pkts), err))
	}
}

// frame reports the packet of a WebSocket frame unit.
func (b *eioObserveB) frame(in *instance, u *unit) {
	fr := u.frame
	if fr.opcode >= 8 {
		return // control frames carry no Engine.IO data
	}
	m := &eioMeta{transport: "websocket", v3: u.v3}
	p := u.packet()
	sid := in.c.wsSID()
	if p != nil && sid == "" && p.Type == engineio.Open && !p.Binary {
		// A WebSocket-only session: its sid is in the open packet.
		sid = openSID(p.Data)
		in.c.learnWSSID(sid)
	}
	if p != nil {
		b.emit(in, m, sid, p, 0, "")
		return
	}
	why := "WebSocket message fragment"
	if fr.fin && fr.opcode != 0 {
		why = "WebSocket message that is not a valid Engine.IO packet"
	}
	b.emit(in, m, sid, nil, len(u.wire)-u.hl, why)
}

// openSID returns the sid of an open packet's handshake data.
func openSID(data []byte) string {
	var o struct {
		SID string `json:"sid"`
	}
	_ = json.Unmarshal(data, &o)
	return o.SID
}

// eioObserveKind registers EIOObserve (see registry.go).
var eioObserveKind = faultKind{
	typ: "eio_observe", goType: "EIOObserve", level: "engine.io", where: "engine.io (WebSocket, v4 and v3 polling)",
	toxiproxy: false, stream: "downstream",
	summary:   "callback `Observe(EIOObservation)`: every packet decoded and every unit not decoded, with connection, transport, EIO revision and sid",
	behaviour: func(x Fault) behaviour { return &eioObserveB{f: x.(EIOObserve)} },
}

// wsSID returns the Engine.IO session of a WebSocket connection: the sid of
// the upgrade request, or the one learned from the open packet of a
// WebSocket-only session ("" before either is known).
func (c *conn) wsSID() string {
	if tags := c.tags.Load(); tags != nil && tags.SID != "" {
		return tags.SID
	}
	if s := c.wsSIDv.Load(); s != nil {
		return *s
	}
	return ""
}

func (c *conn) learnWSSID(sid string) {
	if sid != "" {
		c.wsSIDv.CompareAndSwap(nil, &sid)
	}
}
