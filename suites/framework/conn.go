package framework

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// Conn is an open Engine.IO session seen through one transport, so a
// behaviour can be written once and run on each transport.
type Conn interface {
	// Transport tells how the session is carried.
	Transport() Transport
	// SID is the Engine.IO session id.
	SID() string
	// Handshake is the open packet that started the session.
	Handshake() Handshake
	// Send delivers packets: one POST (which must answer 200) on polling,
	// one frame per packet on WebSocket.
	Send(ctx context.Context, pkts ...engineio.Packet) error
	// Next returns the next packet from the server; on polling it issues
	// GETs as needed, keeping the rest of a multi-packet body for later.
	Next(ctx context.Context) (engineio.Packet, error)
	// Ended checks whether the server has ended the session: on polling a
	// GET must not be answered 200 (or must carry the close packet); on
	// WebSocket the connection must close. It returns a description of how
	// the end showed, or an error when the session is still alive or ctx
	// ended first.
	//
	// The client keeps no heartbeat while Ended waits: use it only where
	// the heartbeat's own timeout is the behaviour under test. Everywhere
	// else use AwaitEnd.
	Ended(ctx context.Context) (string, error)
	// AwaitEnd waits until the server ends the session while the harness
	// keeps the heartbeat alive (v4: answers pings; v3: sends pings), so
	// that an end through the server's ping timeout cannot pass for the
	// rule under test. A session still open when ctx ends is an error
	// wrapping ErrStillOpen.
	AwaitEnd(ctx context.Context) (End, error)
	// Poll returns the polling session (nil on WebSocket).
	Poll() *PollSession
	// WS returns the WebSocket (nil on polling).
	WS() *WSConn
}

// ErrStillOpen reports a session that should have ended but answered.
var ErrStillOpen = errors.New("session still open")

// Open opens a session on transport tr: a polling handshake, a WebSocket
// handshake, or a polling handshake followed by a full upgrade.
func (e *Env) Open(ctx context.Context, tr Transport, extra ...string) (Conn, error) {
	switch tr {
	case Polling:
		s, err := e.C.OpenPolling(ctx, extra...)
		if err != nil {
			return nil, err
		}
		return &pollConn{s: s}, nil
	case WebSocket:
		w, hs, err := e.C.OpenWebSocket(ctx, extra...)
		if err != nil {
			return nil, err
		}
		return &wsConn{w: w, hs: hs, tr: WebSocket}, nil
	case Upgraded:
		s, err := e.C.OpenPolling(ctx, extra...)
		if err != nil {
			return nil, err
		}
		w, err := s.Upgrade(ctx)
		if err != nil {
			return nil, err
		}
		return &wsConn{w: w, hs: s.HS, tr: Upgraded, poll: s}, nil
	}
	return nil, &HarnessError{Op: "open", Err: fmt.Errorf("unknown transport %q", tr)}
}

// AsConn wraps an open polling session as a Conn.
func AsConn(s *PollSession) Conn { return &pollConn{s: s} }

type pollConn struct {
	s   *PollSession
	buf []engineio.Packet
}

func (p *pollConn) Transport() Transport { return Polling }
func (p *pollConn) SID() string          { return p.s.SID }
func (p *pollConn) Handshake() Handshake { return p.s.HS }
func (p *pollConn) Poll() *PollSession   { return p.s }
func (p *pollConn) WS() *WSConn          { return nil }
func (p *pollConn) Send(ctx context.Context, pkts ...engineio.Packet) error {
	r, err := p.s.Post(ctx, pkts...)
	if err != nil {
		return err
	}
	if r.Status != http.StatusOK {
		return &StatusError{Op: "POST", Status: r.Status, Body: r.Body}
	}
	return nil
}

func (p *pollConn) Next(ctx context.Context) (engineio.Packet, error) {
	for len(p.buf) == 0 {
		r, pkts, err := p.s.Get(ctx)
		if err != nil {
			return engineio.Packet{}, err
		}
		if r.Status != http.StatusOK {
			return engineio.Packet{}, &StatusError{Op: "GET", Status: r.Status, Body: r.Body}
		}
		p.buf = pkts
	}
	pk := p.buf[0]
	p.buf = p.buf[1:]
	return pk, nil
}

func (p *pollConn) Ended(ctx context.Context) (string, error) { return PollEnded(ctx, p.s) }
func (p *pollConn) AwaitEnd(ctx context.Context) (End, error) { return p.s.AwaitEnd(ctx) }

// PollEnded checks with one GET whether the server ended the polling
// session s (see Conn.Ended).
func PollEnded(ctx context.Context, s *PollSession) (string, error) {
	r, pkts, err := s.Get(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "GET failed: " + err.Error(), nil
	}
	if r.Status != http.StatusOK {
		return fmt.Sprintf("GET answered %d", r.Status), nil
	}
	for _, pk := range pkts {
		if pk.Type == engineio.Close {
			return "GET answered with a close packet", nil
		}
	}
	return "", fmt.Errorf("%w: GET answered 200 %q", ErrStillOpen, r.Body)
}

