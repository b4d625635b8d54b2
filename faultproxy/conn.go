package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// chunk is a run of bytes read from one side, with the time it was read.
// A chunk's data is only valid during the pipeline call that carries it: a
// stage must not keep it after it returns.
type chunk struct {
	data []byte
	at   time.Time
	buf  *[]byte // pooled buffer behind data, owned by the link's writer
	u    *unit   // parsed protocol unit whose wire bytes are data, if any
}

// emitFunc passes a chunk to the rest of the pipeline.
type emitFunc func(chunk) error

// errAborted is returned by stages when the connection was closed (by a fault
// or by the proxy); the pipeline stops without further action.
var errAborted = errors.New("faultproxy: connection aborted")

// conn is one proxied client connection.
type conn struct {
	p      *Proxy
	ord    uint64
	seed   int64
	client *net.TCPConn
	opened time.Time
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // instance goroutines

	lastRead atomic.Int64             // unix nanos of the last byte read either way
	tags     atomic.Pointer[ConnInfo] // set once the tap has seen the first request
	hold     atomic.Bool              // the upstream side was cut on purpose: never close the client for it
	ws       atomic.Bool              // the server answered the first request with 101
	wsSIDv   atomic.Pointer[string]   // a WebSocket-only session's sid, learned from its open packet
	// respOpaque: the response whose body the downstream tap stopped
	// following (chunked or read-until-close); what follows is opaque.
	respOpaque atomic.Pointer[opaqueResp]

	mu     sync.Mutex
	server *net.TCPConn
	closed bool
	insts  map[*entry][]*instance
	links  [2]*link // [0] upstream, [1] downstream
	info   ConnInfo
	reqQ   []reqRecord // requests forwarded and not yet answered (protocol tap)
	reqSeq uint64      // numbers reqQ entries
	target string      // the upstream address dialled

	reqSig  chan struct{} // closed and replaced (under mu) whenever reqQ changes
	lb      *lbState      // the balancer that routed this connection, if any
	backend int           // its backend index
}

// link is one direction of a connection: reader → queue → pipeline → writer.
type link struct {
	c     *conn
	dir   Direction
	chain atomic.Pointer[[]*instance]
	q     chan chunk
	tap   tapper        // protocol tap, nil when not parsing
	rerr  error         // read error, valid after q is closed
	kick  chan struct{} // asks the writer to release what holding stages keep
}

func newConn(p *Proxy, client *net.TCPConn, ord uint64, seed int64, tap bool) *conn {
	c := &conn{p: p, ord: ord, seed: seed, client: client, opened: time.Now(), insts: make(map[*entry][]*instance),
		reqSig: make(chan struct{})}
	c.info = ConnInfo{Ordinal: ord, Opened: c.opened, Client: client.RemoteAddr().String()}
	c.ctx, c.cancel = context.WithCancel(p.ctx)
	c.lastRead.Store(c.opened.UnixNano())
	for i, d := range []Direction{Upstream, Downstream} {
		l := &link{c: c, dir: d, q: make(chan chunk, p.opts.QueueChunks), kick: make(chan struct{}, 1)}
		empty := []*instance{}
		l.chain.Store(&empty)
		c.links[i] = l
	}
	if tap {
		c.links[0].tap = &httpTap{c: c}
		c.links[1].tap = &respTap{c: c}
	}
	return c
}

func (c *conn) link(d Direction) *link {
	if d == Upstream {
		return c.links[0]
	}
	return c.links[1]
}

