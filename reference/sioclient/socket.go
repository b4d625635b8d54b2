package sioclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
)

// Handler handles one event from the server. ack is nil unless the server
// asked for an acknowledgement; calling it sends the ACK (SIO-ACK-01).
type Handler func(msg Message, ack AckFunc)

// AnyHandler handles every event from the server, after the event's own
// Handler.
type AnyHandler func(event string, msg Message, ack AckFunc)

// AckFunc answers an event the server sent with an ack id. Arguments are
// encoded like Emit's; []byte values make it a BINARY_ACK (SIO-ACK-03).
// It may be called once (ErrAckSent after that), from any goroutine, and
// fails with ErrNotConnected once the session that carried the event ended.
type AckFunc func(args ...any) error

// Socket is a connection to one namespace over its Manager's Engine.IO
// session. Its methods are safe for concurrent use. Handlers run one at a
// time, in arrival order, on the Manager's handler goroutine; a handler may
// call any method of the Socket (EmitWithAck included), but not
// Manager.Close.
type Socket struct {
	m    *Manager
	nsp  string
	opts SocketOptions

	// Guarded by m.mu.
	active     bool // wants to be connected (Node: socket.active)
	connected  bool
	id         string
	pid        string
	lastOffset string
	recovered  bool
	sentGen    uint64 // session generation whose CONNECT was sent
	ghostGen   uint64 // generation of a CONNECT sent before giving up
	nextID     uint64
	acks       map[uint64]*pendingAck
	sendBuf    []socketio.Packet
	recvBuf    []socketio.Packet
	waiters    []chan error
	connCh     chan struct{} // closed while connected
	handlers   map[string]Handler
	anyH       AnyHandler
	onConn     func()
	onConnErr  func(error)
	onDisc     func(reason string, err error)
	queue      []*queued
	queueRun   bool
	queueSig   chan struct{}
}

type pendingAck struct {
	id       uint64
	ch       chan ackResult // buffered, receives at most one result
	buffered bool           // the packet still waits in sendBuf
}

type ackResult struct {
	msg Message
	err error
}

func (pa *pendingAck) resolve(r ackResult) {
	select {
	case pa.ch <- r:
	default:
	}
}

// Namespace returns the namespace of the socket.
func (s *Socket) Namespace() string { return s.nsp }

// Manager returns the socket's Manager.
func (s *Socket) Manager() *Manager { return s.m }

// ID returns the Socket.IO session id of the namespace (SIO-CONN-03), ""
// while not connected. In protocol v4 it is derived from the Engine.IO sid
// (SIO4-04).
func (s *Socket) ID() string {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.id
}

// Connected reports whether the namespace is joined.
func (s *Socket) Connected() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.connected
}

// Active reports whether the socket wants a connection: true from Connect
// until Disconnect, a refusal (CONNECT_ERROR) or a server disconnect.
func (s *Socket) Active() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.active
}

// Recovered reports whether the last connection restored the previous
// session (connection state recovery: the CONNECT reply carried the pid
// the client sent, NODE-CSR-05).
func (s *Socket) Recovered() bool {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.recovered
}

// On sets the handler of event, replacing any earlier one; nil removes it.
func (s *Socket) On(event string, h Handler) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if h == nil {
		delete(s.handlers, event)
		return
	}
	s.handlers[event] = h
}

// OnAny sets the handler called for every event; nil removes it.
func (s *Socket) OnAny(h AnyHandler) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.anyH = h
}

// OnConnect sets the handler called when the namespace is joined, after the
// events received before the CONNECT reply were handed out (SIO-CONN-13).
func (s *Socket) OnConnect(f func()) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.onConn = f
}

// OnConnectError sets the handler called when a connection attempt fails:
// a *ConnectError (refused, the socket is left inactive), ErrNoSID, an auth
// error, or an Engine.IO error while the Manager keeps reconnecting.
func (s *Socket) OnConnectError(f func(err error)) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.onConnErr = f
}

// OnDisconnect sets the handler called when a joined namespace is left, with
// Node's reason (ReasonIOServerDisconnect, ReasonTransportClose, ...) and
// its cause.
func (s *Socket) OnDisconnect(f func(reason string, err error)) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.onDisc = f
}

