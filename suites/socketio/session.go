package socketio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

// KindSIOPacket is the transcript kind of a Socket.IO packet
// (REPORT-CONTRACT.md).
const KindSIOPacket = "sio-packet"

// ErrEnded is returned by Session reads once the server ended the session
// and every packet received before was consumed; the *EndedError wrapping
// it tells how the end showed.
var ErrEnded = errors.New("socketio: session ended by the server")

// EndedError describes how the server ended a session.
type EndedError struct {
	// How is what the client saw: "websocket closed (code 1005)", "GET
	// answered 400", "close packet".
	How string
	// At is the time since the transcript started.
	At time.Duration
}

func (e *EndedError) Error() string { return fmt.Sprintf("session ended: %s (at %v)", e.How, e.At) }

// Unwrap lets errors.Is(err, ErrEnded) match.
func (e *EndedError) Unwrap() error { return ErrEnded }

// Received is one packet the server sent, or the reason a message of the
// server did not decode as Socket.IO.
type Received struct {
	Packet sio.Packet
	// Err is set instead of Packet when the server's message did not
	// decode (a fault of the target, reported as such).
	Err error
	// Raw is the text of the Engine.IO message that carried the packet
	// (the header for binary packets).
	Raw string
	// At is the time since the transcript started.
	At time.Duration
}

// Session is a Socket.IO client over one raw Engine.IO session.
type Session struct {
	e     *framework.Env
	conn  framework.Conn
	v     sio.Version
	eio   engineio.Version
	conn0 int
	own   *framework.Client

	answerPings atomic.Bool
	sendMu      sync.Mutex

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	mu      sync.Mutex
	items   []Received
	cursor  int
	pings   []time.Duration
	ended   *EndedError
	notify  chan struct{}
	nextAck uint64
}

// OpenOptions tunes OpenSession.
type OpenOptions struct {
	// Version is the Socket.IO revision: sio.V5 (default) over EIO=4,
	// sio.V4 over EIO=3.
	Version sio.Version
	// SilentHeartbeat makes the client leave the heartbeat alone (no pongs
	// on v4, no pings on v3) from the start.
	SilentHeartbeat bool
	// Extra are query pairs added to the Engine.IO handshake.
	Extra []string
}

// OpenSession opens an Engine.IO session on tr for Socket.IO and starts its
// reader. The caller must Close it (specs register DeferCleanup).
func OpenSession(ctx context.Context, e *framework.Env, tr framework.Transport, o *OpenOptions) (*Session, error) {
	var opts OpenOptions
	if o != nil {
		opts = *o
	}
	if opts.Version == 0 {
		opts.Version = sio.V5
	}
	env := e
	var own *framework.Client
	eio := engineio.V4
	if opts.Version == sio.V4 {
		eio = engineio.V3
	}
	if env.C.Version() != eio {
		// The spec needs the other Engine.IO revision than the run's
		// default: a client of its own, recording into the same transcript.
		cfg := *e.Cfg
		cfg.EIO = int(eio)
		c, err := framework.NewClient(&cfg, e.Rec)
		if err != nil {
			return nil, err
		}
		cp := *e
		cp.C = c
		env, own = &cp, c
	}
	conn, err := env.Open(ctx, tr, opts.Extra...)
	if err != nil {
		if own != nil {
			own.Close()
		}
		return nil, err
	}
	s := &Session{e: e, conn: conn, own: own, v: opts.Version, eio: eio, notify: make(chan struct{}), nextAck: 1}
	if w := conn.WS(); w != nil {
		s.conn0 = w.Conn()
	}
	s.answerPings.Store(!opts.SilentHeartbeat)
	rctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go s.readLoop(rctx)
	if eio == engineio.V3 {
		s.wg.Add(1)
		go s.pingLoop(rctx)
	}
	return s, nil
}

// Conn returns the underlying Engine.IO session.
func (s *Session) Conn() framework.Conn { return s.conn }

// Version returns the Socket.IO revision the session speaks.
func (s *Session) Version() sio.Version { return s.v }

// SID returns the Engine.IO session id.
func (s *Session) SID() string { return s.conn.SID() }

// SetAnswerPings turns the client's side of the heartbeat on or off: pongs
// to the server's pings on Engine.IO v4, pings every pingInterval/2 on v3.
func (s *Session) SetAnswerPings(on bool) { s.answerPings.Store(on) }

