package suites

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/suites/framework"
)

// Expected failures of Node's fixtures, one file per suite family.
var expectedNodeFiles = map[framework.Proto]string{
	framework.EIO4: "testdata/expected-failures-node.txt",
	framework.EIO3: "testdata/expected-failures-node.txt",
	framework.SIO5: "testdata/expected-failures-node-sio.txt",
	framework.SIO4: "testdata/expected-failures-node-sio4.txt",
}

// nodeFixtures maps each suite to its Node fixture script.
var nodeFixtures = map[framework.Proto]string{
	framework.EIO4: "eio4", framework.EIO3: "eio3", framework.SIO5: "sio5", framework.SIO4: "sio4",
}

// startNodeTargets starts the Node fixtures of the suites with the proofs'
// heartbeat and connectTimeout (proofNodeArgs; extra arguments for the
// Socket.IO ones) and returns a configuration resolved to them.
func startNodeTargets(t tb, suites []framework.Proto, sioArgs ...string) framework.Config {
	t.Helper()
	cfg := framework.Config{Suites: suites, Targets: map[framework.Proto]*framework.Config{}, ConnectTimeout: prooftest.ConnectTimeout}
	for _, p := range suites {
		args := slices.Clone(proofNodeArgs)
		if p.IsSocketIO() {
			args = append(args, sioArgs...)
		}
		c := framework.Config{URL: startNode(t, nodeFixtures[p], args...)}
		cfg.Targets[p] = c.For(p)
	}
	return cfg
}

// TestNodeFixtures runs every suite against Node's fixtures in one run
// (engine.io 6.6 eio4.js and eio3.js, socket.io 4.8.4 sio5.js, socket.io
// 2.5.1 sio4.js, all with the proofs' heartbeat): every spec must pass or
// be unsupported, except EDGE/MAY specs (never gating) and the documented
// Node deviations of the expected-failures files. A failed attempt is
// retried once (prooftest.Run).
func TestNodeFixtures(t *testing.T) {
	skipProof(t)
	needNode(t)
	t.Parallel() // mostly waiting on protocol timers; the runs are independent
	expected := loadExpectedBySuite(t, expectedNodeFiles)
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		cfg := startNodeTargets(a, framework.AllSuites)
		vs, wall := runSuites(a, cfg, "")
		checkProof(a, vs, expected, false)
		checkUnsupported(a, vs, unsupportedNode)
		a.Logf("Node fixtures: %d specs, wall time %v\n%s\nslowest specs:\n%s", len(vs), wall.Round(time.Millisecond), countTable(vs), slowest(vs, 10))
		if wall > wholeRunBudget {
			a.Errorf("the run took %v, budget %v", wall, wholeRunBudget)
		}
	})
}

// TestNodeSIO5NoExt runs the Socket.IO v5 specs against sio5.js --no-ext:
// every extended spec must be unsupported, never failed or passed.
func TestNodeSIO5NoExt(t *testing.T) {
	skipProof(t)
	needNode(t)
	t.Parallel() // mostly waiting on protocol timers; the runs are independent
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		cfg := startNodeTargets(a, []framework.Proto{framework.SIO5}, "--no-ext")
		vs, _ := runSuites(a, cfg, "extended")
		if len(vs) == 0 {
			a.Fatalf("no extended spec ran")
		}
		a.Judged(len(vs))
		for _, v := range vs {
			if v.State != types.SpecStateSkipped || !strings.HasPrefix(v.Failure, "unsupported:") {
				a.Errorf("%s: %s, want unsupported against --no-ext (%s)", v.Text, v.State, firstLine(v.Failure))
			}
		}
	})
}

// skipProof skips a self-proof in a run aimed at a --url target and under
// -short.
func skipProof(t *testing.T) {
	t.Helper()
	if testCfg.HasTarget() {
		t.Skip("a target URL is given: this run targets that server; the self-proofs run without one")
	}
	if testing.Short() {
		t.Skip("-short: the self-proofs take seconds each")
	}
}

