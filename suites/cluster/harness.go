package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/siospec/siospec/reference/eioclient"
	"github.com/siospec/siospec/reference/sioclient"
	"github.com/siospec/siospec/suites/framework"
)

// RedisControl stops and starts the Redis of the cluster under test, for
// the CLU-FAULT specs. Stop must return once Redis is down and Start once
// it accepts connections again, on the same address.
type RedisControl interface {
	Stop(ctx context.Context) error
	Start(ctx context.Context) error
}

// Config is the cluster suite's target: the nodes, and what siospec
// controls of them. Register reads it when the specs run, so a runner may
// fill it (Preflight) after the tree is built.
type Config struct {
	// URLs are the nodes' base URLs (http://host:port), or one URL of a
	// load balancer in front of them. Clients are spread over them and
	// kept on distinct nodes by the node names of ext:cluster-info.
	URLs []string
	// Path is the Socket.IO path. Default framework.DefaultSIOPath.
	Path string
	// Redis, when set, lets the CLU-FAULT specs stop and restart the
	// cluster's Redis; without it they are unsupported, with NoRedisWhy
	// (or a default reason) in the report.
	Redis RedisControl
	// NoRedisWhy says why Redis is nil, for the report.
	NoRedisWhy string
	// Nodes is what Preflight found, one entry per URL.
	Nodes []NodeInfo
}

func (c *Config) path() string {
	if c.Path == "" {
		return framework.DefaultSIOPath
	}
	return c.Path
}

// NodeInfo describes one node found by the preflight.
type NodeInfo struct {
	URL     string
	Name    string
	Servers int
}

// answeredPreflight reports whether the node at u passed Preflight.
func (c *Config) answeredPreflight(u string) bool {
	for _, n := range c.Nodes {
		if n.URL == u {
			return true
		}
	}
	return false
}

// NodeGoneError: a node that passed the preflight refuses connections now
// (it crashed or stopped). That is the cluster's failure, not the
// harness's.
type NodeGoneError struct {
	URL string
	Err error
}

func (e *NodeGoneError) Error() string {
	return fmt.Sprintf("the node at %s answered the preflight but refuses connections now (crashed?): %v", e.URL, e.Err)
}

// Unwrap returns the dial error.
func (e *NodeGoneError) Unwrap() error { return e.Err }

// ErrNoURLs: Config.URLs is empty.
var ErrNoURLs = errors.New("cluster: no node URLs")

// harness is the state of one running spec: its clients and its budgets.
type harness struct {
	c   *Config
	e   *framework.Env
	seq atomic.Int64
	// deliver bounds a cross-node effect (a broadcast, a room change, a
	// disconnection); quiet is how long a socket that must not get a
	// broadcast is watched; call bounds one fixture call (ext:*).
	deliver framework.Window
	quiet   time.Duration
	call    time.Duration

	mu      sync.Mutex
	clients []*client
}

// adapterRequestTimeout is @socket.io/redis-adapter 8.3.0's default
// requestsTimeout: serverSideEmitWithAck and fetchSockets answer within it
// even when a node is silent.
const adapterRequestTimeout = 5 * time.Second

// newHarness derives the spec's budgets from the cluster's advertised
// heartbeat (e.Timing: the largest pingInterval and pingTimeout the nodes
// advertised, times --time-scale): a cross-node effect must show within
// one pingInterval plus grace (Node's cluster delivers through Redis in
// well under a millisecond; a node that holds a cross-node message for a
// whole heartbeat interval is not delivering it).
func newHarness(e *framework.Env, c *Config) *harness {
	tm := e.Timing
	return &harness{
		c:       c,
		e:       e,
		deliver: tm.Within(tm.PingInterval, "cross-node delivery within pingInterval"),
		quiet:   tm.Within(tm.PingInterval/4, "quiet window pingInterval/4").Max,
		call:    tm.Scaled(tm.PingInterval+tm.PingTimeout) + adapterRequestTimeout,
	}
}

// event is one event a client received.
type event struct {
	name string
	msg  sioclient.Message
}

// client is one Socket.IO client of a spec, connected to namespace "/".
type client struct {
	m    *sioclient.Manager
	s    *sioclient.Socket
	rec  *framework.Recorder
	conn int
	id   string
	node string
	url  string

	mu          sync.Mutex
	events      []event
	disconnects []string
	changed     chan struct{}
}