// Close stops the reader (and pinger) and waits for them. On WebSocket the
// connection is closed by the framework's client cleanup; a parked polling
// GET is aborted. It is idempotent.
func (s *Session) Close() {
	s.once.Do(func() {
		s.cancel()
		if w := s.conn.WS(); w != nil {
			w.Close()
		}
		s.wg.Wait()
		if s.own != nil {
			s.own.Close()
		}
	})
}

// AckID returns a fresh ack id for the session (from 1; specs that need
// id 0 write it themselves).
func (s *Session) AckID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextAck
	s.nextAck++
	return id
}

func (s *Session) readLoop(ctx context.Context) {
	defer s.wg.Done()
	re := sio.Reassembler{Decoder: sio.Decoder{Version: s.v}}
	var header string
	// A polling handshake may carry more than the open packet (a v4
	// server's implicit CONNECT of "/", SIO4-02).
	if hs := s.conn.Handshake(); len(hs.Packets) > 1 {
		for _, p := range hs.Packets[1:] {
			if s.handle(ctx, p, &re, &header) {
				return
			}
		}
	}
	for {
		p, err := s.conn.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.end(describeEnd(err))
			return
		}
		if s.handle(ctx, p, &re, &header) {
			return
		}
	}
}

// handle processes one Engine.IO packet from the server and reports
// whether the session ended.
func (s *Session) handle(ctx context.Context, p engineio.Packet, re *sio.Reassembler, header *string) bool {
	switch {
	case p.Type == engineio.Ping && !p.Binary:
		s.mu.Lock()
		s.pings = append(s.pings, s.e.Rec.Since())
		s.notifyLocked()
		s.mu.Unlock()
		if s.eio == engineio.V4 && s.answerPings.Load() {
			_ = s.sendEIO(ctx, engineio.TextPacket(engineio.Pong, string(p.Data)))
		}
	case p.Type == engineio.Close:
		s.end("close packet")
		return true
	case p.Type == engineio.Message && p.Binary:
		pk, done, err := re.AddBinary(append([]byte(nil), p.Data...))
		switch {
		case err != nil:
			s.push(Received{Err: fmt.Errorf("binary message %d B: %w", len(p.Data), err)})
		case done:
			s.push(Received{Packet: pk.Clone(), Raw: *header})
		}
	case p.Type == engineio.Message:
		text := append([]byte(nil), p.Data...)
		pk, done, err := re.AddText(text)
		switch {
		case err != nil:
			s.push(Received{Err: fmt.Errorf("message %q: %w", text, err), Raw: string(text)})
		case done:
			s.push(Received{Packet: pk.Clone(), Raw: string(text)})
		default:
			*header = string(text)
		}
	default:
		// Pongs (v3 answers to our pings), noops and anything else
		// belong to Engine.IO; the framework recorded them.
	}
	return false
}

func (s *Session) pingLoop(ctx context.Context) {
	defer s.wg.Done()
	iv := s.conn.Handshake().Open.PingInterval / 2
	if iv <= 0 {
		iv = 100 * time.Millisecond
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.Ended() != nil {
				return
			}
			if s.answerPings.Load() {
				_ = s.sendEIO(ctx, engineio.TextPacket(engineio.Ping, ""))
			}
		}
	}
}

func describeEnd(err error) string {
	var se *framework.StatusError
	var ce *framework.CloseError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s answered %d", se.Op, se.Status)
	case errors.As(err, &ce):
		return fmt.Sprintf("websocket closed (code %d)", ce.Code)
	}
	return "transport failed: " + err.Error()
}

func (s *Session) notifyLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

func (s *Session) end(how string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended == nil {
		s.ended = &EndedError{How: how, At: s.e.Rec.Since()}
		s.e.Rec.Add(s.conn0, framework.DirLocal, framework.KindNote, "session ended by the server: "+how, nil)
		s.notifyLocked()
	}
}

func (s *Session) push(r Received) {
	r.At = s.e.Rec.Since()
	if r.Err != nil {
		s.e.Rec.Add(s.conn0, framework.DirLocal, framework.KindNote, "server message is not valid Socket.IO: "+r.Err.Error(), nil)
	} else {
		s.e.Rec.Add(s.conn0, framework.DirS2C, KindSIOPacket, r.Packet.String(), nil)
	}
	s.mu.Lock()
	s.items = append(s.items, r)
	s.notifyLocked()
	s.mu.Unlock()
}

// Ended returns how the server ended the session, or nil while it is open.
func (s *Session) Ended() *EndedError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

// Pings returns how many pings the server sent so far.
func (s *Session) Pings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pings)
}

// Unread returns the packets received and not yet consumed.
func (s *Session) Unread() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.items[s.cursor:]...)
}

