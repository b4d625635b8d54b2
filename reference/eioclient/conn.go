package eioclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// EventType tells what an Event reports.
type EventType int

// Event types.
const (
	// EventUpgrade: the session moved to Event.Transport (EIO-UPG-05).
	EventUpgrade EventType = iota + 1
	// EventUpgradeError: an upgrade probe failed; Event.Err is an
	// *UpgradeError and the session stays on polling (EIO-UPG-13).
	EventUpgradeError
	// EventClose: the session is over; Event.Reason is the close reason and
	// Event.Err the *CloseError that Conn.Err also returns.
	EventClose
)

func (t EventType) String() string {
	switch t {
	case EventUpgrade:
		return "upgrade"
	case EventUpgradeError:
		return "upgradeError"
	case EventClose:
		return "close"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// Event is a change of the session's state, delivered on Conn.Events.
type Event struct {
	Type      EventType
	Transport string
	Reason    string
	Err       error
}

// Conn is an Engine.IO client session. Its methods are safe for concurrent
// use. Every Conn returned by Dial must be closed with Close, also after the
// server ended the session, so that its goroutines and connections are
// released.
type Conn struct {
	opts    Options
	version engineio.Version
	base    *url.URL
	httpc   *http.Client
	ownHTTP *http.Transport
	log     *slog.Logger
	clock   Clock

	open engineio.OpenPacket
	seq  atomic.Uint64 // timestamp counter

	ctx    context.Context // cancelled at teardown
	cancel context.CancelFunc
	wg     sync.WaitGroup
	evCh   chan any      // transport goroutines → run loop
	kick   chan struct{} // Send → run loop
	closeQ chan struct{} // closed by Close
	once   sync.Once
	done   chan struct{} // closed at teardown
	events chan Event
	inSig  chan struct{}

	mu          sync.Mutex
	out         []engineio.Packet // queued for sending
	in          []engineio.Packet // received messages not yet read
	active      string
	closeCalled bool
	closeErr    *CloseError
	gracefulErr error

	st loopState // owned by the run goroutine
}

// loopState is the state machine, touched only by the run goroutine.
type loopState struct {
	initial  []engineio.Packet // packets that came with the open packet
	getting  bool              // a polling GET is in flight (EIO-POLL-17)
	posting  bool              // a polling POST is in flight
	paused   bool              // polling paused for the upgrade (EIO-UPG-05)
	closing  bool              // local graceful close in progress
	finished bool
	ws       *wsConn // the active WebSocket
	probe    *probe
	probeSeq int
	hb       Timer // v4: ping deadline; v3: pong/liveness deadline
	v3ping   Timer // v3: next client ping
	probeT   Timer
	holdT    Timer // bounds a hold of polling while a 3probe may be on its way
	closeT   Timer
}

type probe struct {
	id      int
	cancel  context.CancelFunc
	ws      *wsConn
	gotPong bool
}

// Dial opens an Engine.IO session at rawURL (http, https, ws or wss) and
// returns once the open packet has arrived. ctx bounds the handshake only;
// the session lives until Close or until the server or network ends it.
// A failed handshake returns a *HandshakeError (joined with the earlier ones
// when TryAllTransports tried several transports).
func Dial(ctx context.Context, rawURL string, opts *Options) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("eioclient: parse URL: %w", err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("eioclient: unsupported URL scheme %q", u.Scheme)
	}
	o, err := opts.withDefaults(u)
	if err != nil {
		return nil, err
	}
	base := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: o.Path, RawQuery: u.RawQuery, User: u.User}
	c := newConn(o, base)
	own := c.ownHTTP
	var errs []error
	for _, tr := range o.Transports {
		if tr == Polling {
			err = c.handshakePolling(ctx)
		} else {
			err = c.handshakeWebSocket(ctx)
		}
		if err == nil {
			// Armed before Dial returns, so that the wait runs from
			// the handshake (EIO-HB-04).
			c.startHeartbeat()
			c.wg.Add(1)
			go c.run()
			return c, nil
		}
		c.log.Debug("handshake failed", "transport", tr, "err", err)
		errs = append(errs, err)
		if !o.TryAllTransports || ctx.Err() != nil {
			break
		}
	}
	c.cancel()
	if own != nil {
		own.CloseIdleConnections()
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

// newConn builds a Conn for the options o (defaults applied) and base URL.
func newConn(o Options, base *url.URL) *Conn {
	httpc, own := o.httpClient()
	lctx, cancel := context.WithCancel(context.Background())
	return &Conn{
		opts:    o,
		version: o.Version,
		base:    base,
		httpc:   httpc,
		ownHTTP: own,
		log:     o.Logger,
		clock:   o.Clock,
		ctx:     lctx,
		cancel:  cancel,
		evCh:    make(chan any),
		kick:    make(chan struct{}, 1),
		closeQ:  make(chan struct{}),
		done:    make(chan struct{}),
		events:  make(chan Event, 8),
		inSig:   make(chan struct{}, 1),
	}
}

// ID returns the session id.
func (c *Conn) ID() string { return c.open.SID }

// Version returns the protocol revision of the session.
func (c *Conn) Version() engineio.Version { return c.version }

// Handshake returns the open packet the server sent.
func (c *Conn) Handshake() engineio.OpenPacket {
	o := c.open
	o.Upgrades = slices.Clone(o.Upgrades)
	o.Keys = slices.Clone(o.Keys)
	return o
}

// Transport returns the name of the active transport.
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active
}

// Events returns the channel of session events: at most one EventUpgrade or
// EventUpgradeError, then one EventClose, after which the channel is closed.
// It is buffered and never blocks the client; reading it is optional.
func (c *Conn) Events() <-chan Event { return c.events }

// Done returns a channel closed when the session is over.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns nil while the session is open, then its *CloseError.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeErr == nil {
		return nil
	}
	return c.closeErr
}

