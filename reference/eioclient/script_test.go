package eioclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
)

// This file is the scripted raw server of the unit tests: an httptest
// server on 127.0.0.1 that hands every request to the test, which answers
// with the bytes it chooses.

const wait = 5 * time.Second // bound on every scripted wait

// pollReq is one polling request waiting for the test's answer.
type pollReq struct {
	Method string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Ctx is the request's context: done once the client gave up on it.
	Ctx   context.Context
	reply chan pollReply
}

type pollReply struct {
	status int
	ctype  string
	body   []byte
	raw    []byte // hijack, write these bytes, close
}

func (r *pollReq) respond(status int, body string) {
	r.reply <- pollReply{status: status, body: []byte(body)}
}
func (r *pollReq) ok(body string) { r.respond(http.StatusOK, body) }

// okPackets answers with a v4 payload of the given packet texts.
func (r *pollReq) okPackets(pkts ...string) {
	r.ok(strings.Join(pkts, "\x1e"))
}
func (r *pollReq) rawReply(b string) { r.reply <- pollReply{raw: []byte(b)} }

// wsReq is one WebSocket handshake waiting for the test's decision.
type wsReq struct {
	Query  url.Values
	Header http.Header
	decide chan func(http.ResponseWriter, *http.Request)
}

type scriptServer struct {
	t     *testing.T
	srv   *httptest.Server
	reqs  chan *pollReq
	wss   chan *wsReq
	stop  chan struct{}
	once  sync.Once
	stash []*pollReq

	mu       sync.Mutex
	conns    []*websocket.Conn
	inflight map[string]int
	maxIn    map[string]int
}

func newScriptServer(t *testing.T) *scriptServer {
	s := &scriptServer{
		t:        t,
		reqs:     make(chan *pollReq),
		wss:      make(chan *wsReq),
		stop:     make(chan struct{}),
		inflight: map[string]int{},
		maxIn:    map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		s.shutdown()
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			_ = c.Close()
		}
	})
	return s
}

// shutdown makes every pending and later request fail fast (503).
func (s *scriptServer) shutdown() { s.once.Do(func() { close(s.stop) }) }

func (s *scriptServer) URL() string { return s.srv.URL }

