package eioserver

import (
	"context"
	"net/http"
	"sync"

	"github.com/siospec/siospec/protocol/engineio"
)

type sessionState int

const (
	stateOpen sessionState = iota
	stateClosing
	stateClosed
)

// transport is what a session writes through: a polling transport or a
// WebSocket. Every method is called with the session's mutex held.
type transport interface {
	name() string
	writable() bool
	// send hands packets to the transport; it becomes unwritable until
	// they are written.
	send(pkts []engineio.Packet)
	// close closes the transport. force skips waiting for the next GET
	// on polling; done, if not nil, runs (mutex held) once it is closed.
	close(force bool, done func())
	// discard marks the transport as replaced by an upgrade.
	discard()
}

// event is one callback owed to the application: a message, or the close.
type event struct {
	pkt    engineio.Packet
	close  bool
	reason string
	err    error
}

// Session is one Engine.IO session. Its methods are safe for concurrent use.
type Session struct {
	srv     *Server
	id      string
	version engineio.Version
	req     *http.Request
	done    chan struct{}

	mu          sync.Mutex
	state       sessionState
	transport   transport
	writeBuffer []engineio.Packet
	// closeAfterFlush: Close was called with packets queued; the transport
	// closes once they are handed over (EIO-CLOSE-07).
	closeAfterFlush bool
	closeReason     string

	// Heartbeat. Timers are replaced rather than reset; the generation
	// numbers make a callback that lost a race with Stop a no-op.
	pingIntervalTimer Timer
	pingIntervalGen   uint64
	pingTimeoutTimer  Timer
	pingTimeoutGen    uint64
	awaitingPong      bool
	refreshedTimeout  bool

	// Upgrade (EIO-UPG).
	upgrading    bool
	upgraded     bool
	probe        *wsTransport
	upgradeGen   uint64
	upgradeTimer Timer
	checkTimer   Timer

	// Application callbacks, delivered by whichever goroutine finds the
	// queue idle; never concurrently, never with mu held.
	evMu      sync.Mutex
	evQueue   []event
	evBox     *[]event // where evQueue's array came from (Server.evBufs)
	evRunning bool
	onMessage func(engineio.Packet)
	onClose   func(reason string, err error)
}

func newSession(srv *Server, v engineio.Version, r *http.Request) *Session {
	// A shallow copy: the header map, URL and strings are the request's
	// own, which net/http allocates per request and never reuses, so the
	// session keeps them instead of deep copies (Request.Clone cost about
	// 1 KB per session: the header map and its values, the URL).
	req := r.WithContext(context.WithoutCancel(r.Context()))
	req.Body = http.NoBody
	req.GetBody = nil
	return &Session{
		srv:     srv,
		id:      newID(),
		version: v,
		req:     req,
		done:    make(chan struct{}),
	}
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Version returns the protocol revision the session speaks.
func (s *Session) Version() engineio.Version { return s.version }

// Request returns a copy of the handshake request (query, headers, remote
// address); its body is empty and its context is never cancelled. The copy
// shares the header map and URL of the original request: treat them as
// read-only.
func (s *Session) Request() *http.Request { return s.req }

// Done returns a channel closed once the session is closed. The OnClose
// handler may still be running when it is.
func (s *Session) Done() <-chan struct{} { return s.done }

// Transport returns the current transport: "polling" or "websocket".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport.name()
}

// OnMessage sets the handler for message packets. It is called serially,
// in arrival order, on the goroutine of the transport that received the
// packet (no goroutine per message). The handler owns p.Data. Set it in
// Options.OnSession.
func (s *Session) OnMessage(fn func(p engineio.Packet)) {
	s.evMu.Lock()
	s.onMessage = fn
	s.evMu.Unlock()
}

// OnClose sets the handler called exactly once when the session closes,
// after every message delivered before the close, with one of the Reason
// constants (or the reason given to Close) and the error behind it, if any.
func (s *Session) OnClose(fn func(reason string, err error)) {
	s.evMu.Lock()
	s.onClose = fn
	s.evMu.Unlock()
}

