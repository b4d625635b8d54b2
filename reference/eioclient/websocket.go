package eioclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
)

// wsConn is one WebSocket: the active transport or an upgrade probe.
type wsConn struct {
	conn    *websocket.Conn
	writing bool // a write goroutine is running (run loop only)
	once    sync.Once
}

func (w *wsConn) close() { w.once.Do(func() { _ = w.conn.Close() }) }

// closeGracefully sends a close frame (bounded) and closes the connection.
func (w *wsConn) closeGracefully() {
	_ = w.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	w.close()
}

type wsFrame struct {
	ws     *wsConn
	binary bool
	data   []byte
	err    error
}

type wsWriteResult struct {
	ws  *wsConn
	err error
}

type wsDialResult struct {
	id  int
	ws  *wsConn
	err error
}

// dialWS opens a WebSocket. A refused or stripped upgrade yields a
// *HandshakeError carrying the HTTP status.
func (c *Conn) dialWS(ctx context.Context, u string) (*wsConn, error) {
	d := c.opts.wsDialer()
	conn, resp, err := d.DialContext(ctx, u, c.opts.Header.Clone())
	if err != nil {
		e := &HandshakeError{Transport: WebSocket, Err: err}
		if resp != nil {
			e.Status = resp.StatusCode
			if resp.Body != nil {
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
				e.Body = body
				_ = resp.Body.Close()
			}
		}
		return nil, e
	}
	conn.SetReadLimit(c.opts.MaxResponseBytes)
	return &wsConn{conn: conn}, nil
}

// handshakeWebSocket opens a WebSocket-only session (NODE-TR-02): the open
// packet must be the first text frame.
func (c *Conn) handshakeWebSocket(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	u := c.requestURL(WebSocket, false, c.opts.TimestampRequests, c.opts.ForceBase64)
	ws, err := c.dialWS(ctx, u)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, ws.close)
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = ws.conn.SetReadDeadline(dl)
	}
	mt, data, err := ws.conn.ReadMessage()
	if err == nil {
		_ = ws.conn.SetReadDeadline(time.Time{})
	}
	fail := func(err error) error {
		ws.close()
		return &HandshakeError{Transport: WebSocket, Status: http.StatusSwitchingProtocols, Err: err}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return fail(fmt.Errorf("read open packet: %w", err))
	}
	p, err := engineio.ParseFrame(c.version, mt == websocket.BinaryMessage, data)
	if err != nil {
		return fail(err)
	}
	if err := c.acceptOpen(p); err != nil {
		return fail(err)
	}
	if !stop() {
		return fail(ctx.Err())
	}
	c.st.ws = ws
	c.setActive(WebSocket)
	c.log.Debug("session open", "sid", c.open.SID, "transport", WebSocket)
	return nil
}

// startReader reads frames of ws until it fails.
func (c *Conn) startReader(ws *wsConn) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			mt, data, err := ws.conn.ReadMessage()
			if !c.post(wsFrame{ws: ws, binary: mt == websocket.BinaryMessage, data: data, err: err}) || err != nil {
				return
			}
		}
	}()
}

// startWSWrite writes pkts on ws, one frame each (EIO-WS-02).
func (c *Conn) startWSWrite(ws *wsConn, pkts []engineio.Packet) {
	type frame struct {
		data   []byte
		binary bool
	}
	frames := make([]frame, 0, len(pkts))
	for _, p := range pkts {
		var f frame
		var err error
		if p.Binary && c.opts.ForceBase64 {
			f.data, err = engineio.AppendText(nil, c.version, p)
		} else {
			f.data, f.binary, err = engineio.AppendFrame(nil, c.version, p)
		}
		if err != nil {
			c.teardown(ReasonTransportError, &TransportError{Transport: WebSocket, Op: OpWebSocket, Err: err})
			return
		}
		frames = append(frames, f)
	}
	ws.writing = true
	timeout := c.opts.RequestTimeout
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		var err error
		for _, f := range frames {
			mt := websocket.TextMessage
			if f.binary {
				mt = websocket.BinaryMessage
			}
			_ = ws.conn.SetWriteDeadline(time.Now().Add(timeout))
			if err = ws.conn.WriteMessage(mt, f.data); err != nil {
				break
			}
		}
		c.post(wsWriteResult{ws: ws, err: err})
	}()
}

func (c *Conn) onWSWrite(r wsWriteResult) {
	s := &c.st
	r.ws.writing = false
	if s.finished {
		return
	}
	switch {
	case r.ws == s.ws:
		if r.err != nil {
			c.teardown(ReasonTransportError, &TransportError{Transport: WebSocket, Op: OpWebSocket, Err: r.err})
		}
	case s.probe != nil && r.ws == s.probe.ws:
		if r.err != nil {
			c.failProbe("write", r.err, true)
		}
	}
}

// wsReadError classifies a read error: a close by the peer is "transport
// close", anything else "transport error".
func wsReadError(err error) (string, error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ReasonTransportClose, fmt.Errorf("%w: %w", ErrServerClosed, err)
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		err = fmt.Errorf("%w: %w", ErrResponseTooLarge, err)
	}
	return ReasonTransportError, &TransportError{Transport: WebSocket, Op: OpWebSocket, Err: err}
}

