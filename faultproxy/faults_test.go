package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/prooftest"
)

// slack is added to the upper bound of every timing check: the fixed
// prooftest.Slack, whatever the machine's load. Lower bounds, what a fault
// must at least cost, never move.
const slack = prooftest.Slack

func addFault(t *testing.T, p *Proxy, f Fault) *Handle {
	t.Helper()
	h, err := p.Add(f)
	if err != nil {
		t.Fatalf("Add(%T): %v", f, err)
	}
	return h
}

func decisionsOf(p *Proxy, fault, action string) []Decision {
	all, _ := p.Decisions()
	var out []Decision
	for _, d := range all {
		if d.Fault == fault && (action == "" || d.Action == action) {
			out = append(out, d)
		}
	}
	return out
}

func TestLatency(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, Latency{Direction: Downstream, Latency: 100 * time.Millisecond})
	c := dial(t, p.Addr())
	for range 3 {
		within(t, "latency 100ms downstream RTT", roundTrip(t, c, []byte("ping")), 100*time.Millisecond, 100*time.Millisecond+slack)
	}
	if n := len(decisionsOf(p, "latency_downstream", "delay")); n != 3 {
		t.Errorf("delay decisions = %d, want 3", n)
	}
}

func TestLatencyBothDirectionsAndJitter(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), &Options{Seed: 7})
	addFault(t, p, Latency{Direction: Both, Latency: 80 * time.Millisecond, Jitter: 40 * time.Millisecond})
	c := dial(t, p.Addr())
	for range 4 {
		// Each direction adds 80ms ± 40ms.
		within(t, "latency 80±40ms both ways RTT", roundTrip(t, c, []byte("x")), 80*time.Millisecond, 240*time.Millisecond+slack)
	}
	ds := decisionsOf(p, "latency_both", "delay")
	if len(ds) != 8 {
		t.Fatalf("delay decisions = %d, want 8: %+v", len(ds), ds)
	}
	distinct := map[string]bool{}
	for _, d := range ds {
		v, err := time.ParseDuration(d.Detail)
		if err != nil || v < 40*time.Millisecond || v > 120*time.Millisecond {
			t.Errorf("delay %q outside [40ms, 120ms]", d.Detail)
		}
		distinct[d.Detail] = true
	}
	if len(distinct) < 2 {
		t.Errorf("jitter produced no variation: %v", distinct)
	}
}

func TestBandwidth(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, Bandwidth{Direction: Downstream, RateKBps: 200})
	c := dial(t, p.Addr())
	msg := bytes.Repeat([]byte("b"), 200_000)
	// 200 kB at 200 kB/s in 100ms slices: the last slice leaves >= 0.9s in.
	within(t, "bandwidth 200KB/s, 200kB", roundTrip(t, c, msg), 900*time.Millisecond, time.Second+slack)
}

func TestSlicer(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, Slicer{Direction: Downstream, AverageSize: 10, SizeVariation: 5, Delay: 2 * time.Millisecond})
	c := dial(t, p.Addr())
	msg := bytes.Repeat([]byte("0123456789"), 50)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, len(msg))
	reads := 0
	buf := make([]byte, 4096)
	for len(got) < len(msg) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		reads++
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("sliced data corrupted")
	}
	ds := decisionsOf(p, "slicer_downstream", "slice")
	if len(ds) == 0 {
		t.Fatal("no slice decision logged")
	}
	pieces := strings.Count(ds[0].Detail, " ")
	t.Logf("slicer: %d reads, first decision %q", reads, ds[0].Detail)
	// 500 bytes in pieces of 5..15: at least 34 pieces, >= 33 gaps of 2ms.
	within(t, "slicer total time", time.Since(start), 66*time.Millisecond, 66*time.Millisecond+slack)
	// Reads coalesce when the reader is descheduled, so only ask for some
	// visible fragmentation; the decision log and the timing prove the rest.
	if reads < 3 || pieces < 30 {
		t.Errorf("reads = %d, pieces ≈ %d: data was not fragmented", reads, pieces)
	}
}

func TestLimitData(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, LimitData{Direction: Downstream, Bytes: 100})
	c := dial(t, p.Addr())
	if _, err := c.Write(bytes.Repeat([]byte("L"), 300)); err != nil {
		t.Fatal(err)
	}
	got, err := readErr(c, 5*time.Second)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("read error = %v, want EOF after the limit", err)
	}
	if len(got) != 100 {
		t.Fatalf("got %d bytes, want exactly 100", len(got))
	}
}