// Send queues packets for the peer without blocking; they are flushed in
// order on the current transport. It returns ErrClosed once the session is
// closing or closed, ErrQueueFull when the queue would exceed
// Options.SendQueueLimit (nothing is queued then), and an
// *engineio.EncodeError for a packet the protocol forbids. Send never
// modifies the packets or their Data, so one packet set may be sent to any
// number of sessions at once (a broadcast encodes once); the caller must
// not modify Data after the call.
func (s *Session) Send(pkts ...engineio.Packet) error {
	for _, p := range pkts {
		if !p.Type.Valid() {
			return &engineio.EncodeError{Packet: p, Err: engineio.ErrUnknownType}
		}
		if p.Binary && p.Type != engineio.Message {
			return &engineio.EncodeError{Packet: p, Err: engineio.ErrBinaryNotMessage}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return ErrClosed
	}
	if limit := s.srv.opts.SendQueueLimit; limit > 0 && len(s.writeBuffer)+len(pkts) > limit {
		return ErrQueueFull
	}
	s.writeBuffer = append(s.srv.packetBuf(s.writeBuffer), pkts...)
	s.flushLocked()
	return nil
}

// Writable reports whether a packet sent now would be handed to the peer
// without waiting: the session is open, nothing is queued, and the
// transport can take a write at once (an open WebSocket whose previous
// writes are done, or a parked polling GET). A volatile sender drops what
// it would send when Writable is false (NODE-VOL-01).
func (s *Session) Writable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == stateOpen && len(s.writeBuffer) == 0 && s.transport.writable()
}

// Abort closes the session at once, without the graceful flush of Close:
// the send queue is discarded, a WebSocket's TCP connection is closed even
// if a write to it is blocked (a peer that stopped reading), a parked
// polling GET is answered with a close packet, and OnClose gets reason
// (empty means "forced close"). Memory held for the peer is released
// without waiting for it. Use it for a peer that must be cut off, such as
// one whose queue overflowed.
func (s *Session) Abort(reason string) {
	if reason == "" {
		reason = ReasonForcedClose
	}
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	if ws, ok := s.transport.(*wsTransport); ok {
		ws.abort()
	}
	if s.probe != nil {
		s.probe.abort()
	}
	s.closeLocked(reason, nil)
	s.mu.Unlock()
	s.runEvents()
}

// Close closes the session gracefully: packets already queued are handed to
// the transport first (EIO-CLOSE-07), then the transport is closed (polling:
// "1" in the pending or next GET; WebSocket: a close frame). reason is
// passed to OnClose; empty means "forced close".
func (s *Session) Close(reason string) {
	if reason == "" {
		reason = ReasonForcedClose
	}
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.state = stateClosing
	s.closeReason = reason
	if len(s.writeBuffer) > 0 {
		s.closeAfterFlush = true
	} else {
		s.closeTransportLocked()
	}
	s.mu.Unlock()
	s.runEvents()
}

func (s *Session) closeTransportLocked() {
	reason := s.closeReason
	s.transport.close(false, func() { s.closeLocked(reason, nil) })
}

// startLocked queues the open packet and starts the heartbeat (Node
// Socket.onOpen).
func (s *Session) startLocked() {
	if s.state != stateOpen {
		return // closed by Server.Close while being opened
	}
	open := engineio.OpenPacket{
		SID:          s.id,
		Upgrades:     s.availableUpgrades(),
		PingInterval: s.srv.opts.PingInterval,
		PingTimeout:  s.srv.opts.PingTimeout,
		MaxPayload:   s.srv.opts.MaxHTTPBufferSize,
	}
	s.sendControlLocked(open.Packet())
	if s.version == engineio.V3 {
		s.resetPingTimeoutLocked()
	} else {
		s.schedulePingLocked()
	}
}

// availableUpgrades lists the enabled transports better than the current one
// (EIO-HS-03).
func (s *Session) availableUpgrades() []string {
	if s.srv.opts.DisableUpgrades || s.transport.name() != TransportPolling || !s.srv.opts.hasTransport(TransportWebSocket) {
		return []string{}
	}
	return []string{TransportWebSocket}
}