func (c *Conn) onFrame(f wsFrame) {
	s := &c.st
	if s.finished {
		return
	}
	switch {
	case f.ws == s.ws && s.closing:
		// After Close only the queued writes matter; their result
		// ends the session (see beginClose).
		c.log.Debug("frame after close ignored", "sid", c.open.SID, "err", f.err)
	case f.ws == s.ws:
		if f.err != nil {
			c.teardown(wsReadError(f.err))
			return
		}
		p, err := engineio.ParseFrame(c.version, f.binary, f.data)
		if err != nil {
			c.teardown(ReasonParseError, fmt.Errorf("decode frame: %w", err))
			return
		}
		c.handlePacket(p)
	case s.probe != nil && f.ws == s.probe.ws:
		c.onProbeFrame(f)
	}
}

// maybeProbe starts the upgrade when the server offers websocket and the
// client allows it (EIO-UPG-01, EIO-HS-12: other names are ignored).
func (c *Conn) maybeProbe() {
	s := &c.st
	if c.opts.DisableUpgrade || s.ws != nil || s.closing ||
		!slices.Contains(c.open.Upgrades, WebSocket) || !slices.Contains(c.opts.Transports, WebSocket) {
		return
	}
	s.probeSeq++
	ctx, cancel := context.WithCancel(c.ctx)
	p := &probe{id: s.probeSeq, cancel: cancel}
	s.probe = p
	d := c.opts.ProbeTimeout
	if d <= 0 {
		d = c.open.PingInterval + c.open.PingTimeout
	}
	s.probeT = c.clock.NewTimer(d)
	// EIO-UPG-02: same sid, transport=websocket.
	u := c.requestURL(WebSocket, true, c.opts.TimestampRequests, c.opts.ForceBase64)
	c.log.Debug("probing", "sid", c.open.SID, "transport", WebSocket)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ws, err := c.dialWS(ctx, u)
		if !c.post(wsDialResult{id: p.id, ws: ws, err: err}) && ws != nil {
			ws.close()
		}
	}()
}

func (c *Conn) onProbeDial(r wsDialResult) {
	s := &c.st
	p := s.probe
	if p == nil || p.id != r.id || s.finished {
		if r.ws != nil {
			r.ws.close()
		}
		return
	}
	if r.err != nil {
		c.failProbe("dial", r.err, true)
		return
	}
	p.ws = r.ws
	c.startReader(p.ws)
	c.startWSWrite(p.ws, []engineio.Packet{engineio.TextPacket(engineio.Ping, "probe")})
}

func (c *Conn) onProbeFrame(f wsFrame) {
	s := &c.st
	p := s.probe
	if f.err != nil {
		c.failProbe("probe error", f.err, true)
		return
	}
	pkt, err := engineio.ParseFrame(c.version, f.binary, f.data)
	if err != nil {
		c.failProbe("probe error", err, true)
		return
	}
	switch {
	case pkt.Type == engineio.Noop:
		// EIO-PKT-07 (IOP-05: a noop may leak onto the probe).
	case !p.gotPong && pkt.Type == engineio.Pong && !pkt.Binary && bytes.Equal(pkt.Data, []byte("probe")):
		// EIO-UPG-05: pause polling; maybeCommit finishes the switch
		// once the in-flight GET and POST are done.
		p.gotPong = true
		s.paused = true
		stopTimer(&s.holdT)
		if c.opts.onPaused != nil {
			c.opts.onPaused()
		}
		c.log.Debug("probe answered, pausing polling", "sid", c.open.SID)
	default:
		c.failProbe("unexpected packet", fmt.Errorf("got %v", pkt), true)
	}
}

// maybeCommit switches to the probe WebSocket once polling is drained:
// upgrade packet first, then the queued packets (EIO-UPG-05, EIO-UPG-12).
func (c *Conn) maybeCommit() {
	s := &c.st
	p := s.probe
	if p == nil || !p.gotPong || s.getting || s.posting || p.ws.writing {
		return
	}
	stopTimer(&s.probeT)
	stopTimer(&s.holdT)
	p.cancel()
	s.probe = nil
	s.paused = false
	s.ws = p.ws
	c.mu.Lock()
	c.out = append([]engineio.Packet{engineio.TextPacket(engineio.Upgrade, "")}, c.out...)
	c.active = WebSocket
	c.mu.Unlock()
	c.log.Debug("upgraded", "sid", c.open.SID, "transport", WebSocket)
	c.emit(Event{Type: EventUpgrade, Transport: WebSocket})
}

// failProbe drops the upgrade attempt; the session stays on polling
// (EIO-UPG-13).
func (c *Conn) failProbe(reason string, err error, report bool) {
	s := &c.st
	p := s.probe
	if p == nil {
		return
	}
	s.probe = nil
	s.paused = false
	stopTimer(&s.probeT)
	stopTimer(&s.holdT)
	p.cancel()
	if p.ws != nil {
		p.ws.close()
	}
	if report {
		ue := &UpgradeError{Transport: WebSocket, Reason: reason, Err: err}
		c.log.Debug("upgrade failed", "sid", c.open.SID, "err", ue)
		c.emit(Event{Type: EventUpgradeError, Transport: WebSocket, Err: ue})
	}
}
