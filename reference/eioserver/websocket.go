package eioserver

import (
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// wsTransport is a WebSocket carrying one session, either as its transport
// or as an upgrade probe. The read loop runs on the upgrade request's
// goroutine; writes run on a writer goroutine that is started when packets
// are handed over and ends once nothing is left to write, so an idle
// session holds no writer (and, through the upgrader's write buffer pool,
// no write buffer). Fields marked "s.mu" are guarded by the session's
// mutex.
type wsTransport struct {
	s            *Session
	conn         *websocket.Conn
	bc           *batchConn // under conn; nil if the ResponseWriter could not be wrapped
	version      engineio.Version
	writeTimeout time.Duration
	batch        []engineio.Packet // s.mu: handed over, not yet written
	cutTimer     *time.Timer       // s.mu: cutAfter's, stopped when the read loop ends
	writers      sync.WaitGroup    // the writer goroutine, waited for by the read loop

	supportsBinary bool // false with b64: binary goes out as "b..." text (EIO-URL-08)
	deflate        bool
	isWritable     bool // s.mu
	closeReq       bool // s.mu: write a close frame after the batch
	closing        bool // s.mu
	writing        bool // s.mu: a writer goroutine is running
	stopped        bool // s.mu: the read loop ended or a write failed: no new writer

	// readHint is the read loop's: the size of the last text and
	// binary message read (Socket.IO alternates a short text header
	// and binary attachments).
	readHint [2]int32
}

func (t *wsTransport) name() string   { return TransportWebSocket }
func (t *wsTransport) writable() bool { return t.isWritable }
func (t *wsTransport) discard()       {}

// wake starts the writer unless it is running or the transport has
// stopped. Called with s.mu held; the read loop, which waits for the
// writer before it returns, is still running (stopped is false), so the
// writer is covered by the server's wait group through it.
func (t *wsTransport) wake() {
	if t.writing || t.stopped {
		return
	}
	t.writing = true
	t.writers.Add(1)
	go t.writer()
}

func (t *wsTransport) send(pkts []engineio.Packet) {
	if t.closing {
		return
	}
	t.isWritable = false
	if t.batch == nil {
		t.batch = pkts // the caller's array is ours (flushLocked's queue)
	} else {
		t.batch = append(t.batch, pkts...)
	}
	t.wake()
}

// close sends a close frame with no status after whatever was handed over
// (Node's ws.close(): the peer sees 1005, EIO-WS-06/08). Node reports the
// transport closed at once.
func (t *wsTransport) close(_ bool, done func()) {
	if t.closing {
		return
	}
	t.closing = true
	t.closeReq = true
	t.isWritable = false
	t.wake()
	if done != nil {
		done()
	}
	t.s.transportClosedLocked(t, ReasonTransportClose, nil)
}

// cutAfter closes the connection after d unless the read loop has ended
// by then (Server.Close: a writer blocked on a stalled peer would otherwise
// wait for its write timeout). Called with s.mu held.
func (t *wsTransport) cutAfter(d time.Duration) {
	if t.cutTimer == nil {
		t.cutTimer = time.AfterFunc(d, func() { _ = t.conn.Close() })
	}
}

// abort tears the connection down at once (Session.Abort): closing the TCP
// connection fails a write that is blocked on a peer that stopped reading,
// so the writer returns and drops its batch. Called with s.mu held;
// gorilla allows Close concurrently with a write.
func (t *wsTransport) abort() {
	t.closing = true
	t.isWritable = false
	t.batch = nil
	_ = t.conn.Close()
}

// writer writes handed-over batches in order and, once asked, the close
// frame. It returns when nothing is left to write, after the close frame,
// when a write fails or when the read loop has ended.
func (t *wsTransport) writer() {
	defer t.writers.Done()
	s := t.s
	for {
		s.mu.Lock()
		batch := t.batch
		t.batch = nil
		closeNow := t.closeReq && len(batch) == 0
		if t.stopped || (len(batch) == 0 && !closeNow) {
			t.writing = false
			s.mu.Unlock()
			return
		}
		if closeNow {
			t.stopped = true // nothing is written after the close frame
			t.writing = false
			s.mu.Unlock()
			_ = t.conn.WriteControl(websocket.CloseMessage, []byte{}, time.Now().Add(t.writeTimeout))
			_ = t.conn.SetReadDeadline(time.Now().Add(wsCloseGrace))
			return
		}
		s.mu.Unlock()
		err := t.writeBatch(batch)
		if t.bc != nil {
			if ferr := t.bc.end(); err == nil {
				err = ferr
			}
		}
		s.srv.putPacketBuf(batch) // written: nothing refers to it
		if err != nil {
			t.writeFailed(err)
			return
		}
		t.written()
	}
}

// written makes the transport writable again after a batch and hands it
// what was sent meanwhile.
func (t *wsTransport) written() {
	s := t.s
	s.mu.Lock()
	if !t.closing {
		t.isWritable = true
		if s.transport == t {
			s.flushLocked()
		}
	}
	s.mu.Unlock()
	s.runEvents()
}

// writeFailed ends the writer after a failed write.
func (t *wsTransport) writeFailed(err error) {
	s := t.s
	s.mu.Lock()
	t.stopped = true
	t.writing = false
	if s.probe == t {
		s.cleanupUpgradeLocked()
	}
	s.transportClosedLocked(t, ReasonTransportError, &TransportError{Msg: "write error", Err: err})
	s.mu.Unlock()
	s.runEvents()
	_ = t.conn.Close()
}

// writeBatch writes the messages of batch; with a batchConn they are
// gathered and written by its end. Without permessage-deflate the data
// frames are written by batchConn.writeData, not by gorilla.
func (t *wsTransport) writeBatch(batch []engineio.Packet) error {
	if t.bc != nil && !t.deflate {
		t.bc.begin(time.Now().Add(t.writeTimeout))
		for _, p := range batch {
			if err := t.bc.writeData(t.version, t.supportsBinary, p); err != nil {
				return err
			}
		}
		return nil
	}
	_ = t.conn.SetWriteDeadline(time.Now().Add(t.writeTimeout))
	if t.bc != nil {
		// Even a single message: gorilla writes a large one as two
		// slices, which without batching are two writes through the
		// wrapper (net.Buffers uses writev only on a *net.TCPConn).
		t.bc.begin(time.Time{})
	}
	bp := t.s.srv.getBuf()
	defer t.s.srv.putBuf(bp)
	for _, p := range batch {
		var err error
		binary := false
		if p.Binary && !t.supportsBinary {
			*bp, err = encoder.AppendText((*bp)[:0], t.version, p)
		} else {
			*bp, binary, err = encoder.AppendFrame((*bp)[:0], t.version, p)
		}
		if err != nil {
			return err
		}
		mt := websocket.TextMessage
		if binary {
			mt = websocket.BinaryMessage
		}
		if t.deflate {
			t.conn.EnableWriteCompression(len(*bp) >= 1024)
		}
		if err := t.conn.WriteMessage(mt, *bp); err != nil {
			return err
		}
	}
	return nil
}

// wsDeadlineSlack divides the time left before a batch's write deadline
// into the slack batchConn.batchDeadlineLocked allows.
const wsDeadlineSlack = 16

// readMessage is the connection's ReadMessage. A message of about the
// size of the previous one of its kind (readHint) is read straight into a slice of
// that size, which the handler owns: no copy when the size is the same,
// as in a stream of equal binary messages. Others are read into a pooled
// buffer and copied once into a slice of their exact size (instead of
// io.ReadAll's repeated growth).
func (t *wsTransport) readMessage() (int, []byte, error) {
	mt, r, err := t.conn.NextReader()
	if err != nil {
		return mt, nil, err
	}
	var bp *[]byte
	var buf []byte
	hint := &t.readHint[0]
	if mt == websocket.BinaryMessage {
		hint = &t.readHint[1]
	}
	if *hint >= minReadHint {
		buf = make([]byte, 0, int(*hint))
	} else {
		bp = t.s.srv.getBuf()
		defer t.s.srv.putBuf(bp)
		buf = (*bp)[:0]
	}
	for {
		if len(buf) == cap(buf) {
			// Full: a read of nothing reports whether the message
			// is complete.
			if _, err := r.Read(buf[len(buf):]); err == io.EOF {
				break
			} else if err != nil {
				return mt, nil, err
			}
			buf = slices.Grow(buf, max(512, cap(buf)))
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			if bp != nil {
				*bp = buf
			}
			return mt, nil, err
		}
	}
	*hint = int32(min(len(buf), math.MaxInt32))
	if bp == nil && cap(buf)-len(buf) <= len(buf)/8 {
		return mt, buf, nil
	}
	if bp != nil {
		*bp = buf
	}
	return mt, append(make([]byte, 0, len(buf)), buf...), nil
}

// minReadHint is the smallest message size read without a pooled buffer
// (readMessage): below it the copy costs less than the guess.
const minReadHint = 1024

// readLoop reads messages until the connection fails or closes, then
// stops the writer and closes the connection.
func (t *wsTransport) readLoop() {
	s := t.s
	t.conn.SetReadLimit(s.srv.opts.MaxHTTPBufferSize)
	for {
		mt, data, err := t.readMessage()
		if err == nil && mt == websocket.TextMessage && !utf8.Valid(data) {
			// EIO-WS-11: the ws library closes with 1007.
			_ = t.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, ""), time.Now().Add(t.writeTimeout))
			err = &TransportError{Msg: "invalid UTF-8 sequence"}
		}
		if err != nil {
			t.readFailed(err)
			break
		}
		p, perr := engineio.ParseFrame(t.version, mt == websocket.BinaryMessage, data)
		s.mu.Lock()
		switch {
		case s.probe == t:
			s.onProbePacketLocked(t, p, perr)
		case s.transport != t:
			// Discarded or closed: ignore.
		case perr != nil:
			s.closeLocked(ReasonParseError, perr)
		case p.Type == engineio.Close:
			// Node ignores "1" on a WebSocket and relies on the ping
			// timeout (EIO-CLOSE-03); closing at once is what the
			// protocol asks for and the suite accepts.
			s.closeLocked(ReasonTransportClose, nil)
		default:
			s.onPacketLocked(p)
		}
		s.mu.Unlock()
		s.runEvents()
	}
	s.mu.Lock()
	t.stopped = true
	s.mu.Unlock()
	_ = t.conn.Close()
	t.writers.Wait()
	s.mu.Lock()
	if t.cutTimer != nil {
		t.cutTimer.Stop()
	}
	s.mu.Unlock()
}

