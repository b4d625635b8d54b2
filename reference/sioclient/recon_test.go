package sioclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
)

// fakeClock is a manual Clock: timers fire only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	created chan time.Duration
}

type fakeTimer struct {
	clk     *fakeClock
	c       chan time.Time
	at      time.Time
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1e9, 0), created: make(chan time.Duration, 1024)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{clk: c, c: make(chan time.Time, 1), at: c.now.Add(d)}
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	c.created <- d
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	was := !t.stopped && !t.fired
	t.stopped = true
	return was
}

// advance moves the clock and fires the timers that are due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.timers {
		if !t.stopped && !t.fired && !t.at.After(c.now) {
			t.fired = true
			t.c <- c.now
		}
	}
}

// nextTimer waits for the next timer the client creates.
func (c *fakeClock) nextTimer(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.created:
		return d
	case <-time.After(wait):
		t.Fatal("no timer created within 5s")
		return 0
	}
}

// NODE-RECON-02: the delay formula, with Node's default ranges: attempt 1 in
// [500, 1500] ms, 2 in [1000, 3000], 3 in [2000, 5000], 4 in [4000, 5000],
// then 5000; without jitter exactly 1000 × 2^n capped at 5000.
func TestNODERECON02BackoffRanges(t *testing.T) {
	ranges := [][2]time.Duration{{500, 1500}, {1000, 3000}, {2000, 5000}, {4000, 5000}, {5000, 5000}, {5000, 5000}}
	r := rand.New(rand.NewPCG(7, 7))
	for trial := range 2000 {
		for n, rg := range ranges {
			d := backoffDelay(time.Second, 5*time.Second, 0.5, n, r.Float64)
			if d < rg[0]*time.Millisecond || d > rg[1]*time.Millisecond {
				t.Fatalf("trial %d attempt %d: %v outside %v ms", trial, n+1, d, rg)
			}
		}
	}
	for n, want := range []time.Duration{1000, 2000, 4000, 5000, 5000} {
		if d := backoffDelay(time.Second, 5*time.Second, -1, n, nil); d != want*time.Millisecond {
			t.Fatalf("no jitter, attempt %d: %v", n+1, d)
		}
	}
	// Node's rule for the sign: ⌊r×10⌋ even → minus.
	if d := backoffDelay(time.Second, 5*time.Second, 0.5, 0, func() float64 { return 0.25 }); d != 875*time.Millisecond {
		t.Fatalf("r=0.25: %v", d)
	}
	if d := backoffDelay(time.Second, 5*time.Second, 0.5, 0, func() float64 { return 0.35 }); d != 1175*time.Millisecond {
		t.Fatalf("r=0.35: %v", d)
	}
	if d := backoffDelay(time.Second, 5*time.Second, 0.5, 5000, func() float64 { return 0.99 }); d != 5*time.Second {
		t.Fatalf("huge attempt: %v", d)
	}
}

// NODE-RECON-01..03 with a fake clock and a seeded jitter: a failed first
// connection is retried; each attempt waits the backoff delay (observable
// in reconnect_attempt), and a success reports reconnect(n) and resets the
// backoff.
func TestNODERECON03ReconnectTiming(t *testing.T) {
	srv := newScript(t, socketio.V5)
	srv.refuse.Store(true)
	clk := newFakeClock()
	m := srv.client(t, &ManagerOptions{
		Clock: clk, Rand: rand.New(rand.NewPCG(1, 2)),
		ReconnectionDelay: time.Second, ReconnectionDelayMax: 5 * time.Second,
	})
	mr := watchManager(m)
	s := m.Socket("/", nil)
	rec := watch(s)
	res := connectAsync(s)
	want := rand.New(rand.NewPCG(1, 2))
	for n := range 5 {
		d := clk.nextTimer(t)
		if exp := backoffDelay(time.Second, 5*time.Second, 0.5, n, want.Float64); d != exp {
			t.Fatalf("attempt %d: delay %v, want %v", n+1, d, exp)
		}
		rec.until(t, "connect_error /")
		if n == 4 {
			srv.refuse.Store(false)
		}
		clk.advance(d)
		if e := mr.until(t, "reconnect_attempt"); e != "reconnect_attempt "+itoa(n+1)+" "+d.String() {
			t.Fatalf("event %q", e)
		}
	}
	p, _ := srv.acceptConnect(t, "/", "S")
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	mr.until(t, "reconnect 5")
	// The backoff was reset: a transport close starts again at attempt 1.
	p.kill()
	rec.until(t, "disconnect / transport close")
	d := clk.nextTimer(t)
	if d < 500*time.Millisecond || d > 1500*time.Millisecond {
		t.Fatalf("first delay after reset %v", d)
	}
	clk.advance(d)
	mr.until(t, "reconnect_attempt 1")
	srv.acceptConnect(t, "/", "S2")
	rec.until(t, "connect /")
}

