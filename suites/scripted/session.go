package scripted

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// Request is one HTTP request as the server saw it.
type Request struct {
	Conn      int // recorder connection ordinal
	Method    string
	URL       string // path and query as received
	Query     map[string][]string
	Header    http.Header
	SID       string // the sid query parameter ("" for a handshake)
	Transport string // the transport query parameter
	Body      []byte // POST body (capped at 1 MiB)
	Status    int    // the status answered (0 while in flight, or when the connection was dropped)
	Started   time.Time
	Finished  time.Time // zero while in flight
	Upgrade   bool      // a WebSocket upgrade request
}

// Received is one packet from the client with how and when it came.
type Received struct {
	Packet    engineio.Packet
	Transport string // "polling" or "websocket"
	At        time.Time
}

// endAction says what the transport gets when a session ends.
type endAction int

const (
	endClosePacket endAction = iota // pending GET: 1; WebSocket: close frame
	endNoop                         // pending GET: 6 (the client closed)
	endAbort                        // connections dropped
	endUnknownSID                   // pending GET: 400 code 1; WebSocket dropped
)

// outItem is one queued packet, or one raw body / frame.
type outItem struct {
	pkt       engineio.Packet
	raw       []byte
	isRaw     bool
	rawBinary bool
}

// Session is one Engine.IO session (one sid).
type Session struct {
	s       *Server
	id      string
	version engineio.Version
	b64     bool
	hsReq   *Request
	done    chan struct{}

	// Guarded by s.mu.
	transport             string
	out                   []outItem
	inbox                 []Received
	changed               chan struct{}
	ended                 bool
	reason                string
	action                endAction
	getActive, postActive bool
	upgrading             bool // the probe was answered, 5 not yet received
	silent                bool
	pingsOff              bool
	ws                    *wsConn // the WebSocket transport
	probe                 *wsConn // an upgrade WebSocket before its 5
	nextPing              time.Time
	pongDeadline          time.Time // v4: zero when no ping is outstanding
	pingDeadline          time.Time // v3
}