// readFailed handles the end of the read side.
func (t *wsTransport) readFailed(err error) {
	s := t.s
	reason := ReasonTransportClose
	var terr error
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, net.ErrClosed), errors.As(err, &ne):
	case errors.Is(err, websocket.ErrReadLimit):
		// EIO-LIMIT-03: gorilla has sent 1009.
		reason, terr = ReasonTransportError, &TransportError{Msg: "message too big", Err: err}
	default:
		var te *TransportError
		if errors.As(err, &te) {
			reason, terr = ReasonTransportError, te
		}
	}
	s.mu.Lock()
	if s.probe == t {
		s.cleanupUpgradeLocked()
	}
	t.closing = true
	s.transportClosedLocked(t, reason, terr)
	s.mu.Unlock()
	s.runEvents()
}

// newWSTransport wraps an upgraded connection for session s. Its writer
// starts when the first packets are handed over.
func (srv *Server) newWSTransport(s *Session, conn *websocket.Conn, bc *batchConn, q url.Values) *wsTransport {
	b64, _ := lastValue(q, "b64")
	t := &wsTransport{
		s:              s,
		conn:           conn,
		bc:             bc,
		version:        s.version,
		supportsBinary: b64 == "",
		deflate:        srv.opts.PerMessageDeflate,
		writeTimeout:   srv.opts.PingInterval + srv.opts.PingTimeout,
		isWritable:     true,
	}
	if t.writeTimeout < time.Second {
		t.writeTimeout = time.Second
	}
	return t
}

