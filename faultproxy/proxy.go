package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a [Proxy]. The zero value (or nil) is valid.
type Options struct {
	// Listen is the TCP address to listen on. Default "127.0.0.1:0" (an
	// ephemeral loopback port; see [Proxy.Addr]).
	Listen string
	// Seed is the root of every random choice the proxy's faults make.
	// Any value, including 0, is a valid seed.
	Seed int64
	// Logger receives operational logs (warnings on failures) and, at debug
	// level, every decision. nil discards.
	Logger *slog.Logger
	// OnDecision, if set, is called synchronously for every decision as it
	// is logged, from the proxy's goroutines; it must not block for long and
	// must not call back into the proxy.
	OnDecision func(Decision)
	// DialTimeout bounds each upstream connect. Default 10s.
	DialTimeout time.Duration
	// DecisionLogSize is how many decisions are kept (the oldest are
	// dropped first). Default 100000.
	DecisionLogSize int
	// ChunkSize is the read buffer size per direction, in bytes. Default 32768.
	ChunkSize int
	// Tap makes every connection run the protocol tap (see [ConnInfo] and
	// the package doc): HTTP/1.1 requests and responses, WebSocket frames
	// after a 101, Engine.IO packets. Bytes the tap cannot parse are
	// forwarded untouched; polling requests and responses up to 1 MiB are
	// forwarded once complete rather than as they arrive; WebSocket frames
	// (up to 1 MiB) are held whole only while a protocol fault acts on
	// their direction, and otherwise forwarded as read while the tap
	// follows their headers. Without Tap, only
	// connections accepted while a protocol fault (or a fault scoped by
	// transport or sid) exists are tapped: a tap must start with the
	// connection to find message boundaries, so protocol faults added later
	// do not reach untapped connections already open. Default false.
	Tap bool
	// QueueChunks is how many chunks may wait between a direction's reader and
	// its fault pipeline: what latency can keep in flight, and (times
	// ChunkSize) the most the proxy buffers per direction before the sender
	// feels back-pressure. Default 64 (2 MiB with the default ChunkSize).
	QueueChunks int
}

// Proxy is a fault-injecting TCP proxy in front of one upstream address.
// Its methods are safe for concurrent use.
type Proxy struct {
	upstream atomic.Pointer[string]
	opts     Options
	log      *slog.Logger
	dlog     decisionLog
	bufs     sync.Pool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	started   bool
	closed    bool
	ln        net.Listener
	addr      string // real listen address once started
	seed      int64
	nextConn  uint64
	conns     map[*conn]struct{}
	entries   []*entry
	downCount int
	disabled  bool
	entrySeq  uint64

	ordMu sync.Mutex
	ords  map[string]int // "METHOD sid" -> polling requests seen (see RequestMatch)
}

// maxOrdinals bounds the per-session request counters.
const maxOrdinals = 1 << 16

// requestOrdinal counts one more polling request of method on session sid
// and returns its 1-based ordinal.
func (p *Proxy) requestOrdinal(method, sid string) int {
	p.ordMu.Lock()
	defer p.ordMu.Unlock()
	if p.ords == nil || len(p.ords) >= maxOrdinals {
		p.ords = make(map[string]int)
	}
	k := method + " " + sid
	p.ords[k]++
	return p.ords[k]
}

// entry is one added fault.
type entry struct {
	f          Fault
	m          faultMeta
	name       string
	removed    chan struct{}
	removeOnce sync.Once
	seq        uint64    // order of Add
	strikeAt   time.Time // Scope.Existing: Add + After
	lb         *lbState  // LBRoundRobin only
}

// New returns a proxy for upstream ("host:port"). It does not listen until
// [Proxy.Start].
func New(upstream string, opts *Options) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		return nil, fmt.Errorf("faultproxy: upstream %q: %w", upstream, err)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.DecisionLogSize <= 0 {
		o.DecisionLogSize = 100000
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 32 << 10
	}
	if o.QueueChunks <= 0 {
		o.QueueChunks = 64
	}
	lg := o.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		opts:  o,
		log:   lg,
		seed:  o.Seed,
		conns: make(map[*conn]struct{}),
	}
	p.upstream.Store(&upstream)
	p.dlog.limit = o.DecisionLogSize
	p.dlog.start = time.Now()
	size := o.ChunkSize
	p.bufs.New = func() any { b := make([]byte, size); return &b }
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p, nil
}

