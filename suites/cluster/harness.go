package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
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

// Options configures a run. A nil *Options is not valid: URLs are needed.
type Options struct {
	// URLs are the nodes' base URLs (http://host:port), or one URL of a
	// load balancer in front of them. Clients are spread over them and
	// kept on distinct nodes by the node names of ext:cluster-info.
	URLs []string
	// Path is the Socket.IO path. Default "/socket.io/".
	Path string
	// Redis, when set, lets the CLU-FAULT specs stop and restart the
	// cluster's Redis; without it they are skipped.
	Redis RedisControl
	// Only, when not empty, runs only the specs whose requirement ID has
	// one of these prefixes ("CLU-BC", "CLU-LB-01").
	Only []string
	// DeliverBudget is how long a cross-node effect (a broadcast, a room
	// change, a disconnection) may take to show. Default 3s.
	DeliverBudget time.Duration
	// SpecTimeout bounds each spec. Default 15s.
	SpecTimeout time.Duration
	// Logger receives one line per spec. Default: discarded.
	Logger *slog.Logger
}

// Outcome of one spec.
type Outcome string

// Outcomes.
const (
	Pass    Outcome = "pass"
	Fail    Outcome = "fail"
	Skipped Outcome = "skipped"
	// HarnessError: the suite could not set the spec up (a client could
	// not connect, a fixture event went unanswered); never counted as a
	// conformance failure.
	HarnessError Outcome = "harness-error"
)

// Result is the verdict of one spec.
type Result struct {
	ID       string
	Level    framework.Level
	Text     string
	Outcome  Outcome
	Detail   string
	Duration time.Duration
}

// NodeInfo describes one node found by the preflight.
type NodeInfo struct {
	URL     string
	Name    string
	Servers int
}

// Report is the outcome of a run.
type Report struct {
	Nodes   []NodeInfo
	Results []Result
}

// Failed returns the number of failed specs.
func (r *Report) Failed() int {
	n := 0
	for _, x := range r.Results {
		if x.Outcome == Fail {
			n++
		}
	}
	return n
}

// HarnessErrors returns the number of specs that ended in a harness error.
func (r *Report) HarnessErrors() int {
	n := 0
	for _, x := range r.Results {
		if x.Outcome == HarnessError {
			n++
		}
	}
	return n
}

// FailedIDs returns the requirement IDs of the failed specs, sorted.
func (r *Report) FailedIDs() []string {
	var out []string
	for _, x := range r.Results {
		if x.Outcome == Fail {
			out = append(out, x.ID)
		}
	}
	slices.Sort(out)
	return out
}

// PreflightError: the URLs do not make a cluster the suite can test (a
// node is unreachable, lacks the extended contract, or is alone).
type PreflightError struct {
	URL    string
	Reason string
}

func (e *PreflightError) Error() string {
	return fmt.Sprintf("cluster preflight: %s: %s", e.URL, e.Reason)
}

// ErrNoURLs: Options.URLs is empty.
var ErrNoURLs = errors.New("cluster: no node URLs")