// attach creates e's instances on c if e matches. Called with p.mu held.
func (c *conn) attach(e *entry) {
	if e.m.level == levelProxy || !e.m.scope.matchesConn(c.ord) {
		return
	}
	if e.m.scope.Existing && !c.opened.Before(e.strikeAt) {
		c.p.decide(Decision{Conn: c.ord, Direction: e.m.resolvedDir(), Fault: e.name, Type: e.f.Type(), Step: 1,
			Action: "skip", Detail: "opened after the fault struck (existing connections only)"})
		return
	}
	if (e.m.level == levelUnit || e.m.scope.hasTagMatch()) && c.links[0].tap == nil {
		c.p.decide(Decision{Conn: c.ord, Direction: e.m.resolvedDir(), Fault: e.name, Type: e.f.Type(), Step: 1,
			Action: "skip", Detail: "connection not tapped: it was accepted before any protocol fault (see Options.Tap)"})
		return
	}
	var dirs []Direction
	switch d := e.m.resolvedDir(); {
	case e.m.level == levelConn:
		dirs = []Direction{Both}
	case d == Both:
		dirs = []Direction{Upstream, Downstream}
	default:
		dirs = []Direction{d}
	}
	insts := make([]*instance, 0, len(dirs))
	for _, d := range dirs {
		insts = append(insts, newInstance(c, e, d))
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		for _, in := range insts {
			in.cancel()
		}
		return
	}
	c.insts[e] = insts
	var ctl []*instance
	for _, in := range insts {
		if in.needsControl() {
			c.wg.Add(1) // under c.mu with !closed, so never concurrent with run's Wait
			ctl = append(ctl, in)
		}
		if in.dir == Both {
			// Connection-level faults see chunks only to count bytes for
			// Scope.AfterBytes.
			if e.m.scope.AfterBytes > 0 {
				c.links[0].push(in)
				c.links[1].push(in)
			}
			continue
		}
		c.link(in.dir).push(in)
	}
	if c.info.Requests > 0 && e.m.scope.hasTagMatch() {
		for _, in := range insts {
			in.tagged(c.info)
		}
	}
	c.mu.Unlock()
	for _, in := range ctl {
		go in.control()
	}
}

// detach removes e's instances from c. Called without p.mu.
func (c *conn) detach(e *entry) {
	c.mu.Lock()
	insts := c.insts[e]
	delete(c.insts, e)
	for _, in := range insts {
		if _, ok := in.beh.(holder); ok {
			continue // the writer drops it once it has released what it holds
		}
		for _, l := range c.links {
			l.drop(in)
		}
	}
	c.mu.Unlock()
	for _, in := range insts {
		in.deactivate("remove")
	}
}

// push adds in to the chain (copy on write; c.mu held): protocol-unit
// stages after the existing unit stages, byte stages at the end.
func (l *link) push(in *instance) {
	old := *l.chain.Load()
	at := len(old)
	if in.e.m.level == levelUnit {
		at = 0
		for at < len(old) && old[at].e.m.level == levelUnit {
			at++
		}
	}
	nc := make([]*instance, 0, len(old)+1)
	nc = append(nc, old[:at]...)
	nc = append(nc, in)
	nc = append(nc, old[at:]...)
	l.chain.Store(&nc)
}

// drop removes in from the chain (c.mu held).
func (l *link) drop(in *instance) {
	old := *l.chain.Load()
	nc := make([]*instance, 0, len(old))
	for _, x := range old {
		if x != in {
			nc = append(nc, x)
		}
	}
	l.chain.Store(&nc)
}

// abort closes both sockets (with SO_LINGER=0 for CloseRST) and stops the
// connection's goroutines. Idempotent.
func (c *conn) abort(mode CloseMode) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	srv := c.server
	c.mu.Unlock()
	for _, s := range []*net.TCPConn{c.client, srv} {
		if s == nil {
			continue
		}
		if mode == CloseRST {
			_ = s.SetLinger(0)
		}
		_ = s.Close()
	}
	c.cancel()
}