// Connect joins the namespace: it opens the Manager's session if needed,
// sends CONNECT with the auth payload and waits for the reply. It returns
// nil once connected; a *ConnectError when the server refused (the socket
// is then inactive, SIO-CONN-14); ErrNoSID for a reply without sid
// (SIO-CONN-12); ErrReconnectFailed, or the connection error when
// reconnection is off. Failed Engine.IO attempts are retried with backoff
// meanwhile (reported to OnConnectError). When ctx ends first, the socket
// gives up (it becomes inactive) and ctx's error is returned.
func (s *Socket) Connect(ctx context.Context) error {
	m := s.m
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if s.connected {
		m.mu.Unlock()
		return nil
	}
	ch := make(chan error, 1)
	s.waiters = append(s.waiters, ch)
	s.active = true
	var sendGen uint64
	if m.conn != nil && s.sentGen != m.gen {
		if m.opts.Version == socketio.V4 && s.nsp == "/" && m.v4Root {
			m.v4Root = false
			s.sentGen = m.gen
			s.onConnectLocked(socketio.Packet{Type: socketio.Connect, Nsp: "/"})
		} else {
			s.sentGen = m.gen
			sendGen = m.gen
		}
	}
	m.ensureRunningLocked()
	m.mu.Unlock()
	if sendGen != 0 {
		s.sendConnect(ctx, sendGen)
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
	}
	m.mu.Lock()
	if i := slices.Index(s.waiters, ch); i >= 0 {
		s.waiters = slices.Delete(s.waiters, i, i+1)
	}
	select {
	case err := <-ch:
		m.mu.Unlock()
		return err
	default:
	}
	if s.active && !s.connected && len(s.waiters) == 0 {
		s.deactivateLocked("", nil, ctx.Err(), false)
		m.maybeStopLocked()
	}
	m.mu.Unlock()
	return ctx.Err()
}

// Disconnect leaves the namespace: it sends DISCONNECT when joined, reports
// "io client disconnect", fails pending acks with ErrDisconnected and makes
// the socket inactive (no reconnection). When no other socket is active the
// Manager closes its session (SIO-DISC-08). Emits made afterwards are
// buffered until the next Connect.
func (s *Socket) Disconnect() {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	s.deactivateLocked(ReasonIOClientDisconnect, nil, ErrDisconnected, true)
	m.maybeStopLocked()
}

// auth evaluates the auth payload.
func (s *Socket) auth(ctx context.Context) (any, bool, error) {
	if s.opts.AuthFunc != nil {
		a, err := s.opts.AuthFunc(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("sioclient: auth func: %w", err)
		}
		return a, a != nil, nil
	}
	return s.opts.Auth, s.opts.Auth != nil, nil
}

// authObject turns an auth value into an ordered JSON object.
func authObject(a any) (socketio.Object, error) {
	data, err := socketio.AppendJSON(nil, a)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAuth, err)
	}
	v, err := socketio.ParseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAuth, err)
	}
	o, ok := v.(socketio.Object)
	if !ok {
		return nil, fmt.Errorf("%w: got %s", ErrBadAuth, data)
	}
	if o == nil {
		o = socketio.Object{}
	}
	return o, nil
}

// v4Query returns the auth payload as a query (protocol v4, SIO4-03).
func (s *Socket) v4Query(ctx context.Context) (url.Values, error) {
	s.m.mu.Lock()
	active := s.active
	s.m.mu.Unlock()
	if !active {
		return nil, nil
	}
	a, ok, err := s.auth(ctx)
	if err != nil || !ok {
		return nil, err
	}
	o, err := authObject(a)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, mb := range o {
		if str, ok := mb.Value.(string); ok {
			q.Set(mb.Key, str)
			continue
		}
		b, err := socketio.AppendJSON(nil, mb.Value)
		if err != nil {
			return nil, err
		}
		q.Set(mb.Key, string(b))
	}
	return q, nil
}

