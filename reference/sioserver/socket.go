package sioserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// Handshake describes how a socket connected.
type Handshake struct {
	// Auth is the CONNECT payload: a socketio.Object, empty when the
	// client sent none (SIO-CONN-04). For a protocol v4 client it is the
	// query written after the namespace ("40/admin?token=abc,"), as an
	// Object of strings (SIO4-03).
	Auth any
	// Headers are the headers of the request that opened the Engine.IO
	// session.
	Headers http.Header
	// Query is the URL query of that request.
	Query url.Values
	// Address is the remote address of that request.
	Address string
	// URL is the request URI of that request.
	URL string
	// Secure reports whether that request came over TLS.
	Secure bool
	// Time is when the socket was created.
	Time time.Time
}

// EventHandler handles one event received by a socket. Handlers run on the
// session's transport goroutine, one event at a time and in order
// (SIO-EVT-06); a handler that blocks delays every later packet of the
// session, so it must not wait for an acknowledgement of its own session
// (use [Socket.EmitCallback], not [Socket.EmitWithAck], from a handler).
type EventHandler func(e *Event)

// AckCallback receives the client's answer to an acknowledgement request:
// its arguments, or an error (ErrAckTimeout, ErrDisconnected).
type AckCallback func(args []any, err error)

// Event is one event received from a client.
type Event struct {
	// Socket is the receiving socket.
	Socket *Socket
	// Name is the event name (a number name in decimal, SIO-EVT-04).
	Name string
	// Args are the arguments: nil, bool, float64, string, []any,
	// socketio.Object, and []byte for binary attachments.
	Args []any
	// Packet is the packet as received; its Data and Binary slices belong
	// to the event.
	Packet socketio.Packet

	acked atomic.Bool
}

// WantsAck reports whether the client asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.Packet.HasID }

// Ack answers the client's acknowledgement request with args; binary
// arguments make it a BINARY_ACK (SIO-ACK-03). Only the first call sends
// anything (ErrAckSent after); an event without an ack id gives ErrNoAck.
// Ack may be called after the handler returned, from any goroutine.
func (e *Event) Ack(args ...any) error {
	if !e.Packet.HasID {
		return ErrNoAck
	}
	if e.acked.Swap(true) {
		return ErrAckSent
	}
	c := e.Socket.client
	text, bins, err := c.enc.AppendAck(nil, e.Socket.nsp.name, e.Packet.ID, args...)
	if err != nil {
		return ackError(e.Packet.ID, err)
	}
	return c.send(eventFrames(text, bins), false)
}

//go:noinline
func ackError(id uint64, err error) error {
	return fmt.Errorf("ack %d: %w", id, err)
}

// handlerEntry is one Socket.On registration.
type handlerEntry struct {
	event string
	h     EventHandler
}

type pendingAck struct {
	cb    AckCallback
	timer stopper
}

// Socket is one client's membership of one namespace.
type Socket struct {
	id        string
	pid       string
	nsp       *Namespace
	client    *client
	handshake Handshake
	recovered bool

	mu        sync.Mutex
	connected bool
	closed    bool
	// handlers are the On registrations in order, one entry each: a
	// socket has a few, and a slice is a fraction of a map's size. It
	// is only appended to, so a copy of the slice header taken under mu
	// can be read without it.
	handlers      []handlerEntry
	anyHandlers   []EventHandler
	onDisconnect  []func(reason string)
	onDisconnectg []func(reason string)
	acks          map[uint64]*pendingAck
	data          any
}

// ID returns the Socket.IO socket id: random and private to the namespace
// in protocol v5 (SIO-CONN-03); the Engine.IO id for "/" and
// "<nsp>#<engine id>" otherwise in protocol v4 (SIO4-04).
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the connection details.
func (s *Socket) Handshake() Handshake { return s.handshake }

// Recovered reports whether the socket resumed a previous session through
// connection state recovery (NODE-CSR-04).
func (s *Socket) Recovered() bool { return s.recovered }

// EngineID returns the Engine.IO session id.
func (s *Socket) EngineID() string { return s.client.conn.ID() }