// rejectWS closes an upgraded connection that may not carry a session: a
// close frame with no status, then wait briefly for the peer's.
func rejectWS(conn *websocket.Conn) {
	_ = conn.WriteControl(websocket.CloseMessage, []byte{}, time.Now().Add(time.Second))
	_ = conn.SetReadDeadline(time.Now().Add(wsCloseGrace))
	for i := 0; i < 1000; i++ {
		if _, _, err := conn.ReadMessage(); err != nil {
			break
		}
	}
	_ = conn.Close()
}

// serveWebSocket completes an upgrade request that passed verify: a new
// WebSocket-only session (s nil) or a probe for an existing session.
func (srv *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, q url.Values, s *Session, header http.Header) {
	var hj *hijacker
	if _, ok := w.(http.Hijacker); ok {
		hj = &hijacker{ResponseWriter: w, srv: srv}
		w = hj
	}
	conn, err := srv.upgrader.Upgrade(w, r, header)
	if err != nil {
		return // the upgrader has answered
	}
	var bc *batchConn
	if hj != nil {
		bc = hj.conn
	}
	if tr, _ := lastValue(q, "transport"); tr != TransportWebSocket {
		rejectWS(conn) // Node: the transport does not handle upgrades
		return
	}
	if s != nil {
		srv.probe(s, conn, bc, q)
		return
	}
	v := protocolOf(q)
	if v == engineio.V3 && !srv.opts.AllowEIO3 {
		// EIO-WS-03: Node answers the version error after the 101, by
		// writing a raw HTTP 400 into the upgraded socket and destroying
		// it.
		msg := engineio.CodeUnsupportedProtocolVersion.Message()
		_ = conn.UnderlyingConn().SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = conn.UnderlyingConn().Write([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: " +
			strconv.Itoa(len(msg)) + "\r\n\r\n" + msg))
		_ = conn.Close()
		return
	}
	s = newSession(srv, v, r)
	t := srv.newWSTransport(s, conn, bc, q)
	s.transport = t
	if !srv.register(s) {
		_ = conn.Close()
		return
	}
	s.mu.Lock()
	s.startLocked()
	s.mu.Unlock()
	srv.log.Debug("session open", "sid", s.id, "transport", TransportWebSocket, "eio", int(v))
	if srv.opts.OnSession != nil {
		srv.opts.OnSession(s)
	}
	s.runEvents()
	srv.wg.Add(1) // safe: this ServeHTTP call holds the group above zero
	go srv.readLoop(t)
}

