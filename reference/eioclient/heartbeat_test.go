package eioclient

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeClock is a manual Clock: timers fire only when Advance passes them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	ch      chan time.Time
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		if t.stopped || t.fired {
			continue
		}
		if !t.at.After(c.now) {
			t.fired = true
			t.ch <- c.now
			continue
		}
		keep = append(keep, t)
	}
	c.timers = keep
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// TestEIO_HB_04_PingTimeout: without a ping for pingInterval+pingTimeout the
// client closes with "ping timeout"; each ping restarts the wait.
func TestEIO_HB_04_PingTimeout(t *testing.T) {
	s := newScriptServer(t)
	fc := newFakeClock()
	c := s.pollSession(&Options{Clock: fc}, openJSON("SID", nil, 300, 200, ""))
	g := s.get() // the timer is armed before the first GET is issued
	fc.Advance(499 * time.Millisecond)
	g.okPackets("2")
	p := s.post() // the pong is queued after the timer restarted
	if string(p.Body) != "3" {
		t.Fatalf("pong %q", p.Body)
	}
	p.ok("ok")
	fc.Advance(499 * time.Millisecond) // 998 ms after the handshake, 499 after the ping
	g = s.get()
	g.okPackets("4alive")
	expectMsg(t, c, text("alive"))
	if c.Err() != nil {
		t.Fatalf("closed early: %v", c.Err())
	}
	s.get()
	fc.Advance(1 * time.Millisecond)
	ce := waitClosed(t, c)
	if ce.Reason != ReasonPingTimeout || !errors.Is(ce, ErrPingTimeout) {
		t.Fatalf("close %v", ce)
	}
}

// TestEIO_HB_09_OnlyPingsResetTimer: messages and noops do not count as
// heartbeat in v4.
func TestEIO_HB_09_OnlyPingsResetTimer(t *testing.T) {
	s := newScriptServer(t)
	fc := newFakeClock()
	c := s.pollSession(&Options{Clock: fc}, openJSON("SID", nil, 300, 200, ""))
	g := s.get()
	for i := 0; i < 4; i++ {
		fc.Advance(100 * time.Millisecond)
		g.okPackets("4m", "6")
		expectMsg(t, c, text("m"))
		g = s.get()
	}
	fc.Advance(100 * time.Millisecond)
	if ce := waitClosed(t, c); ce.Reason != ReasonPingTimeout {
		t.Fatalf("close %v", ce)
	}
}

// TestEIO_HB_04_PingTimeoutWebSocket, in real time with the suite's timings
// (300/200): a silent server is declared gone after about 500 ms.
func TestEIO_HB_04_PingTimeoutWebSocket(t *testing.T) {
	s := newScriptServer(t)
	start := time.Now()
	c, _, _ := s.wsSession(nil, openJSON("SID", nil, 300, 200, ""))
	ce := waitClosed(t, c)
	el := time.Since(start)
	if ce.Reason != ReasonPingTimeout || el < 490*time.Millisecond {
		t.Fatalf("close %v after %v", ce, el)
	}
}

// TestEIO_WS_07_ControlPingsAreNotHeartbeat: WebSocket ping control frames
// do not keep the session alive; only the text packet "2" does.
func TestEIO_WS_07_ControlPingsAreNotHeartbeat(t *testing.T) {
	s := newScriptServer(t)
	fc := newFakeClock()
	c, ws, _ := s.wsSession(&Options{Clock: fc}, openJSON("SID", nil, 300, 200, ""))
	pongs := make(chan string, 8)
	ws.c.SetPongHandler(func(d string) error { pongs <- d; return nil })
	readerDone := make(chan struct{})
	go func() { // the server's reader runs the pong handler
		defer close(readerDone)
		for {
			if _, _, err := ws.c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for i := 0; i < 3; i++ {
		fc.Advance(150 * time.Millisecond)
		if err := ws.c.WriteControl(websocket.PingMessage, []byte("hb"), time.Now().Add(wait)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-pongs: // gorilla answers control pings itself
		case <-time.After(wait):
			t.Fatal("no WS pong")
		}
	}
	fc.Advance(50 * time.Millisecond)
	if ce := waitClosed(t, c); ce.Reason != ReasonPingTimeout {
		t.Fatalf("close %v", ce)
	}
	<-readerDone
}

// TestEIO3_02_ClientPings: a v3 client pings every pingInterval over
// polling, and closes when the pong is late.
func TestEIO3_02_ClientPings(t *testing.T) {
	s := newScriptServer(t)
	fc := newFakeClock()
	ch := dialAsync(s.URL(), &Options{Version: 3, Transports: []string{Polling}, Clock: fc, RequestTimeout: 2 * time.Second})
	hs := s.get()
	if hs.Query.Get("EIO") != "3" { // EIO3-01
		t.Fatalf("query %v", hs.Query)
	}
	op := openJSON("SID", nil, 300, 200, "")[1:]
	hs.ok(strconv.Itoa(len(op)+1) + ":0" + op) // EIO3-08: no maxPayload
	c, err := s.dialResult(ch)
	if err != nil {
		t.Fatal(err)
	}
	g := s.get()
	s.noRequest(http.MethodPost, 20*time.Millisecond)
	fc.Advance(300 * time.Millisecond)
	p := s.post()
	if string(p.Body) != "1:2" { // EIO3-09 framing
		t.Fatalf("ping POST %q", p.Body)
	}
	p.ok("ok")
	g.ok("1:3")
	g = s.get()
	fc.Advance(299 * time.Millisecond)
	s.noRequest(http.MethodPost, 20*time.Millisecond)
	fc.Advance(1 * time.Millisecond)
	p = s.post()
	if string(p.Body) != "1:2" {
		t.Fatalf("second ping POST %q", p.Body)
	}
	p.ok("ok")
	fc.Advance(200 * time.Millisecond) // no pong within pingTimeout
	if ce := waitClosed(t, c); ce.Reason != ReasonPingTimeout {
		t.Fatalf("close %v", ce)
	}
	_ = g
}
