package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites"
)

// TestMain lets this test binary serve as the child process of a parallel
// `siospec server` or `siospec client` run (the runners start their own
// executable), and as `siospec testee` when envTestAsTestee is set.
func TestMain(m *testing.M) {
	if os.Getenv(envTestAsTestee) != "" {
		// This test binary plays `siospec testee` (the Go reference
		// client) for the client-suite tests.
		os.Exit(run(context.Background(), []string{"testee"}, os.Stdout, os.Stderr))
	}
	if code, ok := suites.ChildMain(context.Background()); ok {
		os.Exit(code)
	}
	if code, ok := suites.ClientChildMain(context.Background()); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestServerReference is `make conformance` with the proofs' timing
// (prooftest: pingInterval, pingTimeout and connectTimeout through
// --reference-ping-interval, --reference-ping-timeout and
// --connect-timeout): every suite against the built-in reference, exit 0,
// the four report files written. A failed attempt is retried once
// (prooftest.Run), then fails the test.
func TestServerReference(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the full reference run takes about 50 s")
	}
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		dir, err := os.MkdirTemp("", "siospec-server-reference-")
		if err != nil {
			a.Fatalf("%v", err)
		}
		a.Cleanup(func() { _ = os.RemoveAll(dir) })
		var stdout, stderr bytes.Buffer
		start := time.Now()
		code := run(a.Context(), []string{"server", "--report-dir", dir,
			"--reference-ping-interval", prooftest.PingInterval.String(),
			"--reference-ping-timeout", prooftest.PingTimeout.String(),
			"--connect-timeout", prooftest.ConnectTimeout.String()}, &stdout, &stderr)
		wall := time.Since(start)
		if code != exitOK {
			a.Fatalf("exit code %d, want 0\n%s\nstderr:\n%s", code, failLines(stdout.String()), lastLines(stderr.String(), 20))
		}
		b, err := os.ReadFile(filepath.Join(dir, "report.json"))
		if err != nil {
			a.Fatalf("report.json: %v", err)
		}
		for _, f := range []string{"report.json", "junit.xml", "summary.md", "index.html"} {
			st, err := os.Stat(filepath.Join(dir, f))
			if err != nil || st.Size() == 0 {
				a.Errorf("%s: %v (size %v)", f, err, st)
			}
		}
		for _, p := range []string{`"proto": "EIO4"`, `"proto": "EIO3"`, `"proto": "SIO5"`, `"proto": "SIO4"`} {
			if !bytes.Contains(b, []byte(p)) && !bytes.Contains(b, []byte(strings.ReplaceAll(p, " ", ""))) {
				a.Errorf("report.json has no spec with %s: one report must cover every suite", p)
			}
		}
		// The reference served the proofs' heartbeat: every preflight
		// line says so.
		heartbeat := fmt.Sprintf("pingInterval %v, pingTimeout %v", prooftest.PingInterval, prooftest.PingTimeout)
		if n := strings.Count(stdout.String(), heartbeat); n != 4 {
			a.Errorf("%d preflight lines show %q, want 4:\n%s", n, heartbeat, stdout.String())
		}
		a.Judged(1)
		a.Logf("reference run: %v\n%s", wall.Round(time.Millisecond), lastLines(stdout.String(), 3))
	})
}

// TestServerClosedPort: a target that refuses connections fails the
// detection with exit code 3, fast, listing what was tried.
func TestServerClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(t.Context(), []string{"server", "--url", "http://" + addr}, &stdout, &stderr)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v, want under 5s", d)
	}
	if code != exitPreflight {
		t.Fatalf("exit code %d, want %d\n%s", code, exitPreflight, stderr.String())
	}
	if !strings.Contains(stderr.String(), "preflight failed: nothing at") || !strings.Contains(stderr.String(), "/socket.io/ EIO=3") || !strings.Contains(stderr.String(), "check:") {
		t.Errorf("unhelpful message:\n%s", stderr.String())
	}
}

// TestServerUsage: bad flags and flag combinations exit 4.
func TestServerUsage(t *testing.T) {
	for _, args := range [][]string{
		{"server", "--no-such-flag"},
		{"server", "--suite", "eio5"},
		{"server", "--url", "ftp://x"},
		{"server", "--sio-url", "http://127.0.0.1:1", "--suite", "eio4"},
		{"server", "--label-filter", "((("},
		{"server", "--procs", "-1"},
		{"server", "extra"},
		{"server", "--url", "http://127.0.0.1:1", "--reference-ping-interval", "1s"},
		{"server", "--reference-ping-timeout", "-1s"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit code %d, want %d\n%s", args, code, exitUsage, stderr.String())
		}
	}
}

