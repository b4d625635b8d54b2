package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/reports"
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
		{"no nodes", []string{"server", "--suite", "cluster"}, exitUsage, "needs the nodes"},
		{"both", []string{"server", "--suite=cluster", "--cluster", "http://127.0.0.1:1", "--server-cmd", "x {port} {adapter}"}, exitUsage, "not both"},
		{"no adapter placeholder", []string{"server", "--suite", "cluster", "--server-cmd", "x --port {port}"}, exitUsage, "{adapter}"},
		{"no port placeholder", []string{"server", "--suite", "cluster", "--server-cmd", "x --redis {adapter}"}, exitUsage, "{port}"},
		{"one node", []string{"server", "--suite", "cluster", "--server-cmd", "x {port} {adapter}", "--nodes", "1"}, exitUsage, "--nodes must be within 2..16"},
		{"url flag", []string{"server", "--cluster", "http://127.0.0.1:1", "--url", "http://127.0.0.1:2"}, exitUsage, "not defined"},
		{"bad label filter", []string{"server", "--cluster", "http://127.0.0.1:1", "--label-filter", "req:("}, exitUsage, "label filter"},
		{"adapter on eio4", []string{"serve", "--fixture", "eio4", "--adapter", "redis://127.0.0.1:1"}, exitUsage, "--adapter needs --fixture sio5"},
		{"adapter not redis", []string{"serve", "--fixture", "sio5", "--adapter", "http://127.0.0.1:1"}, exitUsage, "bad Redis URL"},
		{"redis unreachable", []string{"serve", "--fixture", "sio5", "--addr", "127.0.0.1:0", "--adapter", "redis://127.0.0.1:1"}, exitHarness, "ping"},
		{"lone URL unreachable", []string{"server", "--cluster", "http://127.0.0.1:1", "--suite", "cluster"}, exitPreflight, "preflight failed"},
		{"node command exits", []string{"server", "--suite", "cluster", "--server-cmd", "exit 3 # {port} {adapter}", "--nodes", "2"}, exitPreflight, "exited before it was ready"},
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

// TestClusterExpectFailures: --expect-failures takes "cluster ID reason"
// lines for a cluster run (the run then ends at the preflight of an
// unreachable node, exit 3), and rejects a file it cannot parse (exit 4).
func TestClusterExpectFailures(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.txt"), filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(good, []byte("# known\ncluster CLU-FAULT-01 Node crashes on a PUBLISH racing Redis going away\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("CLU-FAULT-01 no suite\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		code int
	}{{good, exitPreflight}, {bad, exitUsage}} {
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		code := run(ctx, []string{"server", "--cluster", "http://127.0.0.1:1", "--expect-failures", tc.file}, &stdout, &stderr)
		cancel()
		if code != tc.code {
			t.Errorf("--expect-failures %s: exit %d, want %d\n%s%s", filepath.Base(tc.file), code, tc.code, stdout.String(), stderr.String())
		}
	}
}

// clusterChildEnv makes TestClusterChild run `siospec ARGS` with the
// arguments in the variable (a JSON array). Ginkgo runs once per process,
// so each cluster run happens in a child of this test binary.
const clusterChildEnv = "SIOSPEC_TEST_CLUSTER_ARGS"

// TestClusterChild is the child of runClusterChild; it does nothing
// otherwise.
func TestClusterChild(t *testing.T) {
	v, ok := os.LookupEnv(clusterChildEnv)
	if !ok {
		t.Skip("runs only as the child of the cluster CLI tests")
	}
	var args []string
	if err := json.Unmarshal([]byte(v), &args); err != nil {
		t.Fatal(err)
	}
	code := run(context.Background(), args, os.Stdout, os.Stderr)
	fmt.Printf("\nexit %d\n", code)
}

// runClusterChild runs `siospec ARGS` in a child process and returns its
// output and exit code.
func runClusterChild(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	b, _ := json.Marshal(args)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestClusterChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), clusterChildEnv+"="+string(b))
	out, _ := cmd.CombinedOutput()
	m := regexp.MustCompile(`\nexit (\d+)\n`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("siospec %v: no exit code in the output\n%s", args, out)
	}
	code, _ := strconv.Atoi(string(m[1]))
	return string(out), code
}