// Start binds the listener and starts accepting; it returns once listening.
// ctx bounds only the bind; use [Proxy.Close] to stop the proxy.
func (p *Proxy) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.started {
		return ErrAlreadyStarted
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", p.opts.Listen)
	if err != nil {
		return fmt.Errorf("faultproxy: listen: %w", err)
	}
	p.started = true
	p.ln = ln
	p.addr = ln.Addr().String()
	p.dlog.reset(time.Now())
	p.wg.Add(1)
	go p.acceptLoop(ln)
	return nil
}

// Addr returns the address the proxy listens on ("127.0.0.1:41234"), or ""
// before Start.
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// Upstream returns the upstream address.
func (p *Proxy) Upstream() string { return *p.upstream.Load() }

// Update moves the proxy to a new listen address and/or upstream, as
// Toxiproxy's proxy update (POST /proxies/{name} with "listen" or
// "upstream") does. An empty argument, or one equal to the current value
// (listen is compared with [Proxy.Addr]), changes nothing. When something
// changes, every open connection is closed (FIN), the listener is bound
// again on the new address (port 0 picks a free port; see [Proxy.Addr]) and
// later connections go to the new upstream; faults, the seed, connection
// ordinals and the decision log are kept. A proxy that is disabled or held
// down by a [Down] fault records the new address (bound once to resolve it)
// and listens there when it comes back. If the new address cannot be bound,
// the proxy listens on the old one again and Update returns the error
// (wrapping the listen error). ctx bounds the bind.
func (p *Proxy) Update(ctx context.Context, listen, upstream string) error {
	if upstream != "" {
		if _, _, err := net.SplitHostPort(upstream); err != nil {
			return &FieldError{Fault: "proxy", Field: "Upstream", Attr: "upstream", Reason: "want host:port: " + err.Error()}
		}
	}
	if listen != "" {
		if _, _, err := net.SplitHostPort(listen); err != nil {
			return &FieldError{Fault: "proxy", Field: "Listen", Attr: "listen", Reason: "want host:port: " + err.Error()}
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if !p.started {
		p.mu.Unlock()
		return ErrNotStarted
	}
	moveListen := listen != "" && listen != p.addr
	moveUp := upstream != "" && upstream != p.Upstream()
	if !moveListen && !moveUp {
		p.mu.Unlock()
		return nil
	}
	var err error
	if moveListen {
		err = p.rebindLocked(ctx, listen)
	}
	if moveUp {
		p.upstream.Store(&upstream)
	}
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.abort(CloseFIN)
	}
	return err
}

// rebindLocked closes the listener and binds listen instead, falling back
// to the old address on failure. p.mu held.
func (p *Proxy) rebindLocked(ctx context.Context, listen string) error {
	wasListening := p.ln != nil
	old := p.addr
	p.closeListenerLocked()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		if wasListening {
			if err2 := p.relistenLocked(); err2 != nil {
				return fmt.Errorf("faultproxy: listen on %s: %w (and again on %s: %v)", listen, err, old, err2)
			}
		}
		return fmt.Errorf("faultproxy: listen on %s: %w", listen, err)
	}
	p.addr = ln.Addr().String()
	if !wasListening {
		// Disabled or down: remember the address, listen when back up.
		ln.Close()
		return nil
	}
	p.ln = ln
	p.wg.Add(1)
	go p.acceptLoop(ln)
	return nil
}

// Seed returns the current root seed.
func (p *Proxy) Seed() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seed
}

// Reseed sets the root seed for connections accepted from now on, restarts
// connection ordinals at 1 and clears the decision log, so that a scenario
// replayed after Reseed(s) makes the same decisions as the first time.
// Connections already open keep their random streams.
func (p *Proxy) Reseed(seed int64) {
	p.mu.Lock()
	p.seed = seed
	p.nextConn = 0
	p.mu.Unlock()
	p.ordMu.Lock()
	p.ords = nil
	p.ordMu.Unlock()
	p.dlog.reset(time.Now())
}

// Decisions returns a copy of the decision log, oldest first, and how many
// older decisions were dropped because the log was full.
func (p *Proxy) Decisions() ([]Decision, uint64) { return p.dlog.snapshot() }

// Handle refers to one fault added to a proxy.
type Handle struct {
	p *Proxy
	e *entry
}