func itoa(n int) string { return time.Duration(n).String()[:len(time.Duration(n).String())-2] }

// NODE-RECON-03: reconnect_failed after ReconnectionAttempts; Connect
// returns ErrReconnectFailed. Without reconnection the first error is final.
func TestNODERECON03ReconnectFailed(t *testing.T) {
	srv := newScript(t, socketio.V5)
	srv.refuse.Store(true)
	m := srv.client(t, &ManagerOptions{ReconnectionAttempts: 2})
	mr := watchManager(m)
	s := m.Socket("/", nil)
	if err := s.Connect(ctxT(t)); !errors.Is(err, ErrReconnectFailed) {
		t.Fatalf("Connect = %v", err)
	}
	mr.until(t, "reconnect_attempt 1")
	mr.until(t, "reconnect_attempt 2")
	mr.until(t, "reconnect_failed")

	m2 := srv.client(t, &ManagerOptions{NoReconnection: true})
	var he *eioclient.HandshakeError
	if err := m2.Socket("/", nil).Connect(ctxT(t)); !errors.As(err, &he) || he.Status != 503 {
		t.Fatalf("Connect = %v", err)
	}
}

// Reconnection is cancelled by Close and by the Connect ctx.
func TestReconnectCancelled(t *testing.T) {
	srv := newScript(t, socketio.V5)
	srv.refuse.Store(true)
	clk := newFakeClock()
	m := srv.client(t, &ManagerOptions{Clock: clk})
	s := m.Socket("/", nil)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- s.Connect(ctx) }()
	clk.nextTimer(t) // waiting for attempt 1
	cancel()
	if err := waitErr(t, res); !errors.Is(err, context.Canceled) {
		t.Fatalf("Connect = %v", err)
	}
	res2 := connectAsync(s)
	clk.nextTimer(t)
	done := make(chan struct{})
	go func() { _ = m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Close hangs during the backoff wait")
	}
	if err := waitErr(t, res2); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect = %v", err)
	}
}

// NODE-CSR-02, -03, -05: the offset is recorded and removed from the
// arguments, pid and offset are merged into the auth of the next CONNECT,
// missed events that come before the reply are delivered first, and
// Recovered tells whether the pid matched.
func TestNODECSR03Recovery(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	s := m.Socket("/", &SocketOptions{Auth: socketio.Object{{Key: "token", Value: "t"}, {Key: "pid", Value: "mine"}}})
	rec := watch(s)
	res := connectAsync(s)
	p := srv.accept(t)
	if c := p.expect(t, socketio.Connect, "/"); string(c.Data) != `{"token":"t","pid":"mine"}` {
		t.Fatalf("first CONNECT %s", c.Data)
	}
	p.sendText(`0{"sid":"S","pid":"P"}`)
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	rec.want(t, "connect /")
	if s.Recovered() {
		t.Fatal("recovered on the first connection")
	}
	p.sendText(`2["e",1,"off1"]`, `21["withack","x"]`)
	rec.want(t, "event / e [1]")
	rec.want(t, `event / withack ["x"]`) // events with an ack id carry no offset
	p.kill()
	rec.want(t, "disconnect / transport close")
	p2 := srv.accept(t)
	if c := p2.expect(t, socketio.Connect, "/"); string(c.Data) != `{"pid":"mine","offset":"off1","token":"t"}` {
		t.Fatalf("recovery CONNECT %s", c.Data)
	}
	p2.sendText(`2["missed",2,"off2"]`, `0{"sid":"S","pid":"P"}`)
	rec.want(t, "event / missed [2]")
	rec.want(t, "connect /")
	if !s.Recovered() || s.ID() != "S" {
		t.Fatalf("recovered %v id %q", s.Recovered(), s.ID())
	}
	p2.kill()
	rec.want(t, "disconnect / transport close")
	p3 := srv.accept(t)
	if c := p3.expect(t, socketio.Connect, "/"); string(c.Data) != `{"pid":"mine","offset":"off2","token":"t"}` {
		t.Fatalf("recovery CONNECT %s", c.Data)
	}
	p3.sendText(`0{"sid":"S2","pid":"P2"}`)
	rec.want(t, "connect /")
	if s.Recovered() {
		t.Fatal("recovered with another pid")
	}
}

