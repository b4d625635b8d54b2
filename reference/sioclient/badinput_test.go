package sioclient

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
)

// pollScript turns a scriptServer into a scripted long-polling server: the
// handshake is answered at once; every later GET waits for a reply the test
// hands to gets; POST bodies are handed to the test on posts.
type pollScript struct {
	*scriptServer
	gets  chan func(w http.ResponseWriter)
	posts chan string
}

func newPollScript(t *testing.T, pingInterval, pingTimeout time.Duration) *pollScript {
	srv := newScript(t, socketio.V5)
	ps := &pollScript{scriptServer: srv, gets: make(chan func(http.ResponseWriter)), posts: make(chan string, 64)}
	srv.hooks = func(w http.ResponseWriter, r *http.Request) bool {
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodGet && q.Get("sid") == "":
			op := engineio.OpenPacket{SID: "P" + itoa(int(srv.nextSID.Add(1))), Upgrades: []string{}, PingInterval: pingInterval, PingTimeout: pingTimeout, MaxPayload: 1e6}
			b, _ := engineio.AppendPayload(nil, []engineio.Packet{op.Packet()})
			_, _ = w.Write(b)
		case r.Method == http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			_, _ = io.WriteString(w, "ok")
			ps.posts <- string(body)
		default:
			select {
			case f := <-ps.gets:
				f(w)
			case <-r.Context().Done():
			case <-srv.stop:
			}
		}
		return true
	}
	return ps
}

// reply answers the next GET with body.
func (ps *pollScript) reply(t *testing.T, f func(w http.ResponseWriter)) {
	t.Helper()
	select {
	case ps.gets <- f:
	case <-time.After(wait):
		t.Fatal("no GET pending within 5s")
	}
}

func body(s string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { _, _ = io.WriteString(w, s) }
}

// post waits for the next POST body.
func (ps *pollScript) post(t *testing.T) string {
	t.Helper()
	select {
	case b := <-ps.posts:
		return b
	case <-time.After(wait):
		t.Fatal("no POST within 5s")
		return ""
	}
}

