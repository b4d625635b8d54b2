package suites

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/internal/nodepeer"
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

// bulkPingTimeout is the pingTimeout of a fixture whose proof runs the
// size-limit specs: they push megabytes through the session, and under
// -race on a loaded machine the heartbeat answer queued behind them (the
// client's pong, or a v3 client's ping behind a relayed frame) took
// longer than prooftest.PingTimeout, so the fixture ended the session and
// the specs saw its close (1005) instead of their own verdict.
const bulkPingTimeout = 4 * time.Second

// bulkFixtureOptions gives an in-process fixture the proofs' pingInterval
// and bulkPingTimeout, for proofs whose selection includes the size-limit
// specs.
func bulkFixtureOptions() *fixture.Options {
	return &fixture.Options{PingInterval: prooftest.PingInterval, PingTimeout: bulkPingTimeout}
}

// runSuites runs cfg's suites through RunServer in child processes of this
// test binary (ChildMain in TestMain) with the label filter, and returns
// the verdicts of the specs that ran and the wall time.
func runSuites(t tb, cfg framework.Config, filter string) ([]verdict, time.Duration) {
	t.Helper()
	start := time.Now()
	// One lane per suite, as many processes as these proofs used before
	// lanes: several proofs run at once (t.Parallel, variantWorkers), and
	// more lanes each made the load they create too high for their own
	// timing (load 13-17 on 2 cores lost the megabyte size-limit specs).
	procs := len(cfg.Suites)
	if procs == 0 {
		procs = len(framework.AllSuites)
	}
	rep, err := RunServer(t.Context(), cfg, &RunOptions{LabelFilter: filter, Procs: procs, Timeout: 5 * time.Minute})
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

// needNode skips the test when Node or the Node peers are missing (fails
// it in CI): nodepeer.Require.
func needNode(t *testing.T) {
	t.Helper()
	nodepeer.Require(t)
}

// startNode starts the Node fixture testees/node/fixtures/NAME.js on a free
// port (nodepeer.Start) and returns its base URL. Callers check needNode
// first.
func startNode(t tb, name string, args ...string) string {
	t.Helper()
	return nodepeer.Start(t, filepath.Join("fixtures", name+".js"), args...)
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