// EngineProtocol returns the Engine.IO protocol revision (3 or 4).
func (s *Socket) EngineProtocol() engineio.Version { return s.client.conn.Protocol() }

// Transport returns the current transport name ("polling", "websocket").
func (s *Socket) Transport() string { return s.client.conn.Transport() }

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Data returns the application data attached to the socket (kept across a
// recovered session).
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData attaches application data to the socket.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// On registers a handler for event.
func (s *Socket) On(event string, h EventHandler) {
	s.mu.Lock()
	s.handlers = append(s.handlers, handlerEntry{event: event, h: h})
	s.mu.Unlock()
}

// OnAny registers a handler called for every event, before the handlers
// registered with On.
func (s *Socket) OnAny(h EventHandler) {
	s.mu.Lock()
	s.anyHandlers = append(s.anyHandlers, h)
	s.mu.Unlock()
}

// OnDisconnect registers a handler called once when the socket disconnects,
// with the reason (see the Reason constants).
func (s *Socket) OnDisconnect(h func(reason string)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, h)
	s.mu.Unlock()
}

// OnDisconnecting registers a handler called when the socket is about to
// disconnect, while it is still in its rooms.
func (s *Socket) OnDisconnecting(h func(reason string)) {
	s.mu.Lock()
	s.onDisconnectg = append(s.onDisconnectg, h)
	s.mu.Unlock()
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) { s.nsp.adapter.AddAll(s.id, rooms) }

// Leave removes the socket from room.
func (s *Socket) Leave(room string) { s.nsp.adapter.Del(s.id, room) }

// Rooms returns the rooms the socket is in, in join order; the first is the
// socket's own id room.
func (s *Socket) Rooms() []string { return s.nsp.adapter.Rooms(s.id) }

// To returns a broadcast operator for rooms that leaves this socket out.
func (s *Socket) To(rooms ...string) *BroadcastOperator {
	return (&BroadcastOperator{nsp: s.nsp, except: []string{s.id}}).To(rooms...)
}

// Broadcast returns a broadcast operator for every other socket of the
// namespace.
func (s *Socket) Broadcast() *BroadcastOperator {
	return &BroadcastOperator{nsp: s.nsp, except: []string{s.id}}
}

// Emit sends event with args to the client. []byte arguments are sent as
// binary attachments (SIO-BIN-11). It does not block: the packet is queued on
// the session; a client whose queue overflows is disconnected with
// ReasonSendQueueFull.
func (s *Socket) Emit(event string, args ...any) error { return s.emit(event, args, false) }

// EmitVolatile is Emit for a packet that may be dropped when the transport
// is not writable (NODE-VOL-01); it is never kept for recovery.
func (s *Socket) EmitVolatile(event string, args ...any) error { return s.emit(event, args, true) }

func (s *Socket) emit(event string, args []any, volatile bool) error {
	// The hot path of a handler's Emit, on the session's reader: small
	// frames, rare branches outlined (see client.onMessage).
	if socketio.IsReservedEvent(event) {
		return reservedEventError(event)
	}
	if !s.Connected() {
		return ErrClosed
	}
	if s.nsp.csr != nil && !volatile {
		return s.emitLogged(event, args)
	}
	text, bins, err := s.client.enc.AppendEvent(nil, s.nsp.name, socketio.NoAck, event, args...)
	if err != nil {
		return emitError(event, err)
	}
	return s.client.send(eventFrames(text, bins), volatile)
}

// emitLogged routes an emit through the adapter so that the packet gets an
// offset and is logged (NODE-CSR-02).
//
//go:noinline
func (s *Socket) emitLogged(event string, args []any) error {
	return (&BroadcastOperator{nsp: s.nsp, rooms: []string{s.id}}).Emit(event, args...)
}

//go:noinline
func reservedEventError(event string) error {
	return fmt.Errorf("emit %q: %w", event, ErrReservedEvent)
}

//go:noinline
func emitError(event string, err error) error {
	return fmt.Errorf("emit %q: %w", event, err)
}