// serveNode runs "siospec serve --fixture sio5 --adapter" in process until
// ctx ends and returns its URL and a channel with its exit code.
func serveNode(t *testing.T, ctx context.Context, redisURL, name string) (string, <-chan int) {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		code := run(ctx, []string{"serve", "--fixture", "sio5", "--addr", "127.0.0.1:0", "--adapter", redisURL, "--node-name", name,
			"--ping-interval", "1s", "--ping-timeout", "1s"}, pw, &stderr)
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

// loadClusterReport reads dir/report.json and checks that the other three
// report files are there too; it returns the outcome of each requirement.
func loadClusterReport(t *testing.T, dir string) map[string]reports.Outcome {
	t.Helper()
	for _, f := range []string{reports.FileJUnit, reports.FileSummary, reports.FileHTML} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("report file: %v", err)
		}
	}
	r, err := reports.Load(filepath.Join(dir, reports.FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]reports.Outcome{}
	for _, s := range r.Specs {
		if s.Outcome == reports.Skipped {
			continue
		}
		if s.Proto != "CLUSTER" {
			t.Errorf("spec %s has proto %q, want CLUSTER", s.ID, s.Proto)
		}
		out[s.ID] = s.Outcome
		if s.Outcome == reports.Unsupported && s.Reason == "" {
			t.Errorf("%s unsupported without a reason", s.ID)
		}
	}
	return out
}

// TestClusterCLI: two "siospec serve --adapter" nodes on one Redis pass
// the broadcast and balancer specs through "siospec server --cluster",
// which writes the four standard report files; without control over Redis
// the CLU-FAULT specs are unsupported, with the reason; both nodes stop
// with exit code 0.
func TestClusterCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
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
	out, code := runClusterChild(t, "server", "--cluster", u1+","+u2, "--suite", "cluster",
		"--label-filter", "req: containsAny {CLU-BC-01, CLU-BC-02, CLU-LB-01, CLU-LB-03, CLU-FAULT-01}", "--report-dir", dir)
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
	if code != exitOK {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	got := loadClusterReport(t, dir)
	want := map[string]reports.Outcome{"CLU-BC-01": reports.Pass, "CLU-BC-02": reports.Pass, "CLU-LB-01": reports.Pass, "CLU-LB-03": reports.Pass, "CLU-FAULT-01": reports.Unsupported}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v\n%s", got, want, out)
	}
}

// TestClusterServerCmd: "siospec server --suite cluster --server-cmd CMD
// --nodes 3" starts Redis and three Node nodes (testees/node, socket.io
// 4.8.4 with @socket.io/redis-adapter 8.3.0) and runs the CLU-FAULT specs,
// which stop and restart that Redis, and a broadcast spec; all pass, and
// nothing is left running.
func TestClusterServerCmd(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node not found in PATH: %v", err)
	}
	script, err := filepath.Abs("../../testees/node/fixtures/cluster.js")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// --unhandled-rejections=warn: see nodeNode in suites/cluster/cluster_test.go
	// (socket.io + redis-adapter crash on a PUBLISH racing Redis going away).
	cmd := fmt.Sprintf("exec node --unhandled-rejections=warn '%s' --port {port} --redis {adapter} --ping-interval 1000 --ping-timeout 1000", script)
	out, code := runClusterChild(t, "server", "--suite", "cluster", "--nodes", "3", "--server-cmd", cmd, "--server-ready", "^listening",
		"--label-filter", "req: containsAny {CLU-BC-01, CLU-FAULT-01, CLU-FAULT-02, CLU-FAULT-03}", "--report-dir", dir)
	if code != exitOK {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	got := loadClusterReport(t, dir)
	want := map[string]reports.Outcome{"CLU-BC-01": reports.Pass, "CLU-FAULT-01": reports.Pass, "CLU-FAULT-02": reports.Pass, "CLU-FAULT-03": reports.Pass}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v\n%s", got, want, out)
	}
	if n := strings.Count(out, "started node: "); n != 3 {
		t.Errorf("%d nodes started, want 3\n%s", n, out)
	}
}
