package suites

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siospec/siospec/suites/framework"
)

// TestSpeed measures the wall time of every server suite against the
// default-configured targets (the contract's 300/200 ms heartbeat, as
// `siospec server` and `make conformance` run them) and checks that the
// concurrent runs give every spec the verdict of a run in a single lane
// (one child process, one spec after another). It is opt-in:
//
//	SIOSPEC_SPEED=20 go test -run TestSpeed -timeout 60m -v ./suites
//
// SIOSPEC_SPEED=N is the number of concurrent runs; SIOSPEC_SPEED_TARGET
// (node or reference, default both) picks the targets; SIOSPEC_SPEED_PROCS
// sets RunOptions.Procs for the concurrent runs (default DefaultProcs);
// SIOSPEC_SPEED_FILTER is a label filter for all runs;
// SIOSPEC_SPEED_SERIAL=0 leaves out the single-lane reference run (then
// the runs are compared with the first concurrent run).
// Run it without -race: the race detector multiplies the CPU the children
// need, and the timing it measures is the product's.
func TestSpeed(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SIOSPEC_SPEED"))
	if n <= 0 {
		t.Skip("set SIOSPEC_SPEED=N to time N concurrent runs of every suite and compare their verdicts with a single-lane run")
	}
	skipProof(t)
	procs := DefaultProcs
	if s := os.Getenv("SIOSPEC_SPEED_PROCS"); s != "" {
		procs, _ = strconv.Atoi(s)
	}
	which := os.Getenv("SIOSPEC_SPEED_TARGET")
	if which == "" || which == "node" {
		t.Run("node", func(t *testing.T) {
			needNode(t)
			cfg := framework.Config{Suites: framework.AllSuites, Targets: map[framework.Proto]*framework.Config{}}
			for _, p := range framework.AllSuites {
				c := framework.Config{URL: startNode(t, nodeFixtures[p])}
				cfg.Targets[p] = c.For(p)
			}
			speed(t, n, procs, cfg)
		})
	}
	if which == "" || which == "reference" {
		t.Run("reference", func(t *testing.T) {
			speed(t, n, procs, startReference(t, nil))
		})
	}
}

// speed runs cfg's suites once in one lane (unless SIOSPEC_SPEED_SERIAL=0),
// then n times with procs processes, logs the wall times, and fails if a
// concurrent run gives a spec another verdict than the reference run.
func speed(t *testing.T, n, procs int, cfg framework.Config) {
	var ref map[string]string
	var refWhy map[string]string
	refName := "the single-lane run"
	if os.Getenv("SIOSPEC_SPEED_SERIAL") != "0" {
		vs, wall := runWith(t, cfg, 1)
		ref, refWhy = verdictMap(vs)
		if path := os.Getenv("SIOSPEC_SPEED_DUMP"); path != "" {
			dumpTimes(t, path, vs)
		}
		t.Logf("single lane: %d specs in %v\n%s\nslowest specs:\n%s", len(vs), wall.Round(time.Millisecond), countTable(vs), slowest(vs, 25))
	} else {
		refName = "run 1"
	}
	var walls []time.Duration
	for i := range n {
		vs, wall := runWith(t, cfg, procs)
		walls = append(walls, wall)
		got, why := verdictMap(vs)
		t.Logf("run %d (procs %d): %d specs in %v", i+1, procs, len(vs), wall.Round(time.Millisecond))
		if ref == nil {
			ref, refWhy = got, why
			t.Logf("%s", countTable(vs))
			continue
		}
		compareVerdicts(t, fmt.Sprintf("run %d", i+1), refName, ref, refWhy, got, why)
	}
	s := slices.Clone(walls)
	slices.Sort(s)
	t.Logf("%d runs with procs %d: wall time min %v, median %v, max %v", n, procs,
		s[0].Round(time.Millisecond), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// runWith runs cfg's suites with the given number of processes.
func runWith(t *testing.T, cfg framework.Config, procs int) ([]verdict, time.Duration) {
	t.Helper()
	before := childCPU()
	start := time.Now()
	defer func() { t.Logf("lanes' CPU time: %v", (childCPU() - before).Round(time.Millisecond)) }()
	rep, err := RunServer(t.Context(), cfg, &RunOptions{Procs: procs, Timeout: 5 * time.Minute, LabelFilter: os.Getenv("SIOSPEC_SPEED_FILTER")})
	wall := time.Since(start)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return verdictsOf(rep), wall
}

// verdictMap keys the verdicts by suite and spec text; why holds the first
// line of each failure.
func verdictMap(vs []verdict) (got, why map[string]string) {
	got, why = map[string]string{}, map[string]string{}
	for _, v := range vs {
		k := "[" + v.Proto + "] " + v.Text
		got[k] = v.State.String()
		w := strings.Join(strings.Fields(v.Failure), " ")
		if len(w) > 400 {
			w = w[:400] + "…"
		}
		why[k] = w
	}
	return got, why
}

// compareVerdicts reports every spec whose verdict in got differs from ref.
func compareVerdicts(t *testing.T, name, refName string, ref, refWhy, got, why map[string]string) {
	t.Helper()
	var diffs []string
	for k, s := range got {
		if r, ok := ref[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %s in %s, absent from %s", k, s, name, refName))
		} else if r != s {
			diffs = append(diffs, fmt.Sprintf("%s: %s in %s (%s), %s in %s (%s)", k, s, name, why[k], r, refName, refWhy[k]))
		}
	}
	for k, s := range ref {
		if _, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %s in %s, absent from %s", k, s, refName, name))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s differs from %s:\n  %s", name, refName, strings.Join(diffs, "\n  "))
	}
}

// dumpTimes writes one line per spec (run time in ms, suite, area, text)
// to path, for finding where the time goes.
func dumpTimes(t *testing.T, path string, vs []verdict) {
	var b strings.Builder
	for _, v := range vs {
		area := ""
		for _, l := range v.Labels {
			if a, ok := strings.CutPrefix(l, "area:"); ok {
				area = a
			}
		}
		fmt.Fprintf(&b, "%d\t%s\t%s\t%s\n", v.RunTime.Milliseconds(), v.Proto, area, v.Text)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("dump: %v", err)
	}
}

// childCPU returns the user and system time of this process's ended
// children (the lanes of the runs so far).
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
