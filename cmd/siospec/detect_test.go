package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/reports"
)

// startFixture starts node fixtures/NAME.js --port 0 ARGS in testees/node
// and returns the base URL it reports; the cleanup interrupts it (kills it
// after 5s) and waits for it.
func startFixture(t *testing.T, name string, args ...string) string {
	t.Helper()
	needNodePeers(t)
	cmd := exec.Command("node", append([]string{filepath.Join("fixtures", name+".js"), "--port", "0"}, args...)...)
	cmd.Dir = filepath.Join("..", "..", "testees", "node")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		wg.Wait()
	})
	first := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(first)
		sc := bufio.NewScanner(stdout)
		for n := 0; sc.Scan(); n++ {
			if n == 0 {
				first <- sc.Text()
			}
		}
	}()
	select {
	case l, ok := <-first:
		u, found := strings.CutPrefix(l, "listening ")
		if !ok || !found {
			t.Fatalf("fixture %s: unexpected first line %q", name, l)
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatalf("fixture %s did not report listening within 10s", name)
	}
	return ""
}

// TestServerDetectsSIO5: a bare --url of Node's socket.io fixture (the
// proofs' heartbeat) detects sio5 and only sio5, runs it, exits 0, and the
// report holds sio5 specs only and records the detection.
func TestServerDetectsSIO5(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the sio5 suite against Node")
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	base := startFixture(t, "sio5", "--ping-interval", ms(prooftest.PingInterval), "--ping-timeout", ms(prooftest.PingTimeout),
		"--connect-timeout", ms(prooftest.ConnectTimeout))
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		code := run(a.Context(), []string{"server", "--url", base, "--connect-timeout", prooftest.ConnectTimeout.String(), "--report-dir", dir}, &stdout, &stderr)
		if code != exitOK {
			a.Errorf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, lastLines(stdout.String(), 20), lastLines(stderr.String(), 20))
			return
		}
		if !strings.Contains(stdout.String(), "detected suites: sio5 ") {
			a.Errorf("no detection line for sio5:\n%s", lastLines(stdout.String(), 40))
		}
		r, err := reports.Load(filepath.Join(dir, "report.json"))
		if err != nil {
			a.Fatalf("%v", err)
		}
		a.Judged(len(r.Specs))
		n := 0
		for _, s := range r.Specs {
			if s.Outcome == reports.Skipped {
				continue
			}
			n++
			if s.Proto != "SIO5" {
				a.Errorf("spec of %s ran: %s", s.Proto, s.Name)
			}
		}
		if n < 50 {
			a.Errorf("only %d specs ran", n)
		}
		if got := r.Target.Preflight["detect.suites"]; got != "sio5" {
			a.Errorf("report records detect.suites %q, want sio5", got)
		}
	})
}

// TestServerSuiteDoesNotFit: --suite eio4 against a Socket.IO server ends
// fast in exit 3 with the command line that fits, before any spec runs.
func TestServerSuiteDoesNotFit(t *testing.T) {
	base := startFixture(t, "sio5")
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(t.Context(), []string{"server", "--url", base, "--suite", "eio4"}, &stdout, &stderr)
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("took %v, want a fast preflight failure", took)
	}
	if code != exitPreflight {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitPreflight, stdout.String(), stderr.String())
	}
	want := "siospec server --url " + base + " --suite sio5"
	if !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "does not fit --suite eio4") {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
	if strings.Contains(stdout.String(), "PASS") || strings.Contains(stdout.String(), "FAIL") {
		t.Errorf("specs ran:\n%s", stdout.String())
	}
}
