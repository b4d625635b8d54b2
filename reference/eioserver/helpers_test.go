package eioserver

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// Fixture timings (testees/node/CONTRACT.md).
const (
	testPingInterval = 300 * time.Millisecond
	testPingTimeout  = 200 * time.Millisecond
	// waitBudget bounds every wait in these tests.
	waitBudget = 5 * time.Second
)

// fakeClock is a manual Clock: timers fire only inside Advance, on the
// caller's goroutine, in deadline order (then creation order).
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	seq  uint64
	heap timerHeap
}

type fakeTimer struct {
	c      *fakeClock
	when   time.Time
	seq    uint64
	f      func()
	active bool
	index  int // position in the heap, -1 when not in it
}

type timerHeap []*fakeTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*fakeTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, f: f, index: -1}
	c.armLocked(t, d)
	return t
}

func (c *fakeClock) armLocked(t *fakeTimer, d time.Duration) {
	c.seq++
	t.when, t.seq, t.active = c.now.Add(d), c.seq, true
	if t.index >= 0 {
		heap.Fix(&c.heap, t.index)
	} else {
		heap.Push(&c.heap, t)
	}
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	if t.index >= 0 {
		heap.Remove(&t.c.heap, t.index)
	}
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.c.armLocked(t, d)
	return was
}

// Advance moves time forward by d, firing due timers in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for i := 0; i < 1_000_000; i++ {
		c.mu.Lock()
		if len(c.heap) == 0 || c.heap[0].when.After(target) {
			c.now = target
			c.mu.Unlock()
			return
		}
		t := heap.Pop(&c.heap).(*fakeTimer)
		t.active = false
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.mu.Unlock()
		t.f()
	}
	panic("fakeClock: too many timers")
}

// env is one server under test, listening on 127.0.0.1, plus a client
// without compression or connection reuse surprises.
type env struct {
	t        *testing.T
	srv      *Server
	ts       *httptest.Server
	client   *http.Client
	base     string // http://127.0.0.1:port/engine.io/
	sessions chan *Session
	closes   chan closeEvent
}

type closeEvent struct {
	sid    string
	reason string
	err    error
}

// echo makes a server answer every message with itself.
func echo(s *Session) {
	s.OnMessage(func(p engineio.Packet) { _ = s.Send(p) })
}

// fixtureTimings returns o with the fixture's heartbeat timings (300/200).
func fixtureTimings(o Options) *Options {
	o.PingInterval, o.PingTimeout = testPingInterval, testPingTimeout
	return &o
}

// newEnv starts a server with opts (timings default to 10 s / 5 s),
// echoing unless opts.OnSession is set; every session is reported on
// e.sessions and every close on e.closes.
func newEnv(t *testing.T, opts *Options) *env {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	// Long timings unless a test asks for the fixture's: a ping falling
	// into a slow test's request sequence would change its answers.
	if o.PingInterval == 0 {
		o.PingInterval = 10 * time.Second
	}
	if o.PingTimeout == 0 {
		o.PingTimeout = 5 * time.Second
	}
	e := &env{t: t, sessions: make(chan *Session, 1000), closes: make(chan closeEvent, 1000)}
	user := o.OnSession
	o.OnSession = func(s *Session) {
		// Set first: a test's own OnSession may replace it.
		s.OnClose(func(reason string, err error) {
			select {
			case e.closes <- closeEvent{s.ID(), reason, err}:
			default:
			}
		})
		if user != nil {
			user(s)
		} else {
			echo(s)
		}
		select {
		case e.sessions <- s:
		default:
		}
	}
	e.srv = NewServer(&o)
	e.ts = httptest.NewServer(e.srv)
	tr := &http.Transport{DisableCompression: true}
	e.client = &http.Client{Transport: tr, Timeout: waitBudget}
	e.base = e.ts.URL + e.srv.opts.Path
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
		defer cancel()
		if err := e.srv.Close(ctx); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
		e.ts.Close()
		tr.CloseIdleConnections()
	})
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string { return http.StatusText(r.status) + " " + string(r.body) }

// do sends one raw HTTP request; err is a transport-level failure.
func (e *env) do(ctx context.Context, method, query string, body []byte, header http.Header) (resp, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+"?"+query, rd)
	if err != nil {
		return resp{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	r, err := e.client.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return resp{}, err
	}
	return resp{status: r.StatusCode, header: r.Header, body: b}, nil
}

func (e *env) mustDo(method, query string, body []byte, header http.Header) resp {
	e.t.Helper()
	r, err := e.do(context.Background(), method, query, body, header)
	if err != nil {
		e.t.Fatalf("%s ?%s: %v", method, query, err)
	}
	return r
}

func (e *env) get(query string) resp { e.t.Helper(); return e.mustDo("GET", query, nil, nil) }

func (e *env) post(query, body string) resp {
	e.t.Helper()
	return e.mustDo("POST", query, []byte(body), http.Header{"Content-Type": {"text/plain;charset=UTF-8"}})
}

// handshake opens a polling session and returns its open packet and the
// server-side session.
func (e *env) handshake(query string) (engineio.OpenPacket, *Session) {
	e.t.Helper()
	r := e.get(query)
	if r.status != 200 {
		e.t.Fatalf("handshake ?%s: %v", query, r)
	}
	var open []byte
	if strings.HasPrefix(query, "EIO=4") {
		if len(r.body) == 0 || r.body[0] != '0' {
			e.t.Fatalf("handshake body %q", r.body)
		}
		open = r.body[1:]
	} else {
		pkts, err := engineio.DecodePayload(engineio.V3, false, r.body)
		if err != nil || len(pkts) != 1 || pkts[0].Type != engineio.Open {
			e.t.Fatalf("v3 handshake body %q: %v", r.body, err)
		}
		open = pkts[0].Data
	}
	op, err := engineio.ParseOpen(open)
	if err != nil {
		e.t.Fatalf("open packet %q: %v", open, err)
	}
	return op, e.session(op.SID)
}

