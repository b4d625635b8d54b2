package eioclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// TestCallerHTTPClient: polling requests and the WebSocket probe both go
// through the caller's client (its DialContext), as the fault proxy needs.
func TestCallerHTTPClient(t *testing.T) {
	s := newScriptServer(t)
	var dialed sync.Map // local addresses of the connections dialed
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			dialed.Store(conn.LocalAddr().String(), true)
		}
		return conn, err
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := s.pollSession(&Options{HTTPClient: &http.Client{Transport: tr}, Transports: []string{Polling, WebSocket}}, open4(WebSocket))
	g := s.get()
	ws := s.accept(s.ws())
	ws.expectText("2probe")
	if _, ok := dialed.Load(ws.c.RemoteAddr().String()); !ok {
		t.Fatalf("the WebSocket from %v did not use the caller's DialContext", ws.c.RemoteAddr())
	}
	ws.sendText("3probe")
	g.okPackets("6")
	s.releaseUntilFrame(ws, "6", "5")
	_ = c
}

// TestDialErrors: bad URLs and options fail fast; a cancelled context ends
// the handshake.
func TestDialErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		url string
		o   *Options
	}{
		{"ftp://x/", nil},
		{"://", nil},
		{"http://127.0.0.1:1/", &Options{Transports: []string{"webtransport"}}},
		{"http://127.0.0.1:1/", &Options{Version: 5}},
	} {
		if c, err := Dial(ctx, tc.url, tc.o); err == nil {
			_ = c.Close()
			t.Errorf("Dial(%q, %+v) succeeded", tc.url, tc.o)
		}
	}
	s := newScriptServer(t)
	cctx, cancel := context.WithCancel(ctx)
	ch := make(chan error, 1)
	go func() {
		_, err := Dial(cctx, s.URL(), &Options{Transports: []string{Polling}})
		ch <- err
	}()
	s.get()
	cancel()
	select {
	case err := <-ch:
		var he *HandshakeError
		if !errors.As(err, &he) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Dial ignored the cancelled context")
	}
}

// TestRecvContext: Recv gives up with the context's error; the session stays.
func TestRecvContext(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv = %v", err)
	}
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	done, dcancel := context.WithCancel(context.Background())
	dcancel()
	if err := c.Send(done, text("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v", err)
	}
}

// TestCloseDuringUpgrade: Close while the probe is paused drops the probe
// and still closes over polling.
func TestCloseDuringUpgrade(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(&Options{Transports: []string{Polling, WebSocket}}, open4(WebSocket))
	g := s.get()
	ws := s.accept(s.ws())
	ws.expectText("2probe")
	ws.sendText("3probe")
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	p := s.post()
	if string(p.Body) != "1" {
		t.Fatalf("close POST %q", p.Body)
	}
	g.okPackets("6")
	p.ok("ok")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Close hung")
	}
	if _, _, err := ws.readErr(); err == nil {
		t.Fatal("probe WebSocket still open")
	}
	for ev := range c.Events() {
		if ev.Type == EventUpgrade {
			t.Fatalf("upgrade after Close: %+v", ev)
		}
	}
}

// TestConcurrentUse: Send and Recv from many goroutines under -race, on
// WebSocket, with every message delivered once.
func TestConcurrentUse(t *testing.T) {
	s := newScriptServer(t)
	c, ws, _ := s.wsSession(nil, open4())
	const senders, each = 4, 25
	var wg sync.WaitGroup
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				_ = c.Send(context.Background(), text(fmt.Sprintf("%d-%d", i, j)))
			}
		}()
	}
	seen := map[string]bool{}
	for k := 0; k < senders*each; k++ {
		_, d := ws.read()
		if seen[d] {
			t.Fatalf("duplicate %q", d)
		}
		seen[d] = true
		ws.sendText(d) // echo
	}
	wg.Wait()
	got := make(chan string, senders*each)
	var rg sync.WaitGroup
	for i := 0; i < 3; i++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			for {
				p, err := c.Recv(ctx)
				if err != nil {
					return
				}
				got <- string(p.Data)
				if len(got) == senders*each {
					return
				}
			}
		}()
	}
	deadline := time.After(wait)
	for n := 0; n < senders*each; n++ {
		select {
		case d := <-got:
			if !seen["4"+d] {
				t.Fatalf("unexpected %q", d)
			}
		case <-deadline:
			t.Fatalf("received %d of %d", n, senders*each)
		}
	}
	_ = c.Close()
	rg.Wait()
	_ = engineio.Message
}