func (s *scriptServer) serve(w http.ResponseWriter, r *http.Request) {
	if websocket.IsWebSocketUpgrade(r) {
		wr := &wsReq{Query: r.URL.Query(), Header: r.Header.Clone(), decide: make(chan func(http.ResponseWriter, *http.Request), 1)}
		select {
		case s.wss <- wr:
		case <-s.stop:
			http.Error(w, "stopped", http.StatusServiceUnavailable)
			return
		}
		select {
		case f := <-wr.decide:
			f(w, r)
		case <-s.stop:
			http.Error(w, "stopped", http.StatusServiceUnavailable)
		case <-r.Context().Done():
		}
		return
	}
	body, _ := io.ReadAll(r.Body)
	pr := &pollReq{Method: r.Method, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body, Ctx: r.Context(), reply: make(chan pollReply, 1)}
	s.mu.Lock()
	s.inflight[r.Method]++
	if s.inflight[r.Method] > s.maxIn[r.Method] {
		s.maxIn[r.Method] = s.inflight[r.Method]
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight[r.Method]--
		s.mu.Unlock()
	}()
	select {
	case s.reqs <- pr:
	case <-s.stop:
		http.Error(w, "stopped", http.StatusServiceUnavailable)
		return
	}
	select {
	case rep := <-pr.reply:
		if rep.raw != nil {
			hj, _ := w.(http.Hijacker)
			conn, bw, err := hj.Hijack()
			if err != nil {
				return
			}
			_, _ = bw.Write(rep.raw)
			_ = bw.Flush()
			_ = conn.Close()
			return
		}
		ct := rep.ctype
		if ct == "" {
			ct = "text/plain; charset=UTF-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(rep.status)
		_, _ = w.Write(rep.body)
	case <-s.stop:
		http.Error(w, "stopped", http.StatusServiceUnavailable)
	case <-r.Context().Done():
	}
}

// maxInflight returns the largest number of concurrent requests seen.
func (s *scriptServer) maxInflight(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxIn[method]
}

// take returns the next request matching method ("" = any), keeping the
// others for later takes.
func (s *scriptServer) take(method string) *pollReq {
	s.t.Helper()
	for i, r := range s.stash {
		if method == "" || r.Method == method {
			s.stash = append(s.stash[:i], s.stash[i+1:]...)
			return r
		}
	}
	timeout := time.After(wait)
	for {
		select {
		case r := <-s.reqs:
			if method == "" || r.Method == method {
				return r
			}
			s.stash = append(s.stash, r)
		case <-timeout:
			s.t.Fatalf("no %s request within %v", method, wait)
			return nil
		}
	}
}

func (s *scriptServer) get() *pollReq  { return s.take(http.MethodGet) }
func (s *scriptServer) post() *pollReq { return s.take(http.MethodPost) }

// noRequest asserts that no polling request of method arrives within d.
func (s *scriptServer) noRequest(method string, d time.Duration) {
	s.t.Helper()
	for _, r := range s.stash {
		if r.Method == method {
			s.t.Fatalf("unexpected %s request %v", method, r.Query)
		}
	}
	timeout := time.After(d)
	for {
		select {
		case r := <-s.reqs:
			if r.Method == method {
				s.t.Fatalf("unexpected %s request %v body %q", method, r.Query, r.Body)
			}
			s.stash = append(s.stash, r)
		case <-timeout:
			return
		}
	}
}

func (s *scriptServer) ws() *wsReq {
	s.t.Helper()
	select {
	case r := <-s.wss:
		return r
	case <-time.After(wait):
		s.t.Fatalf("no WebSocket request within %v", wait)
		return nil
	}
}

// accept upgrades the WebSocket and returns the server side.
func (s *scriptServer) accept(r *wsReq) *wsPeer {
	s.t.Helper()
	ch := make(chan *websocket.Conn, 1)
	r.decide <- func(w http.ResponseWriter, req *http.Request) {
		up := websocket.Upgrader{}
		c, err := up.Upgrade(w, req, nil)
		if err != nil {
			ch <- nil
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		ch <- c
	}
	select {
	case c := <-ch:
		if c == nil {
			s.t.Fatal("upgrade failed")
		}
		return &wsPeer{t: s.t, c: c}
	case <-time.After(wait):
		s.t.Fatal("upgrade did not complete")
		return nil
	}
}

// refuse answers the WebSocket handshake with a plain HTTP response.
func (r *wsReq) refuse(status int, body string) {
	r.decide <- func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// wsPeer is the server side of a scripted WebSocket.
type wsPeer struct {
	t *testing.T
	c *websocket.Conn
}

func (p *wsPeer) sendText(s string) {
	p.t.Helper()
	if err := p.c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		p.t.Fatalf("ws write: %v", err)
	}
}

func (p *wsPeer) sendBinary(b []byte) {
	p.t.Helper()
	if err := p.c.WriteMessage(websocket.BinaryMessage, b); err != nil {
		p.t.Fatalf("ws write: %v", err)
	}
}

// read returns the next frame (type, data) or fails the test.
func (p *wsPeer) read() (int, string) {
	p.t.Helper()
	mt, b, err := p.readErr()
	if err != nil {
		p.t.Fatalf("ws read: %v", err)
	}
	return mt, string(b)
}

func (p *wsPeer) readErr() (int, []byte, error) {
	_ = p.c.SetReadDeadline(time.Now().Add(wait))
	return p.c.ReadMessage()
}

// expectText reads one frame and checks that it is the text want.
func (p *wsPeer) expectText(want string) {
	p.t.Helper()
	mt, got := p.read()
	if mt != websocket.TextMessage || got != want {
		p.t.Fatalf("ws frame: got type %d %q, want text %q", mt, got, want)
	}
}

func openJSON(sid string, upgrades []string, pingInterval, pingTimeout int, extra string) string {
	up := "[]"
	if len(upgrades) > 0 {
		up = `["` + strings.Join(upgrades, `","`) + `"]`
	}
	s := fmt.Sprintf(`0{"sid":%q,"upgrades":%s,"pingInterval":%d,"pingTimeout":%d`, sid, up, pingInterval, pingTimeout)
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// open4 is an open packet with slow timers (no heartbeat interference) and
// maxPayload 1e6.
func open4(upgrades ...string) string {
	return openJSON("SID", upgrades, 10000, 5000, `"maxPayload":1000000`)
}

// dialAsync starts Dial in a goroutine.
func dialAsync(u string, o *Options) <-chan dialResult {
	ch := make(chan dialResult, 1)
	go func() {
		c, err := Dial(context.Background(), u, o)
		ch <- dialResult{c, err}
	}()
	return ch
}

type dialResult struct {
	c   *Conn
	err error
}

func (s *scriptServer) dialResult(ch <-chan dialResult) (*Conn, error) {
	s.t.Helper()
	select {
	case r := <-ch:
		if r.c != nil {
			c := r.c
			s.t.Cleanup(func() {
				s.shutdown()
				_ = c.Close()
			})
		}
		return r.c, r.err
	case <-time.After(wait):
		s.t.Fatal("Dial did not return")
		return nil, nil
	}
}

// pollSession dials over polling and answers the handshake with openPkt
// (a full packet such as open4()); it returns the connected client.
func (s *scriptServer) pollSession(o *Options, openPkt string) *Conn {
	s.t.Helper()
	if o == nil {
		o = &Options{}
	}
	if o.Transports == nil {
		o.Transports = []string{Polling}
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 2 * time.Second
	}
	ch := dialAsync(s.URL(), o)
	s.get().ok(openPkt)
	c, err := s.dialResult(ch)
	if err != nil {
		s.t.Fatalf("Dial: %v", err)
	}
	return c
}

// wsSession dials WebSocket-only and sends openPkt as the first frame.
func (s *scriptServer) wsSession(o *Options, openPkt string) (*Conn, *wsPeer, *wsReq) {
	s.t.Helper()
	if o == nil {
		o = &Options{}
	}
	o.Transports = []string{WebSocket}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 2 * time.Second
	}
	ch := dialAsync(s.URL(), o)
	r := s.ws()
	p := s.accept(r)
	p.sendText(openPkt)
	c, err := s.dialResult(ch)
	if err != nil {
		s.t.Fatalf("Dial: %v", err)
	}
	return c, p, r
}

func recvCtx(t *testing.T, c *Conn) engineio.Packet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	p, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return p
}

func expectMsg(t *testing.T, c *Conn, want engineio.Packet) {
	t.Helper()
	if got := recvCtx(t, c); !got.Equal(want) {
		t.Fatalf("Recv: got %v, want %v", got, want)
	}
}

func sendT(t *testing.T, c *Conn, pkts ...engineio.Packet) {
	t.Helper()
	if err := c.Send(context.Background(), pkts...); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

// waitClosed waits for the end of the session and returns its CloseError.
func waitClosed(t *testing.T, c *Conn) *CloseError {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Fatal("session still open")
	}
	ce, ok := c.Err().(*CloseError)
	if !ok {
		t.Fatalf("Err() = %T %v", c.Err(), c.Err())
	}
	return ce
}

// nextEvent returns the next event that is not a close.
func nextEvent(t *testing.T, c *Conn) Event {
	t.Helper()
	select {
	case ev := <-c.Events():
		return ev
	case <-time.After(wait):
		t.Fatal("no event")
		return Event{}
	}
}

// releaseUntilFrame answers every GET with noop, as a Node server does during
// an upgrade (EIO-UPG-04, IOP-05), until the WebSocket delivers the text
// frame want: the client may have issued a new GET before it saw "3probe".
func (s *scriptServer) releaseUntilFrame(ws *wsPeer, noop, want string) {
	s.t.Helper()
	type frame struct {
		data string
		err  error
	}
	ch := make(chan frame, 1)
	go func() {
		_, b, err := ws.readErr()
		ch <- frame{string(b), err}
	}()
	for {
		select {
		case f := <-ch:
			if f.err != nil || f.data != want {
				s.t.Fatalf("ws frame %q %v, want %q", f.data, f.err, want)
			}
			return
		case r := <-s.reqs:
			if r.Method != http.MethodGet {
				s.t.Fatalf("unexpected %s during the upgrade", r.Method)
			}
			r.ok(noop)
		}
	}
}