// loadExpectedBySuite reads the expected-failures files (each once) and
// returns their entries by suite and requirement ID; an entry applies to
// the suite its line names, whichever file holds it.
func loadExpectedBySuite(t *testing.T, files map[framework.Proto]string) map[framework.Proto]map[string]string {
	t.Helper()
	out := map[framework.Proto]map[string]string{}
	read := map[string]bool{}
	for _, f := range files {
		if read[f] {
			continue
		}
		read[f] = true
		for _, e := range loadExpected(t, f) {
			p := framework.Proto(strings.ToUpper(e.Suite))
			if out[p] == nil {
				out[p] = map[string]string{}
			}
			out[p][e.ID] = e.Reason
		}
	}
	return out
}

// checkProof records a failure for every failed spec that is not
// expected (EDGE and MAY failures are logged: they never gate), and with
// noUnsupported for every unsupported one. A run in which no spec ran
// judged nothing.
func checkProof(a *prooftest.Attempt, vs []verdict, expected map[framework.Proto]map[string]string, noUnsupported bool) {
	a.Helper()
	if len(vs) == 0 {
		a.Fatalf("no spec ran: the proof judged nothing")
	}
	a.Judged(len(vs))
	for _, v := range vs {
		exp := expected[framework.Proto(v.Proto)]
		switch {
		case v.State == types.SpecStatePassed:
			if r, ok := exp[v.ID]; ok {
				a.Logf("unexpected pass: %s (expected failure: %s)", v.Text, r)
			}
		case v.State.Is(types.SpecStateFailureStates):
			if _, ok := exp[v.ID]; ok {
				a.Logf("expected failure: %s", v.Text)
			} else if slices.Contains(v.Labels, "level:EDGE") || slices.Contains(v.Labels, "level:MAY") {
				a.Logf("non-strict failure (never gates): %s\n    %s", v.Text, firstLine(v.Failure))
			} else {
				a.Errorf("FAIL [%s] %s\n    %s", v.Proto, v.Text, v.Failure)
			}
		case v.State == types.SpecStateSkipped && noUnsupported:
			a.Errorf("unsupported: %s (%s)", v.Text, firstLine(v.Failure))
		}
	}
}

// countTable renders counts by outcome per suite, and the sum of the
// suite's spec run times (a suite's specs run one after another in one
// child process, so the largest sum bounds the wall time from below).
func countTable(vs []verdict) string {
	type row struct {
		pass, fail, unsupported, skipped int
		time                             time.Duration
	}
	rows := map[string]*row{}
	var protos []string
	for _, v := range vs {
		r := rows[v.Proto]
		if r == nil {
			r = &row{}
			rows[v.Proto] = r
			protos = append(protos, v.Proto)
		}
		r.time += v.RunTime
		switch {
		case v.State == types.SpecStatePassed:
			r.pass++
		case v.State.Is(types.SpecStateFailureStates):
			r.fail++
		case strings.HasPrefix(v.Failure, "unsupported:"):
			r.unsupported++
		default:
			r.skipped++
		}
	}
	slices.Sort(protos)
	var b strings.Builder
	b.WriteString("suite  pass  fail  unsupported  skipped  spec time\n")
	for _, p := range protos {
		r := rows[p]
		b.WriteString(strings.Join([]string{pad(p, 5), pad(strconv.Itoa(r.pass), 5), pad(strconv.Itoa(r.fail), 5), pad(strconv.Itoa(r.unsupported), 12), pad(strconv.Itoa(r.skipped), 8), r.time.Round(100 * time.Millisecond).String()}, " ") + "\n")
	}
	return b.String()
}

// slowest renders the n longest-running specs.
func slowest(vs []verdict, n int) string {
	s := slices.Clone(vs)
	slices.SortFunc(s, func(a, b verdict) int { return int(b.RunTime - a.RunTime) })
	var b strings.Builder
	for _, v := range s[:min(n, len(s))] {
		fmt.Fprintf(&b, "%8v %-4s %s\n", v.RunTime.Round(10*time.Millisecond), v.Proto, v.Text)
	}
	return b.String()
}

func pad(s string, n int) string { return s + strings.Repeat(" ", max(0, n-len(s))) }

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
