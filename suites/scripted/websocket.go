package scripted

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// wsWriteTimeout bounds one frame write.
const wsWriteTimeout = 5 * time.Second

// wsConn is one WebSocket: a session's transport, or an upgrade probe.
// The read loop runs on the upgrade request's goroutine, writes on one
// writer goroutine. Fields marked s.mu are guarded by the server mutex.
type wsConn struct {
	ss   *Session
	c    *websocket.Conn
	nc   net.Conn
	id   int
	mode UpgradeMode // for a probe

	probe      bool      // s.mu: not (yet) the session's transport
	gotProbe   bool      // s.mu: 2probe received
	direct     []outItem // s.mu: frames for this WebSocket alone (3probe)
	closeReq   bool      // s.mu: write a close frame
	closeSent  bool      // s.mu
	dead       bool      // s.mu: the read loop ended
	writerDone chan struct{}
}

func (s *Server) upgrader() *websocket.Upgrader {
	return &websocket.Upgrader{
		CheckOrigin:     func(*http.Request) bool { return true },
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
	}
}

// upgradeConn answers 101 and records it; nil when the upgrade failed.
func (h *handler) upgradeConn() *websocket.Conn {
	c, err := h.s.upgrader().Upgrade(h.w, h.r, nil)
	if err != nil {
		h.s.rec.Add(h.req.Conn, dirS2C, kindHTTPResponse, "400 websocket upgrade failed: "+err.Error(), nil)
		h.s.finish(h.req, http.StatusBadRequest)
		return nil
	}
	h.s.rec.Add(h.req.Conn, dirS2C, kindHTTPResponse, "101 Switching Protocols", nil)
	h.s.finish(h.req, http.StatusSwitchingProtocols)
	h.s.rec.Add(h.req.Conn, dirS2C, kindWSOpen, "101 "+h.req.URL, nil)
	return c
}

// newWSLocked wraps c and starts its writer.
func (s *Server) newWSLocked(ss *Session, c *websocket.Conn, id int, probe bool) *wsConn {
	w := &wsConn{ss: ss, c: c, nc: c.NetConn(), id: id, probe: probe, writerDone: make(chan struct{})}
	s.hijacked[w.nc] = id
	w.recordPongs()
	s.wg.Add(1)
	go w.writer()
	return w
}

// websocketHandshake opens a session directly over WebSocket.
func (h *handler) websocketHandshake() {
	c := h.upgradeConn()
	if c == nil {
		return
	}
	ss, _ := h.s.newSession(h.req, c)
	h.s.mu.Lock()
	w := ss.ws
	h.s.mu.Unlock()
	w.readLoop()
}

// upgrade answers a WebSocket request for an existing session.
func (h *handler) upgrade(ss *Session) {
	s := h.s
	mode := s.opts.Upgrade
	s.mu.Lock()
	busy := ss.transport != "polling" || ss.probe != nil || ss.ended
	s.mu.Unlock()
	if busy {
		c := h.upgradeConn()
		if c == nil {
			return
		}
		s.rec.Note("second WebSocket for " + ss.id + ": closed at once")
		_ = c.WriteControl(websocket.CloseMessage, []byte{}, time.Now().Add(time.Second))
		s.rec.Add(h.req.Conn, dirS2C, kindWSClose, "close frame (no status)", nil)
		_ = c.Close()
		s.rec.Add(h.req.Conn, dirLocal, kindTCPClose, "connection closed by the server", nil)
		s.mu.Lock()
		delete(s.hijacked, c.NetConn())
		s.mu.Unlock()
		return
	}
	switch mode {
	case UpgradeRefuse:
		st := s.opts.UpgradeStatus
		code := engineio.CodeBadRequest
		if st == http.StatusForbidden {
			code = engineio.CodeForbidden
		}
		s.rec.Note(fmt.Sprintf("upgrade refused with %d (UpgradeRefuse)", st))
		h.respond(st, "application/json", engineio.NewHTTPError(code).AppendJSON(nil))
		return
	case UpgradeStrip:
		s.rec.Note("upgrade answered as if the Upgrade header had been stripped (UpgradeStrip)")
		h.respond(http.StatusBadRequest, "text/plain", []byte("Bad request"))
		return
	}
	c := h.upgradeConn()
	if c == nil {
		return
	}
	s.mu.Lock()
	if ss.ended || s.stopped {
		s.mu.Unlock()
		_ = c.Close()
		return
	}
	if mode == UpgradeStall {
		nc := c.NetConn()
		s.hijacked[nc] = h.req.Conn
		s.rec.Note("upgrade stalled after 101 (UpgradeStall)")
		for !ss.ended && !s.stopped {
			ch := ss.changed
			s.mu.Unlock()
			select {
			case <-ch:
			case <-h.gen:
			}
			s.mu.Lock()
		}
		delete(s.hijacked, nc)
		s.mu.Unlock()
		_ = nc.Close()
		s.rec.Add(h.req.Conn, dirLocal, kindTCPClose, "stalled WebSocket closed by the server", nil)
		return
	}
	w := s.newWSLocked(ss, c, h.req.Conn, true)
	w.mode = mode
	ss.probe = w
	if mode == UpgradeNoProbe {
		s.rec.Note("probe will not be answered (UpgradeNoProbe)")
	}
	s.mu.Unlock()
	w.readLoop()
}