// Next returns the next packet from the server, waiting until ctx ends. A
// server message that does not decode is returned as an error; once the
// session ended and everything was consumed it returns an *EndedError.
func (s *Session) Next(ctx context.Context) (sio.Packet, error) {
	for {
		s.mu.Lock()
		if s.cursor < len(s.items) {
			r := s.items[s.cursor]
			s.cursor++
			s.mu.Unlock()
			if r.Err != nil {
				return sio.Packet{}, r.Err
			}
			return r.Packet, nil
		}
		if s.ended != nil {
			err := s.ended
			s.mu.Unlock()
			return sio.Packet{}, err
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return sio.Packet{}, fmt.Errorf("waiting for a Socket.IO packet: %w", context.Cause(ctx))
		}
	}
}

// NextRaw is Next that also returns the text of the carrying message.
func (s *Session) NextRaw(ctx context.Context) (Received, error) {
	for {
		s.mu.Lock()
		if s.cursor < len(s.items) {
			r := s.items[s.cursor]
			s.cursor++
			s.mu.Unlock()
			return r, r.Err
		}
		if s.ended != nil {
			err := s.ended
			s.mu.Unlock()
			return Received{}, err
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Received{}, fmt.Errorf("waiting for a Socket.IO packet: %w", context.Cause(ctx))
		}
	}
}

// WaitEnded waits until the server ends the session or ctx ends.
func (s *Session) WaitEnded(ctx context.Context) (*EndedError, error) {
	for {
		s.mu.Lock()
		if s.ended != nil {
			e := s.ended
			s.mu.Unlock()
			return e, nil
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the server to end the session: %w", context.Cause(ctx))
		}
	}
}

// WaitPing waits for the server's next ping after the n-th one.
func (s *Session) WaitPing(ctx context.Context, after int) error {
	for {
		s.mu.Lock()
		if len(s.pings) > after {
			s.mu.Unlock()
			return nil
		}
		if s.ended != nil {
			err := s.ended
			s.mu.Unlock()
			return err
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for a ping: %w", context.Cause(ctx))
		}
	}
}

func (s *Session) sendEIO(ctx context.Context, pkts ...engineio.Packet) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.conn.Send(ctx, pkts...)
}

// Send encodes p (illegal packets included) and sends it with its
// attachments: one POST on polling, one frame per message on WebSocket.
func (s *Session) Send(ctx context.Context, p sio.Packet) error {
	enc := sio.Encoder{Version: s.v, AllowIllegal: true}
	text, bins, err := enc.Encode(p)
	if err != nil {
		return &framework.HarnessError{Op: "encode Socket.IO packet", Err: err}
	}
	s.e.Rec.Add(s.conn0, framework.DirC2S, KindSIOPacket, p.String(), text)
	pkts := []engineio.Packet{engineio.TextPacket(engineio.Message, string(text))}
	for _, b := range bins {
		pkts = append(pkts, engineio.BinaryMessage(b))
	}
	return s.sendEIO(ctx, pkts...)
}

// SendText sends text as one Engine.IO message, byte for byte (a Socket.IO
// packet in its wire form, legal or not), followed by binary messages.
func (s *Session) SendText(ctx context.Context, text string, bins ...[]byte) error {
	sum := fmt.Sprintf("raw %q", text)
	if p, err := (sio.Decoder{Version: s.v}).Decode([]byte(text)); err == nil {
		sum = p.String()
	}
	if len(bins) > 0 {
		sum += fmt.Sprintf(" + %d binary", len(bins))
	}
	s.e.Rec.Add(s.conn0, framework.DirC2S, KindSIOPacket, sum, []byte(text))
	pkts := []engineio.Packet{engineio.TextPacket(engineio.Message, text)}
	for _, b := range bins {
		pkts = append(pkts, engineio.BinaryMessage(b))
	}
	return s.sendEIO(ctx, pkts...)
}

// SendEIO sends raw Engine.IO packets (a stray binary message, an empty
// message).
func (s *Session) SendEIO(ctx context.Context, pkts ...engineio.Packet) error {
	for _, p := range pkts {
		s.e.Rec.Add(s.conn0, framework.DirC2S, KindSIOPacket, "engine.io "+p.String(), nil)
	}
	return s.sendEIO(ctx, pkts...)
}

// eventName returns the name of an event packet or "".
func eventName(p sio.Packet) string {
	if p.Type != sio.Event && p.Type != sio.BinaryEvent {
		return ""
	}
	n, err := p.EventName()
	if err != nil {
		return ""
	}
	return n
}

// describe renders packets for observed texts.
func describe(ps ...sio.Packet) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}