// connectPacket builds the CONNECT packet: auth, merged after pid and offset
// when the server offered connection state recovery (NODE-CSR-03).
func (s *Socket) connectPacket(ctx context.Context) (socketio.Packet, error) {
	m := s.m
	if m.opts.Version == socketio.V4 {
		p := socketio.Packet{Type: socketio.Connect, Nsp: s.nsp}
		if s.nsp != "/" {
			q, err := s.v4Query(ctx)
			if err != nil {
				return socketio.Packet{}, err
			}
			p.Query = q.Encode()
		}
		return p, nil
	}
	m.mu.Lock()
	pid, off := s.pid, s.lastOffset
	m.mu.Unlock()
	a, has, err := s.auth(ctx)
	if err != nil {
		return socketio.Packet{}, err
	}
	var obj socketio.Object
	if has {
		if obj, err = authObject(a); err != nil {
			return socketio.Packet{}, err
		}
	}
	if pid != "" {
		merged := socketio.Object{{Key: "pid", Value: pid}}
		if off != "" {
			merged = append(merged, socketio.Member{Key: "offset", Value: off})
		}
		for _, mb := range obj {
			merged.Set(mb.Key, mb.Value)
		}
		obj, has = merged, true
	}
	if !has {
		return socketio.NewConnect(s.nsp, nil)
	}
	return socketio.NewConnect(s.nsp, obj)
}