// run connects upstream and pumps both directions until the connection ends.
func (c *conn) run() {
	defer c.p.wg.Done()
	defer c.p.unregister(c)
	defer c.wg.Wait()
	defer c.cancel()

	if d := c.slowOpenDelay(); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			c.abort(CloseFIN)
			return
		}
	}
	target, prefix, err := c.lbRoute()
	if err != nil {
		c.abort(CloseFIN)
		return
	}
	c.mu.Lock()
	c.target = target
	c.mu.Unlock()
	dialer := net.Dialer{Timeout: c.p.opts.DialTimeout}
	nc, err := dialer.DialContext(c.ctx, "tcp", target)
	if err != nil {
		if c.ctx.Err() == nil {
			c.p.log.Warn("faultproxy: dial upstream", "conn", c.ord, "upstream", target, "err", err)
		}
		if prefix != nil {
			c.p.bufs.Put(prefix.buf)
		}
		c.abort(CloseRST)
		return
	}
	srv := nc.(*net.TCPConn)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		srv.Close()
		return
	}
	c.server = srv
	c.mu.Unlock()

	var readers, writers sync.WaitGroup
	readers.Add(2)
	writers.Add(2)
	up, down := c.links[0], c.links[1]
	if prefix != nil {
		up.q <- *prefix // the queue is empty and holds at least one chunk
	}
	go func() { defer readers.Done(); up.read(c.client) }()
	go func() { defer readers.Done(); down.read(srv) }()
	go func() { defer writers.Done(); up.write(srv) }()
	go func() { defer writers.Done(); down.write(c.client) }()
	writers.Wait()
	c.abort(CloseFIN)
	readers.Wait()
}

// slowOpenDelay sums the delays of active SlowOpen faults and logs them.
func (c *conn) slowOpenDelay() time.Duration {
	c.mu.Lock()
	var ins []*instance
	for _, list := range c.insts {
		for _, in := range list {
			if _, ok := in.e.f.(SlowOpen); ok && in.isActive() {
				ins = append(ins, in)
			}
		}
	}
	c.mu.Unlock()
	var total time.Duration
	for _, in := range ins {
		d := in.e.f.(SlowOpen).Delay
		in.decide("connect_delay", d.String())
		total += d
	}
	return total
}

func (l *link) read(src *net.TCPConn) {
	c := l.c
	for {
		bp := c.p.bufs.Get().(*[]byte)
		n, err := src.Read(*bp)
		if n > 0 {
			now := time.Now()
			c.lastRead.Store(now.UnixNano())
			select {
			case l.q <- chunk{data: (*bp)[:n], at: now, buf: bp}:
			case <-c.ctx.Done():
				c.p.bufs.Put(bp)
				return
			}
		} else {
			c.p.bufs.Put(bp)
		}
		if err != nil {
			l.rerr = err
			close(l.q)
			return
		}
	}
}

// maxBatch bounds the bytes one vectored write carries.
const maxBatch = 256 << 10

// write runs the direction's pipeline. With no fault stage in the chain,
// chunks that are already queued are gathered and written with one
// vectored write (what a fast sender's many small reads would otherwise
// cost in syscalls); nothing waits for a batch to fill.
func (l *link) write(dst *net.TCPConn) {
	c := l.c
	var (
		batch      net.Buffers
		batchBufs  []*[]byte // pooled buffers behind batch
		batchBytes int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		b := batch
		_, err := b.WriteTo(dst)
		for _, bp := range batchBufs {
			c.p.bufs.Put(bp)
		}
		clear(batch)
		batch, batchBufs, batchBytes = batch[:0], batchBufs[:0], 0
		return err
	}
	fail := func(err error) {
		if !errors.Is(err, errAborted) {
			c.abort(closeModeFor(err))
		}
	}
	for {
		var ck chunk
		var ok bool
		if len(batch) > 0 {
			select {
			case ck, ok = <-l.q:
			default:
				if err := flush(); err != nil {
					fail(err)
					return
				}
				continue
			}
		} else {
			select {
			case ck, ok = <-l.q:
			case <-l.kick:
				if err := l.releaseHeld(dst, "fault removed or expired"); err != nil {
					fail(err)
					return
				}
				continue
			case <-c.ctx.Done():
				return
			}
		}
		if !ok {
			if err := flush(); err != nil {
				fail(err)
				return
			}
			l.finish(dst)
			return
		}
		chain := *l.chain.Load()
		batched := false
		emit := func(out chunk) error {
			if len(chain) == 0 && out.buf != nil && out.buf == ck.buf {
				// Bytes of the pooled read buffer: safe to write later.
				batch = append(batch, out.data)
				batchBytes += len(out.data)
				batched = true
				return nil
			}
			if err := flush(); err != nil {
				return err
			}
			return l.run(dst, chain, out)
		}
		var err error
		if l.tap != nil {
			err = l.tap.feed(ck, emit)
		} else {
			err = emit(ck)
		}
		if batched {
			batchBufs = append(batchBufs, ck.buf)
		} else {
			c.p.bufs.Put(ck.buf)
		}
		if err == nil && batchBytes >= maxBatch {
			err = flush()
		}
		if err != nil {
			fail(err)
			return
		}
	}
}