// newSession creates and registers a session; for a WebSocket handshake
// c is the connection, which becomes the session's transport with the
// open packet queued first. It returns the open packet.
func (s *Server) newSession(req *Request, c *websocket.Conn) (*Session, engineio.Packet) {
	o := s.opts
	up := o.Upgrades
	if up == nil {
		if c == nil {
			up = []string{"websocket"}
		} else {
			up = []string{}
		}
	}
	op := engineio.OpenPacket{
		SID:            newSID(),
		Upgrades:       append([]string(nil), up...),
		PingInterval:   o.PingInterval,
		PingTimeout:    o.PingTimeout,
		MaxPayload:     int64(o.MaxPayload),
		OmitMaxPayload: s.version == engineio.V3,
	}
	if o.Open != nil {
		o.Open(&op)
	}
	data := op.AppendJSON(nil)
	if o.OpenJSON != nil {
		data = o.OpenJSON(op.SID, data)
	}
	open := engineio.Packet{Type: engineio.Open, Data: data}
	now := time.Now()
	ss := &Session{
		s:            s,
		id:           op.SID,
		version:      s.version,
		b64:          req.Query["b64"] != nil,
		hsReq:        req,
		done:         make(chan struct{}),
		transport:    "polling",
		changed:      make(chan struct{}),
		pingsOff:     o.NoPings,
		nextPing:     now.Add(o.PingInterval),
		pingDeadline: now.Add(o.PingInterval + o.PingTimeout),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c != nil {
		ss.transport = "websocket"
		ss.ws = s.newWSLocked(ss, c, req.Conn, false)
		ss.out = []outItem{{pkt: open}}
	}
	s.sessions[ss.id] = ss
	if c != nil {
		s.announceLocked(ss)
	}
	s.rec.Note(fmt.Sprintf("session %s opened (%s)", ss.id, ss.transport))
	s.wg.Add(1)
	go ss.heartbeat()
	if s.stopped {
		ss.endLocked("server stopped", endAbort)
	}
	return ss, open
}

// announceLocked makes ss available to NextSession (once its handshake
// has been answered).
func (s *Server) announceLocked(ss *Session) {
	s.newQ = append(s.newQ, ss)
	s.signalLocked()
}

func (ss *Session) signalLocked() {
	close(ss.changed)
	ss.changed = make(chan struct{})
}

// summary renders p for the transcript: its wire text, or Packet.String
// for a binary packet.
func summary(p engineio.Packet) string {
	if p.Binary {
		return p.String()
	}
	b := append([]byte{p.Type.Char()}, p.Data...)
	if len(b) > 240 {
		return fmt.Sprintf("%s... (%d B)", b[:240], len(b))
	}
	return string(b)
}

// encodeBatch encodes items for one GET response and records the packets.
func (ss *Session) encodeBatch(conn int, items []outItem) ([]byte, string, error) {
	s := ss.s
	if len(items) == 1 && items[0].isRaw {
		ct := textPlain
		if items[0].rawBinary {
			ct = octetStream
		}
		return items[0].raw, ct, nil
	}
	pkts := make([]engineio.Packet, 0, len(items))
	for _, it := range items {
		pkts = append(pkts, it.pkt)
		s.rec.Add(conn, dirS2C, kindEIOPacket, summary(it.pkt), nil)
	}
	enc := engineio.Encoder{AllowIllegal: true}
	if ss.version == engineio.V4 {
		b, err := enc.AppendPayload(nil, pkts)
		return b, textPlain, err
	}
	if engineio.HasBinary(pkts) && !ss.b64 {
		b, err := enc.AppendBinaryPayloadV3(nil, pkts)
		return b, octetStream, err
	}
	b, err := enc.AppendPayloadV3(nil, pkts)
	return b, textPlain, err
}

// takeBatchLocked takes what the next GET carries: one raw item, or every
// packet up to the next raw item.
func (ss *Session) takeBatchLocked() []outItem {
	n := 1
	if !ss.out[0].isRaw {
		for n < len(ss.out) && !ss.out[n].isRaw {
			n++
		}
	}
	items := ss.out[:n:n]
	ss.out = ss.out[n:]
	return items
}

// receiveLocked records a packet from the client and puts it in the inbox.
func (ss *Session) receiveLocked(p engineio.Packet, transport string, conn int) {
	p.Data = append([]byte(nil), p.Data...)
	ss.s.rec.Add(conn, dirC2S, kindEIOPacket, summary(p), nil)
	ss.inbox = append(ss.inbox, Received{Packet: p, Transport: transport, At: time.Now()})
	ss.signalLocked()
}

// handleLocked applies a packet received on the established transport.
func (ss *Session) handleLocked(p engineio.Packet) {
	s := ss.s
	switch p.Type {
	case engineio.Ping:
		if ss.version == engineio.V4 {
			s.rec.Note("v4 client sent a ping on the established transport (invalid heartbeat direction): session closed")
			ss.endLocked("transport error", endClosePacket)
			return
		}
		if ss.pingsOff || ss.silent {
			return
		}
		ss.queueLocked(outItem{pkt: engineio.Packet{Type: engineio.Pong, Data: append([]byte(nil), p.Data...)}})
		ss.pingDeadline = time.Now().Add(s.opts.PingInterval + s.opts.PingTimeout)
	case engineio.Pong:
		if ss.version == engineio.V4 && !ss.pongDeadline.IsZero() {
			ss.pongDeadline = time.Time{}
			ss.nextPing = time.Now().Add(s.opts.PingInterval)
		}
	case engineio.Close:
		ss.endLocked("client close packet", endNoop)
	}
	ss.signalLocked()
}

func (ss *Session) queueLocked(items ...outItem) {
	ss.out = append(ss.out, items...)
	ss.signalLocked()
}

// endLocked ends the session once.
func (ss *Session) endLocked(reason string, act endAction) {
	if ss.ended {
		return
	}
	s := ss.s
	ss.ended, ss.reason, ss.action = true, reason, act
	close(ss.done)
	ss.signalLocked()
	s.rec.Note(fmt.Sprintf("session %s ended: %s", ss.id, reason))
	if act == endUnknownSID {
		delete(s.sessions, ss.id)
	}
	if act == endAbort || act == endUnknownSID {
		for _, w := range []*wsConn{ss.ws, ss.probe} {
			if w != nil {
				_ = w.nc.Close()
			}
		}
	}
}

// heartbeat runs the session's timers until it ends.
func (ss *Session) heartbeat() {
	s := ss.s
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		if ss.ended {
			s.mu.Unlock()
			return
		}
		now := time.Now()
		var next time.Time
		if !ss.pingsOff && !ss.silent {
			if ss.version == engineio.V4 {
				switch {
				case !ss.pongDeadline.IsZero() && !now.Before(ss.pongDeadline):
					ss.endLocked("ping timeout", endClosePacket)
					s.mu.Unlock()
					return
				case !ss.pongDeadline.IsZero():
					next = ss.pongDeadline
				case !now.Before(ss.nextPing):
					ss.pongDeadline = now.Add(s.opts.PingTimeout)
					next = ss.pongDeadline
					ss.queueLocked(outItem{pkt: engineio.Packet{Type: engineio.Ping}})
				default:
					next = ss.nextPing
				}
			} else {
				if !now.Before(ss.pingDeadline) {
					ss.endLocked("ping timeout", endClosePacket)
					s.mu.Unlock()
					return
				}
				next = ss.pingDeadline
			}
		}
		ch := ss.changed
		s.mu.Unlock()
		var tc <-chan time.Time
		if !next.IsZero() {
			t.Reset(time.Until(next))
			tc = t.C
		}
		select {
		case <-ch:
		case <-tc:
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
	}
}

// ID returns the sid.
func (ss *Session) ID() string { return ss.id }

// Transport returns the current transport: "polling" or "websocket".
func (ss *Session) Transport() string {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	return ss.transport
}

// Handshake returns the handshake request.
func (ss *Session) Handshake() Request {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	return *ss.hsReq
}

// Recv returns the next packet the client sent (any type, pings and pongs
// included, the upgrade's 2probe and 5 included), waiting until ctx ends.
// It returns ErrSessionClosed (wrapped, with the reason) once the session
// has ended and every packet has been read.
func (ss *Session) Recv(ctx context.Context) (Received, error) {
	s := ss.s
	for {
		s.mu.Lock()
		if len(ss.inbox) > 0 {
			r := ss.inbox[0]
			ss.inbox = ss.inbox[1:]
			s.mu.Unlock()
			return r, nil
		}
		if ss.ended {
			err := &SessionClosedError{SID: ss.id, Reason: ss.reason}
			s.mu.Unlock()
			return Received{}, err
		}
		ch := ss.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Received{}, fmt.Errorf("scripted: recv on %s: %w", ss.id, ctx.Err())
		}
	}
}