// Name returns the fault's unique name within its proxy.
func (h *Handle) Name() string { return h.e.name }

// Fault returns the fault value.
func (h *Handle) Fault() Fault { return h.e.f }

// Remove detaches the fault from every connection and from the proxy. Bytes
// a fault was holding are released; see each fault for what removal does to
// a connection it has already damaged. Remove is idempotent.
func (h *Handle) Remove() error {
	h.p.remove(h.e)
	return nil
}

// Add validates f and attaches it to every open connection it matches and to
// every connection accepted later. A fault without a Name gets its type's
// default name ("latency_downstream"), suffixed "_2", "_3"... if taken; an
// explicit Name that is taken fails with [ErrDuplicateName].
func (p *Proxy) Add(f Fault) (*Handle, error) {
	if f == nil {
		return nil, errors.New("faultproxy: nil fault")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	m := f.meta()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	name := m.name
	if name == "" {
		base := defaultName(f)
		name = base
		for i := 2; p.lookup(name) != nil; i++ {
			name = base + "_" + strconv.Itoa(i)
		}
	} else if p.lookup(name) != nil {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateName, name)
	}
	p.entrySeq++
	e := &entry{f: f, m: m, name: name, removed: make(chan struct{}), seq: p.entrySeq}
	if _, ok := f.(LBRoundRobin); ok {
		e.lb = &lbState{sids: map[string]int{}}
	}
	p.entries = append(p.entries, e)
	if m.scope.Existing {
		e.strikeAt = time.Now().Add(m.scope.After)
		p.wg.Add(1)
		go p.runStrike(e)
	}
	switch m.level {
	case levelProxy:
		p.wg.Add(1)
		go p.runDown(e, f.(Down))
	default:
		for c := range p.conns {
			c.attach(e)
		}
	}
	return &Handle{p: p, e: e}, nil
}

// Faults returns handles for the faults currently added, in order.
func (p *Proxy) Faults() []*Handle {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Handle, len(p.entries))
	for i, e := range p.entries {
		out[i] = &Handle{p: p, e: e}
	}
	return out
}

// Fault returns the handle of the fault called name.
func (p *Proxy) Fault(name string) (*Handle, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.lookup(name)
	if e == nil {
		return nil, false
	}
	return &Handle{p: p, e: e}, true
}

// RemoveAll removes every fault.
func (p *Proxy) RemoveAll() {
	for _, h := range p.Faults() {
		_ = h.Remove()
	}
}

func (p *Proxy) lookup(name string) *entry {
	for _, e := range p.entries {
		if e.name == name {
			return e
		}
	}
	return nil
}

func (p *Proxy) remove(e *entry) {
	p.mu.Lock()
	found := false
	for i, x := range p.entries {
		if x == e {
			p.entries = append(p.entries[:i:i], p.entries[i+1:]...)
			found = true
			break
		}
	}
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	if !found {
		return
	}
	e.removeOnce.Do(func() { close(e.removed) })
	for _, c := range conns {
		c.detach(e)
	}
}

// Enabled reports whether the proxy accepts connections (not disabled with
// SetEnabled(false); a [Down] fault does not change it).
func (p *Proxy) Enabled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.disabled
}

// SetEnabled turns the proxy off or on. Off closes the listener and every
// open connection (FIN), as Toxiproxy's "enabled": false does; on listens
// again on the same address.
func (p *Proxy) SetEnabled(on bool) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if on == !p.disabled {
		p.mu.Unlock()
		return nil
	}
	p.disabled = !on
	var err error
	var conns []*conn
	if on {
		err = p.relistenLocked()
	} else {
		p.closeListenerLocked()
		for c := range p.conns {
			conns = append(conns, c)
		}
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.abort(CloseFIN)
	}
	return err
}

func (p *Proxy) closeListenerLocked() {
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
}

