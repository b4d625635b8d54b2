package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/internal/prooftest"
)

// The CI example (docs/ci): the GitHub Actions and GitLab CI files cannot
// run here, but the script they call can. These tests run it as those jobs
// do, against the Node fixtures, with a siospec binary built from this
// checkout.

const ciScript = "../../docs/ci/conformance.sh"

// buildSiospec builds this command into dir and returns the binary's path.
func buildSiospec(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "siospec")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ciRun is one run of the CI script.
type ciRun struct {
	code           int
	out            string
	dir, summaryMD string
	port           int
}

// runCI runs the CI script with the Node fixture script (relative to
// testees/node) on a free port and the given environment, and returns its
// exit code and output once it ended (bounded by ctx).
func runCI(ctx context.Context, t *testing.T, bin, fixture, suites, expect string, extra ...string) ciRun {
	t.Helper()
	port := freePort(t)
	dir := t.TempDir()
	r := ciRun{dir: dir, summaryMD: filepath.Join(dir, "step-summary.md"), port: port}
	// The proofs' heartbeat, as every whole-target proof runs Node.
	server := fmt.Sprintf("cd ../../testees/node && exec node %s --port %d --ping-interval %d --ping-timeout %d",
		fixture, port, prooftest.PingInterval.Milliseconds(), prooftest.PingTimeout.Milliseconds())
	cmd := exec.CommandContext(ctx, "bash", ciScript)
	cmd.Env = append(os.Environ(),
		"SIOSPEC="+bin,
		"SERVER_CMD="+server,
		"SERVER_URL=http://127.0.0.1:"+strconv.Itoa(port),
		"SUITES="+suites,
		"EXPECT_FAILURES="+expect,
		"REPORT_DIR="+filepath.Join(dir, "report"),
		"GITHUB_STEP_SUMMARY="+r.summaryMD,
	)
	cmd.Env = append(cmd.Env, extra...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	r.out = string(out)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v\n%s", ciScript, err, out)
	}
	return r
}

// errorf is what serverGone reports to: a test or a proof attempt.
type errorf interface {
	Helper()
	Errorf(format string, args ...any)
}

// serverGone checks that the script stopped the server it started: nothing
// listens on its port any more.
func (r ciRun) serverGone(t errorf) {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), time.Second)
	if err == nil {
		c.Close()
		t.Errorf("the server under test still listens on port %d after the script ended", r.port)
	}
}

// TestCIExamplePasses runs the CI example as docs/ci/github-actions.yml
// does: Node's Socket.IO v5 fixture with its known failures, exit 0, the
// four reports kept, summary.md appended to the job summary, the server
// stopped.
func TestCIExamplePasses(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the sio5 suite against Node")
	}
	nodepeer.Require(t)
	t.Parallel()
	bin := buildSiospec(t, t.TempDir())
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		r := runCI(a.Context(), t, bin, "fixtures/sio5.js --connect-timeout "+strconv.FormatInt(prooftest.ConnectTimeout.Milliseconds(), 10), "sio5", "../../suites/testdata/expected-failures-node-sio.txt",
			"SIOSPEC_ARGS=--connect-timeout "+prooftest.ConnectTimeout.String())
		a.Judged(1)
		if r.code != exitOK {
			a.Errorf("exit code %d, want 0\n%s", r.code, r.out)
			return
		}
		for _, f := range []string{"report.json", "junit.xml", "summary.md", "index.html", "server.log"} {
			if st, err := os.Stat(filepath.Join(r.dir, "report", f)); err != nil || st.Size() == 0 {
				a.Errorf("%s not kept: %v", f, err)
			}
		}
		step, err := os.ReadFile(r.summaryMD)
		if err != nil || !bytes.Contains(step, []byte("siospec: PASS")) {
			a.Errorf("the job summary did not get summary.md (%v):\n%s", err, step)
		}
		if !strings.Contains(r.out, "siospec ") {
			a.Errorf("the script did not print `siospec version`:\n%s", r.out)
		}
		r.serverGone(a)
	})
}

// TestCIExampleGates: without its known-failures file, Node's Socket.IO v4
// fixture turns the job red (socket.io 2.5.1 fails SIO-ENC-07); with it,
// the same run is green.
func TestCIExampleGates(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the sio4 suite against Node")
	}
	nodepeer.Require(t)
	t.Parallel()
	bin := buildSiospec(t, t.TempDir())
	// Each run is a whole-suite proof against Node: through prooftest.Run,
	// so a session lost to a loaded machine is retried once, never skipped.
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		red := runCI(a.Context(), t, bin, "fixtures/sio4.js", "sio4", "")
		a.Judged(1)
		if red.code != exitFailures {
			a.Errorf("without the known failures: exit code %d, want %d\n%s", red.code, exitFailures, red.out)
			return
		}
		step, _ := os.ReadFile(red.summaryMD)
		if !bytes.Contains(step, []byte("SIO-ENC-07")) {
			a.Errorf("the job summary does not name the failing requirement SIO-ENC-07:\n%s", step)
		}
		red.serverGone(a)
	})
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		green := runCI(a.Context(), t, bin, "fixtures/sio4.js", "sio4", "../../suites/testdata/expected-failures-node-sio4.txt")
		a.Judged(1)
		if green.code != exitOK {
			a.Errorf("with the known failures: exit code %d, want 0\n%s", green.code, green.out)
			return
		}
		green.serverGone(a)
	})
}

// TestCIExampleServerNeverUp: a server command that exits at once ends the
// script with exit 3 and the server's output, fast.
func TestCIExampleServerNeverUp(t *testing.T) {
	t.Parallel()
	bin := buildSiospec(t, t.TempDir())
	cmd := exec.CommandContext(t.Context(), "bash", ciScript)
	cmd.Env = append(os.Environ(), "SIOSPEC="+bin, "SERVER_CMD=echo no such server; exit 1",
		"SERVER_URL=http://127.0.0.1:"+strconv.Itoa(freePort(t)), "REPORT_DIR="+t.TempDir(), "READY_TIMEOUT=10")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitPreflight {
		t.Fatalf("exit %v, want %d\n%s", err, exitPreflight, out)
	}
	if !bytes.Contains(out, []byte("no such server")) || !bytes.Contains(out, []byte("exited before it listened")) {
		t.Errorf("the script does not show why:\n%s", out)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("took %v: a server that exited should be noticed at once", d)
	}
}
