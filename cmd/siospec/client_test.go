package main

import (
	"bytes"
	"context"
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
			if out, err := exec.Command("pgrep", "-f", "siospec-marker-"+marker).Output(); err == nil {
				t.Errorf("processes left behind: %s", out)
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