func pollClient(t *testing.T, ps *pollScript, eo *eioclient.Options) *Manager {
	t.Helper()
	if eo == nil {
		eo = &eioclient.Options{}
	}
	eo.Transports = []string{eioclient.Polling}
	if eo.RequestTimeout == 0 {
		eo.RequestTimeout = 500 * time.Millisecond
	}
	m, err := NewManager(ps.URL(), &ManagerOptions{Engine: eo, ReconnectionDelay: 10 * time.Millisecond, ReconnectionDelayMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// Bad input over long-polling: garbage, a truncated body, an oversized
// body, an unknown packet type, a server that stops answering a POST or
// a GET. Each ends the session with a clear reason and the client comes
// back with a new session; no panic, no hang, no leak (TestMain).
func TestBadInputPolling(t *testing.T) {
	truncated := func(w http.ResponseWriter) {
		hj, _ := w.(http.Hijacker)
		c, bw, err := hj.Hijack()
		if err != nil {
			return
		}
		_, _ = bw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n42[\"x\"")
		_ = bw.Flush()
		_ = c.Close()
	}
	cases := []struct {
		name    string
		eo      *eioclient.Options
		ping    time.Duration
		act     func(t *testing.T, ps *pollScript)
		reasons []string
	}{
		{"garbage", nil, time.Minute, func(t *testing.T, ps *pollScript) { ps.reply(t, body("\x00\x01garbage")) }, []string{ReasonParseError, ReasonTransportError}},
		{"unknown EIO type", nil, time.Minute, func(t *testing.T, ps *pollScript) { ps.reply(t, body("9hello")) }, []string{ReasonParseError, ReasonTransportError}},
		{"SIO garbage", nil, time.Minute, func(t *testing.T, ps *pollScript) { ps.reply(t, body(`4{"not":"a packet"}`)) }, []string{ReasonParseError}},
		{"truncated body", nil, time.Minute, func(t *testing.T, ps *pollScript) { ps.reply(t, truncated) }, []string{ReasonTransportError}},
		{"huge body", &eioclient.Options{MaxResponseBytes: 4096}, time.Minute, func(t *testing.T, ps *pollScript) {
			ps.reply(t, body(`42["big","`+strings.Repeat("x", 10000)+`"]`))
		}, []string{ReasonTransportError}},
		{"HTTP 500", nil, time.Minute, func(t *testing.T, ps *pollScript) {
			ps.reply(t, func(w http.ResponseWriter) { http.Error(w, "boom", http.StatusInternalServerError) })
		}, []string{ReasonTransportError}},
		{"GET never answered", nil, 100 * time.Millisecond, func(t *testing.T, ps *pollScript) {}, []string{ReasonPingTimeout, ReasonTransportError}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := newPollScript(t, tc.ping, tc.ping)
			m := pollClient(t, ps, tc.eo)
			s := m.Socket("/", nil)
			rec := watch(s)
			res := connectAsync(s)
			if b := ps.post(t); b != "40" {
				t.Fatalf("POST %q", b)
			}
			if tc.ping < time.Minute {
				// Let the heartbeat survive the connect: answer with a ping.
				ps.reply(t, body("2\x1e40{\"sid\":\"S\"}"))
			} else {
				ps.reply(t, body(`40{"sid":"S"}`))
			}
			if err := waitErr(t, res); err != nil {
				t.Fatal(err)
			}
			rec.want(t, "connect /")
			tc.act(t, ps)
			e := rec.until(t, "disconnect /")
			ok := false
			for _, r := range tc.reasons {
				ok = ok || e == "disconnect / "+r
			}
			if !ok {
				t.Fatalf("%q, want one of %v", e, tc.reasons)
			}
			// A clean reconnection: a new handshake and a new CONNECT.
			for {
				b := ps.post(t)
				if b == "40" {
					break
				}
			}
		})
	}
}

// A server that stops answering POSTs: the request times out
// (RequestTimeout) with "transport error" and the client reconnects.
func TestBadInputPostNeverAnswered(t *testing.T) {
	srv := newScript(t, socketio.V5)
	hang := make(chan struct{})
	var sessions atomic.Int32
	posts := make(chan string, 16)
	srv.hooks = func(w http.ResponseWriter, r *http.Request) bool {
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodGet && q.Get("sid") == "":
			op := engineio.OpenPacket{SID: "H" + itoa(int(sessions.Add(1))), Upgrades: []string{}, PingInterval: time.Minute, PingTimeout: time.Minute, MaxPayload: 1e6}
			b, _ := engineio.AppendPayload(nil, []engineio.Packet{op.Packet()})
			_, _ = w.Write(b)
		case r.Method == http.MethodPost:
			b, _ := io.ReadAll(r.Body)
			posts <- q.Get("sid") + " " + string(b)
			select {
			case <-hang:
			case <-r.Context().Done():
			case <-srv.stop:
			}
		default:
			select {
			case <-r.Context().Done():
			case <-srv.stop:
			}
		}
		return true
	}
	m, err := NewManager(srv.URL(), &ManagerOptions{Engine: &eioclient.Options{Transports: []string{eioclient.Polling}, RequestTimeout: 200 * time.Millisecond},
		ReconnectionDelay: 10 * time.Millisecond, ReconnectionDelayMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mr := watchManager(m)
	s := m.Socket("/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond*5)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- s.Connect(ctx) }()
	for _, want := range []string{"H1 40", "H2 40"} {
		select {
		case p := <-posts:
			if p != want {
				t.Fatalf("POST %q, want %q", p, want)
			}
		case <-time.After(wait):
			t.Fatal("no POST")
		}
	}
	mr.until(t, "close transport error")
	cancel()
	if err := waitErr(t, res); err == nil {
		t.Fatal("connected to a server that never answers")
	}
	close(hang)
}

// A WebSocket peer sends a packet far larger than the client's limit: a
// transport error, then a reconnection. A large but allowed packet is
// delivered.
func TestBadInputHugeWebSocketMessage(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, &ManagerOptions{Engine: &eioclient.Options{MaxResponseBytes: 1 << 16}})
	s := m.Socket("/", nil)
	rec := watch(s)
	res := connectAsync(s)
	p, _ := srv.acceptConnect(t, "/", "S")
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	rec.want(t, "connect /")
	p.sendText(`2["big","` + strings.Repeat("y", 60000) + `"]`)
	if e := rec.want(t, "event / big"); len(e) < 60000 {
		t.Fatal("large event truncated")
	}
	p.sendText(`2["huge","` + strings.Repeat("z", 1<<17) + `"]`)
	rec.want(t, "disconnect / transport error")
	srv.acceptConnect(t, "/", "S2")
	rec.want(t, "connect /")
}