func TestBlackholeHoldsThenReleases(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	h := addFault(t, p, Blackhole{Direction: Downstream})
	c := dial(t, p.Addr())
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 16)
	if n, err := c.Read(buf); !isTimeout(err) {
		t.Fatalf("read during blackhole = %d, %v; want a timeout with nothing", n, err)
	}
	if err := h.Remove(); err != nil {
		t.Fatal(err)
	}
	// The held bytes arrive intact once the fault is removed.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf[:4]); err != nil || string(buf[:4]) != "held" {
		t.Fatalf("after removal: %q, %v", buf[:4], err)
	}
	roundTrip(t, c, []byte("flows"))
	if len(decisionsOf(p, "blackhole_downstream", "hold")) != 1 || len(decisionsOf(p, "blackhole_downstream", "release")) != 1 {
		all, _ := p.Decisions()
		t.Errorf("want one hold and one release decision: %+v", all)
	}
}

func TestBlackholeFor(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, Blackhole{Direction: Upstream, Scope: Scope{For: 200 * time.Millisecond}})
	start := time.Now() // For runs from accept, which follows this
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("late"))
	within(t, "blackhole for 200ms", time.Since(start), 150*time.Millisecond, 200*time.Millisecond+slack)
	roundTrip(t, c, []byte("then normal"))
}

func TestTimeoutCloses(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, Timeout{Direction: Downstream, Timeout: 200 * time.Millisecond})
	start := time.Now() // the timeout runs from accept, which follows this
	c := dial(t, p.Addr())
	if _, err := c.Write([]byte("dropped")); err != nil {
		t.Fatal(err)
	}
	got, err := readErr(c, 5*time.Second)
	if !errors.Is(err, io.EOF) || len(got) != 0 {
		t.Fatalf("got %q, %v; want no data then EOF", got, err)
	}
	within(t, "timeout 200ms close", time.Since(start), 190*time.Millisecond, 200*time.Millisecond+slack)
}

func TestTimeoutZeroHoldsAndRemovalCloses(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	h := addFault(t, p, Timeout{Direction: Downstream})
	c := dial(t, p.Addr())
	if _, err := c.Write([]byte("gone")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 8)); !isTimeout(err) {
		t.Fatalf("read = %d, %v; want the connection held open with nothing", n, err)
	}
	// Waiting for the discard decision makes the test independent of how fast
	// the echo came back.
	waitFor(t, "discard decision", func() bool { return len(decisionsOf(p, "timeout_downstream", "discard")) == 1 })
	_ = h.Remove()
	got, err := readErr(c, 5*time.Second)
	if !errors.Is(err, io.EOF) || len(got) != 0 {
		t.Fatalf("after removal got %q, %v; want EOF (data had been discarded)", got, err)
	}
}

// TestTimeoutHTTP: an HTTP client through a timeout fault gets no response.
func TestTimeoutHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	addFault(t, p, Timeout{Direction: Downstream, Timeout: 150 * time.Millisecond})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	start := time.Now()
	resp, err := cl.Get("http://" + p.Addr() + "/")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET through timeout succeeded with %s", resp.Status)
	}
	within(t, "HTTP through timeout 150ms fails", time.Since(start), 140*time.Millisecond, 150*time.Millisecond+slack)
}

func TestResetPeerIdle(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, ResetPeer{Timeout: 100 * time.Millisecond})
	start := time.Now() // the timer runs from accept, which follows this
	c := dial(t, p.Addr())
	// No data flows: the reset still happens.
	_, err := readErr(c, 5*time.Second)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read error = %v, want ECONNRESET", err)
	}
	within(t, "reset_peer 100ms on an idle connection", time.Since(start), 90*time.Millisecond, 100*time.Millisecond+slack)
}

func TestResetPeerAfterBytes(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, ResetPeer{Scope: Scope{AfterBytes: 10}})
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("12345"))
	waitFor(t, "reset decision", func() bool { return len(decisionsOf(p, "reset_peer", "reset")) == 1 })
	// The socket reports the pending reset once: to this read.
	_, err := readErr(c, 5*time.Second)
	if !errors.Is(err, syscall.ECONNRESET) {
		all, _ := p.Decisions()
		t.Fatalf("read error = %v, want ECONNRESET after 10 bytes; decisions %+v", err, all)
	}
}