func (c *client) note(f func()) {
	c.mu.Lock()
	f()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// waitFor waits until cond (under the client's lock) holds or ctx ends.
func (c *client) waitFor(ctx context.Context, cond func() bool) bool {
	for {
		c.mu.Lock()
		ok := cond()
		ch := c.changed
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// got returns the events named name received so far.
func (c *client) got(name string) []event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []event
	for _, e := range c.events {
		if e.name == name {
			out = append(out, e)
		}
	}
	return out
}

// waitEvent waits up to d for an event named name.
func (c *client) waitEvent(ctx context.Context, name string, d time.Duration) (event, bool) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var out event
	ok := c.waitFor(ctx, func() bool {
		for _, e := range c.events {
			if e.name == name {
				out = e
				return true
			}
		}
		return false
	})
	return out, ok
}

// emitted records an emit in the transcript.
func (c *client) emitted(event string, args []any) {
	c.rec.Add(c.conn, framework.DirC2S, framework.KindNote, fmt.Sprintf("emit %q %v (node %s)", event, args, c.node), nil)
}

// call emits event with an ack request and decodes the first ack argument
// into v (when v is not nil).
func (c *client) call(ctx context.Context, d time.Duration, v any, event string, args ...any) error {
	c.mu.Lock()
	gone := len(c.disconnects) > 0
	c.mu.Unlock()
	if gone {
		return fmt.Errorf("%s on node %s: the socket was disconnected", event, c.node)
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { // a disconnection ends the wait for the ack
		if c.waitFor(ctx, func() bool { return len(c.disconnects) > 0 }) {
			stop()
		}
	}()
	c.emitted(event, args)
	msg, err := c.s.EmitWithAck(ctx, event, args...)
	if err != nil {
		c.rec.Add(c.conn, framework.DirLocal, framework.KindNote, fmt.Sprintf("no ack for %q within %v: %v", event, d, err), nil)
		return fmt.Errorf("%s on node %s: %w", event, c.node, err)
	}
	c.rec.Add(c.conn, framework.DirS2C, framework.KindNote, fmt.Sprintf("ack of %q: %s", event, msg), nil)
	if v != nil {
		if msg.Len() == 0 {
			return fmt.Errorf("%s on node %s: empty ack", event, c.node)
		}
		if err := msg.Unmarshal(0, v); err != nil {
			return fmt.Errorf("%s on node %s: ack %s: %w", event, c.node, msg, err)
		}
	}
	return nil
}

func (c *client) close() { _ = c.m.Close() }

// dialOptions tunes how a client connects.
type dialOptions struct {
	transports []string
	httpClient *http.Client
}

// dial connects a client to base (no reconnection) and asks its node.
func (h *harness) dial(ctx context.Context, base string, do *dialOptions) (*client, error) {
	eo := &eioclient.Options{Transports: []string{"websocket"}, RequestTimeout: 5 * time.Second}
	if do != nil {
		if do.transports != nil {
			eo.Transports = do.transports
		}
		eo.HTTPClient = do.httpClient
	}
	m, err := sioclient.NewManager(base, &sioclient.ManagerOptions{Path: h.c.path(), Engine: eo, NoReconnection: true, Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	c := &client{m: m, url: base, rec: h.e.Rec, conn: h.e.Rec.NewConn(), changed: make(chan struct{})}
	c.s = m.Socket("/", nil)
	c.s.OnAny(func(name string, msg sioclient.Message, ack sioclient.AckFunc) {
		c.rec.Add(c.conn, framework.DirS2C, framework.KindNote, fmt.Sprintf("event %q %s", name, msg), nil)
		if ack != nil {
			// ext:broadcast-ack probes: answer with this socket's id.
			_ = ack(c.id)
		}
		c.note(func() { c.events = append(c.events, event{name, msg}) })
	})
	c.s.OnDisconnect(func(reason string, _ error) {
		c.rec.Add(c.conn, framework.DirLocal, framework.KindNote, "disconnected: "+reason, nil)
		c.note(func() { c.disconnects = append(c.disconnects, reason) })
	})
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c.rec.Add(c.conn, framework.DirLocal, framework.KindNote, fmt.Sprintf("connect %s%s over %v", base, h.c.path(), eo.Transports), nil)
	if err := c.s.Connect(cctx); err != nil {
		_ = m.Close()
		return nil, fmt.Errorf("connect %s: %w", base, err)
	}
	c.id = c.s.ID()
	var info struct {
		Node    string `json:"node"`
		Servers int    `json:"servers"`
	}
	if err := c.call(ctx, h.call, &info, "ext:cluster-info"); err != nil {
		_ = m.Close()
		return nil, err
	}
	c.node = info.Node
	c.rec.Add(c.conn, framework.DirLocal, framework.KindNote, fmt.Sprintf("socket %s on node %s", c.id, c.node), nil)
	h.mu.Lock()
	h.clients = append(h.clients, c)
	h.mu.Unlock()
	return c, nil
}

// onNodes returns k clients on k distinct nodes (fewer when the cluster
// has fewer nodes reachable through the URLs, but at least two).
func (h *harness) onNodes(ctx context.Context, k int) ([]*client, error) {
	var out []*client
	seen := map[string]bool{}
	urls := h.c.URLs
	for i := 0; len(out) < k && i < 4*k+len(urls); i++ {
		u := urls[i%len(urls)]
		c, err := h.dial(ctx, u, nil)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) && h.c.answeredPreflight(u) {
				return nil, &NodeGoneError{URL: u, Err: err}
			}
			return nil, err
		}
		if seen[c.node] {
			c.close()
			continue
		}
		seen[c.node] = true
		out = append(out, c)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("clients reached %d node(s), need 2", len(out))
	}
	return out, nil
}

func (h *harness) closeClients() {
	h.mu.Lock()
	cs := h.clients
	h.clients = nil
	h.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
}

// token returns a name unique to this spec, for rooms and events.
func (h *harness) token(what string) string {
	return fmt.Sprintf("%s-%d-%d", what, time.Now().UnixNano()%1e9, h.seq.Add(1))
}

// Preflight checks every node URL of c: it answers the Engine.IO v4
// handshake at c.Path (framework.Preflight, which gives the advertised
// heartbeat), connects to "/", speaks the extended contract and its
// cluster part, and its node sees at least two servers. It fills c.Nodes
// and returns the per-suite configuration of the specs: base with the first
// URL, c's path and a Target whose pingInterval and pingTimeout are the
// largest the nodes advertised. Errors are *framework.PreflightError
// (suite "cluster").
func Preflight(ctx context.Context, c *Config, base *framework.Config) (*framework.Config, error) {
	if c == nil || len(c.URLs) == 0 {
		return nil, &framework.PreflightError{Suite: "cluster", Err: ErrNoURLs}
	}
	perr := func(u string, err error, hint string) error {
		return &framework.PreflightError{Suite: "cluster", Tried: u, Err: err, Hint: hint}
	}
	out := *base
	out.Suites = []framework.Proto{framework.CLUSTER}
	out.Targets = nil
	out.URL, out.EIOURL, out.SIOURL = c.URLs[0], "", ""
	out.Path, out.EIO = c.path(), 4
	var tgt *framework.Target
	for _, u := range c.URLs {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, perr(u, errors.New("not an absolute http(s) URL"), "")
		}
		nc := out
		nc.URL = u
		t, err := framework.Preflight(ctx, &nc)
		if err != nil {
			return nil, err
		}
		if tgt == nil {
			tgt = t
		}
		tgt.PingInterval = max(tgt.PingInterval, t.PingInterval)
		tgt.PingTimeout = max(tgt.PingTimeout, t.PingTimeout)
	}
	tgt.Extended = framework.ExtendedYes
	out.Target = tgt
	e := framework.NewEnv(&out, framework.NewRecorder(), nil, out.Timing())
	h := newHarness(e, c)
	defer h.closeClients()
	hint := "each node must serve the extended fixture contract with its cluster part (testees/node/CONTRACT.md): node testees/node/fixtures/cluster.js --redis URL, or siospec serve --fixture sio5 --adapter URL"
	names := map[string]bool{}
	var nodes []NodeInfo
	for _, u := range c.URLs {
		cl, err := h.dial(ctx, u, nil)
		if err != nil {
			return nil, perr(u, err, hint)
		}
		var hello struct {
			Extended int `json:"extended"`
		}
		if err := cl.call(ctx, 2*time.Second, &hello, "ext:hello"); err != nil || hello.Extended != 1 {
			return nil, perr(u, errors.New("no extended contract (ext:hello unanswered)"), hint)
		}
		var info struct {
			Node    string `json:"node"`
			Servers int    `json:"servers"`
		}
		if err := cl.call(ctx, h.call, &info, "ext:cluster-info"); err != nil {
			return nil, perr(u, errors.New("no cluster contract (ext:cluster-info unanswered)"), hint)
		}
		if info.Servers < 2 {
			return nil, perr(u, fmt.Errorf("node %q sees %d server(s) on its adapter: not a cluster", info.Node, info.Servers), hint)
		}
		names[info.Node] = true
		nodes = append(nodes, NodeInfo{URL: u, Name: info.Node, Servers: info.Servers})
	}
	if len(c.URLs) > 1 && len(names) < 2 {
		return nil, perr(strings.Join(c.URLs, ","), errors.New("every URL reached the same node"), "give one URL per node, or one balancer URL")
	}
	c.Nodes = nodes
	return &out, nil
}