// Send queues message packets (engineio.TextPacket(engineio.Message, s) or
// engineio.BinaryMessage(b)); it copies their data and does not wait for the
// network. Queued packets go out in order: on polling batched into one POST
// at a time, each bounded by maxPayload (EIO-POLL-18, EIO-LIMIT-04); on
// WebSocket one frame per packet. Only message packets are accepted; a v4
// text message containing the record separator 0x1E is refused while the
// session is on polling (EIO-POLL-19). After the session ended, or once
// Close was called, Send returns an error matching ErrClosed.
func (c *Conn) Send(ctx context.Context, pkts ...engineio.Packet) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeErr != nil {
		return c.closeErr
	}
	if c.closeCalled {
		return fmt.Errorf("eioclient: send after Close: %w", ErrClosed)
	}
	for i, p := range pkts {
		if p.Type != engineio.Message {
			return fmt.Errorf("%w: packet %d has type %v, only messages can be sent", ErrBadPacket, i, p.Type)
		}
		if c.version == engineio.V4 && !p.Binary && c.active == Polling && bytes.IndexByte(p.Data, engineio.RecordSeparator) >= 0 {
			return fmt.Errorf("%w: packet %d: text contains the record separator 0x1E", ErrBadPacket, i)
		}
	}
	for _, p := range pkts {
		p.Data = bytes.Clone(p.Data)
		c.out = append(c.out, p)
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return nil
}

// Recv returns the next message the server sent, in order. Pings, pongs,
// noops and the other control packets are handled inside and never
// returned. Messages that arrived before the session ended are still
// returned; after them Recv returns the *CloseError. The Data of a returned
// packet belongs to the caller.
func (c *Conn) Recv(ctx context.Context) (engineio.Packet, error) {
	for {
		c.mu.Lock()
		if len(c.in) > 0 {
			p := c.in[0]
			c.in[0] = engineio.Packet{}
			c.in = c.in[1:]
			more := len(c.in) > 0
			c.mu.Unlock()
			if more {
				c.signalIn()
			}
			return p, nil
		}
		if c.closeErr != nil {
			err := c.closeErr
			c.mu.Unlock()
			return engineio.Packet{}, err
		}
		c.mu.Unlock()
		select {
		case <-c.inSig:
		case <-c.done:
		case <-ctx.Done():
			return engineio.Packet{}, ctx.Err()
		}
	}
}

