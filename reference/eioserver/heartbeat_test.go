package eioserver

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

func TestEIO_HB_01_02_07_PollingPingPong(t *testing.T) {
	t.Parallel()
	// TS-E4-17, with a pong deadline a loaded machine can meet.
	e := newEnv(t, &Options{PingInterval: testPingInterval, PingTimeout: 2 * time.Second})
	op, _ := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	for i := 0; i < 3; i++ {
		wantStatus(t, e.get(q), 200, "2")
		wantStatus(t, e.post(q, "3"), 200, "ok")
	}
}

func TestEIO_HB_01_WebSocketPingPong(t *testing.T) {
	t.Parallel()
	// TS-E4-19, with a pong deadline a loaded machine can meet.
	e := newEnv(t, &Options{PingInterval: testPingInterval, PingTimeout: 2 * time.Second})
	c := e.mustWS("EIO=4&transport=websocket")
	c.open()
	for i := 0; i < 3; i++ {
		c.wantText("2")
		c.sendText("3")
	}
}

func TestEIO_HB_03_PollingPingTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fixtureTimings(Options{})) // TS-E4-18
	// start before the handshake: the heartbeat starts while it is
	// answered, and a slow answer must not shorten the measured time.
	start := time.Now()
	op, s := e.handshake("EIO=4&transport=polling")
	ev := e.waitClosed(s)
	if ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
	if d := time.Since(start); d < testPingInterval+testPingTimeout-10*time.Millisecond {
		t.Fatalf("closed after %v", d)
	}
	wantError(t, e.get("EIO=4&transport=polling&sid="+op.SID), 400, engineio.CodeUnknownSID)
}

func TestEIO_HB_03_WebSocketPingTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fixtureTimings(Options{})) // TS-E4-20
	c := e.mustWS("EIO=4&transport=websocket")
	s := e.session(c.open().SID)
	c.wantText("2")
	c.wantClosed()
	if ev := e.waitClosed(s); ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
}

// fakeEnv is a server on a fake clock, driven through ServeHTTP directly.
type fakeEnv struct {
	t     *testing.T
	clock *fakeClock
	srv   *Server
}

func newFakeEnv(t *testing.T, o Options) *fakeEnv {
	t.Helper()
	c := newFakeClock()
	o.Clock = c
	if o.PingInterval == 0 {
		o.PingInterval = testPingInterval
		o.PingTimeout = testPingTimeout
	}
	if o.OnSession == nil {
		o.OnSession = echo
	}
	f := &fakeEnv{t: t, clock: c, srv: NewServer(&o)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
		defer cancel()
		_ = f.srv.Close(ctx)
	})
	return f
}

func (f *fakeEnv) serve(method, query, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = stringsReader(body)
	}
	req := httptest.NewRequest(method, "/engine.io/?"+query, rd)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

func stringsReader(s string) io.Reader { return &stringReader{s: s} }

type stringReader struct{ s string }

func (r *stringReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

// handshake opens a v4 polling session and returns it.
func (f *fakeEnv) handshake() *Session {
	f.t.Helper()
	rec := f.serve("GET", "EIO=4&transport=polling", "")
	op, err := engineio.ParseOpen(rec.Body.Bytes()[1:])
	if err != nil {
		f.t.Fatal(err)
	}
	s := f.srv.lookup(op.SID)
	if s == nil {
		f.t.Fatal("no session")
	}
	return s
}

// queued returns the packet types queued for s (no GET is parked in
// these tests).
func queued(s *Session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b []byte
	for _, p := range s.writeBuffer {
		b = append(b, p.Type.Char())
	}
	return string(b)
}

func closed(s *Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

func TestEIO_HB_05_PongReschedulesNextPing(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t, Options{})
	s := f.handshake()
	q := "EIO=4&transport=polling&sid=" + s.ID()
	f.clock.Advance(testPingInterval - time.Millisecond)
	if queued(s) != "" {
		t.Fatal("ping before pingInterval")
	}
	f.clock.Advance(time.Millisecond)
	if queued(s) != "2" {
		t.Fatalf("queued %q", queued(s))
	}
	f.serve("GET", q, "")
	f.clock.Advance(150 * time.Millisecond)
	f.serve("POST", q, "3")
	// The next ping comes pingInterval after the pong, not after the ping.
	f.clock.Advance(testPingInterval - time.Millisecond)
	if queued(s) != "" {
		t.Fatalf("queued %q", queued(s))
	}
	f.clock.Advance(time.Millisecond)
	if queued(s) != "2" || closed(s) {
		t.Fatalf("queued %q closed %v", queued(s), closed(s))
	}
}

func TestEIO_HB_08_UnsolicitedPongPushesPingBack(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t, Options{})
	s := f.handshake()
	q := "EIO=4&transport=polling&sid=" + s.ID()
	for i := 0; i < 10; i++ {
		f.clock.Advance(200 * time.Millisecond)
		f.serve("POST", q, "3")
	}
	if queued(s) != "" || closed(s) {
		t.Fatalf("queued %q closed %v", queued(s), closed(s))
	}
}

