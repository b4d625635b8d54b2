package framework

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
)

// Frame is one WebSocket message received from the target.
type Frame struct {
	// At is the time since the transcript started.
	At     time.Duration
	Binary bool
	Data   []byte
	// Packet is the decoded Engine.IO packet; ParseErr is set instead when
	// the frame does not decode.
	Packet   engineio.Packet
	ParseErr error
}

// WSConn is a raw WebSocket connection whose every frame is recorded. A
// reader goroutine queues frames as they arrive, so a spec never misses a
// frame that came before it started waiting.
type WSConn struct {
	c    *Client
	id   int
	ws   *websocket.Conn
	Resp *http.Response
	// SID is the Engine.IO session id, once known.
	SID string

	wmu sync.Mutex

	mu       sync.Mutex
	frames   []Frame
	cursor   int
	closeErr *CloseError
	closedAt time.Duration
	notify   chan struct{}
	done     chan struct{}
	once     sync.Once

	hb heartbeatLog
}

// DialWS opens a WebSocket to the endpoint with the query. A refused
// upgrade returns the HTTP response (recorded) and an error.
func (c *Client) DialWS(ctx context.Context, q url.Values, h http.Header) (*WSConn, *http.Response, error) {
	u := c.Endpoint()
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.RawQuery = q.Encode()
	conn := c.rec.NewConn()
	c.rec.Add(conn, DirC2S, KindHTTPRequest, "GET "+u.RequestURI()+" (websocket upgrade)", nil)
	d := websocket.Dialer{
		NetDialContext:   (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		HandshakeTimeout: 5 * time.Second,
		ReadBufferSize:   64 << 10,
		WriteBufferSize:  64 << 10,

		EnableCompression: c.OfferCompression,
	}
	ws, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil {
			body := readSome(resp)
			c.rec.Add(conn, DirS2C, KindHTTPResponse, fmt.Sprintf("%d %s %dB (upgrade refused)", resp.StatusCode, resp.Header.Get("Content-Type"), len(body)), body)
			return nil, resp, fmt.Errorf("websocket upgrade refused: HTTP %d: %w", resp.StatusCode, err)
		}
		c.rec.Add(conn, DirLocal, KindTCPClose, "websocket dial failed: "+err.Error(), nil)
		return nil, nil, fmt.Errorf("websocket dial: %w", err)
	}
	c.rec.Add(conn, DirS2C, KindWSOpen, fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Extensions")), nil)
	w := &WSConn{c: c, id: conn, ws: ws, Resp: resp, notify: make(chan struct{}), done: make(chan struct{})}
	// Answer WebSocket control pings as the library does by default, but
	// record them.
	ws.SetPingHandler(func(data string) error {
		c.rec.Add(conn, DirS2C, KindWSFrame, "control ping", []byte(data))
		w.wmu.Lock()
		defer w.wmu.Unlock()
		return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = ws.Close()
		return nil, resp, &HarnessError{Op: "dial websocket", Err: errors.New("client closed")}
	}
	c.wss = append(c.wss, w)
	c.mu.Unlock()
	go w.readLoop()
	return w, resp, nil
}

func readSome(resp *http.Response) []byte {
	if resp.Body == nil {
		return nil
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	return buf[:n]
}

func (w *WSConn) readLoop() {
	defer close(w.done)
	for {
		mt, data, err := w.ws.ReadMessage()
		if err != nil {
			ce := &CloseError{Code: websocket.CloseAbnormalClosure, Err: err}
			var wce *websocket.CloseError
			if errors.As(err, &wce) {
				ce.Code, ce.Text = wce.Code, wce.Text
			}
			w.c.rec.Add(w.id, DirS2C, KindWSClose, fmt.Sprintf("closed: code %d %q (%v)", ce.Code, ce.Text, err), nil)
			w.mu.Lock()
			w.closeErr = ce
			w.closedAt = w.c.rec.Since()
			close(w.notify)
			w.notify = make(chan struct{})
			w.mu.Unlock()
			return
		}
		f := Frame{At: w.c.rec.Since(), Binary: mt == websocket.BinaryMessage, Data: data}
		noteWSFrame(&w.hb, f.At, mt, data, true)
		f.Packet, f.ParseErr = engineio.ParseFrame(w.c.version, f.Binary, data)
		kind := "text"
		if f.Binary {
			kind = "binary"
		}
		w.c.rec.Add(w.id, DirS2C, KindWSFrame, fmt.Sprintf("%s frame %dB", kind, len(data)), data)
		if f.ParseErr == nil {
			w.c.rec.Add(w.id, DirS2C, KindEIOPacket, f.Packet.String(), nil)
		} else {
			w.c.rec.Add(w.id, DirLocal, KindNote, "undecodable frame: "+f.ParseErr.Error(), nil)
		}
		w.mu.Lock()
		w.frames = append(w.frames, f)
		close(w.notify)
		w.notify = make(chan struct{})
		w.mu.Unlock()
	}
}

// Conn returns the transcript ordinal of the connection.
func (w *WSConn) Conn() int { return w.id }

// Next returns the next unread frame, waiting for it until ctx ends. Once
// the connection closed and every frame was read it returns a *CloseError.
func (w *WSConn) Next(ctx context.Context) (Frame, error) {
	for {
		w.mu.Lock()
		if w.cursor < len(w.frames) {
			f := w.frames[w.cursor]
			w.cursor++
			w.mu.Unlock()
			return f, nil
		}
		if w.closeErr != nil {
			err := w.closeErr
			w.mu.Unlock()
			return Frame{}, err
		}
		ch := w.notify
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Frame{}, fmt.Errorf("waiting for a websocket frame: %w", context.Cause(ctx))
		}
	}
}

// NextPacket returns the next frame's packet; an undecodable frame is an
// error.
func (w *WSConn) NextPacket(ctx context.Context) (engineio.Packet, error) {
	f, err := w.Next(ctx)
	if err != nil {
		return engineio.Packet{}, err
	}
	if f.ParseErr != nil {
		return engineio.Packet{}, fmt.Errorf("frame %q: %w", f.Data, f.ParseErr)
	}
	return f.Packet, nil
}

// NextNonPing returns the next packet that is not a server ping, answering
// each ping with a pong so the session stays alive.
func (w *WSConn) NextNonPing(ctx context.Context) (engineio.Packet, error) {
	for {
		p, err := w.NextPacket(ctx)
		if err != nil {
			return p, err
		}
		if p.Type == engineio.Ping && !p.Binary && w.c.version == engineio.V4 {
			if err := w.Send(engineio.TextPacket(engineio.Pong, "")); err != nil {
				return p, err
			}
			continue
		}
		return p, nil
	}
}

// Frames returns every frame received so far.
func (w *WSConn) Frames() []Frame {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Frame(nil), w.frames...)
}

// Closed reports how the connection ended, or nil while it is open.
func (w *WSConn) Closed() *CloseError {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeErr
}

// ClosedAt returns when (since the transcript start) the connection ended.
func (w *WSConn) ClosedAt() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closedAt
}