// Close ends the session gracefully and waits for every goroutine of the
// Conn. Queued packets are sent first; then on polling the client POSTs a
// close packet (EIO-CLOSE-01), on WebSocket it just closes the connection
// (EIO-CLOSE-02). The whole is bounded by Options.RequestTimeout. The close
// reason is "forced close". Close returns the error of the close request,
// if it failed, and nil when the session had already ended. It is
// idempotent.
func (c *Conn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closeCalled = true
		c.mu.Unlock()
		close(c.closeQ)
	})
	c.wg.Wait()
	if c.ownHTTP != nil {
		c.ownHTTP.CloseIdleConnections()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gracefulErr
}

func (c *Conn) signalIn() {
	select {
	case c.inSig <- struct{}{}:
	default:
	}
}

func (c *Conn) emit(ev Event) {
	select {
	case c.events <- ev:
	default:
		c.log.Warn("event dropped", "type", ev.Type)
	}
}

// post hands an event to the run loop; it gives up once the session is over.
func (c *Conn) post(ev any) bool {
	select {
	case c.evCh <- ev:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// timestamp returns a fresh cache-busting value.
func (c *Conn) timestamp() string {
	n := c.seq.Add(1)
	return strconv.FormatInt(c.clock.Now().UnixMilli(), 36) + "." + strconv.FormatUint(n, 36)
}

// requestURL builds the URL of a request on transport tr.
func (c *Conn) requestURL(tr string, withSID, stamp, b64 bool) string {
	q := c.base.Query()
	for k, v := range c.opts.Query {
		q[k] = append([]string(nil), v...)
	}
	q.Set("EIO", c.version.String())
	q.Set("transport", tr)
	if withSID {
		q.Set("sid", c.open.SID)
	} else {
		q.Del("sid")
	}
	if stamp {
		q.Set(c.opts.TimestampParam, c.timestamp())
	}
	if b64 {
		q.Set("b64", "1")
	}
	u := *c.base
	u.RawQuery = q.Encode()
	if tr == WebSocket {
		if u.Scheme == "https" {
			u.Scheme = "wss"
		} else {
			u.Scheme = "ws"
		}
	}
	return u.String()
}

func (c *Conn) setActive(tr string) {
	c.mu.Lock()
	c.active = tr
	c.mu.Unlock()
}

// run is the session's state machine. Every transport goroutine reports to
// it through evCh; it alone decides which request to start next.
func (c *Conn) run() {
	defer c.wg.Done()
	s := &c.st
	if s.ws != nil {
		c.startReader(s.ws)
	}
	for _, p := range s.initial {
		c.handlePacket(p)
		if s.finished {
			return
		}
	}
	s.initial = nil
	c.maybeProbe()
	closeQ := c.closeQ
	for !s.finished {
		c.pump()
		if s.finished {
			return
		}
		select {
		case ev := <-c.evCh:
			if !s.closing && c.closeRequested() {
				// Close was called before this report was taken:
				// the report arrived after the client decided to
				// close and is handled as such.
				c.beginClose()
			}
			c.handleEvent(ev)
			if c.opts.afterEvent != nil {
				c.opts.afterEvent(ev)
			}
		case <-c.kick:
		case <-closeQ:
			closeQ = nil
			c.beginClose()
		case <-timerC(s.hb):
			s.hb = nil
			c.teardown(ReasonPingTimeout, ErrPingTimeout)
		case <-timerC(s.v3ping):
			s.v3ping = nil
			c.sendV3Ping()
		case <-timerC(s.probeT):
			s.probeT = nil
			c.failProbe("probe timeout", nil, true)
		case <-timerC(s.holdT):
			s.holdT = nil
			c.endHold()
		case <-timerC(s.closeT):
			s.closeT = nil
			c.setGracefulErr(ErrCloseTimeout)
			c.teardown(ReasonForcedClose, ErrCloseTimeout)
		}
	}
}

func (c *Conn) handleEvent(ev any) {
	switch ev := ev.(type) {
	case getResult:
		c.onGet(ev)
	case postResult:
		c.onPost(ev)
	case wsFrame:
		c.onFrame(ev)
	case wsWriteResult:
		c.onWSWrite(ev)
	case wsDialResult:
		c.onProbeDial(ev)
	}
}

// pump starts whatever the state allows: the next GET, the next write, the
// upgrade commit, the end of a graceful close.
func (c *Conn) pump() {
	s := &c.st
	if s.finished {
		return
	}
	c.maybeCommit()
	if s.finished {
		return
	}
	if s.ws == nil && !s.getting && !s.paused && !s.closing {
		c.startGet()
	}
	c.flush()
	if s.closing && s.ws != nil && !s.ws.writing && c.queueLen() == 0 {
		// EIO-CLOSE-02: on WebSocket the client just closes.
		s.ws.closeGracefully()
		c.teardown(ReasonForcedClose, nil)
	}
}

func (c *Conn) queueLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.out)
}

