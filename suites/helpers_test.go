package suites

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites/framework"
)

// verdict is one spec's outcome in a child run.
type verdict struct {
	ID, Proto, Text string
	State           types.SpecState
	Failure         string
	Labels          []string
	RunTime         time.Duration
}

// tb is what the proof helpers need of a test or of one attempt at a
// proof (*testing.T, *prooftest.Attempt).
type tb interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	Context() context.Context
}

var (
	_ tb = (*testing.T)(nil)
	_ tb = (*prooftest.Attempt)(nil)
)

// proofNodeArgs gives a Node fixture the whole-target proofs' heartbeat and
// connectTimeout (prooftest.PingInterval, PingTimeout, ConnectTimeout; the
// fixtures without a connectTimeout ignore it).
var proofNodeArgs = []string{
	"--ping-interval", strconv.FormatInt(prooftest.PingInterval.Milliseconds(), 10),
	"--ping-timeout", strconv.FormatInt(prooftest.PingTimeout.Milliseconds(), 10),
	"--connect-timeout", strconv.FormatInt(prooftest.ConnectTimeout.Milliseconds(), 10),
}

// wholeRunBudget bounds the wall time of one run of every suite against a
// target with the proofs' timing (TestReference, TestNodeFixtures): about
// 48 s against the reference and 50 s against Node on an idle 2-core
// machine, where the eio4 and sio5 children's heartbeat and silence specs
// wait multiples of pingInterval (18 s and 30 s with the contract's
// 300/200 ms).
const wholeRunBudget = 75 * time.Second

// proofFixtureOptions gives an in-process fixture the whole-target proofs'
// heartbeat.
func proofFixtureOptions() *fixture.Options {
	return &fixture.Options{PingInterval: prooftest.PingInterval, PingTimeout: prooftest.PingTimeout}
}

// runSuites runs cfg's suites through RunServer in child processes of this
// test binary (ChildMain in TestMain) with the label filter, and returns
// the verdicts of the specs that ran and the wall time.
func runSuites(t tb, cfg framework.Config, filter string) ([]verdict, time.Duration) {
	t.Helper()
	start := time.Now()
	rep, err := RunServer(t.Context(), cfg, &RunOptions{LabelFilter: filter, Procs: 4, Timeout: 5 * time.Minute})
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return verdictsOf(rep), wall
}

// verdictsOf returns the verdicts of the specs of a report that ran or
// were skipped by the spec itself (unsupported), sorted by proto and text.
func verdictsOf(r types.Report) []verdict {
	var vs []verdict
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt || s.State == types.SpecStateSkipped && s.Failure.Message == "" && s.RunTime == 0 {
			continue
		}
		v := verdict{Text: s.FullText(), State: s.State, Failure: s.Failure.Message, Labels: s.Labels(), RunTime: s.RunTime}
		for _, l := range s.Labels() {
			if id, ok := strings.CutPrefix(l, "req:"); ok {
				v.ID = id
			}
			if p, ok := strings.CutPrefix(l, "proto:"); ok {
				v.Proto = p
			}
		}
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].Proto != vs[j].Proto {
			return vs[i].Proto < vs[j].Proto
		}
		return vs[i].Text < vs[j].Text
	})
	return vs
}

// needNode skips the test when Node or testees/node/node_modules is
// missing: the Node proofs cannot run on this machine.
func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not on PATH; install Node 20 to run the Node proofs")
	}
	if _, err := os.Stat(filepath.Join("..", "testees", "node", "node_modules", "engine.io")); err != nil {
		t.Skip("testees/node/node_modules is missing; run `npm ci` in testees/node")
	}
}

// startNode starts a Node fixture (testees/node/fixtures/NAME.js --port 0)
// and returns its base URL; the process is stopped by PID at cleanup.
// Callers check needNode first.
func startNode(t tb, name string, args ...string) string {
	t.Helper()
	return startNodeScript(t, filepath.Join("fixtures", name+".js"), args...)
}

// startNodeScript starts node SCRIPT --port 0 ARGS in testees/node (SCRIPT
// relative to that directory) and returns the base URL it reports.
func startNodeScript(t tb, script string, args ...string) string {
	t.Helper()
	name := filepath.Base(script)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: %v", err)
	}
	root := filepath.Join("..", "testees", "node")
	cmd := exec.Command(node, append([]string{script, "--port", "0"}, args...)...)
	cmd.Dir = root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
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
	lines := make(chan string, 1)
	eof := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(eof)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	var l string
	select {
	case l = <-lines:
	case <-eof:
		select {
		case l = <-lines:
		default:
			t.Fatalf("fixture %s %q closed its output before reporting that it listens (see its stderr above)", name, args)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("fixture %s did not report listening within 10s", name)
	}
	u, ok := strings.CutPrefix(l, "listening ")
	if !ok {
		t.Fatalf("fixture %s: unexpected output %q", name, l)
	}
	return u
}

// loadExpected reads an expected-failures file in the format of
// `siospec server --expect-failures` ("<suite> <ID> <reason>" lines, #
// comments), failing the test on a malformed line.
func loadExpected(t *testing.T, path string) []reports.Expectation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := reports.ReadExpectedFailures(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return es
}

// verdictTable renders verdicts for the test log.
func verdictTable(vs []verdict) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%-8s %-4s %-13s %s\n", v.State, v.Proto, v.ID, v.Text)
		if v.Failure != "" {
			msg := strings.Join(strings.Fields(v.Failure), " ")
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			fmt.Fprintf(&b, "         ↳ %s\n", msg)
		}
	}
	return b.String()
}

// serve serves h on a 127.0.0.1 port until the test ends (stop, when set,
// runs first, e.g. the fixture's Close) and returns its base URL.
func serve(t tb, h http.Handler, stop func()) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		if stop != nil {
			stop()
		}
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv.URL
}