// Send queues packets for the client: on WebSocket each is one frame; on
// polling every packet queued before the next GET is answered goes into
// that one response (a batch), so Send(a, b, c) is delivered as one
// payload. Packets are encoded with AllowIllegal, so a spec may send
// packets the protocol forbids.
func (ss *Session) Send(pkts ...engineio.Packet) error {
	items := make([]outItem, len(pkts))
	for i, p := range pkts {
		p.Data = append([]byte(nil), p.Data...)
		items[i] = outItem{pkt: p}
	}
	return ss.enqueue(items)
}

func (ss *Session) enqueue(items []outItem) error {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.ended {
		return &SessionClosedError{SID: ss.id, Reason: ss.reason}
	}
	ss.queueLocked(items...)
	return nil
}

// SendRaw delivers b verbatim: on polling as the whole body of the next
// GET response (Content-Type text/plain, or application/octet-stream when
// binary is set); on WebSocket as one frame (binary or text).
func (ss *Session) SendRaw(b []byte, binary bool) error {
	return ss.enqueue([]outItem{{raw: append([]byte(nil), b...), isRaw: true, rawBinary: binary}})
}

// StopPings stops the heartbeat of this session (v4: no more pings and no
// ping timeout; v3: pings are no longer answered and no ping timeout),
// leaving everything else working.
func (ss *Session) StopPings() {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.pingsOff = true
	s.rec.Note("pings stopped on " + ss.id)
	ss.signalLocked()
}

// Silence makes the session go quiet without closing anything: no pings,
// no pongs, polling GETs are parked unanswered, POSTs are read and
// answered 200 but their packets are still recorded, WebSocket frames are
// read and nothing is written. The server's own ping timeout is off too.
func (ss *Session) Silence() {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.silent = true
	s.rec.Note("silence on " + ss.id)
	ss.signalLocked()
}

// CloseTransport aborts the session's transport connections (the TCP
// connections of the pending requests or of the WebSocket) without any
// Engine.IO close packet; the session ends with reason "transport closed".
func (ss *Session) CloseTransport() {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rec.Note("transport of " + ss.id + " closed by the server (CloseTransport)")
	ss.endLocked("transport closed", endAbort)
}

// Forget drops the sid: the session ends at once (reason "forgotten") and
// every later request with it is answered 400
// {"code":1,"message":"Session ID unknown"}; a pending GET gets that
// answer too, a WebSocket is dropped.
func (ss *Session) Forget() {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rec.Note("session forgotten: " + ss.id)
	ss.endLocked("forgotten", endUnknownSID)
	delete(s.sessions, ss.id)
}

// Close sends a close packet (1) and ends the session (reason "server
// close"): on polling the pending or next GET carries it, on WebSocket it
// is followed by a close frame.
func (ss *Session) Close() {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss.ended {
		return
	}
	ss.queueLocked(outItem{pkt: engineio.Packet{Type: engineio.Close}})
	ss.endLocked("server close", endClosePacket)
}

// Done is closed when the session has ended; Reason then says why
// ("client close packet", "transport closed by the client", "ping
// timeout", "server stopped", "server close", "transport closed",
// "forgotten", "transport error", "parse error").
func (ss *Session) Done() <-chan struct{} { return ss.done }

// Reason returns why the session ended, "" while it runs.
func (ss *Session) Reason() string {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	return ss.reason
}