// TestServerHelp: --help documents the suite and target rules.
func TestServerHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"server", "--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{"--suite", "--sio-url", "--eio-url", "/socket.io/", "runs every suite it speaks", "exit code 3"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// openWithExtraKey breaks EIO-HS-02: the polling handshake's open packet
// gets an extra key.
func openWithExtraKey(next http.Handler) http.Handler {
	re := regexp.MustCompile(`^(\d+:)?0\{`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.Method != http.MethodGet || q.Get("transport") != "polling" || q.Get("sid") != "" {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := re.ReplaceAll(rec.Body.Bytes(), []byte(`${1}0{"siospec-extra":true,`))
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// TestServerBrokenTarget: a target that breaks a MUST exits 1.
func TestServerBrokenTarget(t *testing.T) {
	fx := fixture.NewEIO4(nil)
	srv := httptest.NewServer(openWithExtraKey(fx))
	defer srv.Close()
	defer fx.Close(context.Background())
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"server", "--url", srv.URL, "--label-filter", "req: containsAny {EIO-HS-01, EIO-HS-02} && transport:polling"}, &stdout, &stderr)
	if code != exitFailures {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFailures, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "FAIL EIO-HS-02") {
		t.Errorf("the report does not name EIO-HS-02:\n%s", stdout.String())
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func failLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "FAIL ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServerFinalLines: a failing run's last lines name the report files
// and the command that reruns its failures; that command, run, selects
// only the failed requirement and fails it again. Without --report-dir the
// last line says how to get report files.
func TestServerFinalLines(t *testing.T) {
	fx := fixture.NewEIO4(nil)
	srv := httptest.NewServer(openWithExtraKey(fx))
	defer srv.Close()
	defer fx.Close(context.Background())
	dir := t.TempDir()
	filter := "req: containsAny {EIO-HS-01, EIO-HS-02} && transport:polling"
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"server", "--url", srv.URL, "--suite", "eio4", "--label-filter", filter, "--report-dir", dir}, &stdout, &stderr)
	if code != exitFailures {
		t.Fatalf("exit code %d, want %d\n%s\n%s", code, exitFailures, stdout.String(), stderr.String())
	}
	last := strings.Split(lastLines(stdout.String(), 2), "\n")
	report := filepath.Join(dir, "report.json")
	if len(last) != 2 || !strings.HasPrefix(last[0], "reports: "+report+" ") || !strings.Contains(last[0], filepath.Join(dir, "index.html")) {
		t.Errorf("the last lines do not name the report files:\n%s", strings.Join(last, "\n"))
	}
	wantRerun := "rerun the 1 requirements that did not pass: siospec server --url " + srv.URL + " --suite eio4 --label-filter '" + filter + "' --rerun-failed " + report
	if len(last) != 2 || last[1] != wantRerun {
		t.Fatalf("last line\n%s\nwant\n%s", last[len(last)-1], wantRerun)
	}
	if strings.Contains(stderr.String(), "\r") {
		t.Errorf("progress drawn on a stderr that is not a terminal:\n%q", stderr.String())
	}

	// Run the rerun command as printed (its arguments after "siospec").
	args := []string{"server", "--url", srv.URL, "--suite", "eio4", "--label-filter", filter, "--rerun-failed", report}
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), args, &stdout, &stderr); code != exitFailures {
		t.Fatalf("rerun: exit code %d, want %d\n%s\n%s", code, exitFailures, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "rerunning 1 failed requirements: EIO-HS-02") || strings.Contains(stdout.String(), "EIO-HS-01 ") {
		t.Errorf("rerun did not select only EIO-HS-02:\n%s", stdout.String())
	}
	if l := lastLines(stdout.String(), 1); !strings.HasPrefix(l, "no report files written") {
		t.Errorf("last line without --report-dir: %q", l)
	}
}

func TestRerunCommand(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", "http://h:1", "--report-dir", "out", "--seed", "3"}, "siospec server --url http://h:1 --seed 3 --rerun-failed out/report.json"},
		{[]string{"--report-dir=out", "--rerun-failed", "old/report.json", "--focus", "a b"}, "siospec server --focus 'a b' --rerun-failed out/report.json"},
		{[]string{"--label-filter", "it's"}, `siospec server --label-filter 'it'\''s' --rerun-failed out/report.json`},
	} {
		if got := rerunCommand(c.args, "out/report.json"); got != c.want {
			t.Errorf("rerunCommand(%q) = %s, want %s", c.args, got, c.want)
		}
	}
}