func TestSlowClose(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, SlowClose{Direction: Downstream, Delay: 200 * time.Millisecond})
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("x"))
	start := time.Now()
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := readErr(c, 5*time.Second)
	if !errors.Is(err, io.EOF) || len(got) != 0 {
		t.Fatalf("got %q, %v; want EOF", got, err)
	}
	within(t, "slow_close 200ms EOF", time.Since(start), 190*time.Millisecond, 200*time.Millisecond+slack)
}

func TestSlowOpen(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, SlowOpen{Delay: 200 * time.Millisecond})
	start := time.Now()
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("first"))
	within(t, "slow_open 200ms first byte", time.Since(start), 190*time.Millisecond, 200*time.Millisecond+slack)
	select {
	case at := <-up.accept:
		within(t, "slow_open 200ms upstream connect", at.Sub(start), 190*time.Millisecond, 200*time.Millisecond+slack)
	default:
		t.Fatal("no upstream accept recorded")
	}
	within(t, "second round trip is not delayed", roundTrip(t, c, []byte("again")), 0, slack)
}

func TestSlowOpenHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	addFault(t, p, SlowOpen{Delay: 150 * time.Millisecond})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := cl.Get("http://" + p.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
	within(t, "HTTP GET through slow_open 150ms", time.Since(start), 140*time.Millisecond, 150*time.Millisecond+slack)
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	// 800 ms leaves room for a loaded machine to stretch the 30 ms pauses.
	addFault(t, p, IdleTimeout{Idle: 800 * time.Millisecond})
	c := dial(t, p.Addr())
	// Traffic every 30ms keeps the connection alive well past 800ms.
	start := time.Now()
	var last time.Time
	for {
		roundTrip(t, c, []byte("keepalive"))
		last = time.Now()
		if last.Sub(start) > 1700*time.Millisecond {
			break
		}
		tm := time.NewTimer(30 * time.Millisecond)
		<-tm.C
	}
	got, err := readErr(c, 5*time.Second)
	if !errors.Is(err, io.EOF) || len(got) != 0 {
		t.Fatalf("got %q, %v; want EOF after idling", got, err)
	}
	within(t, "idle_timeout 800ms after last traffic", time.Since(last), 750*time.Millisecond, 800*time.Millisecond+slack)
}

func TestMaxLifetimeUnderTraffic(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, MaxLifetime{Lifetime: 300 * time.Millisecond, Close: CloseRST})
	start := time.Now()
	c := dial(t, p.Addr())
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		if _, err = c.Write([]byte("hi")); err == nil {
			_, err = io.ReadFull(c, buf)
		}
		if err == nil {
			tm := time.NewTimer(20 * time.Millisecond)
			<-tm.C
		}
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("error = %v, want a reset", err)
	}
	within(t, "max_lifetime 300ms under constant traffic", time.Since(start), 290*time.Millisecond, 300*time.Millisecond+slack)
}

func TestDownRefuseKeepsOpenConnections(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("before"))
	h := addFault(t, p, Down{})
	waitFor(t, "down decision", func() bool { return len(decisionsOf(p, "down", "down")) == 1 })
	if nc, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		nc.Close()
		t.Fatal("dial succeeded while down")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial error = %v, want ECONNREFUSED", err)
	}
	roundTrip(t, c, []byte("open connection still works"))
	_ = h.Remove()
	waitFor(t, "up decision", func() bool { return len(decisionsOf(p, "down", "up")) == 1 })
	roundTrip(t, dial(t, p.Addr()), []byte("back up on the same address"))
}

func TestDownResetAllFor(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("before"))
	start := time.Now()
	addFault(t, p, Down{Mode: DownResetAll, Scope: Scope{For: 300 * time.Millisecond}})
	if _, err := readErr(c, 5*time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("open connection: %v, want ECONNRESET", err)
	}
	waitFor(t, "up decision", func() bool { return len(decisionsOf(p, "down", "up")) == 1 })
	within(t, "down for 300ms", time.Since(start), 290*time.Millisecond, 300*time.Millisecond+slack)
	roundTrip(t, dial(t, p.Addr()), []byte("after"))
}

