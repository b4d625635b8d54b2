package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/faultproxy"
)

// TestProxyHelpListsRegistry: `siospec proxy --help` lists every fault type
// of the registry and every profile, so the help cannot drift from the code.
func TestProxyHelpListsRegistry(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runProxy(context.Background(), []string{"--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("--help exit %d: %s", code, stderr.String())
	}
	help := stderr.String()
	for _, ft := range faultproxy.FaultTypes() {
		if !strings.Contains(help, "  "+ft.Type+" ") || !strings.Contains(help, ft.GoType) {
			t.Errorf("--help does not list fault type %s (%s)", ft.Type, ft.GoType)
		}
	}
	if !strings.Contains(help, "EIODropIf") {
		t.Error("--help does not list the Go-only EIODropIf")
	}
	for _, p := range faultproxy.Profiles() {
		if !strings.Contains(help, "  "+p.Name+" ") {
			t.Errorf("--help does not list profile %s", p.Name)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a writer and a poller.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProxyServerCrashSaysCrashMode: --profile server-crash says that it
// runs in crash mode proxy (the server keeps its state).
func TestProxyServerCrashSaysCrashMode(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- runProxy(ctx, []string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--seed", "1",
			"--profile", "server-crash", "--profile-options", `{"after_ms":3600000}`}, &stdout, &stderr)
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for !strings.Contains(stdout.String(), "listening on") {
		select {
		case code := <-done:
			t.Fatalf("runProxy ended early with %d: %s %s", code, stdout.String(), stderr.String())
		case <-deadline.C:
			t.Fatalf("runProxy printed nothing within 10 s: %s %s", stdout.String(), stderr.String())
		case <-tick.C:
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-deadline.C:
		t.Fatal("runProxy did not stop within 10 s of cancel")
	}
	out := stdout.String()
	if !strings.Contains(out, "crash mode proxy") || !strings.Contains(out, "keeps running with its state") {
		t.Errorf("stdout does not state the crash mode:\n%s", out)
	}
}
