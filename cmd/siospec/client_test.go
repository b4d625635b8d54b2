package main

import (
	"bytes"
	"context"
	"github.com/siospec/siospec/internal/prooftest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/reports"
)

// envTestAsTestee makes this test binary play `siospec testee` (TestMain).
const envTestAsTestee = "SIOSPEC_TEST_AS_TESTEE"

// TestClientContractViolations: a command that does not exit 127 for a
// case that does not exist, or that does not exist at all, ends in exit
// code 3 with a message that points at the contract.
func TestClientContractViolations(t *testing.T) {
	for _, tc := range []struct{ name, exec, want string }{
		{"always exits 0", "true", "CLIENT-CONTRACT.md"},
		{"command not found", "siospec-no-such-command-xyz", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"client", "--exec", tc.exec, "--procs", "0"}, &stdout, &stderr)
			if code != exitPreflight {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitPreflight, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr does not mention %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

// TestClientUsage: bad flags exit 4.
func TestClientUsage(t *testing.T) {
	for _, args := range [][]string{
		{"client", "--exec", "x", "--suite", "eio5"},
		{"client", "--exec", "x", "--procs", "-1"},
		{"client", "--exec", "x", "--trials", "-1"},
		{"client", "--exec", "x", "--suite", "net,eio9"},
		{"client", "--exec", "x", "--label-filter", "((("},
		{"client", "--exec", "x", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, code, exitUsage, stderr.String())
		}
	}
}

// TestClientBadTestees: testees that crash, hang (ignoring SIGTERM), flood
// their output or fork a child and exit. The run goes on and ends with
// failures (exit 1), every case within its timeout, the output truncated
// in the report, and no process of theirs left behind.
func TestClientBadTestees(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	marker := "t" + strconv.FormatInt(time.Now().UnixNano(), 36)
	const caseTimeout = 6 * time.Second
	for _, name := range []string{"crash", "hang", "flood", "fork"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			script, err := filepath.Abs(filepath.Join("testdata", "bad-testees", name+".sh"))
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := run(t.Context(), []string{"client", "--exec", "SIOSPEC_TEST_MARKER=" + marker + " sh " + script, "--suite", "eio4",
				"--label-filter", "req: containsAny {EIO-URL-02}", "--case-timeout", caseTimeout.String(),
				"--procs", "2", "--report-dir", dir}, &stdout, &stderr)
			wall := time.Since(start)
			if code != exitFailures {
				t.Fatalf("exit %d, want %d (conformance failures)\n%s\n%s", code, exitFailures, lastLines(stdout.String(), 30), lastLines(stderr.String(), 30))
			}
			rep, err := reports.Load(filepath.Join(dir, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			ran := 0
			for _, s := range rep.Specs {
				if s.Outcome == reports.Skipped {
					continue
				}
				ran++
				if s.Outcome != reports.Fail {
					t.Errorf("%s: outcome %s, want fail", s.Name, s.Outcome)
				}
				// The case timeout plus the testee's stop (stdin, SIGTERM,
				// SIGKILL, one grace each) and the report.
				if s.Duration > caseTimeout+5*time.Second {
					t.Errorf("%s took %v, over its case timeout %v", s.Name, s.Duration, caseTimeout)
				}
				if !strings.Contains(s.Testee, "sh "+script) {
					t.Errorf("%s: the report does not show the testee:\n%s", s.Name, s.Testee)
				}
				if name == "flood" && (len(s.Testee) > 200<<10 || !strings.Contains(s.Testee, "more bytes dropped")) {
					t.Errorf("%s: testee output of %d bytes, not truncated", s.Name, len(s.Testee))
				}
				if name == "crash" && !strings.Contains(s.Testee, "segmentation fault (simulated)") {
					t.Errorf("%s: the crash's stderr is not in the report:\n%s", s.Name, s.Testee)
				}
			}
			if ran == 0 {
				t.Error("no spec ran")
			}
			t.Logf("%s: %d specs in %v", name, ran, wall.Round(time.Millisecond))
			// A killed process may take a moment to disappear from the
			// process table; one left running never does.
			deadline := time.Now().Add(3 * time.Second)
			for {
				out, err := exec.Command("pgrep", "-f", "siospec-marker-"+marker).Output()
				if err != nil {
					break
				}
				if time.Now().After(deadline) {
					t.Errorf("processes left behind 3s after the run: %s", out)
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// TestNodeTesteesSelftest runs the Node testees' own self-test
// (testees/node/selftest/testee.js): each testee against a real Node
// server, command by command, and its exit codes.
func TestNodeTesteesSelftest(t *testing.T) {
	nodepeer.Require(t, "socket.io-client", "engine.io-client", "engine.io-client-v3", "socket.io-client-v2")
	if testing.Short() {
		t.Skip("-short")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "selftest/testee.js")
	cmd.Dir = nodepeer.Dir()
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node selftest/testee.js: %v\n%s", err, lastLines(string(out), 40))
	}
	t.Logf("%s", lastLines(string(out), 5))
}

// clientTestees are the testees shipped with siospec and the files that
// list their known deviations ("<suite> <ID> <reason>"; none for a testee
// without one).
var clientTestees = []struct {
	name, exec, expect string
	suites             string
}{
	{"socket.io-client 4.8.4", "node testees/node/testee/sio.js", "", "sio5"},
	{"socket.io-client 2.5.0", "node testees/node/testee/sio-v2.js", "testees/node/expected-failures-client-v2.txt", "sio4"},
	{"engine.io-client 6.6.8 / 3.5.6", "node testees/node/testee/eio.js", "", "eio4,eio3"},
	{"Go reference client", "", "suites/testdata/expected-failures-client-reference.txt", "eio4,eio3,sio5,sio4"},
}

// TestClientTestees runs the client suites against every shipped testee:
// each passes every MUST except the deviations its expected-failures file
// lists with evidence, and every entry of that file still matches. A
// failed attempt is retried once (prooftest.Run), then fails the test.
func TestClientTestees(t *testing.T) {
	nodepeer.Require(t, "socket.io-client", "engine.io-client", "engine.io-client-v3", "socket.io-client-v2")
	if testing.Short() {
		t.Skip("-short: the client suites run every case as a process")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range clientTestees {
		t.Run(tc.name, func(t *testing.T) {
			exec := tc.exec
			if exec == "" {
				// A race-enabled binary sleeps a second before it exits
				// (GORACE atexit_sleep_ms), which a testee must not: it
				// exits promptly when its stdin closes.
				exec = "GORACE=atexit_sleep_ms=0 " + envTestAsTestee + "=1 " + shellQuote(self)
			}
			prooftest.Run(t, nil, func(a *prooftest.Attempt) {
				dir, err := os.MkdirTemp("", "siospec-client-testee-")
				if err != nil {
					a.Fatalf("%v", err)
				}
				a.Cleanup(func() { _ = os.RemoveAll(dir) })
				var stdout, stderr bytes.Buffer
				start := time.Now()
				args := []string{"client", "--exec", exec, "--dir", root, "--suite", tc.suites, "--report-dir", dir, "--seed", "1"}
				if tc.expect != "" {
					args = append(args, "--expect-failures", filepath.Join(root, tc.expect))
				}
				code := run(a.Context(), args, &stdout, &stderr)
				if code != exitOK {
					a.Fatalf("exit code %d, want 0\n%s\nstderr:\n%s", code, failLines(stdout.String()), lastLines(stderr.String(), 20))
				}
				if strings.Contains(stderr.String(), "matched no spec") {
					a.Errorf("an expected failure no longer matches:\n%s", stderr.String())
				}
				a.Judged(1)
				a.Logf("%s: %v\n%s", tc.name, time.Since(start).Round(time.Millisecond), lastLines(stdout.String(), 3))
			})
		})
	}
}

// TestClientRepeat runs the client suites against socket.io-client 4.8.4
// (sio.js) once in this process, one case after another (--procs 0), and
// then SIOSPEC_CLIENT_REPEAT times sharded over 4 processes, and requires
// identical verdicts, spec by spec. Opt-in (it takes about a minute per
// run):
//
//	SIOSPEC_CLIENT_REPEAT=20 go test -run TestClientRepeat -timeout 60m -v ./cmd/siospec
func TestClientRepeat(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SIOSPEC_CLIENT_REPEAT"))
	if n <= 0 {
		t.Skip("opt-in: SIOSPEC_CLIENT_REPEAT=N")
	}
	nodepeer.Require(t, "socket.io-client")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	verdicts := func(procs int) (map[string]reports.Outcome, time.Duration) {
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		start := time.Now()
		code := run(t.Context(), []string{"client", "--exec", "node testees/node/testee/sio.js", "--dir", root, "--suite", "sio5",
			"--procs", strconv.Itoa(procs), "--report-dir", dir}, &stdout, &stderr)
		wall := time.Since(start)
		if code != exitOK && code != exitFailures {
			t.Fatalf("exit %d\n%s", code, lastLines(stderr.String(), 20))
		}
		rep, err := reports.Load(filepath.Join(dir, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]reports.Outcome{}
		for _, s := range rep.Specs {
			out[s.Name] = s.Outcome
		}
		return out, wall
	}
	serial, wall := verdicts(0)
	t.Logf("serial: %d specs in %v", len(serial), wall.Round(time.Millisecond))
	for i := range n {
		got, wall := verdicts(4)
		t.Logf("run %d (4 processes): %d specs in %v", i+1, len(got), wall.Round(time.Millisecond))
		for name, o := range serial {
			if got[name] != o {
				t.Errorf("run %d: %s: %s, serial run: %s", i+1, name, got[name], o)
			}
		}
		if len(got) != len(serial) {
			t.Errorf("run %d: %d specs, serial run %d", i+1, len(got), len(serial))
		}
	}
}

// TestClientNetSuite: --suite net runs the client-role net specs against
// the Go reference client (this binary as siospec testee) through a fault
// proxy, and the report carries each spec's measures and profile.
func TestClientNetSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the net suite runs a client per case under real faults")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	exec := "GORACE=atexit_sleep_ms=0 " + envTestAsTestee + "=1 " + shellQuote(self)
	code := run(t.Context(), []string{"client", "--exec", exec, "--suite", "net", "--seed", "5", "--trials", "1", "--procs", "2",
		"--label-filter", "req: containsAny {NET-FW-01, NET-CRASH-04, NET-RES-02}", "--report-dir", dir}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, lastLines(stdout.String(), 30), lastLines(stderr.String(), 20))
	}
	if !strings.Contains(stdout.String(), "suites NET") && !strings.Contains(stdout.String(), "suites net") {
		t.Errorf("the run does not name the net suite:\n%s", lastLines(stdout.String(), 10))
	}
	rep, err := reports.Load(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"NET-FW-01": "corporate-firewall", "NET-CRASH-04": "server-crash", "NET-RES-02": ""}
	for _, s := range rep.Specs {
		if s.Outcome == reports.Skipped {
			continue
		}
		p, ok := want[s.ID]
		if !ok {
			t.Errorf("spec %s ran, outside the filter", s.ID)
			continue
		}
		delete(want, s.ID)
		if s.Outcome != reports.Pass {
			t.Errorf("%s: %s, want pass", s.ID, s.Outcome)
		}
		if s.Net == nil || s.Net.Profile != p || s.Net.Summary == "" {
			t.Errorf("%s: net entry %+v, want profile %q and a summary", s.ID, s.Net, p)
			continue
		}
		if s.ID == "NET-CRASH-04" && s.Net.Crash != "proxy" {
			t.Errorf("NET-CRASH-04 ran as a %q crash, want proxy", s.Net.Crash)
		}
		if s.ID == "NET-RES-02" && (s.Net.Trials != 1 || s.Net.TrialsPassed != 1) {
			t.Errorf("NET-RES-02: %d of %d trials, want 1 of 1", s.Net.TrialsPassed, s.Net.Trials)
		}
	}
	for id := range want {
		t.Errorf("%s did not run", id)
	}
}