// enqueue appends an internal packet to the send queue.
func (c *Conn) enqueue(p engineio.Packet) {
	c.mu.Lock()
	c.out = append(c.out, p)
	c.mu.Unlock()
}

// flush starts one write if the active transport is free.
func (c *Conn) flush() {
	s := &c.st
	if s.ws != nil {
		if s.ws.writing {
			return
		}
		c.mu.Lock()
		batch := c.out
		c.out = nil
		c.mu.Unlock()
		if len(batch) > 0 {
			c.startWSWrite(s.ws, batch)
		}
		return
	}
	if s.posting || s.paused {
		return
	}
	c.mu.Lock()
	n := batchLen(c.out, c.version, c.open.MaxPayload)
	batch := slices.Clone(c.out[:n])
	c.out = slices.Delete(c.out, 0, n)
	c.mu.Unlock()
	if len(batch) > 0 {
		c.startPost(batch)
	}
}

// batchLen returns how many queued packets fit in one POST (EIO-LIMIT-04):
// the size of the encoded payload (type digit or "b", data as UTF-8 or
// base64, one separator between packets, which equals Node's count of one
// byte for the first type digit and two per further packet) must stay
// within maxPayload; the first packet always goes. maxPayload 0 (absent
// from the handshake) means no bound.
func batchLen(q []engineio.Packet, v engineio.Version, maxPayload int64) int {
	if maxPayload <= 0 || len(q) <= 1 {
		return len(q)
	}
	size := int64(1)
	for i, p := range q {
		n := int64(len(p.Data))
		if p.Binary {
			n = int64((len(p.Data) + 2) / 3 * 4)
			if v == engineio.V3 {
				n++ // the type digit after "b"
			}
		}
		size += n
		if i > 0 && size > maxPayload {
			return i
		}
		size += 2
	}
	return len(q)
}