// AsWSConn wraps a WebSocket carrying a session as a Conn; poll is the
// polling session it was upgraded from, or nil.
func AsWSConn(w *WSConn, hs Handshake, tr Transport, poll *PollSession) Conn {
	return &wsConn{w: w, hs: hs, tr: tr, poll: poll}
}

type wsConn struct {
	w    *WSConn
	hs   Handshake
	tr   Transport
	poll *PollSession
}

func (c *wsConn) Transport() Transport { return c.tr }
func (c *wsConn) SID() string          { return c.hs.Open.SID }
func (c *wsConn) Handshake() Handshake { return c.hs }
func (c *wsConn) Poll() *PollSession   { return c.poll }
func (c *wsConn) WS() *WSConn          { return c.w }
func (c *wsConn) Send(_ context.Context, pkts ...engineio.Packet) error {
	for _, p := range pkts {
		if err := c.w.Send(p); err != nil {
			return err
		}
	}
	return nil
}
func (c *wsConn) Next(ctx context.Context) (engineio.Packet, error) { return c.w.NextPacket(ctx) }
func (c *wsConn) AwaitEnd(ctx context.Context) (End, error)         { return c.w.AwaitEnd(ctx, c.hs) }
func (c *wsConn) Ended(ctx context.Context) (string, error) {
	ce, err := c.w.WaitClosed(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("websocket closed (code %d)", ce.Code), nil
}

// RawResponse is an HTTP response read from a raw TCP exchange.
type RawResponse struct {
	Status int
	Header http.Header
	Body   []byte
	// EOF tells whether the server closed the connection after the body.
	EOF bool
	// Close reports a "Connection: close" header (net/http removes it from
	// Header).
	Close bool
}

// RawConn is a TCP connection to the target for requests net/http would
// refuse to send (illegal header bytes, half-sent bodies, aborted polls).
type RawConn struct {
	e    *Env
	id   int
	conn net.Conn
	br   *bufio.Reader
}

// DialRaw opens a TCP connection to the target's host.
func (e *Env) DialRaw(ctx context.Context) (*RawConn, error) {
	u := e.C.Endpoint()
	id := e.Rec.NewConn()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		e.Rec.Add(id, DirLocal, KindTCPClose, "dial failed: "+err.Error(), nil)
		return nil, &HarnessError{Op: "dial " + u.Host, Err: err}
	}
	rc := &RawConn{e: e, id: id, conn: conn, br: bufio.NewReader(conn)}
	go func() {
		// Close the socket when the spec's context ends so reads unblock.
		<-ctx.Done()
		_ = conn.Close()
	}()
	return rc, nil
}

// Write sends raw bytes.
func (r *RawConn) Write(b []byte) error {
	r.e.Rec.Add(r.id, DirC2S, KindHTTPRequest, fmt.Sprintf("raw %dB: %.60q", len(b), b), b)
	_ = r.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := r.conn.Write(b)
	return err
}

// ReadResponse reads one HTTP response (the body by Content-Length, or to
// EOF) and reports whether the server then closed the connection.
func (r *RawConn) ReadResponse(ctx context.Context) (*RawResponse, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = r.conn.SetReadDeadline(dl)
	}
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil {
		r.e.Rec.Add(r.id, DirLocal, KindTCPClose, "no response: "+err.Error(), nil)
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	out := &RawResponse{Status: resp.StatusCode, Header: resp.Header, Body: body, Close: resp.Close}
	r.e.Rec.Add(r.id, DirS2C, KindHTTPResponse, fmt.Sprintf("%d %s %dB", resp.StatusCode, resp.Header.Get("Content-Type"), len(body)), body)
	if err != nil {
		return out, err
	}
	_ = r.conn.SetReadDeadline(time.Now().Add(r.e.Timing.Scaled(time.Second)))
	one := make([]byte, 1)
	if _, err := r.br.Read(one); errors.Is(err, io.EOF) || isReset(err) {
		out.EOF = true
		r.e.Rec.Add(r.id, DirS2C, KindTCPClose, "server closed the connection", nil)
	}
	return out, nil
}

// WaitEOF waits until the server closes the connection (true) or ctx ends.
func (r *RawConn) WaitEOF(ctx context.Context) bool {
	if dl, ok := ctx.Deadline(); ok {
		_ = r.conn.SetReadDeadline(dl)
	}
	buf := make([]byte, 512)
	for {
		_, err := r.br.Read(buf)
		if err != nil {
			eof := errors.Is(err, io.EOF) || isReset(err)
			if eof {
				r.e.Rec.Add(r.id, DirS2C, KindTCPClose, "server closed the connection", nil)
			}
			return eof
		}
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// Close closes the connection (an abort from the target's point of view).
func (r *RawConn) Close() {
	_ = r.conn.Close()
	r.e.Rec.Add(r.id, DirLocal, KindTCPClose, "client closed the connection", nil)
}

// RequestLine builds a raw HTTP/1.1 request head for the endpoint with the
// given method, query and extra header lines (each without CRLF).
func (e *Env) RequestHead(method, rawQuery string, headers ...string) string {
	u := e.C.Endpoint()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s?%s HTTP/1.1\r\nHost: %s\r\n", method, u.Path, rawQuery, u.Host)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}