// Done is closed when the reader goroutine ended (the connection closed).
func (w *WSConn) Done() <-chan struct{} { return w.done }

// WaitClosed waits until the target closes the connection or ctx ends.
func (w *WSConn) WaitClosed(ctx context.Context) (*CloseError, error) {
	select {
	case <-w.done:
		return w.Closed(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the websocket to close: %w", context.Cause(ctx))
	}
}

// Send writes p as one WebSocket message for the client's revision, illegal
// packets included.
func (w *WSConn) Send(p engineio.Packet) error {
	b, bin, err := engineio.Encoder{AllowIllegal: true}.AppendFrame(nil, w.c.version, p)
	if err != nil {
		return &HarnessError{Op: "encode frame", Err: err}
	}
	w.c.rec.Add(w.id, DirC2S, KindEIOPacket, p.String(), nil)
	if bin {
		return w.SendBinary(b)
	}
	return w.SendText(string(b))
}

// SendText writes one text frame with exactly these bytes.
func (w *WSConn) SendText(s string) error { return w.write(websocket.TextMessage, []byte(s)) }

// SendBinary writes one binary frame with exactly these bytes.
func (w *WSConn) SendBinary(b []byte) error { return w.write(websocket.BinaryMessage, b) }

func (w *WSConn) write(mt int, b []byte) error {
	kind := "text"
	if mt == websocket.BinaryMessage {
		kind = "binary"
	}
	w.c.rec.Add(w.id, DirC2S, KindWSFrame, fmt.Sprintf("%s frame %dB", kind, len(b)), b)
	noteWSFrame(&w.hb, w.c.rec.Since(), mt, b, false)
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return w.ws.WriteMessage(mt, b)
}

// SendControl writes a WebSocket control frame (websocket.PingMessage or
// PongMessage).
func (w *WSConn) SendControl(mt int, data []byte) error {
	w.c.rec.Add(w.id, DirC2S, KindWSFrame, fmt.Sprintf("control %d", mt), data)
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.ws.WriteControl(mt, data, time.Now().Add(5*time.Second))
}

// CloseNormal sends a close frame (1000) without closing the TCP
// connection; the reader sees the peer's answer.
func (w *WSConn) CloseNormal() error {
	return w.SendControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
}

// Close closes the connection and waits for the reader goroutine. It is
// idempotent.
func (w *WSConn) Close() {
	w.once.Do(func() {
		_ = w.ws.Close()
		<-w.done
		w.c.rec.Add(w.id, DirLocal, KindTCPClose, "client closed the connection", nil)
	})
}