// readLoop runs t's read loop on a goroutine of its own, counted in the
// server's wait group, so that the upgrade request's handler returns: the
// net/http connection state it holds (its 4 KiB write buffer, the request
// and response, a stack grown by the request's handling) is released
// while the session lives. gorilla keeps the connection's read buffer.
func (srv *Server) readLoop(t *wsTransport) {
	defer srv.exit()
	t.readLoop()
}

// probe runs a WebSocket that asks to upgrade session s (EIO-UPG).
func (srv *Server) probe(s *Session, conn *websocket.Conn, bc *batchConn, q url.Values) {
	s.mu.Lock()
	if s.state == stateClosed || s.upgrading || s.upgraded {
		// EIO-WS-05: one WebSocket per session.
		s.mu.Unlock()
		rejectWS(conn)
		return
	}
	if !srv.enter() {
		s.mu.Unlock()
		_ = conn.Close()
		return
	}
	t := srv.newWSTransport(s, conn, bc, q)
	s.upgrading = true
	s.probe = t
	s.upgradeGen++
	gen := s.upgradeGen
	s.upgradeTimer = srv.clock.AfterFunc(srv.opts.UpgradeTimeout, func() { s.onUpgradeTimeout(gen) })
	s.mu.Unlock()
	go srv.readLoop(t) // takes over the enter above
}