// EmitCallback sends event with args and an ack id taken from the
// namespace counter (SIO-ACK-07), and calls cb once with the client's answer.
// If timeout is positive and no answer came in time, cb gets ErrAckTimeout;
// if the socket disconnects first, cb gets ErrDisconnected. cb runs on the
// session's transport goroutine (or a timer goroutine) and must not block.
func (s *Socket) EmitCallback(event string, args []any, timeout time.Duration, cb AckCallback) error {
	_, err := s.emitAck(event, args, timeout, cb)
	return err
}

// EmitWithAck sends event with args and an ack id and waits for the
// client's answer, or until ctx ends (ctx.Err()) or the socket disconnects
// (ErrDisconnected). Do not call it from an EventHandler of the same
// session: the answer is read by the goroutine the handler blocks.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) ([]any, error) {
	type result struct {
		args []any
		err  error
	}
	ch := make(chan result, 1)
	id, err := s.emitAck(event, args, 0, func(a []any, err error) { ch <- result{a, err} })
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		s.takeAck(id)
		return nil, fmt.Errorf("emit %q: %w", event, ctx.Err())
	}
}

func (s *Socket) emitAck(event string, args []any, timeout time.Duration, cb AckCallback) (uint64, error) {
	if socketio.IsReservedEvent(event) {
		return 0, fmt.Errorf("emit %q: %w", event, ErrReservedEvent)
	}
	p, err := socketio.NewEvent(s.nsp.name, event, args...)
	if err != nil {
		return 0, fmt.Errorf("emit %q: %w", event, err)
	}
	id := s.nsp.ackIDs.Add(1) - 1
	p = p.WithID(id)
	pa := &pendingAck{cb: cb}
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return 0, ErrClosed
	}
	if s.acks == nil {
		s.acks = make(map[uint64]*pendingAck)
	}
	s.acks[id] = pa
	if timeout > 0 {
		pa.timer = s.client.reg.cfg.clock.AfterFunc(timeout, func() {
			if s.takeAck(id) != nil {
				cb(nil, fmt.Errorf("emit %q: %w", event, ErrAckTimeout))
			}
		})
	}
	s.mu.Unlock()
	if err := s.sendPacket(p, false); err != nil {
		if pa := s.takeAck(id); pa != nil && pa.timer != nil {
			pa.timer.Stop()
		}
		return 0, err
	}
	return id, nil
}

func (s *Socket) takeAck(id uint64) *pendingAck {
	s.mu.Lock()
	defer s.mu.Unlock()
	pa := s.acks[id]
	delete(s.acks, id)
	return pa
}

// Disconnect ends the socket. With close false it sends DISCONNECT for its
// namespace and keeps the Engine.IO session (SIO-DISC-04); with close true
// it disconnects every namespace of the session and closes it
// (SIO-DISC-05).
func (s *Socket) Disconnect(close bool) {
	if !s.Connected() {
		return
	}
	if close {
		s.client.disconnectAll()
		return
	}
	_ = s.sendPacket(socketio.NewDisconnect(s.nsp.name), false)
	s.onclose(ReasonServerNamespaceDisconnect)
}

func (s *Socket) sendPacket(p socketio.Packet, volatile bool) error {
	fr, err := frames(s.client.enc, p)
	if err != nil {
		return err
	}
	return s.client.send(fr, volatile)
}

// onPacket handles a packet for this socket's namespace (Node's
// Socket._onpacket).
func (s *Socket) onPacket(p *socketio.Packet) {
	switch p.Type {
	case socketio.Event, socketio.BinaryEvent:
		s.onEvent(p)
	case socketio.Ack, socketio.BinaryAck:
		s.onAck(p)
	case socketio.Disconnect:
		s.onclose(ReasonClientNamespaceDisconnect)
	}
}

// onEvent runs the handlers of an event. It stays on the reader's stack
// while they run, and the arguments are parsed right below it, so the
// preparation and the parse are functions of their own with small frames.
func (s *Socket) onEvent(p *socketio.Packet) {
	e, anyHs, hs := s.newEvent(p)
	if e == nil || !e.parseArgs() {
		return
	}
	for _, h := range anyHs {
		s.call(h, e)
	}
	for _, he := range hs {
		if he.event == e.Name {
			s.call(he.h, e)
		}
	}
}

