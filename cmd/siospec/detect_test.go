package main

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/reports"
)

// TestServerDetectsSIO5: a bare --url of Node's socket.io fixture (the
// proofs' heartbeat) detects sio5 and only sio5, runs it, exits 0, and the
// report holds sio5 specs only and records the detection.
func TestServerDetectsSIO5(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the sio5 suite against Node")
	}
	nodepeer.Require(t)
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	base := nodepeer.Start(t, "fixtures/sio5.js", "--ping-interval", ms(prooftest.PingInterval), "--ping-timeout", ms(prooftest.PingTimeout),
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
	nodepeer.Require(t)
	base := nodepeer.Start(t, "fixtures/sio5.js")
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