// holder is implemented by behaviours that keep bytes across chunks; they
// must give them up when asked (removal, expiry, end of stream).
type holder interface {
	flushHeld(in *instance, next emitFunc, why string) error
}

// releaseHeld runs on the writer: every holding stage of the chain that is
// no longer active (or every one, at end of stream) forwards what it holds
// through the rest of the chain; inactive holders then leave the chain.
func (l *link) releaseHeld(dst *net.TCPConn, why string) error {
	chain := *l.chain.Load()
	final := why == "end of stream"
	var done []*instance
	for i, in := range chain {
		h, ok := in.beh.(holder)
		if !ok {
			continue
		}
		active := in.isActive()
		if active && !final {
			continue
		}
		rest := chain[i+1:]
		if err := h.flushHeld(in, func(out chunk) error { return l.run(dst, rest, out) }, why); err != nil {
			return err
		}
		if !active {
			done = append(done, in)
		}
	}
	if len(done) > 0 {
		l.c.mu.Lock()
		for _, in := range done {
			if _, still := l.c.insts[in.e]; !still || !in.isActive() {
				l.drop(in)
			}
		}
		l.c.mu.Unlock()
	}
	return nil
}

// run passes ck through chain and writes what comes out to dst.
func (l *link) run(dst *net.TCPConn, chain []*instance, ck chunk) error {
	if len(chain) == 0 {
		_, err := dst.Write(ck.data)
		return err
	}
	return chain[0].process(ck, func(out chunk) error { return l.run(dst, chain[1:], out) })
}

// finish propagates the end of the source: FIN after EOF (delayed by
// slow_close), otherwise a close that mirrors a reset.
func (l *link) finish(dst *net.TCPConn) {
	c := l.c
	if c.hold.Load() && l.dir == Downstream {
		return // a fault cut the upstream and keeps the client hanging
	}
	if !errors.Is(l.rerr, io.EOF) {
		c.abort(closeModeFor(l.rerr))
		return
	}
	if l.tap != nil {
		chain := *l.chain.Load()
		if err := l.tap.flush(func(out chunk) error { return l.run(dst, chain, out) }); err != nil {
			if !errors.Is(err, errAborted) {
				c.abort(closeModeFor(err))
			}
			return
		}
	}
	if err := l.releaseHeld(dst, "end of stream"); err != nil {
		if !errors.Is(err, errAborted) {
			c.abort(closeModeFor(err))
		}
		return
	}
	for _, in := range *l.chain.Load() {
		if err := in.onEOF(); err != nil {
			return
		}
	}
	if c.ctx.Err() == nil {
		_ = dst.CloseWrite()
	}
}

// closeModeFor mirrors a reset seen on one side to the other side.
func closeModeFor(err error) CloseMode {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return CloseRST
	}
	return CloseFIN
}