// session waits for the server-side session with this id.
func (e *env) session(sid string) *Session {
	e.t.Helper()
	deadline := time.After(waitBudget)
	for {
		select {
		case s := <-e.sessions:
			if s.ID() == sid {
				return s
			}
		case <-deadline:
			e.t.Fatalf("no server session %s", sid)
			return nil
		}
	}
}

// waitClosed waits for the close of session s and returns its reason.
func (e *env) waitClosed(s *Session) closeEvent {
	e.t.Helper()
	select {
	case <-s.Done():
	case <-time.After(waitBudget):
		e.t.Fatalf("session %s not closed", s.ID())
	}
	deadline := time.After(waitBudget)
	for {
		select {
		case ev := <-e.closes:
			if ev.sid == s.ID() {
				return ev
			}
		case <-deadline:
			e.t.Fatalf("no close event for %s", s.ID())
		}
	}
}

// waitParked waits until a GET of session s is parked on the server. There
// is no event for it, so this polls with a bound.
func waitParked(t *testing.T, s *Session) {
	t.Helper()
	for i := 0; i < 5000; i++ {
		s.mu.Lock()
		pt, ok := s.transport.(*pollingTransport)
		parked := ok && pt.isWritable && pt.get != nil
		s.mu.Unlock()
		if parked {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("GET of %s never parked", s.ID())
}

// asyncGet issues a GET in the background.
func (e *env) asyncGet(ctx context.Context, query string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		r, err := e.do(ctx, "GET", query, nil, nil)
		ch <- result{r, err}
	}()
	return ch
}

type result struct {
	resp
	err error
}

func recv(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitBudget):
		t.Fatal("request did not complete")
		return result{}
	}
}

func wantStatus(t *testing.T, r resp, status int, body string) {
	t.Helper()
	if r.status != status || string(r.body) != body {
		t.Fatalf("got %d %q, want %d %q", r.status, r.body, status, body)
	}
}

func wantError(t *testing.T, r resp, status int, code engineio.ErrorCode) {
	t.Helper()
	want := engineio.NewHTTPError(code).AppendJSON(nil)
	if r.status != status || !bytes.Equal(r.body, want) {
		t.Fatalf("got %d %q, want %d %q", r.status, r.body, status, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
}

func wantKeys(t *testing.T, data []byte, keys ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(keys)
	if strings.Join(got, ",") != strings.Join(keys, ",") {
		t.Fatalf("keys %v, want %v", got, keys)
	}
}

// ws is a raw WebSocket peer.
type ws struct {
	t    *testing.T
	conn *websocket.Conn
	resp *http.Response
}

func (e *env) dialWS(query string) (*ws, error) {
	u := "ws" + strings.TrimPrefix(e.base, "http") + "?" + query
	d := websocket.Dialer{HandshakeTimeout: waitBudget}
	conn, r, err := d.Dial(u, nil)
	if err != nil {
		return &ws{t: e.t, resp: r}, err
	}
	c := &ws{t: e.t, conn: conn, resp: r}
	e.t.Cleanup(func() { _ = conn.Close() })
	return c, nil
}

func (e *env) mustWS(query string) *ws {
	e.t.Helper()
	c, err := e.dialWS(query)
	if err != nil {
		e.t.Fatalf("dial ?%s: %v", query, err)
	}
	return c
}

func (c *ws) sendText(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

func (c *ws) sendBinary(b []byte) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		c.t.Fatalf("write binary: %v", err)
	}
}

// read returns the next message, or the error that ended the connection.
func (c *ws) read() (int, []byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(waitBudget))
	return c.conn.ReadMessage()
}

func (c *ws) wantText(want string) {
	c.t.Helper()
	mt, b, err := c.read()
	if err != nil || mt != websocket.TextMessage || string(b) != want {
		c.t.Fatalf("got %d %q %v, want text %q", mt, b, err, want)
	}
}

// wantClosed reads until the connection ends and returns the close error.
func (c *ws) wantClosed() error {
	c.t.Helper()
	for i := 0; i < 1000; i++ {
		mt, b, err := c.read()
		if err != nil {
			var ne interface{ Timeout() bool }
			if asTimeout(err, &ne) {
				c.t.Fatalf("connection not closed: %v", err)
			}
			return err
		}
		_ = mt
		_ = b
	}
	c.t.Fatal("connection not closed")
	return nil
}

// open reads the open packet of a WebSocket session.
func (c *ws) open() engineio.OpenPacket {
	c.t.Helper()
	mt, b, err := c.read()
	if err != nil || mt != websocket.TextMessage || len(b) == 0 || b[0] != '0' {
		c.t.Fatalf("open packet: %d %q %v", mt, b, err)
	}
	op, err := engineio.ParseOpen(b[1:])
	if err != nil {
		c.t.Fatal(err)
	}
	return op
}

func asTimeout(err error, target *interface{ Timeout() bool }) bool {
	for e := err; e != nil; {
		if te, ok := e.(interface{ Timeout() bool }); ok && te.Timeout() {
			*target = te
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}
