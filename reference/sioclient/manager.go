package sioclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
)

// Manager is one Engine.IO connection shared by the namespace Sockets made
// with Manager.Socket (SIO-NSP-02). It opens the connection when a Socket
// connects, closes it when no Socket is active any more (SIO-NSP-08), and
// reconnects with exponential backoff after every close it did not cause
// (NODE-RECON-01). Its methods are safe for concurrent use. Close must be
// called to release its goroutines.
type Manager struct {
	url   string
	opts  ManagerOptions
	eopts eioclient.Options
	log   *slog.Logger
	clock Clock
	enc   socketio.Encoder

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	disp   *dispatcher
	once   sync.Once

	mu        sync.Mutex
	closed    bool
	running   bool
	interrupt context.CancelFunc // wakes the run loop to re-check its state
	sockets   map[string]*Socket
	order     []*Socket
	conn      *eioclient.Conn // the open Engine.IO session, nil when none
	gen       uint64          // incremented for every opened session
	v4Root    bool            // v4: the server joined "/" in this session and nobody took it
	h         managerHandlers
}

type managerHandlers struct {
	open             func()
	close            func(reason string, err error)
	errorH           func(err error)
	reconnectAttempt func(attempt int, delay time.Duration)
	reconnect        func(attempt int)
	reconnectError   func(err error)
	reconnectFailed  func()
}