// sendConnect sends CONNECT in session gen, unless that session is gone.
func (s *Socket) sendConnect(ctx context.Context, gen uint64) {
	m := s.m
	p, err := s.connectPacket(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen != gen || m.conn == nil || !s.active || s.sentGen != gen {
		return
	}
	if err == nil {
		err = m.sendLocked(p)
		if errors.Is(err, ErrNotConnected) {
			return // the session is closing; the next one sends CONNECT again
		}
	}
	if err != nil {
		s.postConnectError(err)
		s.deactivateLocked("", nil, err, false)
		m.maybeStopLocked()
	}
}

// onConnectLocked handles the CONNECT reply (SIO-CONN-02, SIO-CONN-12).
func (s *Socket) onConnectLocked(p socketio.Packet) {
	m := s.m
	if s.connected {
		m.log.Debug("duplicate CONNECT ignored", "nsp", s.nsp)
		return
	}
	var sid, pid string
	if m.opts.Version == socketio.V5 {
		var ok bool
		if sid, ok = p.SID(); !ok {
			s.postConnectError(ErrNoSID)
			s.deactivateLocked("", nil, ErrNoSID, false)
			m.maybeStopLocked()
			return
		}
		var r struct {
			PID json.RawMessage `json:"pid"`
		}
		if p.Unmarshal(&r) == nil && len(r.PID) > 0 {
			_ = json.Unmarshal(r.PID, &pid)
		}
	} else {
		var eid string
		if m.conn != nil {
			eid = m.conn.ID()
		}
		sid = eid
		if s.nsp != "/" {
			sid = s.nsp + "#" + eid // SIO4-04
		}
	}
	s.recovered = pid != "" && pid == s.pid
	if !s.recovered {
		s.lastOffset = ""
	}
	s.pid = pid
	s.id = sid
	s.connected = true
	close(s.connCh)
	// Events that came before the reply first (SIO-CONN-13, NODE-CSR-05),
	// then the emits buffered while disconnected (NODE-BUF-01).
	in := s.recvBuf
	s.recvBuf = nil
	for _, ev := range in {
		s.deliverLocked(ev)
	}
	out := s.sendBuf
	s.sendBuf = nil
	for i, q := range out {
		if err := m.sendLocked(q); err != nil {
			s.sendBuf = append(s.sendBuf, out[i:]...)
			break
		}
		if q.HasID {
			if pa := s.acks[q.ID]; pa != nil {
				pa.buffered = false
			}
		}
	}
	f := s.onConn
	m.disp.post(func() {
		if f != nil {
			f()
		}
	})
	s.wakeLocked(nil)
}

// onEventLocked delivers an event, or buffers it until the CONNECT reply.
func (s *Socket) onEventLocked(p socketio.Packet) {
	if !s.connected {
		s.recvBuf = append(s.recvBuf, p)
		return
	}
	s.deliverLocked(p)
}

// deliverLocked posts an event to its handlers, recording (and removing)
// the recovery offset (NODE-CSR-02, NODE-CSR-03).
func (s *Socket) deliverLocked(p socketio.Packet) {
	m := s.m
	name, err := p.EventName()
	if err != nil {
		m.log.Debug("event without name dropped", "err", err)
		return
	}
	msg, err := messageOf(p, true)
	if err != nil {
		m.log.Debug("undecodable event dropped", "err", err)
		return
	}
	if !p.HasID && s.pid != "" && len(msg.Args) > 0 {
		last := msg.Args[len(msg.Args)-1]
		var off string
		if len(last) > 0 && last[0] == '"' && json.Unmarshal(last, &off) == nil {
			s.lastOffset = off
			if !s.opts.KeepRecoveryOffset {
				msg.Args = msg.Args[:len(msg.Args)-1]
			}
		}
	}
	var ack AckFunc
	if p.HasID {
		ack = s.ackFunc(p.ID, m.gen)
	}
	m.disp.post(func() {
		m.mu.Lock()
		h, anyH := s.handlers[name], s.anyH
		m.mu.Unlock()
		if h != nil {
			h(msg, ack)
		}
		if anyH != nil {
			anyH(name, msg, ack)
		}
	})
}

// ackFunc answers the server's event id in session gen.
func (s *Socket) ackFunc(id, gen uint64) AckFunc {
	var sent atomic.Bool
	return func(args ...any) error {
		if !sent.CompareAndSwap(false, true) {
			return ErrAckSent
		}
		p, err := socketio.NewAck(s.nsp, id, args...)
		if err != nil {
			return fmt.Errorf("sioclient: ack: %w", err)
		}
		m := s.m
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.gen != gen || m.conn == nil {
			return ErrNotConnected
		}
		return m.sendLocked(p)
	}
}

// onAckLocked resolves a pending ack; unknown ids are ignored (SIO-ACK-05).
func (s *Socket) onAckLocked(p socketio.Packet) {
	if !p.HasID {
		return
	}
	pa := s.acks[p.ID]
	if pa == nil {
		s.m.log.Debug("ack with unknown id ignored", "nsp", s.nsp, "id", p.ID)
		return
	}
	delete(s.acks, p.ID)
	msg, err := messageOf(p, false)
	pa.resolve(ackResult{msg: msg, err: err})
}

// onServerDisconnectLocked handles DISCONNECT from the server: no
// reconnection of this namespace (SIO-DISC-04, NODE-RECON-01).
func (s *Socket) onServerDisconnectLocked() {
	s.deactivateLocked(ReasonIOServerDisconnect, nil, ErrDisconnected, false)
	s.m.maybeStopLocked()
}

// onConnectErrorLocked handles CONNECT_ERROR: the socket is destroyed, not
// retried (SIO-CONN-14, SIO-ERR-03, SIO4-05).
func (s *Socket) onConnectErrorLocked(p socketio.Packet) {
	ce := &ConnectError{Nsp: s.nsp}
	var str string
	if err := json.Unmarshal(p.Data, &str); err == nil {
		ce.Message = str
	} else {
		var r struct {
			Message json.RawMessage `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if len(p.Data) > 0 && p.Data[0] == '{' && json.Unmarshal(p.Data, &r) == nil {
			_ = json.Unmarshal(r.Message, &ce.Message)
			ce.Data = r.Data
		} else if len(p.Data) > 0 {
			ce.Data = json.RawMessage(p.Data)
		}
	}
	if len(ce.Data) > 0 {
		ce.Data = slices.Clone(ce.Data)
	}
	s.postConnectError(ce)
	s.deactivateLocked("", nil, ce, false)
	s.m.maybeStopLocked()
}

func (s *Socket) postConnectError(err error) {
	f := s.onConnErr
	s.m.disp.post(func() {
		if f != nil {
			f(err)
		}
	})
}

// deactivateLocked makes the socket inactive: DISCONNECT is sent when asked
// and joined; a joined socket reports reason; Connect waiters get waitErr.
func (s *Socket) deactivateLocked(reason string, cause, waitErr error, sendDisconnect bool) {
	m := s.m
	was := s.connected
	if sendDisconnect && was {
		_ = m.sendLocked(socketio.NewDisconnect(s.nsp))
	}
	if !was && s.sentGen != 0 && s.sentGen == m.gen {
		s.ghostGen = s.sentGen
	}
	s.active = false
	s.sentGen = 0
	s.recvBuf = nil
	if was {
		s.markDisconnectedLocked(reason, cause)
	}
	s.wakeLocked(waitErr)
}

// onCloseLocked handles the end of the Engine.IO session.
func (s *Socket) onCloseLocked(reason string, cause error) {
	s.sentGen = 0
	s.ghostGen = 0
	s.recvBuf = nil
	if s.connected {
		s.markDisconnectedLocked(reason, cause)
	}
}

// markDisconnectedLocked reports the disconnection and fails the acks whose
// packet went out (NODE-ACK-03).
func (s *Socket) markDisconnectedLocked(reason string, cause error) {
	s.connected = false
	s.id = ""
	s.connCh = make(chan struct{})
	for id, pa := range s.acks {
		if !pa.buffered {
			delete(s.acks, id)
			pa.resolve(ackResult{err: ErrDisconnected})
		}
	}
	f := s.onDisc
	s.m.disp.post(func() {
		if f != nil {
			f(reason, cause)
		}
	})
}

// wakeLocked answers the Connect waiters.
func (s *Socket) wakeLocked(err error) {
	for _, w := range s.waiters {
		w <- err
	}
	s.waiters = nil
}

// failQueueLocked fails everything pending at Close.
func (s *Socket) failQueueLocked(err error) {
	for id, pa := range s.acks {
		delete(s.acks, id)
		pa.resolve(ackResult{err: err})
	}
	s.sendBuf = nil
	for _, q := range s.queue {
		q.finish(ackResult{err: err})
	}
	s.queue = nil
}

// Emitter carries per-emit flags: Volatile and Timeout. Its zero value is
// not usable; get one from Socket.Volatile or Socket.Timeout.
type Emitter struct {
	s        *Socket
	volatile bool
	timeout  time.Duration
	hasTO    bool
}

// Volatile returns an Emitter whose emits are dropped, not buffered, when
// the socket is not connected (NODE-VOL-02).
func (s *Socket) Volatile() Emitter { return Emitter{s: s, volatile: true} }

// Timeout returns an Emitter whose EmitWithAck fails with ErrAckTimeout
// after d without ACK (NODE-ACK-01), overriding SocketOptions.AckTimeout.
func (s *Socket) Timeout(d time.Duration) Emitter { return Emitter{s: s, timeout: d, hasTO: true} }

// Volatile returns e with the volatile flag set.
func (e Emitter) Volatile() Emitter { e.volatile = true; return e }

// Timeout returns e with the ack timeout d.
func (e Emitter) Timeout(d time.Duration) Emitter { e.timeout, e.hasTO = d, true; return e }

func (e Emitter) ackTimeout() time.Duration {
	if e.hasTO {
		return e.timeout
	}
	return e.s.opts.AckTimeout
}

// Emit sends event with args; see Emitter.Emit.
func (s *Socket) Emit(ctx context.Context, event string, args ...any) error {
	return Emitter{s: s}.Emit(ctx, event, args...)
}

// EmitWithAck sends event with args and waits for the ACK; see
// Emitter.EmitWithAck.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Message, error) {
	return Emitter{s: s}.EmitWithAck(ctx, event, args...)
}

// Emit sends event with args. Arguments are encoded as JSON.stringify would
// (socketio.AppendJSON); []byte values become attachments and the packet a
// BINARY_EVENT (SIO-BIN-01, SIO-BIN-11). While the socket is not connected
// the packet is buffered and sent right after the next CONNECT reply
// (NODE-BUF-01), unless the emit is volatile, in which case it is dropped
// and Emit returns nil. Reserved names give ErrReservedEvent (SIO-EVT-03);
// values the codec refuses (more than 10 attachments, SIO-BIN-07) give its
// error. With SocketOptions.Retries the emit is queued instead (see
// SocketOptions.Retries) and Emit returns once it is queued.
func (e Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e.s.opts.Retries > 0 && !e.volatile {
		_, err := e.s.enqueue(context.Background(), e, event, args, false)
		return err
	}
	_, err := e.s.emit(e, event, args, false)
	return err
}

// EmitWithAck sends event with an ack id (per socket, from 0, SIO-ACK-04)
// and waits for the ACK, returning its arguments. It fails with
// ErrAckTimeout after the emit's timeout, ErrDisconnected when the socket
// disconnects after sending (unlike Node, which then drops a callback
// without timeout silently), ErrClosed, or ctx's error. With
// SocketOptions.Retries the emit goes through the retry queue.
func (e Emitter) EmitWithAck(ctx context.Context, event string, args ...any) (Message, error) {
	if err := ctx.Err(); err != nil {
		return Message{}, err
	}
	if e.s.opts.Retries > 0 && !e.volatile {
		return e.s.enqueue(ctx, e, event, args, true)
	}
	pa, err := e.s.emit(e, event, args, true)
	if err != nil {
		return Message{}, err
	}
	return e.s.waitAck(ctx, pa, e.ackTimeout())
}

// EmitWithAckAsync sends event with an ack id like EmitWithAck but returns
// as soon as the packet is sent or buffered (with SocketOptions.Retries:
// queued), so that emits made one after another keep their order; wait
// then waits for the ACK with EmitWithAck's results. ctx bounds the whole
// emit, wait included. wait must be called at most once.
func (e Emitter) EmitWithAckAsync(ctx context.Context, event string, args ...any) (wait func() (Message, error), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.s.opts.Retries > 0 && !e.volatile {
		item, err := e.s.enqueueItem(ctx, e, event, args)
		if err != nil {
			return nil, err
		}
		return func() (Message, error) { return item.wait(ctx) }, nil
	}
	pa, err := e.s.emit(e, event, args, true)
	if err != nil {
		return nil, err
	}
	return func() (Message, error) { return e.s.waitAck(ctx, pa, e.ackTimeout()) }, nil
}

// EmitWithAckAsync is Emitter.EmitWithAckAsync without flags.
func (s *Socket) EmitWithAckAsync(ctx context.Context, event string, args ...any) (func() (Message, error), error) {
	return Emitter{s: s}.EmitWithAckAsync(ctx, event, args...)
}

// buildEvent encodes an event and checks it as the strict encoder would.
func (s *Socket) buildEvent(event string, args []any) (socketio.Packet, error) {
	if socketio.IsReservedEvent(event) {
		return socketio.Packet{}, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	p, err := socketio.NewEvent(s.nsp, event, args...)
	if err == nil {
		err = s.m.enc.Check(p)
	}
	if err != nil {
		return socketio.Packet{}, fmt.Errorf("sioclient: emit %q: %w", event, err)
	}
	return p, nil
}

func (s *Socket) emit(e Emitter, event string, args []any, withAck bool) (*pendingAck, error) {
	p, err := s.buildEvent(event, args)
	if err != nil {
		return nil, err
	}
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var pa *pendingAck
	if withAck {
		id := s.nextID
		s.nextID++
		p = p.WithID(id)
		pa = &pendingAck{id: id, ch: make(chan ackResult, 1)}
		s.acks[id] = pa
	}
	if s.connected {
		err := m.sendLocked(p)
		if err == nil {
			return pa, nil
		}
		if !errors.Is(err, ErrNotConnected) {
			if pa != nil {
				delete(s.acks, pa.id)
			}
			return nil, err
		}
	}
	if e.volatile {
		m.log.Debug("volatile emit dropped", "nsp", s.nsp, "event", event)
		return pa, nil
	}
	s.sendBuf = append(s.sendBuf, p)
	if pa != nil {
		pa.buffered = true
	}
	return pa, nil
}

// waitAck waits for pa's result, the timeout or ctx.
func (s *Socket) waitAck(ctx context.Context, pa *pendingAck, timeout time.Duration) (Message, error) {
	var tc <-chan time.Time
	if timeout > 0 {
		t := s.m.clock.NewTimer(timeout)
		defer t.Stop()
		tc = t.C()
	}
	var err error
	select {
	case r := <-pa.ch:
		return r.msg, r.err
	case <-tc:
		err = ErrAckTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.dropAck(pa)
	select {
	case r := <-pa.ch:
		return r.msg, r.err
	default:
	}
	return Message{}, err
}

// dropAck forgets pa and pulls its packet from the send buffer
// (NODE-ACK-01).
func (s *Socket) dropAck(pa *pendingAck) {
	m := s.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.acks[pa.id] == pa {
		delete(s.acks, pa.id)
	}
	s.sendBuf = slices.DeleteFunc(s.sendBuf, func(p socketio.Packet) bool { return p.HasID && p.ID == pa.id })
}

// queued is one emit waiting in the retry queue (NODE-ACK-02).
type queued struct {
	ctx   context.Context
	e     Emitter
	event string
	args  []any
	done  chan ackResult
}

func (q *queued) finish(r ackResult) {
	select {
	case q.done <- r:
	default:
	}
}

// enqueue adds an emit to the retry queue; with wait it waits for its end.
func (s *Socket) enqueue(ctx context.Context, e Emitter, event string, args []any, wait bool) (Message, error) {
	item, err := s.enqueueItem(ctx, e, event, args)
	if err != nil || !wait {
		return Message{}, err
	}
	return item.wait(ctx)
}

// wait waits for the end of a queued emit.
func (q *queued) wait(ctx context.Context) (Message, error) {
	select {
	case r := <-q.done:
		return r.msg, r.err
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// enqueueItem adds an emit to the retry queue.
func (s *Socket) enqueueItem(ctx context.Context, e Emitter, event string, args []any) (*queued, error) {
	if _, err := s.buildEvent(event, args); err != nil {
		return nil, err
	}
	item := &queued{ctx: ctx, e: e, event: event, args: args, done: make(chan ackResult, 1)}
	m := s.m
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	s.queue = append(s.queue, item)
	if !s.queueRun {
		s.queueRun = true
		s.queueSig = make(chan struct{}, 1)
		m.wg.Add(1)
		go s.queueWorker()
	}
	select {
	case s.queueSig <- struct{}{}:
	default:
	}
	m.mu.Unlock()
	return item, nil
}

// queueWorker sends the queued emits one at a time until Close.
func (s *Socket) queueWorker() {
	m := s.m
	defer m.wg.Done()
	for {
		m.mu.Lock()
		for len(s.queue) == 0 {
			sig := s.queueSig
			m.mu.Unlock()
			select {
			case <-sig:
			case <-m.ctx.Done():
				return
			}
			m.mu.Lock()
		}
		item := s.queue[0]
		m.mu.Unlock()
		r := s.runQueued(item)
		m.mu.Lock()
		if len(s.queue) > 0 && s.queue[0] == item {
			s.queue = s.queue[1:]
		}
		m.mu.Unlock()
		item.finish(r)
	}
}

// runQueued sends one queued emit until it is acknowledged, each try with a
// new ack id, at most Retries+1 times.
func (s *Socket) runQueued(item *queued) ackResult {
	for try := 1; ; try++ {
		if err := s.waitConnected(item.ctx); err != nil {
			return ackResult{err: err}
		}
		pa, err := s.emit(item.e, item.event, item.args, true)
		if err != nil {
			return ackResult{err: err}
		}
		msg, err := s.waitAck(item.ctx, pa, item.e.ackTimeout())
		if err == nil {
			return ackResult{msg: msg}
		}
		if !errors.Is(err, ErrAckTimeout) && !errors.Is(err, ErrDisconnected) {
			return ackResult{err: err}
		}
		if try > s.opts.Retries {
			return ackResult{err: err}
		}
		s.m.log.Debug("emit retried", "nsp", s.nsp, "event", item.event, "try", try+1)
	}
}

// waitConnected waits until the socket is connected.
func (s *Socket) waitConnected(ctx context.Context) error {
	m := s.m
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	if s.connected {
		m.mu.Unlock()
		return nil
	}
	ch := s.connCh
	m.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.ctx.Done():
		return ErrClosed
	}
}