// handlePacket acts on one packet received on the active transport.
func (c *Conn) handlePacket(p engineio.Packet) {
	s := &c.st
	if c.version == engineio.V3 {
		// Node's v3 client counts any packet as liveness.
		c.armHB(c.open.PingInterval + c.open.PingTimeout)
	}
	switch p.Type {
	case engineio.Close:
		c.teardown(ReasonTransportClose, ErrServerClosed) // EIO-CLOSE-05
	case engineio.Ping:
		if c.version == engineio.V4 {
			c.startHeartbeat()                                // EIO-HB-04
			c.enqueue(engineio.TextPacket(engineio.Pong, "")) // EIO-HB-02
		}
	case engineio.Pong:
		if c.version == engineio.V3 {
			stopTimer(&s.v3ping)
			s.v3ping = c.clock.NewTimer(c.open.PingInterval)
		}
	case engineio.Message:
		c.mu.Lock()
		c.in = append(c.in, p)
		c.mu.Unlock()
		c.signalIn()
	default:
		// EIO-PKT-07: noop anywhere, and open, upgrade after the first
		// packet, mean nothing to the client.
		c.log.Debug("ignored packet", "sid", c.open.SID, "type", p.Type)
	}
}

// startHeartbeat arms the liveness timer at the start of the session and,
// in v4, on every ping (EIO-HB-04); in v3 it schedules the first client ping.
func (c *Conn) startHeartbeat() {
	c.armHB(c.open.PingInterval + c.open.PingTimeout)
	if c.version == engineio.V3 && c.st.v3ping == nil {
		c.st.v3ping = c.clock.NewTimer(c.open.PingInterval)
	}
}

func (c *Conn) armHB(d time.Duration) {
	stopTimer(&c.st.hb)
	c.st.hb = c.clock.NewTimer(d)
}

// sendV3Ping sends the v3 client ping and waits pingTimeout for the pong
// (EIO3-02).
func (c *Conn) sendV3Ping() {
	c.enqueue(engineio.TextPacket(engineio.Ping, ""))
	c.armHB(c.open.PingTimeout)
}

// closeRequested tells whether Close has been called.
func (c *Conn) closeRequested() bool {
	select {
	case <-c.closeQ:
		return true
	default:
		return false
	}
}

// beginClose starts the graceful close requested by Close. From here on the
// client has decided to close: what the server sends is ignored (as Node's
// client detaches the transport's listeners), the heartbeat no longer
// applies, and only the queued packets, then on polling the close packet,
// still go out; the close POST's answer (or Options.RequestTimeout) ends
// the session.
func (c *Conn) beginClose() {
	s := &c.st
	if s.finished || s.closing {
		return
	}
	s.closing = true
	stopTimer(&s.hb)
	stopTimer(&s.v3ping)
	if s.probe != nil {
		c.failProbe("closed", nil, false)
	}
	s.closeT = c.clock.NewTimer(c.opts.RequestTimeout)
	if s.ws == nil {
		c.enqueue(engineio.TextPacket(engineio.Close, "")) // EIO-CLOSE-01
	}
}

func (c *Conn) setGracefulErr(err error) {
	c.mu.Lock()
	if c.gracefulErr == nil {
		c.gracefulErr = err
	}
	c.mu.Unlock()
}

// teardown ends the session: it stops timers, cancels requests, closes
// WebSockets and publishes the close. Goroutines still running exit on
// their own; Close waits for them.
func (c *Conn) teardown(reason string, cause error) {
	s := &c.st
	if s.finished {
		return
	}
	if s.closing {
		reason = ReasonForcedClose
	}
	s.finished = true
	stopTimer(&s.hb)
	stopTimer(&s.v3ping)
	stopTimer(&s.probeT)
	stopTimer(&s.holdT)
	stopTimer(&s.closeT)
	c.cancel()
	if s.ws != nil {
		s.ws.close()
	}
	if p := s.probe; p != nil {
		s.probe = nil
		p.cancel()
		if p.ws != nil {
			p.ws.close()
		}
	}
	ce := &CloseError{Reason: reason, Err: cause}
	if cause != nil {
		c.log.Debug("session closed", "sid", c.open.SID, "reason", reason, "err", cause)
	}
	c.mu.Lock()
	c.closeErr = ce
	c.out = nil
	c.mu.Unlock()
	c.emit(Event{Type: EventClose, Reason: reason, Err: ce})
	close(c.events)
	close(c.done)
}
