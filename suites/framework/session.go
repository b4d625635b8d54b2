package framework

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/siospec/siospec/protocol/engineio"
)

// Transport is a way a spec reaches the target.
type Transport string

// Transports; Upgraded means a polling session upgraded to WebSocket.
const (
	Polling   Transport = "polling"
	WebSocket Transport = "websocket"
	Upgraded  Transport = "upgrade"
)

// Describe returns the context text used for the transport.
func (t Transport) Describe() string {
	switch t {
	case Polling:
		return "over HTTP long-polling"
	case WebSocket:
		return "over WebSocket"
	case Upgraded:
		return "after an upgrade from polling to WebSocket"
	}
	return "over " + string(t)
}

// Handshake is the result of opening a session.
type Handshake struct {
	Open engineio.OpenPacket
	// Raw is the open packet's JSON text.
	Raw []byte
	// Response is the polling handshake response (nil over WebSocket).
	Response *Response
	// Packets are all packets of the polling handshake response.
	Packets []engineio.Packet
}

// PollSession is an open HTTP long-polling session.
type PollSession struct {
	c   *Client
	SID string
	HS  Handshake
	// Extra are query pairs added to every request (e.g. b64=1 for v3).
	Extra []string

	hb heartbeatLog
}

// OpenPolling performs a polling handshake (GET without sid) and returns
// the session. extra query pairs are added to the handshake and to every
// later request of the session.
func (c *Client) OpenPolling(ctx context.Context, extra ...string) (*PollSession, error) {
	r, err := c.Get(ctx, c.PollQuery(extra...))
	if err != nil {
		return nil, fmt.Errorf("polling handshake: %w", err)
	}
	if r.Status != http.StatusOK {
		return nil, &StatusError{Op: "polling handshake", Status: r.Status, Body: r.Body}
	}
	pkts, err := c.DecodePayload(r)
	if err != nil {
		return nil, fmt.Errorf("polling handshake: decode body: %w", err)
	}
	if len(pkts) == 0 || pkts[0].Type != engineio.Open || pkts[0].Binary {
		return nil, fmt.Errorf("polling handshake: first packet is not an open packet: %q", r.Body)
	}
	op, err := engineio.ParseOpen(pkts[0].Data)
	if err != nil {
		return nil, fmt.Errorf("polling handshake: %w", err)
	}
	raw := append([]byte(nil), pkts[0].Data...)
	return &PollSession{c: c, SID: op.SID, HS: Handshake{Open: op, Raw: raw, Response: r, Packets: pkts}, Extra: extra}, nil
}

// Query returns the session's polling query with sid and extra pairs.
func (s *PollSession) Query(kv ...string) []string {
	out := append([]string{"sid", s.SID}, s.Extra...)
	return append(out, kv...)
}

// Get sends one GET for the session and decodes the body when the status
// is 200. Packets is nil for other statuses.
func (s *PollSession) Get(ctx context.Context, kv ...string) (*Response, []engineio.Packet, error) {
	r, err := s.c.Get(ctx, s.c.PollQuery(s.Query(kv...)...))
	if err != nil {
		return nil, nil, err
	}
	if r.Status != http.StatusOK {
		return r, nil, nil
	}
	pkts, err := s.c.DecodePayload(r)
	for _, p := range pkts {
		if p.Type == engineio.Ping && !p.Binary && len(p.Data) == 0 {
			s.hb.ping(s.c.rec.Since())
		}
	}
	return r, pkts, err
}

// Post sends packets in one POST body.
func (s *PollSession) Post(ctx context.Context, pkts ...engineio.Packet) (*Response, error) {
	for _, p := range pkts {
		s.c.rec.Add(0, DirC2S, KindEIOPacket, p.String(), nil)
		if p.Type == engineio.Pong && !p.Binary && len(p.Data) == 0 {
			s.hb.pong(s.c.rec.Since())
		}
	}
	return s.PostRaw(ctx, s.c.EncodePayload(pkts...), nil)
}

// PostRaw sends body as is, with optional headers.
func (s *PollSession) PostRaw(ctx context.Context, body []byte, h http.Header) (*Response, error) {
	return s.c.Do(ctx, Request{Method: http.MethodPost, Query: s.c.PollQuery(s.Query()...), Header: h, Body: body})
}

// OpenWebSocket performs a WebSocket handshake without sid and reads the
// open packet.
func (c *Client) OpenWebSocket(ctx context.Context, extra ...string) (*WSConn, Handshake, error) {
	w, _, err := c.DialWS(ctx, c.WSQuery(extra...), nil)
	if err != nil {
		return nil, Handshake{}, err
	}
	f, err := w.Next(ctx)
	if err != nil {
		return w, Handshake{}, fmt.Errorf("websocket handshake: read open packet: %w", err)
	}
	if f.ParseErr != nil || f.Packet.Type != engineio.Open || f.Binary {
		return w, Handshake{}, fmt.Errorf("websocket handshake: first frame is not an open packet: %q", f.Data)
	}
	op, err := engineio.ParseOpen(f.Packet.Data)
	if err != nil {
		return w, Handshake{}, fmt.Errorf("websocket handshake: %w", err)
	}
	w.SID = op.SID
	return w, Handshake{Open: op, Raw: append([]byte(nil), f.Packet.Data...)}, nil
}

// Probe opens the probe WebSocket for a polling session and sends 2probe.
// It does not wait for the answer.
func (s *PollSession) Probe(ctx context.Context) (*WSConn, error) {
	w, _, err := s.c.DialWS(ctx, s.c.WSQuery(s.Query()...), nil)
	if err != nil {
		return nil, fmt.Errorf("probe websocket: %w", err)
	}
	w.SID = s.SID
	if err := w.Send(engineio.TextPacket(engineio.Ping, "probe")); err != nil {
		return w, fmt.Errorf("probe websocket: send 2probe: %w", err)
	}
	return w, nil
}

// Upgrade runs the whole upgrade: probe, wait for 3probe, send 5. It
// returns the WebSocket, now carrying the session.
func (s *PollSession) Upgrade(ctx context.Context) (*WSConn, error) {
	w, err := s.Probe(ctx)
	if err != nil {
		return w, err
	}
	p, err := w.NextPacket(ctx)
	if err != nil {
		return w, fmt.Errorf("upgrade: wait for 3probe: %w", err)
	}
	if p.Type != engineio.Pong || string(p.Data) != "probe" {
		return w, fmt.Errorf("upgrade: expected 3probe, got %v", p)
	}
	if err := w.Send(engineio.TextPacket(engineio.Upgrade, "")); err != nil {
		return w, fmt.Errorf("upgrade: send 5: %w", err)
	}
	return w, nil
}

// ErrNotOpen is returned when a helper needs an open session and the
// target refused it.
var ErrNotOpen = errors.New("session not open")