func TestErrata2_OtherPacketExtendsPongDeadlineOnce(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t, Options{OnSession: func(*Session) {}})
	s := f.handshake()
	q := "EIO=4&transport=polling&sid=" + s.ID()
	f.clock.Advance(testPingInterval) // ping sent, deadline +200
	f.clock.Advance(150 * time.Millisecond)
	f.serve("POST", q, "4a") // extends: deadline now +200 from here
	f.clock.Advance(150 * time.Millisecond)
	if closed(s) {
		t.Fatal("closed before the extended deadline")
	}
	f.serve("POST", q, "4b") // a second packet does not extend again
	f.clock.Advance(50 * time.Millisecond)
	if !closed(s) {
		t.Fatal("not closed at pingInterval + 2 x pingTimeout")
	}
}

func TestEIO_HB_03_SilentSessionsExpireWithoutGoroutines(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t, Options{})
	before := runtime.NumGoroutine()
	const n = 10000
	for i := 0; i < n; i++ {
		rec := f.serve("GET", "EIO=4&transport=polling", "")
		if rec.Code != 200 {
			t.Fatalf("handshake %d: %d", i, rec.Code)
		}
	}
	if got := f.srv.SessionCount(); got != n {
		t.Fatalf("%d sessions", got)
	}
	if g := runtime.NumGoroutine(); g > before+50 {
		t.Fatalf("%d goroutines for %d idle sessions (was %d)", g, n, before)
	}
	f.clock.Advance(testPingInterval + testPingTimeout - time.Millisecond)
	if got := f.srv.SessionCount(); got != n {
		t.Fatalf("%d sessions before the deadline", got)
	}
	f.clock.Advance(time.Millisecond)
	if got := f.srv.SessionCount(); got != 0 {
		t.Fatalf("%d sessions left after pingInterval+pingTimeout", got)
	}
}

func TestSlowPostIsCutOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fixtureTimings(Options{}))
	op, s := e.handshake("EIO=4&transport=polling")
	conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST /engine.io/?EIO=4&transport=polling&sid="+op.SID+" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n4")
	// Dribble one byte every 100 ms; the server must hang up long before
	// the body is complete.
	start := time.Now()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		buf := make([]byte, 512)
		_ = conn.SetReadDeadline(time.Now().Add(waitBudget))
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for i := 0; i < 50; i++ {
		select {
		case <-ended:
			break loop
		case <-tick.C:
			_, _ = conn.Write([]byte("x"))
		}
	}
	select {
	case <-ended:
	case <-time.After(waitBudget):
		t.Fatal("connection still open")
	}
	// Nothing answers the ping (no GET), so the session closes after
	// pingInterval+pingTimeout and the POST with it; the grace is for a
	// loaded machine, and stays well under the 5 s the dribble lasts.
	if d, limit := time.Since(start), testPingInterval+testPingTimeout+2500*time.Millisecond; d > limit {
		t.Fatalf("cut off after %v, want within %v", d, limit)
	}
	e.waitClosed(s)
	_ = http.StatusOK
}

func TestEIO_PKT_01_04_HB_06_DirectionsOnPolling(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t, Options{})
	s := f.handshake()
	q := "EIO=4&transport=polling&sid=" + s.ID()
	// 0, 5 and 6 from the client are ignored (EIO-PKT-05); 3 without a
	// ping is harmless; the server's ping carries no data (EIO-HB-07).
	if rec := f.serve("POST", q, "0\x1e5\x1e6\x1e3"); rec.Code != 200 || closed(s) {
		t.Fatalf("%d closed=%v", rec.Code, closed(s))
	}
	f.clock.Advance(testPingInterval)
	if rec := f.serve("GET", q, ""); rec.Body.String() != "2" {
		t.Fatalf("ping %q", rec.Body.String())
	}
	// 2 from a v4 client: "invalid heartbeat direction".
	f.serve("POST", q, "2")
	if !closed(s) {
		t.Fatal("session open after a client ping")
	}
}