// sendControlLocked queues a packet of the server's own (open, ping, pong),
// bypassing the queue limit; dropped once the session is closing.
func (s *Session) sendControlLocked(p engineio.Packet) {
	if s.state != stateOpen {
		return
	}
	s.writeBuffer = append(s.srv.packetBuf(s.writeBuffer), p)
	s.flushLocked()
}

// flushLocked hands the queue to the transport if it can take it.
func (s *Session) flushLocked() {
	if s.state == stateClosed || !s.transport.writable() || len(s.writeBuffer) == 0 {
		return
	}
	buf := s.writeBuffer
	s.writeBuffer = nil
	s.transport.send(buf)
	if s.closeAfterFlush {
		s.closeAfterFlush = false
		s.closeTransportLocked()
	}
}

// transportClosedLocked is the "close" event of a transport: the session
// closes if t is still its transport.
func (s *Session) transportClosedLocked(t transport, reason string, err error) {
	if s.transport == t {
		s.closeLocked(reason, err)
	}
}

// closeLocked closes the session at once (Node Socket.onClose): timers stop,
// the queue is dropped, the transport and any probe are closed, the session
// leaves the server's table and the OnClose event is queued.
func (s *Session) closeLocked(reason string, err error) {
	if s.state == stateClosed {
		return
	}
	s.state = stateClosed
	s.stopPingIntervalLocked()
	s.clearPingTimeoutLocked()
	s.writeBuffer = nil
	s.closeAfterFlush = false
	if s.probe != nil {
		p := s.probe
		s.cleanupUpgradeLocked()
		p.close(true, nil)
	}
	s.transport.close(true, nil)
	s.srv.remove(s)
	close(s.done)
	s.srv.log.Debug("session closed", "sid", s.id, "reason", reason, "err", err)
	s.evMu.Lock()
	s.appendEventLocked(event{close: true, reason: reason, err: err})
	s.evMu.Unlock()
}

// enqueueMessageLocked queues a message for OnMessage.
func (s *Session) enqueueMessageLocked(p engineio.Packet) {
	// The handler owns Data: cap it so that appending cannot overwrite
	// the next packet of the same payload.
	p.Data = p.Data[:len(p.Data):len(p.Data)]
	s.evMu.Lock()
	s.appendEventLocked(event{pkt: p})
	s.evMu.Unlock()
}

// maxPooledQueue bounds the arrays kept for reuse (events or packets), so
// that one burst does not pin a large array in the pool.
const maxPooledQueue = 256

// appendEventLocked queues ev, taking an array from the server's pool for
// an empty queue. evMu must be held.
func (s *Session) appendEventLocked(ev event) {
	if s.evQueue == nil && s.evBox == nil {
		if b, ok := s.srv.evBufs.Get().(*[]event); ok {
			s.evBox, s.evQueue = b, (*b)[:0]
		}
	}
	s.evQueue = append(s.evQueue, ev)
}

// packetBuf returns q, or an empty array from the pool when q is nil.
func (srv *Server) packetBuf(q []engineio.Packet) []engineio.Packet {
	if q != nil {
		return q
	}
	if b, ok := srv.pktBufs.Get().(*[]engineio.Packet); ok {
		q = (*b)[:0]
		*b = nil
	}
	return q
}

// putPacketBuf gives an array of packets that nothing refers to any more
// back to the pool.
func (srv *Server) putPacketBuf(q []engineio.Packet) {
	if cap(q) == 0 || cap(q) > maxPooledQueue {
		return
	}
	clear(q[:cap(q)])
	q = q[:0]
	srv.pktBufs.Put(&q)
}

// runEvents delivers queued events unless another goroutine (or an outer
// frame of this one) is already doing so. Call it without s.mu held.
func (s *Session) runEvents() {
	s.evMu.Lock()
	if s.evRunning {
		s.evMu.Unlock()
		return
	}
	s.evRunning = true
	// Indexed rather than popped, so that the array can be reused; an
	// event queued while one is delivered is appended behind i.
	for i := 0; i < len(s.evQueue); i++ {
		ev := s.evQueue[i]
		s.evQueue[i] = event{}
		onMessage, onClose := s.onMessage, s.onClose
		s.evMu.Unlock()
		switch {
		case ev.close && onClose != nil:
			onClose(ev.reason, ev.err)
		case !ev.close && onMessage != nil:
			onMessage(ev.pkt)
		}
		s.evMu.Lock()
	}
	if q := s.evQueue; cap(q) > 0 && cap(q) <= maxPooledQueue {
		// Every entry was zeroed as it was delivered.
		b := s.evBox
		if b == nil {
			b = new([]event)
		}
		*b = q[:0]
		s.srv.evBufs.Put(b)
	}
	s.evQueue, s.evBox = nil, nil
	s.evRunning = false
	s.evMu.Unlock()
}