type harness struct {
	o       Options
	log     *slog.Logger
	deliver time.Duration
	nodes   []NodeInfo
	seq     int
	// open clients of the running spec, closed after it
	mu      sync.Mutex
	clients []*client
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

// waitFor polls cond (under the client's lock) until it holds or ctx ends.
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

// waitEvent waits for an event named name.
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

// call emits event with an ack request and returns the first ack argument
// decoded into v (when v is not nil).
func (c *client) call(ctx context.Context, d time.Duration, v any, event string, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	msg, err := c.s.EmitWithAck(ctx, event, args...)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", event, c.node, err)
	}
	if v != nil {
		if msg.Len() == 0 {
			return fmt.Errorf("%s on %s: empty ack", event, c.node)
		}
		if err := msg.Unmarshal(0, v); err != nil {
			return fmt.Errorf("%s on %s: ack %s: %w", event, c.node, msg, err)
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
	m, err := sioclient.NewManager(base, &sioclient.ManagerOptions{Path: h.o.Path, Engine: eo, NoReconnection: true, Timeout: 5 * time.Second})
	if err != nil {
		return nil, err
	}
	c := &client{m: m, url: base, changed: make(chan struct{})}
	c.s = m.Socket("/", nil)
	c.s.OnAny(func(name string, msg sioclient.Message, ack sioclient.AckFunc) {
		if ack != nil {
			// ext:broadcast-ack probes: answer with this socket's id.
			_ = ack(c.id)
		}
		c.note(func() { c.events = append(c.events, event{name, msg}) })
	})
	c.s.OnDisconnect(func(reason string, _ error) {
		c.note(func() { c.disconnects = append(c.disconnects, reason) })
	})
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.s.Connect(cctx); err != nil {
		_ = m.Close()
		return nil, fmt.Errorf("connect %s: %w", base, err)
	}
	c.id = c.s.ID()
	var info struct {
		Node    string `json:"node"`
		Servers int    `json:"servers"`
	}
	if err := c.call(ctx, 3*time.Second, &info, "ext:cluster-info"); err != nil {
		_ = m.Close()
		return nil, err
	}
	c.node = info.Node
	h.mu.Lock()
	h.clients = append(h.clients, c)
	h.mu.Unlock()
	return c, nil
}

// onNodes returns k clients on k distinct nodes (fewer when the cluster
// has fewer nodes reachable through the URLs).
func (h *harness) onNodes(ctx context.Context, k int) ([]*client, error) {
	var out []*client
	seen := map[string]bool{}
	for i := 0; len(out) < k && i < 4*k+len(h.o.URLs); i++ {
		c, err := h.dial(ctx, h.o.URLs[i%len(h.o.URLs)], nil)
		if err != nil {
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

// token returns a name unique to this run's spec, for rooms and events.
func (h *harness) token(id string) string {
	h.seq++
	return fmt.Sprintf("%s-%d-%d", strings.ToLower(id), time.Now().UnixNano()%1e6, h.seq)
}

// preflight checks every URL: it connects, speaks the extended contract,
// and its node sees at least two servers.
func (h *harness) preflight(ctx context.Context) error {
	names := map[string]bool{}
	for _, u := range h.o.URLs {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return &PreflightError{URL: u, Reason: "not an http(s) URL"}
		}
		c, err := h.dial(ctx, u, nil)
		if err != nil {
			return &PreflightError{URL: u, Reason: err.Error()}
		}
		var hello struct {
			Extended int `json:"extended"`
		}
		if err := c.call(ctx, 2*time.Second, &hello, "ext:hello"); err != nil || hello.Extended != 1 {
			return &PreflightError{URL: u, Reason: "no extended contract (ext:hello unanswered)"}
		}
		var info struct {
			Node    string `json:"node"`
			Servers int    `json:"servers"`
		}
		if err := c.call(ctx, 3*time.Second, &info, "ext:cluster-info"); err != nil {
			return &PreflightError{URL: u, Reason: "no cluster contract (ext:cluster-info unanswered)"}
		}
		if info.Servers < 2 {
			return &PreflightError{URL: u, Reason: fmt.Sprintf("node %q sees %d server(s) on its adapter: not a cluster", info.Node, info.Servers)}
		}
		names[info.Node] = true
		h.nodes = append(h.nodes, NodeInfo{URL: u, Name: info.Node, Servers: info.Servers})
	}
	h.closeClients()
	if len(h.o.URLs) > 1 && len(names) < 2 {
		return &PreflightError{URL: strings.Join(h.o.URLs, ","), Reason: "every URL reached the same node"}
	}
	return nil
}

// Run runs the cluster specs against o.URLs, one after another, and
// returns their verdicts. The error is a harness problem (no URLs, a
// *PreflightError), never a conformance failure.
func Run(ctx context.Context, o *Options) (*Report, error) {
	if o == nil || len(o.URLs) == 0 {
		return nil, ErrNoURLs
	}
	h := &harness{o: *o}
	if h.o.Path == "" {
		h.o.Path = framework.DefaultSIOPath
	}
	if h.o.SpecTimeout <= 0 {
		h.o.SpecTimeout = 15 * time.Second
	}
	h.deliver = h.o.DeliverBudget
	if h.deliver <= 0 {
		h.deliver = defaultDeliverBudget
	}
	h.log = h.o.Logger
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	err := h.preflight(pctx)
	cancel()
	if err != nil {
		h.closeClients()
		return nil, err
	}
	rep := &Report{Nodes: h.nodes}
	reqs := map[string]framework.Requirement{}
	for _, r := range framework.ClusterRequirements() {
		reqs[r.ID] = r
	}
	for _, sp := range specs() {
		if !h.selected(sp.ids) {
			continue
		}
		start := time.Now()
		sctx, cancel := context.WithTimeout(ctx, h.o.SpecTimeout)
		verdicts := sp.run(sctx, h)
		cancel()
		h.closeClients()
		d := time.Since(start)
		for _, id := range sp.ids {
			v := verdicts[id]
			r := reqs[id]
			res := Result{ID: id, Level: r.Level, Text: r.Summary, Outcome: v.outcome, Detail: v.detail, Duration: d}
			if res.Outcome == "" {
				res.Outcome, res.Detail = Fail, "the spec gave no verdict"
			}
			h.log.Info("cluster spec", "req", id, "outcome", res.Outcome, "detail", res.Detail)
			rep.Results = append(rep.Results, res)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return rep, nil
}

func (h *harness) selected(ids []string) bool {
	if len(h.o.Only) == 0 {
		return true
	}
	for _, id := range ids {
		for _, p := range h.o.Only {
			if strings.HasPrefix(id, p) {
				return true
			}
		}
	}
	return false
}

// verdict is one requirement's outcome within a spec.
type verdict struct {
	outcome Outcome
	detail  string
}

type verdicts map[string]verdict

func pass(detail string) verdict           { return verdict{Pass, detail} }
func fail(format string, a ...any) verdict { return verdict{Fail, fmt.Sprintf(format, a...)} }
func skip(reason string) verdict           { return verdict{Skipped, reason} }
func one(id string, v verdict) verdicts    { return verdicts{id: v} }
func harnessFail(id string, err error) verdicts {
	return one(id, verdict{HarnessError, err.Error()})
}
