package eioclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// nodeServer starts testees/node/servers/eio-echo.js with args and returns
// its base URL. The process is stopped (by its PID) at cleanup. The test is
// skipped when node or the installed node_modules are missing.
func nodeServer(t *testing.T, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping Node interop in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: Node interop proof skipped")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "testees", "node"))
	if err != nil {
		t.Fatal(err)
	}
	for _, mod := range []string{"engine.io", "engine.io-v3"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", mod, "package.json")); err != nil {
			t.Skipf("testees/node/node_modules/%s missing (run npm ci in testees/node): Node interop proof skipped", mod)
		}
	}
	// pingInterval 300 ms as in the official suites, so that idle waits
	// see heartbeats; a generous pingTimeout keeps the proof stable on a
	// loaded machine (both sides allow pingInterval+pingTimeout), and the
	// heartbeat proofs count pings and pongs in the server's stats
	// instead of relying on a timeout.
	base := []string{filepath.Join("servers", "eio-echo.js"), "--port", "0", "--ping-interval", "300", "--ping-timeout", "5000"}
	cmd := exec.Command(node, append(base, args...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case l := <-lines:
		u, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			t.Fatalf("unexpected first line from eio-echo.js: %q", l)
		}
		return u
	case <-exited:
		t.Fatal("eio-echo.js exited before listening")
	case <-time.After(10 * time.Second):
		t.Fatal("eio-echo.js did not print its address within 10s")
	}
	return ""
}