// SIO-ERR-02, SIO-EVT-03, SIO-BIN-07, SIO-BIN-03: an undecodable packet
// from the server closes the session with "parse error" and the client
// reconnects.
func TestSIOERR02ParseErrorReconnects(t *testing.T) {
	eleven := `511-["x"` + func() string {
		s := ""
		for i := range 11 {
			s += `,{"_placeholder":true,"num":` + itoa(i) + `}`
		}
		return s
	}() + `]`
	cases := []struct {
		name string
		send func(p *peer)
	}{
		{"SIO-EVT-03 reserved name", func(p *peer) { p.sendText(`2["disconnect"]`) }},
		{"SIO-BIN-07 eleven attachments", func(p *peer) { p.sendText(eleven) }},
		{"SIO-BIN-03 text during reassembly", func(p *peer) { p.sendText(`51-["b",{"_placeholder":true,"num":0}]`, `2["x"]`) }},
		{"SIO-BIN-04 stray attachment", func(p *peer) { p.writeEIO(engineio.BinaryMessage([]byte{1})) }},
		{"SIO-ENC-07 unknown type", func(p *peer) { p.sendText(`9["x"]`) }},
		{"SIO-ENC-06 invalid JSON", func(p *peer) { p.sendText(`2["x"`) }},
		{"SIO-EVT-02 empty array", func(p *peer) { p.sendText(`2[]`) }},
		{"SIO-ERR-04 empty packet", func(p *peer) { p.sendText(``) }},
		{"SIO-BIN-06 zero attachments (Errata 3)", func(p *peer) { p.sendText(`50-["x"]`) }},
		{"SIO-ACK-06 junk ack id", func(p *peer) { p.sendText(`31x[]`) }},
		{"EIO garbage frame", func(p *peer) { p.writeEIO(engineio.Packet{Type: 9, Data: []byte("zz")}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScript(t, socketio.V5)
			m := srv.client(t, nil)
			s := m.Socket("/", nil)
			rec := watch(s)
			res := connectAsync(s)
			p, _ := srv.acceptConnect(t, "/", "S")
			if err := waitErr(t, res); err != nil {
				t.Fatal(err)
			}
			rec.want(t, "connect /")
			tc.send(p)
			rec.want(t, "disconnect / parse error")
			p.closed(t)
			srv.acceptConnect(t, "/", "S2")
			rec.want(t, "connect /")
		})
	}
}

// NODE-DR-02: no ping from the server within pingInterval+pingTimeout →
// "ping timeout" and reconnection.
func TestNODEDR02PingTimeout(t *testing.T) {
	srv := newScript(t, socketio.V5)
	srv.open.PingInterval, srv.open.PingTimeout = 50*time.Millisecond, 50*time.Millisecond
	m := srv.client(t, nil)
	s := m.Socket("/", nil)
	rec := watch(s)
	res := connectAsync(s)
	srv.acceptConnect(t, "/", "S")
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	rec.want(t, "connect /")
	rec.want(t, "disconnect / ping timeout")
	srv.acceptConnect(t, "/", "S2")
	rec.want(t, "connect /")
	_ = m.Close()
}
