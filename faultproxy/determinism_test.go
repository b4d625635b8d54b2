package faultproxy

import (
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// scenario runs a fixed, sequential workload through a proxy with seed and
// returns its decision log, normalised (times and global order dropped,
// sorted by connection, direction, fault and step).
func scenario(t *testing.T, seed int64, extra bool) []string {
	t.Helper()
	up := startEcho(t)
	p := startProxy(t, up.addr(), &Options{Seed: seed})
	addFault(t, p, Latency{Name: "lat", Direction: Upstream, Latency: time.Millisecond, Jitter: 5 * time.Millisecond})
	if extra {
		addFault(t, p, Bandwidth{Name: "extra", Direction: Downstream, RateKBps: 1 << 20, Scope: Scope{Toxicity: Probability(0.5)}})
	}
	addFault(t, p, Slicer{Name: "slice", Direction: Downstream, AverageSize: 8, SizeVariation: 6})
	addFault(t, p, IdleTimeout{Name: "idle", Idle: time.Hour, Scope: Scope{Toxicity: Probability(0.5)}})
	msg := []byte(strings.Repeat("determinism!", 4))
	for range 6 {
		c := dial(t, p.Addr())
		for range 3 {
			roundTrip(t, c, msg)
		}
		c.Close()
	}
	all, dropped := p.Decisions()
	if dropped != 0 {
		t.Fatalf("%d decisions dropped", dropped)
	}
	var out []string
	for _, d := range all {
		if d.Fault == "extra" {
			continue
		}
		out = append(out, fmt.Sprintf("conn=%03d dir=%s fault=%s step=%03d %s %s", d.Conn, d.Direction, d.Fault, d.Step, d.Action, d.Detail))
	}
	slices.Sort(out)
	return out
}

func TestDeterminism(t *testing.T) {
	a := scenario(t, 1234, false)
	b := scenario(t, 1234, false)
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different decisions:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if len(a) < 6*3*2 {
		t.Fatalf("only %d decisions", len(a))
	}
	c := scenario(t, 1235, false)
	if slices.Equal(a, c) {
		t.Fatal("a different seed gave identical decisions")
	}
	d := scenario(t, 1234, true)
	if !slices.Equal(a, d) {
		t.Fatalf("adding an unrelated fault changed other faults' decisions:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(d, "\n"))
	}
	t.Logf("%d decisions replayed identically; e.g. %q", len(a), a[len(a)/2])
}

func TestReseedReplays(t *testing.T) {
	up := startEcho(t)
	p := startProxy(t, up.addr(), &Options{Seed: 5})
	addFault(t, p, Slicer{Name: "s", AverageSize: 4, SizeVariation: 3})
	run := func() []string {
		c := dial(t, p.Addr())
		roundTrip(t, c, []byte("reseed replays the same slices"))
		c.Close()
		all, _ := p.Decisions()
		var out []string
		for _, d := range all {
			out = append(out, fmt.Sprint(d.Conn, d.Action, d.Detail))
		}
		return out
	}
	first := run()
	p.Reseed(5)
	if second := run(); !slices.Equal(first, second) {
		t.Fatalf("after Reseed: %v vs %v", first, second)
	}
}

// BenchmarkThroughput streams 64 KiB writes to a sink upstream, directly and
// through the proxy with no fault.
func BenchmarkThroughput(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	defer func() { ln.Close(); <-done }()
	p := startProxy(b, ln.Addr().String(), nil)
	buf := make([]byte, 64<<10)
	for _, tc := range []struct{ name, addr string }{{"direct", ln.Addr().String()}, {"proxy", p.Addr()}} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := net.Dial("tcp", tc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