// onProbePacketLocked handles a packet received on the probe WebSocket.
func (s *Session) onProbePacketLocked(t *wsTransport, p engineio.Packet, perr error) {
	switch {
	case perr == nil && p.Type == engineio.Ping && !p.Binary && string(p.Data) == "probe":
		// EIO-UPG-03/04: answer 3probe, then release pending GETs with
		// noops every 100 ms.
		t.send([]engineio.Packet{engineio.TextPacket(engineio.Pong, "probe")})
		if s.checkTimer != nil {
			s.checkTimer.Stop()
		}
		s.armUpgradeCheckLocked(s.upgradeGen)
	case perr == nil && p.Type == engineio.Upgrade && s.state != stateClosed:
		// EIO-UPG-06/11/15: any upgrade packet, data or not.
		s.cleanupUpgradeLocked()
		old := s.transport
		s.transport = t
		s.upgraded = true
		old.discard()
		old.close(true, nil)
		s.srv.log.Debug("session upgraded", "sid", s.id)
		// EIO-UPG-14: Node clears a pending heartbeat deadline when it
		// switches transports, because a ping queued during the upgrade
		// only reaches the client now, and a client that got it in a
		// GET holds its pong until the upgrade is done. The deadline is
		// restarted here rather than dropped, so a compliant client has
		// a full pingTimeout to answer on the new transport while a
		// silent one is still timed out (with the deadline cleared and
		// the ping interval waiting for a pong, Node never times it
		// out). The ping cadence itself is not reset.
		if s.pingTimeoutTimer != nil {
			s.resetPingTimeoutLocked()
		}
		s.flushLocked()
		if s.state == stateClosing && !s.closeAfterFlush {
			s.closeTransportLocked()
		}
	default:
		// EIO-UPG-09: anything else closes the probe; the session stays.
		s.cleanupUpgradeLocked()
		t.close(true, nil)
	}
}

func (s *Session) armUpgradeCheckLocked(gen uint64) {
	s.checkTimer = s.srv.clock.AfterFunc(upgradeCheckInterval, func() { s.onUpgradeCheck(gen) })
}

func (s *Session) onUpgradeCheck(gen uint64) {
	if !s.srv.enter() {
		return
	}
	defer s.srv.exit()
	s.mu.Lock()
	if gen == s.upgradeGen && s.upgrading && s.state != stateClosed {
		if pt, ok := s.transport.(*pollingTransport); ok && pt.isWritable {
			pt.send([]engineio.Packet{{Type: engineio.Noop}})
		}
		s.armUpgradeCheckLocked(gen)
	}
	s.mu.Unlock()
}

func (s *Session) onUpgradeTimeout(gen uint64) {
	if !s.srv.enter() {
		return
	}
	defer s.srv.exit()
	s.mu.Lock()
	if gen == s.upgradeGen && s.probe != nil {
		// EIO-UPG-10.
		p := s.probe
		s.cleanupUpgradeLocked()
		p.close(true, nil)
	}
	s.mu.Unlock()
	s.runEvents()
}

// cleanupUpgradeLocked ends an upgrade attempt (Node's cleanup()).
func (s *Session) cleanupUpgradeLocked() {
	s.upgrading = false
	s.probe = nil
	s.upgradeGen++
	if s.upgradeTimer != nil {
		s.upgradeTimer.Stop()
		s.upgradeTimer = nil
	}
	if s.checkTimer != nil {
		s.checkTimer.Stop()
		s.checkTimer = nil
	}
}