// relistenLocked listens again if nothing holds the proxy down.
func (p *Proxy) relistenLocked() error {
	if p.closed || !p.started || p.disabled || p.downCount > 0 || p.ln != nil {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(p.ctx, "tcp", p.addr)
	if err != nil {
		p.log.Warn("faultproxy: listen again failed", "addr", p.addr, "err", err)
		return fmt.Errorf("faultproxy: listen again on %s: %w", p.addr, err)
	}
	p.ln = ln
	p.wg.Add(1)
	go p.acceptLoop(ln)
	return nil
}

// runDown drives one Down fault.
func (p *Proxy) runDown(e *entry, f Down) {
	defer p.wg.Done()
	step := uint64(0)
	decide := func(action, detail string) {
		step++
		p.decide(Decision{Fault: e.name, Type: f.Type(), Direction: Both, Step: step, Action: action, Detail: detail})
	}
	if f.Scope.After > 0 {
		t := time.NewTimer(f.Scope.After)
		select {
		case <-t.C:
		case <-e.removed:
			t.Stop()
			return
		case <-p.ctx.Done():
			t.Stop()
			return
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.downCount++
	p.closeListenerLocked()
	var conns []*conn
	if f.Mode != DownRefuse {
		for c := range p.conns {
			conns = append(conns, c)
		}
	}
	p.mu.Unlock()
	decide("down", f.Mode.String())
	mode := CloseFIN
	if f.Mode == DownResetAll {
		mode = CloseRST
	}
	for _, c := range conns {
		c.abort(mode)
	}
	var forC <-chan time.Time
	if f.Scope.For > 0 {
		t := time.NewTimer(f.Scope.For)
		defer t.Stop()
		forC = t.C
	}
	reason := "expire"
	select {
	case <-forC:
	case <-e.removed:
		reason = "remove"
	case <-p.ctx.Done():
		return
	}
	// An expired Down stays listed until removed, like other faults, but no
	// longer holds the proxy down.
	p.mu.Lock()
	p.downCount--
	err := p.relistenLocked()
	p.mu.Unlock()
	if err != nil {
		decide("up", reason+": "+err.Error())
		return
	}
	decide("up", reason)
}

// runStrike logs the moment a Scope.Existing fault strikes, with the
// connections it strikes (those open then that it matches).
func (p *Proxy) runStrike(e *entry) {
	defer p.wg.Done()
	t := time.NewTimer(time.Until(e.strikeAt))
	defer t.Stop()
	select {
	case <-t.C:
	case <-e.removed:
		return
	case <-p.ctx.Done():
		return
	}
	p.mu.Lock()
	var ords []uint64
	for c := range p.conns {
		if c.opened.Before(e.strikeAt) && e.m.scope.matchesConn(c.ord) {
			ords = append(ords, c.ord)
		}
	}
	p.mu.Unlock()
	slices.Sort(ords)
	p.decide(Decision{Fault: e.name, Type: e.f.Type(), Direction: e.m.resolvedDir(), Step: 1, Action: "start",
		Detail: fmt.Sprintf("strikes the %d connection(s) open now %v (%s); connections opened later pass", len(ords), ords, e.m.resolvedDir())})
}

func (p *Proxy) acceptLoop(ln net.Listener) {
	defer p.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.log.Warn("faultproxy: accept", "err", err)
			t := time.NewTimer(20 * time.Millisecond)
			select {
			case <-t.C:
			case <-p.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		tc, ok := nc.(*net.TCPConn)
		if !ok {
			nc.Close()
			continue
		}
		p.mu.Lock()
		if p.closed || p.ln != ln {
			p.mu.Unlock()
			tc.Close()
			if p.closed {
				return
			}
			continue
		}
		p.nextConn++
		tap := p.opts.Tap
		for _, e := range p.entries {
			tap = tap || e.m.level == levelUnit || e.m.scope.hasTagMatch()
		}
		c := newConn(p, tc, p.nextConn, p.seed, tap)
		p.conns[c] = struct{}{}
		for _, e := range p.entries {
			c.attach(e)
		}
		p.wg.Add(1)
		p.mu.Unlock()
		go c.run()
	}
}

func (p *Proxy) unregister(c *conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// decide logs one decision.
func (p *Proxy) decide(d Decision) {
	if d.Time.IsZero() {
		d.Time = time.Now()
	}
	d = p.dlog.add(d)
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug("faultproxy: decision", "conn", d.Conn, "dir", d.Direction.String(), "fault", d.Fault,
			"type", d.Type, "step", d.Step, "action", d.Action, "detail", d.Detail)
	}
	if p.opts.OnDecision != nil {
		p.opts.OnDecision(d)
	}
}

// Close stops listening, closes every connection and waits for every
// goroutine the proxy started. It is idempotent and safe before Start.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.closeListenerLocked()
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	p.cancel()
	for _, c := range conns {
		c.abort(CloseFIN)
	}
	p.wg.Wait()
	return nil
}