func TestSetEnabled(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("x"))
	if err := p.SetEnabled(false); err != nil {
		t.Fatal(err)
	}
	if _, err := readErr(c, 5*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("open connection after disable: %v, want EOF", err)
	}
	if nc, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		nc.Close()
		t.Fatal("dial succeeded while disabled")
	}
	if err := p.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, dial(t, p.Addr()), []byte("y"))
}

func TestScopeConnsAfterFor(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, Latency{Direction: Downstream, Latency: 150 * time.Millisecond, Scope: Scope{Conns: []uint64{2}}})
	addFault(t, p, Latency{Name: "late", Direction: Upstream, Latency: 150 * time.Millisecond,
		Scope: Scope{Conns: []uint64{3}, AfterBytes: 4}})
	c1, c2, c3 := dial(t, p.Addr()), dial(t, p.Addr()), dial(t, p.Addr())
	within(t, "conn 1 unaffected", roundTrip(t, c1, []byte("a")), 0, 140*time.Millisecond+slack)
	within(t, "conn 2 delayed", roundTrip(t, c2, []byte("b")), 150*time.Millisecond, 150*time.Millisecond+slack)
	// First 4 bytes pass untouched, the rest of the same write is delayed.
	within(t, "conn 3 after 4 bytes", roundTrip(t, c3, []byte("abcdefgh")), 150*time.Millisecond, 150*time.Millisecond+slack)
	if ds := decisionsOf(p, "late", "delay"); len(ds) != 1 || ds[0].Conn != 3 {
		t.Errorf("late delay decisions: %+v", ds)
	}
}

func TestScopeAfterAndFor(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, Latency{Direction: Downstream, Latency: 150 * time.Millisecond,
		Scope: Scope{After: 100 * time.Millisecond, For: time.Second}})
	c := dial(t, p.Addr())
	start := time.Now()
	if d := roundTrip(t, c, []byte("early")); time.Since(start) < 100*time.Millisecond && d > 140*time.Millisecond {
		t.Errorf("round trip before activation took %v", d)
	}
	waitFor(t, "activation", func() bool { return len(decisionsOf(p, "latency_downstream", "activate")) == 1 })
	within(t, "active", roundTrip(t, c, []byte("mid")), 150*time.Millisecond, 150*time.Millisecond+slack)
	waitFor(t, "expiry", func() bool { return len(decisionsOf(p, "latency_downstream", "expire")) == 1 })
	within(t, "expired", roundTrip(t, c, []byte("late")), 0, 140*time.Millisecond+slack)
}

func TestToxicityDecidedPerConnection(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), &Options{Seed: 42})
	addFault(t, p, Latency{Direction: Downstream, Latency: 200 * time.Millisecond, Scope: Scope{Toxicity: Probability(0.5)}})
	applied, skipped := 0, 0
	for range 12 {
		c := dial(t, p.Addr())
		d := roundTrip(t, c, []byte("t"))
		c.Close()
		if d >= 200*time.Millisecond {
			applied++
		} else {
			skipped++
		}
	}
	ap, sk := len(decisionsOf(p, "latency_downstream", "apply")), len(decisionsOf(p, "latency_downstream", "skip"))
	if ap+sk != 12 || ap == 0 || sk == 0 {
		t.Fatalf("apply=%d skip=%d decisions; want both kinds over 12 connections", ap, sk)
	}
	if applied < ap {
		t.Errorf("%d connections observed delayed, %d decided apply", applied, ap)
	}
	t.Logf("toxicity 0.5 over 12 connections: %d applied, %d skipped", ap, sk)
}

