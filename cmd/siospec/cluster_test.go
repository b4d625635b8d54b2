package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/suites/cluster"
)

func TestClusterUsage(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no URL", []string{"server", "--cluster", "", "--suite", "cluster"}, exitUsage, "at least one URL"},
		{"other suite", []string{"server", "--cluster", "http://127.0.0.1:1", "--suite", "sio5"}, exitUsage, "--suite cluster only"},
		{"adapter on eio4", []string{"serve", "--fixture", "eio4", "--adapter", "redis://127.0.0.1:1"}, exitUsage, "--adapter needs --fixture sio5"},
		{"adapter not redis", []string{"serve", "--fixture", "sio5", "--adapter", "http://127.0.0.1:1"}, exitUsage, "bad Redis URL"},
		{"redis unreachable", []string{"serve", "--fixture", "sio5", "--addr", "127.0.0.1:0", "--adapter", "redis://127.0.0.1:1"}, exitHarness, "ping"},
		{"lone URL unreachable", []string{"server", "--cluster", "http://127.0.0.1:1", "--suite", "cluster"}, exitPreflight, "preflight failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			code := run(ctx, tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.out) {
				t.Fatalf("exit %d (want %d), output:\n%s%s\nwant it to contain %q", code, tt.code, stdout.String(), stderr.String(), tt.out)
			}
		})
	}
}

// serveNode runs "siospec serve --fixture sio5 --adapter" in process until
// ctx ends and returns its URL and a channel with its exit code.
func serveNode(t *testing.T, ctx context.Context, redisURL, name string) (string, <-chan int) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		code := run(ctx, []string{"serve", "--fixture", "sio5", "--addr", "127.0.0.1:0", "--adapter", redisURL, "--node-name", name}, pw, &stderr)
		_ = pw.Close()
		done <- code
	}()
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case l, ok := <-line:
		u, found := strings.CutPrefix(l, "listening ")
		if !ok || !found {
			t.Fatalf("serve %s printed %q", name, l)
		}
		return u, done
	case <-time.After(15 * time.Second):
		t.Fatalf("serve %s did not listen within 15s", name)
	}
	return "", nil
}

// TestClusterCLI: two "siospec serve --adapter" nodes on one Redis pass the
// broadcast and balancer specs through "siospec server --cluster", which
// writes cluster-report.json; both nodes stop with exit code 0.
func TestClusterCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := cluster.StartRedis(ctx, nil)
	if err != nil {
		t.Fatal(err) // never a skip: redis-server is part of the test machine
	}
	defer func() { _ = r.Close() }()
	nctx, stop := context.WithCancel(ctx)
	u1, done1 := serveNode(t, nctx, r.URL(), "cli-1")
	u2, done2 := serveNode(t, nctx, r.URL(), "cli-2")
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"server", "--cluster", u1 + "," + u2, "--suite", "cluster", "--focus", "CLU-BC,CLU-LB", "--report-dir", dir}, &stdout, &stderr)
	stop()
	for _, d := range []<-chan int{done1, done2} {
		select {
		case c := <-d:
			if c != exitOK {
				t.Errorf("serve exited %d", c)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop within 10s")
		}
	}
	if code != exitOK || !strings.Contains(stdout.String(), "cluster suite: 7 passed, 0 failed, 0 skipped, 0 harness errors") {
		t.Fatalf("exit %d, output:\n%s%s", code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "cluster-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep clusterJSON
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Results) != 7 || len(rep.Nodes) != 2 || rep.Failed != 0 {
		t.Fatalf("report %s: %v", b, err)
	}
}