// newEvent returns the event of p, its arguments not parsed yet, and the
// handlers to run, or nil when there is nothing to run.
//
//go:noinline
func (s *Socket) newEvent(p *socketio.Packet) (*Event, []EventHandler, []handlerEntry) {
	if p.Data == nil {
		return nil, nil, nil // "42": accepted, nothing to dispatch (SIO-ENC-10)
	}
	name, err := p.EventName()
	if err != nil {
		return nil, nil, nil
	}
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return nil, nil, nil
	}
	anyHs := s.anyHandlers
	hs := s.handlers
	s.mu.Unlock()
	if len(anyHs) == 0 && !listens(hs, name) {
		return nil, nil, nil // nobody listens: the arguments are not decoded
	}
	return &Event{Socket: s, Name: name, Packet: *p}, anyHs, hs
}

// parseArgs sets e.Args from the packet; false if they do not parse.
//
//go:noinline
func (e *Event) parseArgs() bool {
	args, err := e.Packet.Args()
	e.Args = args
	return err == nil
}

func listens(hs []handlerEntry, name string) bool {
	for _, he := range hs {
		if he.event == name {
			return true
		}
	}
	return false
}

// call runs an application handler; a panic in it is logged, not fatal.
func (s *Socket) call(h EventHandler, e *Event) {
	defer func() {
		if r := recover(); r != nil {
			s.client.reg.cfg.logger.Error("sioserver: event handler panicked",
				"sid", s.id, "nsp", s.nsp.name, "event", e.Name, "panic", r)
		}
	}()
	h(e)
}

func (s *Socket) onAck(p *socketio.Packet) {
	pa := s.takeAck(p.ID)
	if pa == nil || !p.HasID {
		return // unknown or used id: ignored (SIO-ACK-05)
	}
	if pa.timer != nil {
		pa.timer.Stop()
	}
	var args []any
	if p.Data != nil {
		a, err := p.Args()
		if err != nil {
			return
		}
		args = a
	}
	pa.cb(args, nil)
}

// onclose disconnects the socket with reason (Node's Socket._onclose).
func (s *Socket) onclose(reason string) {
	s.mu.Lock()
	if !s.connected || s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	disconnecting := s.onDisconnectg
	s.mu.Unlock()
	for _, h := range disconnecting {
		s.callReason(h, reason)
	}
	if s.nsp.csr != nil && recoverable(reason) {
		s.nsp.csr.persist(savedSession{sid: s.id, pid: s.pid, rooms: s.Rooms(), data: s.Data()})
	}
	s.nsp.adapter.DelAll(s.id)
	s.nsp.sockets.del(s)
	s.client.remove(s)
	s.mu.Lock()
	s.connected = false
	acks := s.acks
	s.acks = nil
	hs := s.onDisconnect
	s.mu.Unlock()
	for _, pa := range acks {
		if pa.timer != nil {
			pa.timer.Stop()
		}
		pa.cb(nil, ErrDisconnected)
	}
	for _, h := range hs {
		s.callReason(h, reason)
	}
}

func (s *Socket) callReason(h func(string), reason string) {
	defer func() {
		if r := recover(); r != nil {
			s.client.reg.cfg.logger.Error("sioserver: disconnect handler panicked",
				"sid", s.id, "nsp", s.nsp.name, "panic", r)
		}
	}()
	h(reason)
}

// drop ends a protocol v4 socket replaced by a redundant CONNECT, as
// socket.io 2.x forgets it: no disconnect handlers run; pending
// acknowledgements fail with ErrDisconnected.
func (s *Socket) drop() {
	s.mu.Lock()
	if !s.connected || s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.connected = false
	acks := s.acks
	s.acks = nil
	s.mu.Unlock()
	s.nsp.adapter.DelAll(s.id)
	s.nsp.sockets.del(s)
	for _, pa := range acks {
		if pa.timer != nil {
			pa.timer.Stop()
		}
		pa.cb(nil, ErrDisconnected)
	}
}