// readLoop reads frames until the connection ends, then waits for the
// writer.
func (w *wsConn) readLoop() {
	ss := w.ss
	s := ss.s
	for {
		mt, data, err := w.c.ReadMessage()
		if err != nil {
			w.readEnd(err)
			return
		}
		binary := mt == websocket.BinaryMessage
		kind := "text"
		if binary {
			kind = "binary"
		}
		s.rec.Add(w.id, dirC2S, kindWSFrame, fmt.Sprintf("%s frame %dB", kind, len(data)), data)
		p, perr := engineio.ParseFrame(ss.version, binary, data)
		s.mu.Lock()
		if perr != nil {
			s.rec.Note("invalid frame (" + perr.Error() + ")")
			if w.probe {
				w.closeProbeLocked("invalid frame on the probe WebSocket: probe closed")
			} else {
				ss.endLocked("parse error", endClosePacket)
			}
			s.mu.Unlock()
			continue
		}
		ss.receiveLocked(p, "websocket", w.id)
		switch {
		case !w.probe:
			ss.handleLocked(p)
		case ss.ended || w.closeReq || w.mode == UpgradeNoProbe:
		case !w.gotProbe && p.Type == engineio.Ping && string(p.Data) == "probe":
			w.gotProbe = true
			ss.upgrading = true
			w.direct = append(w.direct, outItem{pkt: engineio.TextPacket(engineio.Pong, "probe")})
			s.rec.Note("probe answered; polling GETs get noop until 5")
			ss.signalLocked()
		case w.gotProbe && p.Type == engineio.Upgrade:
			w.probe = false
			ss.probe = nil
			ss.ws = w
			ss.upgrading = false
			ss.transport = "websocket"
			s.rec.Note("session " + ss.id + " upgraded to websocket")
			ss.signalLocked()
		default:
			w.closeProbeLocked("unexpected packet on the probe WebSocket: probe closed, session stays on polling")
		}
		s.mu.Unlock()
	}
}

// closeProbeLocked gives up an upgrade: the probe gets a close frame and
// the session stays on polling.
func (w *wsConn) closeProbeLocked(note string) {
	ss := w.ss
	ss.s.rec.Note(note)
	w.closeReq = true
	if ss.probe == w {
		ss.probe = nil
		ss.upgrading = false
	}
	ss.signalLocked()
}

// readEnd handles the end of the read loop.
func (w *wsConn) readEnd(err error) {
	ss := w.ss
	s := ss.s
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		s.rec.Add(w.id, dirC2S, kindWSClose, fmt.Sprintf("close frame %d %q", ce.Code, ce.Text), nil)
	}
	s.mu.Lock()
	w.dead = true
	switch {
	case ss.ws == w && !ss.ended:
		reason := "transport closed by the client"
		if s.stopped {
			reason = "server stopped"
		}
		ss.endLocked(reason, endClosePacket)
	case ss.probe == w:
		ss.probe = nil
		ss.upgrading = false
		s.rec.Note("probe WebSocket closed; session stays on polling")
	}
	delete(s.hijacked, w.nc)
	ss.signalLocked()
	s.mu.Unlock()
	_ = w.nc.Close()
	s.rec.Add(w.id, dirLocal, kindTCPClose, "websocket connection closed ("+err.Error()+")", nil)
	<-w.writerDone
}

// writer writes this WebSocket's frames: the probe's own, then (once it
// is the transport) the session's queue, then a close frame when asked or
// when the session ended.
func (w *wsConn) writer() {
	ss := w.ss
	s := ss.s
	defer s.wg.Done()
	defer close(w.writerDone)
	for {
		s.mu.Lock()
		if w.dead {
			s.mu.Unlock()
			return
		}
		var items []outItem
		closeNow := false
		switch {
		case len(w.direct) > 0:
			items, w.direct = w.direct, nil
		case ss.ws == w && !ss.silent && len(ss.out) > 0:
			items, ss.out = ss.out, nil
		case !w.closeSent && (w.closeReq || (ss.ended && ss.action != endAbort && ss.action != endUnknownSID && (ss.ws == w || w.probe))):
			w.closeSent = true
			closeNow = true
		}
		ch := ss.changed
		s.mu.Unlock()
		switch {
		case len(items) > 0:
			for _, it := range items {
				if err := w.write(it); err != nil {
					s.rec.Add(w.id, dirLocal, kindTCPClose, "write failed: "+err.Error(), nil)
					_ = w.nc.Close()
					break
				}
			}
		case closeNow:
			// Node's ws.close() with no status: the peer sees 1005.
			err := w.c.WriteControl(websocket.CloseMessage, []byte{}, time.Now().Add(time.Second))
			s.rec.Add(w.id, dirS2C, kindWSClose, "close frame (no status)", nil)
			if err != nil {
				_ = w.nc.Close()
			} else {
				_ = w.c.SetReadDeadline(time.Now().Add(time.Second))
			}
		default:
			<-ch
		}
	}
}

// write writes one frame and records it.
func (w *wsConn) write(it outItem) error {
	s := w.ss.s
	data, binary := it.raw, it.rawBinary
	if !it.isRaw {
		var err error
		data, binary, err = engineio.Encoder{AllowIllegal: true}.AppendFrame(nil, w.ss.version, it.pkt)
		if err != nil {
			return err
		}
	}
	mt, kind := websocket.TextMessage, "text"
	if binary {
		mt, kind = websocket.BinaryMessage, "binary"
	}
	_ = w.c.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	if err := w.c.WriteMessage(mt, data); err != nil {
		return err
	}
	s.rec.Add(w.id, dirS2C, kindWSFrame, fmt.Sprintf("%s frame %dB", kind, len(data)), data)
	if !it.isRaw {
		s.rec.Add(w.id, dirS2C, kindEIOPacket, summary(it.pkt), nil)
	}
	return nil
}
