package suites

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/suites/framework"
)

// TestRepeat is the flake hunt: with SIOSPEC_REPEAT=N it runs every suite N
// times in a row against the built-in reference and against Node's
// fixtures, both with the proofs' heartbeat as TestReference and
// TestNodeFixtures run them (SIOSPEC_REPEAT_TARGET=reference or node limits
// it to one), without retries, and requires every run to give every spec
// the same verdict as the first run.
// It is not part of the default `go test`:
//
//	SIOSPEC_REPEAT=20 go test -race -run TestRepeat -timeout 90m -v ./suites
func TestRepeat(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SIOSPEC_REPEAT"))
	if n <= 0 {
		t.Skip("set SIOSPEC_REPEAT=N to run every suite N times against the reference and Node's fixtures")
	}
	skipProof(t)
	which := os.Getenv("SIOSPEC_REPEAT_TARGET")
	if which == "" || which == "reference" {
		t.Run("reference", func(t *testing.T) {
			cfg := startReference(t, proofReference())
			repeat(t, n, cfg)
		})
	}
	if which == "" || which == "node" {
		t.Run("node", func(t *testing.T) {
			needNode(t)
			cfg := startNodeTargets(t, framework.AllSuites)
			repeat(t, n, cfg)
		})
	}
}

// repeat runs cfg's suites n times and compares each run's verdicts with
// the first run's.
func repeat(t *testing.T, n int, cfg framework.Config) {
	t.Helper()
	var first, firstWhy map[string]string
	var walls []time.Duration
	flaky := map[string][]string{}
	for i := range n {
		vs, wall := runSuites(t, cfg, "")
		walls = append(walls, wall)
		got := map[string]string{}
		why := map[string]string{}
		for _, v := range vs {
			k := "[" + v.Proto + "] " + v.Text
			got[k] = v.State.String()
			why[k] = strings.Join(strings.Fields(v.Failure), " ")
			if len(why[k]) > 240 {
				why[k] = why[k][:240] + "…"
			}
		}
		t.Logf("run %d: %d specs, %v\n%s", i+1, len(vs), wall.Round(time.Millisecond), countTable(vs))
		if first == nil {
			first, firstWhy = got, why
			continue
		}
		for k, s := range got {
			if first[k] != s {
				flaky[k] = append(flaky[k], fmt.Sprintf("run %d: %s (run 1: %s) %s %s", i+1, s, first[k], why[k], firstWhy[k]))
			}
		}
		for k, s := range first {
			if _, ok := got[k]; !ok {
				flaky[k] = append(flaky[k], fmt.Sprintf("run %d: missing (run 1: %s)", i+1, s))
			}
		}
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i] < walls[j] })
	t.Logf("%d runs: wall time min %v, median %v, max %v", n, walls[0].Round(time.Millisecond), walls[len(walls)/2].Round(time.Millisecond), walls[len(walls)-1].Round(time.Millisecond))
	if len(flaky) == 0 {
		t.Logf("identical verdicts in all %d runs (%d specs)", n, len(first))
		return
	}
	keys := make([]string, 0, len(flaky))
	for k := range flaky {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Errorf("flaky: %s\n    %s", k, strings.Join(flaky[k], "\n    "))
	}
}