func dialT(t *testing.T, ctx context.Context, u string, o *Options) *Conn {
	t.Helper()
	c, err := Dial(ctx, u, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func recvT(t *testing.T, ctx context.Context, c *Conn) engineio.Packet {
	t.Helper()
	p, err := c.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return p
}

func echoCheck(t *testing.T, ctx context.Context, c *Conn, pkts ...engineio.Packet) {
	t.Helper()
	if err := c.Send(ctx, pkts...); err != nil {
		t.Fatalf("Send: %v", err)
	}
	for _, want := range pkts {
		got := recvT(t, ctx, c)
		if !got.Equal(want) {
			t.Fatalf("echo: got %v, want %v", got, want)
		}
	}
}

func text(s string) engineio.Packet { return engineio.TextPacket(engineio.Message, s) }

type nodeStats struct {
	Pings     int    `json:"pings"`
	Pongs     int    `json:"pongs"`
	Upgrades  int    `json:"upgrades"`
	Transport string `json:"transport"`
}

func stats(t *testing.T, ctx context.Context, c *Conn) nodeStats {
	t.Helper()
	if err := c.Send(ctx, text("stats")); err != nil {
		t.Fatal(err)
	}
	p := recvT(t, ctx, c)
	js, ok := strings.CutPrefix(string(p.Data), "stats ")
	if !ok {
		t.Fatalf("stats: got %v", p)
	}
	var s nodeStats
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNode_PollingOnly(t *testing.T) {
	u := nodeServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dialT(t, ctx, u, &Options{Transports: []string{Polling}})
	if c.Transport() != Polling {
		t.Fatalf("transport %q", c.Transport())
	}
	echoCheck(t, ctx, c, text("hello"), text("4€😀"), engineio.BinaryMessage([]byte{1, 2, 3, 4}), text(""))
	// Stay idle past several heartbeats: the client must pong.
	waitIdle(ctx, 1200*time.Millisecond)
	echoCheck(t, ctx, c, text("still here"))
	wantPongs(t, ctx, c)
	if s := stats(t, ctx, c); s.Transport != Polling || s.Upgrades != 0 {
		t.Fatalf("server saw %+v", s)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ce *CloseError
	if !errors.As(c.Err(), &ce) || ce.Reason != ReasonForcedClose {
		t.Fatalf("Err after Close = %v", c.Err())
	}
}

// wantPongs checks that the client answered the server's pings (EIO-HB-02)
// while it was idle for four pingIntervals.
func wantPongs(t *testing.T, ctx context.Context, c *Conn) {
	t.Helper()
	if s := stats(t, ctx, c); s.Pongs < 1 {
		t.Fatalf("server received no pong in 1.2 s (pingInterval 300 ms): %+v", s)
	}
}

// waitIdle lets protocol time pass (heartbeats), bounded by ctx.
func waitIdle(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

func TestNode_WebSocketOnly(t *testing.T) {
	u := nodeServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := dialT(t, ctx, u, &Options{Transports: []string{WebSocket}})
	if c.Transport() != WebSocket || len(c.Handshake().Upgrades) != 0 {
		t.Fatalf("transport %q, upgrades %v", c.Transport(), c.Handshake().Upgrades)
	}
	echoCheck(t, ctx, c, text("hello"), text("4€😀"), engineio.BinaryMessage([]byte{1, 2, 3, 4}), text("a\x1eb"))
	waitIdle(ctx, 1200*time.Millisecond)
	echoCheck(t, ctx, c, text("still here"))
	wantPongs(t, ctx, c)
	if s := stats(t, ctx, c); s.Transport != WebSocket {
		t.Fatalf("server saw %+v", s)
	}
}

func TestNode_Upgrade(t *testing.T) {
	for _, v := range []struct {
		name string
		args []string
		ver  engineio.Version
	}{{"v4", nil, engineio.V4}, {"v3", []string{"--engine", "3"}, engineio.V3}} {
		t.Run(v.name, func(t *testing.T) {
			u := nodeServer(t, v.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := dialT(t, ctx, u, &Options{Version: v.ver})
			select {
			case ev := <-c.Events():
				if ev.Type != EventUpgrade {
					t.Fatalf("event %v %v", ev.Type, ev.Err)
				}
			case <-ctx.Done():
				t.Fatal("no upgrade event")
			}
			if c.Transport() != WebSocket {
				t.Fatalf("transport %q", c.Transport())
			}
			echoCheck(t, ctx, c, text("after upgrade"), engineio.BinaryMessage([]byte{9, 8, 7}))
			if s := stats(t, ctx, c); s.Transport != WebSocket || s.Upgrades != 1 {
				t.Fatalf("server saw %+v", s)
			}
		})
	}
}

// TestNode_EIO_UPG_12_OrderAcrossUpgrade streams 200 messages with a window
// of 4 in flight while the upgrade happens: every echo arrives once, in order.
func TestNode_EIO_UPG_12_OrderAcrossUpgrade(t *testing.T) {
	u := nodeServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dialT(t, ctx, u, nil)
	const n, window = 200, 4
	sent, onPolling := 0, 0
	send := func() {
		if c.Transport() == Polling {
			onPolling++
		}
		if err := c.Send(ctx, text(fmt.Sprintf("m%03d", sent))); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	for sent < window {
		send()
	}
	for i := 0; i < n; i++ {
		p := recvT(t, ctx, c)
		if want := fmt.Sprintf("m%03d", i); string(p.Data) != want {
			t.Fatalf("message %d: got %q, want %q", i, p.Data, want)
		}
		if sent < n {
			send()
		}
	}
	if c.Transport() != WebSocket {
		t.Fatalf("no upgrade during the stream (transport %q)", c.Transport())
	}
	if onPolling == 0 || onPolling == n {
		t.Fatalf("%d of %d messages were sent on polling; the upgrade did not happen mid-stream", onPolling, n)
	}
	t.Logf("%d messages sent before the upgrade, %d after", onPolling, n-onPolling)
}

func TestNode_EIO3_ClientPings(t *testing.T) {
	for _, tr := range []string{Polling, WebSocket} {
		t.Run(tr, func(t *testing.T) {
			u := nodeServer(t, "--engine", "3")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := dialT(t, ctx, u, &Options{Version: engineio.V3, Transports: []string{tr}})
			echoCheck(t, ctx, c, text("hello"), text("4€😀"), engineio.BinaryMessage([]byte{1, 2, 3, 4}))
			// Over 5 pingIntervals a v3 client sends about 5 pings; at
			// least 2 tells it from a silent one on a loaded machine.
			waitIdle(ctx, 1600*time.Millisecond)
			s := stats(t, ctx, c)
			if s.Pings < 2 {
				t.Fatalf("server received %d pings in 1.6s (pingInterval 300ms)", s.Pings)
			}
			if c.Err() != nil {
				t.Fatalf("session closed: %v", c.Err())
			}
		})
	}
}

func TestNode_ServerClose(t *testing.T) {
	for _, tr := range []string{Polling, WebSocket} {
		t.Run(tr, func(t *testing.T) {
			u := nodeServer(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := dialT(t, ctx, u, &Options{Transports: []string{tr}})
			if err := c.Send(ctx, text("close")); err != nil {
				t.Fatal(err)
			}
			select {
			case <-c.Done():
			case <-ctx.Done():
				t.Fatal("session not closed")
			}
			var ce *CloseError
			if !errors.As(c.Err(), &ce) || ce.Reason != ReasonTransportClose {
				t.Fatalf("Err = %v, want transport close", c.Err())
			}
		})
	}
}

// TestNode_ForceBase64: b64=1 sessions carry binary as base64 text both ways
// (EIO-URL-08 on a v4 WebSocket, EIO3-04 on v3 polling).
func TestNode_ForceBase64(t *testing.T) {
	for _, v := range []struct {
		name string
		args []string
		o    Options
	}{
		{"v4 websocket", nil, Options{Transports: []string{WebSocket}, ForceBase64: true}},
		{"v3 polling", []string{"--engine", "3"}, Options{Version: engineio.V3, Transports: []string{Polling}, ForceBase64: true}},
		{"v3 polling xhr2", []string{"--engine", "3"}, Options{Version: engineio.V3, Transports: []string{Polling}}},
	} {
		t.Run(v.name, func(t *testing.T) {
			u := nodeServer(t, v.args...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			o := v.o
			c := dialT(t, ctx, u, &o)
			echoCheck(t, ctx, c, engineio.BinaryMessage([]byte{0, 1, 2, 255}), text("x"), engineio.BinaryMessage(nil))
		})
	}
}

// TestNode_EIO_LIMIT_04_LargeBatches: 100 × 20 kB messages queued at once on
// polling are split into POSTs the server accepts (each within maxPayload
// 1e6, else Node answers 413); a 900 kB message goes alone.
func TestNode_EIO_LIMIT_04_LargeBatches(t *testing.T) {
	u := nodeServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := dialT(t, ctx, u, &Options{Transports: []string{Polling}})
	var pkts []engineio.Packet
	for i := 0; i < 100; i++ {
		pkts = append(pkts, text(fmt.Sprintf("%03d", i)+strings.Repeat("€", 20000/3)))
	}
	pkts = append(pkts, text(strings.Repeat("z", 900_000)))
	echoCheck(t, ctx, c, pkts...)
}