func TestLiveAddRemoveOnOpenConnection(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	c := dial(t, p.Addr())
	within(t, "before add", roundTrip(t, c, []byte("a")), 0, 140*time.Millisecond+slack)
	h := addFault(t, p, Latency{Direction: Both, Latency: 100 * time.Millisecond})
	within(t, "after add (both ways)", roundTrip(t, c, []byte("b")), 200*time.Millisecond, 200*time.Millisecond+slack)
	h2 := addFault(t, p, Slicer{Direction: Downstream, AverageSize: 1, Delay: time.Millisecond})
	msg := []byte("sliced-while-open")
	within(t, "with slicer", roundTrip(t, c, msg), 200*time.Millisecond, 200*time.Millisecond+slack)
	if ds := decisionsOf(p, h2.Name(), "slice"); len(ds) == 0 {
		t.Error("slicer added live made no decision")
	}
	_ = h.Remove()
	_ = h2.Remove()
	within(t, "after remove", roundTrip(t, c, []byte("c")), 0, 140*time.Millisecond+slack)
	// A long latency being removed mid-wait releases the waiting chunk.
	h3 := addFault(t, p, Latency{Direction: Downstream, Latency: time.Hour})
	if _, err := c.Write([]byte("stuck")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delay decision", func() bool { return len(decisionsOf(p, h3.Name(), "delay")) == 1 })
	_ = h3.Remove()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "stuck" {
		t.Fatalf("after removing 1h latency: %q %v", buf, err)
	}
}

func TestValidation(t *testing.T) {
	neg := -time.Millisecond
	cases := []struct {
		f     Fault
		field string
	}{
		{Latency{Latency: neg}, "Latency"},
		{Latency{Jitter: neg}, "Jitter"},
		{Latency{Direction: 9}, "Direction"},
		{Bandwidth{RateKBps: -1}, "RateKBps"},
		{Slicer{AverageSize: 0}, "AverageSize"},
		{Slicer{AverageSize: 4, SizeVariation: 4}, "SizeVariation"},
		{Slicer{AverageSize: 4, Delay: neg}, "Delay"},
		{LimitData{Bytes: -1}, "Bytes"},
		{Timeout{Timeout: neg}, "Timeout"},
		{SlowClose{Delay: neg}, "Delay"},
		{ResetPeer{Timeout: neg}, "Timeout"},
		{SlowOpen{Delay: neg}, "Delay"},
		{IdleTimeout{}, "Idle"},
		{MaxLifetime{Lifetime: neg}, "Lifetime"},
		{Down{Mode: 7}, "Mode"},
		{Blackhole{Scope: Scope{For: neg}}, "Scope.For"},
		{Blackhole{Scope: Scope{After: neg}}, "Scope.After"},
		{Blackhole{Scope: Scope{AfterBytes: -1}}, "Scope.AfterBytes"},
		{Blackhole{Scope: Scope{Conns: []uint64{0}}}, "Scope.Conns"},
		{Blackhole{Scope: Scope{Toxicity: Probability(1.5)}}, "Scope.Toxicity"},
	}
	p, err := New("127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tc := range cases {
		_, err := p.Add(tc.f)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("Add(%#v) = %v, want FieldError on %s", tc.f, err, tc.field)
		}
	}
	if _, err := p.Add(Latency{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(Latency{Name: "x"}); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("duplicate name: %v", err)
	}
	h, err := p.Add(Latency{})
	if err != nil || h.Name() != "latency_downstream" {
		t.Errorf("default name: %v %v", h, err)
	}
	h2, _ := p.Add(Latency{})
	if h2.Name() != "latency_downstream_2" {
		t.Errorf("second default name = %q", h2.Name())
	}
	if _, err := New("no-port", nil); err == nil {
		t.Error("New accepted an upstream without a port")
	}
}

func TestCloseIdempotentAndBeforeStart(t *testing.T) {
	p, err := New("127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close = %v", err)
	}
}

// waitFor polls cond every 5ms for at most 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		tm := time.NewTimer(5 * time.Millisecond)
		<-tm.C
	}
}

// TestResetPeerToxicityZeroNeverResets: a reset_peer that does not apply
// (toxicity 0) leaves connections alone, linger included (toxiproxy#603).
func TestResetPeerToxicityZeroNeverResets(t *testing.T) {
	t.Parallel()
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	addFault(t, p, ResetPeer{Scope: Scope{Toxicity: Probability(0)}})
	for range 5 {
		c := dial(t, p.Addr())
		roundTrip(t, c, []byte("still here"))
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if got, err := readErr(c, 5*time.Second); !errors.Is(err, io.EOF) || len(got) != 0 {
			t.Fatalf("close: %q %v, want a clean EOF", got, err)
		}
	}
	if n := len(decisionsOf(p, "reset_peer", "skip")); n != 5 {
		t.Fatalf("skip decisions = %d, want 5", n)
	}
	if n := len(decisionsOf(p, "reset_peer", "reset")); n != 0 {
		t.Fatalf("reset decisions = %d", n)
	}
}