// NewManager returns a Manager for the server at rawURL (http, https, ws or
// wss). It does not connect: Socket.Connect does. A nil opts means defaults.
func NewManager(rawURL string, opts *ManagerOptions) (*Manager, error) {
	if _, err := url.Parse(rawURL); err != nil {
		return nil, fmt.Errorf("sioclient: parse url: %w", err)
	}
	var o ManagerOptions
	if opts != nil {
		o = *opts
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.Version == 0 {
		o.Version = socketio.V5
	}
	if o.Version != socketio.V5 && o.Version != socketio.V4 {
		return nil, fmt.Errorf("sioclient: unsupported protocol version %d", int(o.Version))
	}
	if o.ReconnectionDelay <= 0 {
		o.ReconnectionDelay = DefaultReconnectionDelay
	}
	if o.ReconnectionDelayMax <= 0 {
		o.ReconnectionDelayMax = DefaultReconnectionDelayMax
	}
	if o.RandomizationFactor == 0 {
		o.RandomizationFactor = DefaultRandomizationFactor
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var eo eioclient.Options
	if o.Engine != nil {
		eo = *o.Engine
	}
	o.Engine = nil
	eo.Path = o.Path
	eo.Version = engineio.V4
	if o.Version == socketio.V4 {
		eo.Version = engineio.V3
	}
	if eo.Logger == nil {
		eo.Logger = o.Logger
	}
	eo.Query = cloneValues(eo.Query)
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		url:     rawURL,
		opts:    o,
		eopts:   eo,
		log:     o.Logger,
		clock:   o.Clock,
		enc:     socketio.Encoder{Version: o.Version},
		ctx:     ctx,
		cancel:  cancel,
		disp:    newDispatcher(),
		sockets: map[string]*Socket{},
	}
	return m, nil
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Version returns the Socket.IO protocol revision the Manager speaks.
func (m *Manager) Version() socketio.Version { return m.opts.Version }

// Engine returns the current Engine.IO session, or nil when none is open.
// Tests use it to read the transport or to close the session under the
// client's feet.
func (m *Manager) Engine() *eioclient.Conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conn
}

// OnOpen sets the handler called when an Engine.IO session opens.
func (m *Manager) OnOpen(f func()) { m.setH(func(h *managerHandlers) { h.open = f }) }

// OnClose sets the handler called when an Engine.IO session ends, with the
// Node close reason and its cause.
func (m *Manager) OnClose(f func(reason string, err error)) {
	m.setH(func(h *managerHandlers) { h.close = f })
}

// OnError sets the handler called when a connection attempt fails.
func (m *Manager) OnError(f func(err error)) { m.setH(func(h *managerHandlers) { h.errorH = f }) }

// OnReconnectAttempt sets the handler called before each reconnection
// attempt (1, 2, ...) with the delay that was waited before it
// (NODE-RECON-02, -03).
func (m *Manager) OnReconnectAttempt(f func(attempt int, delay time.Duration)) {
	m.setH(func(h *managerHandlers) { h.reconnectAttempt = f })
}

// OnReconnect sets the handler called when a reconnection attempt succeeded,
// with the number of attempts it took.
func (m *Manager) OnReconnect(f func(attempt int)) {
	m.setH(func(h *managerHandlers) { h.reconnect = f })
}

// OnReconnectError sets the handler called when a reconnection attempt
// failed.
func (m *Manager) OnReconnectError(f func(err error)) {
	m.setH(func(h *managerHandlers) { h.reconnectError = f })
}

// OnReconnectFailed sets the handler called when ReconnectionAttempts are
// used up.
func (m *Manager) OnReconnectFailed(f func()) {
	m.setH(func(h *managerHandlers) { h.reconnectFailed = f })
}

func (m *Manager) setH(f func(*managerHandlers)) {
	m.mu.Lock()
	f(&m.h)
	m.mu.Unlock()
}

// post queues fn(handlers) on the dispatcher; handlers are read when it runs.
func (m *Manager) post(fn func(h managerHandlers)) {
	m.disp.post(func() {
		m.mu.Lock()
		h := m.h
		m.mu.Unlock()
		fn(h)
	})
}

// Socket returns the Socket of namespace nsp ("" means "/"), creating it
// with opts on first use; later calls return the same Socket and ignore
// opts. The Socket is not connected: call Connect.
func (m *Manager) Socket(nsp string, opts *SocketOptions) *Socket {
	if nsp == "" {
		nsp = "/"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sockets[nsp]; ok {
		return s
	}
	var o SocketOptions
	if opts != nil {
		o = *opts
	}
	s := &Socket{m: m, nsp: nsp, opts: o, acks: map[uint64]*pendingAck{}, handlers: map[string]Handler{}, connCh: make(chan struct{})}
	m.sockets[nsp] = s
	m.order = append(m.order, s)
	return s
}

// Close disconnects every connected Socket (sending DISCONNECT, reason
// "io client disconnect"), closes the Engine.IO session, cancels any
// reconnection, fails pending operations with ErrClosed and waits for every
// goroutine of the Manager, handlers included. It is idempotent. Do not call
// it from a handler.
func (m *Manager) Close() error {
	m.once.Do(func() {
		m.mu.Lock()
		m.closed = true
		for _, s := range m.order {
			s.deactivateLocked(ReasonIOClientDisconnect, nil, ErrClosed, true)
			s.failQueueLocked(ErrClosed)
		}
		if m.interrupt != nil {
			m.interrupt()
		}
		m.mu.Unlock()
		m.cancel()
		m.wg.Wait()
		m.disp.stop()
	})
	return nil
}

// anyActiveLocked reports whether a Socket wants the connection.
func (m *Manager) anyActiveLocked() bool {
	for _, s := range m.order {
		if s.active {
			return true
		}
	}
	return false
}

// ensureRunningLocked starts the run loop if it is not running.
func (m *Manager) ensureRunningLocked() {
	if m.running || m.closed {
		return
	}
	m.running = true
	m.wg.Add(1)
	go m.run()
}

// maybeStopLocked wakes the run loop when no Socket is active any more, so
// that it closes the session (SIO-NSP-08, SIO-DISC-08).
func (m *Manager) maybeStopLocked() {
	if !m.anyActiveLocked() && m.interrupt != nil {
		m.interrupt()
	}
}

// run owns the Engine.IO session: it dials, reads, and reconnects.
func (m *Manager) run() {
	defer m.wg.Done()
	var (
		conn         *eioclient.Conn
		reconnecting bool
		attempts     int
	)
	for {
		m.mu.Lock()
		if m.closed || !m.anyActiveLocked() {
			m.running = false
			m.interrupt = nil
			m.conn = nil
			m.mu.Unlock()
			if conn != nil {
				_ = conn.Close()
				m.post(func(h managerHandlers) {
					if h.close != nil {
						h.close(ReasonForcedClose, nil)
					}
				})
			}
			return
		}
		ctx, cancel := context.WithCancel(m.ctx)
		m.interrupt = cancel
		m.mu.Unlock()

		if conn == nil {
			if reconnecting {
				if n := m.opts.ReconnectionAttempts; n > 0 && attempts >= n {
					cancel()
					m.reconnectFailed()
					reconnecting, attempts = false, 0
					continue
				}
				delay := m.delay(attempts)
				attempts++
				m.log.Debug("reconnect scheduled", "attempt", attempts, "delay", delay)
				if !m.sleep(ctx, delay) {
					// Interrupted: every socket left or Close. A socket
					// connecting again starts afresh, as in Node.
					cancel()
					reconnecting, attempts = false, 0
					continue
				}
				n, d := attempts, delay
				m.post(func(h managerHandlers) {
					if h.reconnectAttempt != nil {
						h.reconnectAttempt(n, d)
					}
				})
			}
			c, err := m.dial(ctx)
			if err != nil {
				interrupted := ctx.Err() != nil
				cancel()
				if interrupted {
					reconnecting, attempts = false, 0
					continue
				}
				m.openFailed(err, reconnecting)
				if m.opts.NoReconnection {
					m.failActive(err)
					continue
				}
				reconnecting = true
				continue
			}
			conn = c
			if reconnecting {
				n := attempts
				m.post(func(h managerHandlers) {
					if h.reconnect != nil {
						h.reconnect(n)
					}
				})
			}
			reconnecting, attempts = false, 0
			m.onOpen(ctx, conn)
		}
		reason, cause := m.readLoop(ctx, conn)
		cancel()
		if reason == "" {
			continue // interrupted; re-check and keep reading
		}
		_ = conn.Close()
		conn = nil
		m.onEngineClose(reason, cause)
		if m.opts.NoReconnection {
			m.mu.Lock()
			for _, s := range m.order {
				s.deactivateLocked("", nil, ErrDisconnected, false)
			}
			m.mu.Unlock()
			continue
		}
		reconnecting = true
	}
}

// delay returns the backoff delay before attempt n+1 (n = 0, 1, ...), as
// Node's Backoff computes it: reconnectionDelay × 2^n, moved by a deviation
// ⌊rand × factor × ms⌋ up or down (down when ⌊rand × 10⌋ is even), capped
// at reconnectionDelayMax after the jitter, in whole milliseconds
// (NODE-RECON-02).
func (m *Manager) delay(n int) time.Duration {
	return backoffDelay(m.opts.ReconnectionDelay, m.opts.ReconnectionDelayMax, m.opts.RandomizationFactor, n, m.random)
}

func (m *Manager) random() float64 {
	if m.opts.Rand != nil {
		return m.opts.Rand.Float64()
	}
	return rand.Float64()
}

func backoffDelay(base, maxDelay time.Duration, factor float64, n int, random func() float64) time.Duration {
	ms := float64(base) / float64(time.Millisecond) * math.Pow(2, float64(min(n, 60)))
	if factor > 0 {
		r := random()
		dev := math.Floor(r * factor * ms)
		if int(math.Floor(r*10))&1 == 0 {
			ms -= dev
		} else {
			ms += dev
		}
	}
	ms = math.Min(ms, float64(maxDelay)/float64(time.Millisecond))
	return time.Duration(int64(ms)) * time.Millisecond
}

// sleep waits d on the Manager's clock; false when ctx ended first.
func (m *Manager) sleep(ctx context.Context, d time.Duration) bool {
	t := m.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// dial opens an Engine.IO session within the attempt timeout.
func (m *Manager) dial(ctx context.Context) (*eioclient.Conn, error) {
	eo := m.eopts
	if m.opts.Version == socketio.V4 {
		// socket.io 2.x reads the credentials of "/" from the handshake
		// query (SIO4-03).
		m.mu.Lock()
		root := m.sockets["/"]
		m.mu.Unlock()
		if root != nil {
			q, err := root.v4Query(ctx)
			if err != nil {
				return nil, err
			}
			if len(q) > 0 {
				eo.Query = cloneValues(eo.Query)
				maps.Copy(eo.Query, q)
			}
		}
	}
	dctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	return eioclient.Dial(dctx, m.url, &eo)
}

// onOpen records the new session and sends CONNECT for every active socket
// (SIO-CONN-01, SIO-CONN-15).
func (m *Manager) onOpen(ctx context.Context, conn *eioclient.Conn) {
	m.mu.Lock()
	m.conn = conn
	m.gen++
	m.v4Root = false
	gen := m.gen
	var todo []*Socket
	for _, s := range m.order {
		if s.active && s.sentGen != gen {
			if m.opts.Version == socketio.V4 && s.nsp == "/" {
				continue // the server joins "/" by itself (SIO4-02)
			}
			s.sentGen = gen
			todo = append(todo, s)
		}
	}
	m.mu.Unlock()
	m.log.Debug("session open", "sid", conn.ID(), "transport", conn.Transport())
	m.post(func(h managerHandlers) {
		if h.open != nil {
			h.open()
		}
	})
	for _, s := range todo {
		s.sendConnect(ctx, gen)
	}
}

// openFailed reports a failed connection attempt: error, connect_error on
// every active socket not connected, reconnect_error when reconnecting.
func (m *Manager) openFailed(err error, reconnecting bool) {
	m.log.Debug("connect attempt failed", "err", err)
	m.mu.Lock()
	for _, s := range m.order {
		if s.active && !s.connected {
			s.postConnectError(err)
		}
	}
	m.mu.Unlock()
	m.post(func(h managerHandlers) {
		if h.errorH != nil {
			h.errorH(err)
		}
		if reconnecting && h.reconnectError != nil {
			h.reconnectError(err)
		}
	})
}

// failActive deactivates every socket after a final connection failure.
func (m *Manager) failActive(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.order {
		s.deactivateLocked("", nil, err, false)
	}
}

func (m *Manager) reconnectFailed() {
	m.log.Debug("reconnection attempts exhausted")
	m.post(func(h managerHandlers) {
		if h.reconnectFailed != nil {
			h.reconnectFailed()
		}
	})
	m.failActive(ErrReconnectFailed)
}

// onEngineClose disconnects every socket with the session's close reason
// (SIO-DISC-07).
func (m *Manager) onEngineClose(reason string, cause error) {
	m.log.Debug("session closed", "reason", reason, "err", cause)
	m.mu.Lock()
	m.conn = nil
	for _, s := range m.order {
		s.onCloseLocked(reason, cause)
	}
	m.mu.Unlock()
	m.post(func(h managerHandlers) {
		if h.close != nil {
			h.close(reason, cause)
		}
	})
}

// readLoop reads the session until it ends (returning its reason) or ctx is
// interrupted (returning "").
func (m *Manager) readLoop(ctx context.Context, conn *eioclient.Conn) (string, error) {
	ra := socketio.Reassembler{Decoder: socketio.Decoder{Version: m.opts.Version}}
	for {
		p, err := conn.Recv(ctx)
		if err != nil {
			var ce *eioclient.CloseError
			if errors.As(err, &ce) {
				return ce.Reason, ce.Err
			}
			if ctx.Err() != nil {
				return "", nil
			}
			return ReasonTransportError, err
		}
		if err := m.feed(&ra, conn, p); err != nil {
			return ReasonParseError, err
		}
	}
}

// feed decodes one Engine.IO message of session conn and handles the packet
// once complete. A decode failure is a *ParseError.
func (m *Manager) feed(ra *socketio.Reassembler, conn *eioclient.Conn, p engineio.Packet) error {
	var (
		pkt      socketio.Packet
		complete bool
		err      error
	)
	if p.Binary {
		pkt, complete, err = ra.AddBinary(p.Data)
	} else {
		pkt, complete, err = ra.AddText(p.Data)
	}
	if err != nil {
		m.log.Debug("undecodable packet", "err", err)
		return &ParseError{Err: err}
	}
	if complete {
		m.handlePacket(conn, pkt)
	}
	return nil
}

// handlePacket routes one complete packet to its namespace's socket.
func (m *Manager) handlePacket(conn *eioclient.Conn, p socketio.Packet) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != conn {
		return
	}
	nsp := p.Namespace()
	s := m.sockets[nsp]
	if s == nil || !s.active {
		switch {
		case p.Type == socketio.Connect && m.opts.Version == socketio.V4 && nsp == "/":
			m.v4Root = true
		case p.Type == socketio.Connect && s != nil && s.ghostGen != 0 && s.ghostGen == m.gen:
			s.ghostGen = 0
			// The socket gave up while its CONNECT was in flight: leave
			// again so that the server does not keep a ghost.
			_ = m.sendLocked(socketio.NewDisconnect(nsp))
		}
		m.log.Debug("packet for an inactive namespace dropped", "nsp", nsp, "type", p.Type)
		return // SIO-NSP-08
	}
	switch p.Type {
	case socketio.Connect:
		s.onConnectLocked(p)
	case socketio.Disconnect:
		s.onServerDisconnectLocked()
	case socketio.Event, socketio.BinaryEvent:
		s.onEventLocked(p)
	case socketio.Ack, socketio.BinaryAck:
		s.onAckLocked(p)
	case socketio.ConnectError:
		s.onConnectErrorLocked(p)
	}
}

// sendLocked encodes p and queues it on the session: the text packet and its
// attachments in one batch, so that nothing comes between them (SIO-BIN-03).
// It returns ErrNotConnected when there is no open session.
func (m *Manager) sendLocked(p socketio.Packet) error {
	if m.conn == nil {
		return ErrNotConnected
	}
	text, atts, err := m.enc.Encode(p)
	if err != nil {
		return err
	}
	pkts := make([]engineio.Packet, 0, 1+len(atts))
	pkts = append(pkts, engineio.Packet{Type: engineio.Message, Data: text})
	for _, a := range atts {
		pkts = append(pkts, engineio.BinaryMessage(a))
	}
	if err := m.conn.Send(context.Background(), pkts...); err != nil {
		if errors.Is(err, eioclient.ErrClosed) {
			return fmt.Errorf("%w: %w", ErrNotConnected, err)
		}
		return err
	}
	return nil
}

// systemClock is the default Clock.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }
