package sioserver

import (
	"hash/maphash"
	"regexp"
	"sync"
	"sync/atomic"

	"github.com/siospec/siospec/protocol/socketio"
)

// Middleware vets a socket before it joins its namespace. It runs on the
// session's transport goroutine, in registration order; returning an error
// refuses the connection with CONNECT_ERROR (see [ConnectError]). It may
// read s.Handshake() and set s.SetData but must not emit.
type Middleware func(s *Socket) error

// ConnectionHandler is called for every socket that joined a namespace,
// right after the CONNECT reply was queued (SIO-CONN-11).
type ConnectionHandler func(s *Socket)

// registry holds the namespaces of one server and the clients connected.
type registry struct {
	cfg config

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	parents []*ParentNamespace

	clients sync.Map // *client -> struct{}

	// bg counts the server's own goroutines; bgMu orders goBG's Add
	// against closeBG so that no Add races the final Wait.
	bgMu     sync.Mutex
	bgClosed bool
	bg       sync.WaitGroup
}

// goBG runs f on a goroutine that Server.Close waits for; once Close has
// started it runs f on the caller's goroutine instead.
func (r *registry) goBG(f func()) {
	r.bgMu.Lock()
	if r.bgClosed {
		r.bgMu.Unlock()
		f()
		return
	}
	r.bg.Add(1)
	r.bgMu.Unlock()
	go func() {
		defer r.bg.Done()
		f()
	}()
}

// closeBG stops goBG from starting goroutines and returns a channel closed
// once those started have returned.
func (r *registry) closeBG() <-chan struct{} {
	r.bgMu.Lock()
	r.bgClosed = true
	r.bgMu.Unlock()
	done := make(chan struct{})
	go func() { r.bg.Wait(); close(done) }()
	return done
}

func newRegistry(cfg config) *registry {
	r := &registry{cfg: cfg, nsps: make(map[string]*Namespace)}
	r.of("/")
	return r
}

// of returns the static namespace name, creating it.
func (r *registry) of(name string) *Namespace {
	if name == "" || name[0] != '/' {
		name = "/" + name
	}
	r.mu.RLock()
	n := r.nsps[name]
	r.mu.RUnlock()
	if n != nil {
		return n
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n = r.nsps[name]; n == nil {
		n = newNamespace(r, name, nil)
		r.nsps[name] = n
	}
	return n
}

// lookup returns the namespace a CONNECT for name joins: a static one, or a
// child of the first parent whose matcher accepts name and auth (Node's
// _checkNamespace order). nil means "Invalid namespace".
func (r *registry) lookup(name string, auth any) *Namespace {
	r.mu.RLock()
	n := r.nsps[name]
	parents := r.parents
	r.mu.RUnlock()
	if n != nil {
		return n
	}
	for _, p := range parents {
		if p.match(name, auth) {
			return p.child(name)
		}
	}
	return nil
}

func (r *registry) namespaces() []*Namespace {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Namespace, 0, len(r.nsps))
	for _, n := range r.nsps {
		out = append(out, n)
	}
	return out
}

// Namespace is a Socket.IO namespace: a communication channel multiplexed on
// the clients' sessions, with its own middlewares, handlers, sockets, rooms
// (through its [Adapter]) and ack id counter.
type Namespace struct {
	name    string
	reg     *registry
	parent  *ParentNamespace
	adapter Adapter
	csr     *recoveryStore
	enc     socketio.Encoder

	// ackIDs is the namespace's single ack id counter, shared by all its
	// sockets as in Node (SIO-ACK-07); the first id is 0.
	ackIDs atomic.Uint64

	mu          sync.RWMutex
	middlewares []Middleware
	handlers    []ConnectionHandler

	sockets socketMap
}

func newNamespace(r *registry, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{name: name, reg: r, parent: parent}
	n.sockets.init()
	newAdapter := r.cfg.newAdapter
	if newAdapter == nil {
		newAdapter = NewMemoryAdapter
	}
	n.adapter = newAdapter(nspHost{n})
	if r.cfg.recovery != nil {
		n.csr = newRecoveryStore(*r.cfg.recovery, r.cfg.clock)
	}
	if parent != nil {
		parent.mu.RLock()
		n.middlewares = append([]Middleware(nil), parent.middlewares...)
		n.handlers = append([]ConnectionHandler(nil), parent.handlers...)
		parent.mu.RUnlock()
	}
	return n
}

// Name returns the namespace name, such as "/" or "/admin".
func (n *Namespace) Name() string { return n.name }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use appends a middleware (Node's nsp.use).
func (n *Namespace) Use(m Middleware) *Namespace {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, m)
	n.mu.Unlock()
	return n
}

// OnConnection registers a handler for new sockets (Node's
// nsp.on("connection")).
func (n *Namespace) OnConnection(h ConnectionHandler) *Namespace {
	n.mu.Lock()
	n.handlers = append(n.handlers, h)
	n.mu.Unlock()
	return n
}

// Socket returns the connected socket with the given id.
func (n *Namespace) Socket(id string) (*Socket, bool) {
	s := n.sockets.get(id)
	return s, s != nil
}

// Sockets returns the sockets connected to this namespace on this node.
func (n *Namespace) Sockets() []*Socket { return n.sockets.all() }

// To returns a broadcast operator selecting the sockets in rooms.
func (n *Namespace) To(rooms ...string) *BroadcastOperator {
	return (&BroadcastOperator{nsp: n}).To(rooms...)
}

// Except returns a broadcast operator leaving out the sockets in rooms.
func (n *Namespace) Except(rooms ...string) *BroadcastOperator {
	return (&BroadcastOperator{nsp: n}).Except(rooms...)
}

// Volatile returns a broadcast operator whose packets may be dropped
// (NODE-VOL-01).
func (n *Namespace) Volatile() *BroadcastOperator {
	return (&BroadcastOperator{nsp: n}).Volatile()
}

// Emit sends event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return (&BroadcastOperator{nsp: n}).Emit(event, args...)
}

// DisconnectSockets disconnects every socket of the namespace (see
// [Socket.Disconnect]).
func (n *Namespace) DisconnectSockets(close bool) {
	(&BroadcastOperator{nsp: n}).DisconnectSockets(close)
}

func (n *Namespace) snapshot() ([]Middleware, []ConnectionHandler) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.middlewares, n.handlers
}

// nspHost is the AdapterHost of a namespace.
type nspHost struct{ n *Namespace }

func (h nspHost) Name() string { return h.n.name }

func (h nspHost) Deliver(id string, out *Outgoing, volatile bool) {
	s := h.n.sockets.get(id)
	if s == nil {
		return
	}
	if out.ack != nil && !out.ack.register(s) {
		return
	}
	if err := s.client.send(out.Frames, volatile); err != nil && out.ack != nil {
		out.ack.unregister(s)
	}
}

// ParentNamespace creates child namespaces on demand for names accepted by
// its matcher (Node's dynamic namespaces, SIO-NSP-09). Middlewares and
// connection handlers registered on the parent are copied into each child
// when it is created.
type ParentNamespace struct {
	reg   *registry
	match func(name string, auth any) bool

	mu          sync.RWMutex
	middlewares []Middleware
	handlers    []ConnectionHandler
	children    []*Namespace
}

func (r *registry) addParent(match func(name string, auth any) bool) *ParentNamespace {
	p := &ParentNamespace{reg: r, match: match}
	r.mu.Lock()
	r.parents = append(append([]*ParentNamespace(nil), r.parents...), p)
	r.mu.Unlock()
	return p
}

func regexpMatcher(re *regexp.Regexp) func(string, any) bool {
	return func(name string, _ any) bool { return re.MatchString(name) }
}

// Use appends a middleware for children created from now on.
func (p *ParentNamespace) Use(m Middleware) *ParentNamespace {
	p.mu.Lock()
	p.middlewares = append(p.middlewares, m)
	p.mu.Unlock()
	return p
}

// OnConnection registers a connection handler for children created from
// now on.
func (p *ParentNamespace) OnConnection(h ConnectionHandler) *ParentNamespace {
	p.mu.Lock()
	p.handlers = append(p.handlers, h)
	p.mu.Unlock()
	return p
}

// Children returns the child namespaces created so far.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return append([]*Namespace(nil), p.children...)
}

// Emit sends event to every socket of every child namespace.
func (p *ParentNamespace) Emit(event string, args ...any) error {
	for _, c := range p.Children() {
		if err := c.Emit(event, args...); err != nil {
			return err
		}
	}
	return nil
}

func (p *ParentNamespace) child(name string) *Namespace {
	r := p.reg
	r.mu.Lock()
	n := r.nsps[name]
	if n == nil {
		n = newNamespace(r, name, p)
		r.nsps[name] = n
		p.mu.Lock()
		p.children = append(p.children, n)
		p.mu.Unlock()
	}
	r.mu.Unlock()
	return n
}

// socketMap is a sharded id -> *Socket map.
type socketMap struct {
	seed   maphash.Seed
	shards [shardCount]struct {
		mu sync.RWMutex
		m  map[string]*Socket
	}
}

func (m *socketMap) init() {
	m.seed = maphash.MakeSeed()
	for i := range m.shards {
		m.shards[i].m = make(map[string]*Socket)
	}
}

func (m *socketMap) shard(id string) int { return int(maphash.String(m.seed, id) % shardCount) }

func (m *socketMap) get(id string) *Socket {
	sh := &m.shards[m.shard(id)]
	sh.mu.RLock()
	s := sh.m[id]
	sh.mu.RUnlock()
	return s
}

func (m *socketMap) set(s *Socket) {
	sh := &m.shards[m.shard(s.id)]
	sh.mu.Lock()
	sh.m[s.id] = s
	sh.mu.Unlock()
}

// del removes id only if it still maps to s.
func (m *socketMap) del(s *Socket) {
	sh := &m.shards[m.shard(s.id)]
	sh.mu.Lock()
	if sh.m[s.id] == s {
		delete(sh.m, s.id)
	}
	sh.mu.Unlock()
}

func (m *socketMap) all() []*Socket {
	var out []*Socket
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.RLock()
		for _, s := range sh.m {
			out = append(out, s)
		}
		sh.mu.RUnlock()
	}
	return out
}