// onPacketLocked handles a packet received on the session's transport
// (Node Socket.onPacket).
func (s *Session) onPacketLocked(p engineio.Packet) {
	if s.state != stateOpen {
		return
	}
	// Errata 2: any packet but a pong extends the pong deadline once.
	if s.version == engineio.V4 && s.awaitingPong && !s.refreshedTimeout && p.Type != engineio.Pong {
		s.resetPingTimeoutLocked()
		s.refreshedTimeout = true
	}
	switch p.Type {
	case engineio.Ping:
		if s.version != engineio.V3 {
			s.closeLocked(ReasonTransportError, &TransportError{Msg: "invalid heartbeat direction"})
			return
		}
		// v3: the client pings, the server pongs (EIO3-02).
		s.resetPingTimeoutLocked()
		s.sendControlLocked(engineio.Packet{Type: engineio.Pong})
	case engineio.Pong:
		if s.version == engineio.V3 {
			s.closeLocked(ReasonTransportError, &TransportError{Msg: "invalid heartbeat direction"})
			return
		}
		s.clearPingTimeoutLocked()
		s.schedulePingLocked()
	case engineio.Message:
		s.enqueueMessageLocked(p)
	}
}

// schedulePingLocked arms the next v4 ping pingInterval from now (also
// Node's pingIntervalTimer.refresh() on a pong, EIO-HB-05).
func (s *Session) schedulePingLocked() {
	s.stopPingIntervalLocked()
	gen := s.pingIntervalGen
	s.pingIntervalTimer = s.srv.clock.AfterFunc(s.srv.opts.PingInterval, func() { s.onPingInterval(gen) })
}

func (s *Session) stopPingIntervalLocked() {
	if s.pingIntervalTimer != nil {
		s.pingIntervalTimer.Stop()
		s.pingIntervalTimer = nil
	}
	s.pingIntervalGen++
}

func (s *Session) onPingInterval(gen uint64) {
	if !s.srv.enter() {
		return
	}
	defer s.srv.exit()
	s.mu.Lock()
	if gen != s.pingIntervalGen || s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	s.pingIntervalTimer = nil
	s.refreshedTimeout = false
	s.sendControlLocked(engineio.Packet{Type: engineio.Ping})
	s.resetPingTimeoutLocked()
	s.mu.Unlock()
	s.runEvents()
}

// resetPingTimeoutLocked (re)arms the heartbeat deadline: v4 pingTimeout
// after a ping, v3 pingInterval+pingTimeout after the last client ping.
func (s *Session) resetPingTimeoutLocked() {
	s.clearPingTimeoutLocked()
	d := s.srv.opts.PingTimeout
	if s.version == engineio.V3 {
		d += s.srv.opts.PingInterval
	} else {
		s.awaitingPong = true
	}
	gen := s.pingTimeoutGen
	s.pingTimeoutTimer = s.srv.clock.AfterFunc(d, func() { s.onPingTimeout(gen) })
}

func (s *Session) clearPingTimeoutLocked() {
	if s.pingTimeoutTimer != nil {
		s.pingTimeoutTimer.Stop()
		s.pingTimeoutTimer = nil
	}
	s.pingTimeoutGen++
	s.awaitingPong = false
}

func (s *Session) onPingTimeout(gen uint64) {
	if !s.srv.enter() {
		return
	}
	defer s.srv.exit()
	s.mu.Lock()
	if gen == s.pingTimeoutGen {
		s.closeLocked(ReasonPingTimeout, nil)
	}
	s.mu.Unlock()
	s.runEvents()
}
