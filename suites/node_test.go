package suites

import (
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

const expectedNode = "testdata/expected-failures-node.txt"

// TestNodeEIO4 runs the Engine.IO v4 suite against Node's FX-EIO4 fixture
// (engine.io 6.6): every spec must pass except the documented Node
// deviations of testdata/expected-failures-node.txt.
func TestNodeEIO4(t *testing.T) { nodeProof(t, "eio4", "4") }

// TestNodeEIO3 does the same for the v3 suite against eio3.js (engine.io
// 6.6 with allowEIO3).
func TestNodeEIO3(t *testing.T) { nodeProof(t, "eio3", "3") }

func nodeProof(t *testing.T, fixture, eio string) {
	if testCfg.URL != "" {
		t.Skip("--url given: this run targets that server; the self-proofs run without --url")
	}
	if testing.Short() {
		t.Skip("-short: the Node proofs take a few seconds each")
	}
	url := startNode(t, fixture)
	vs, wall := runChild(t, "--url", url, "--eio", eio)
	expected := loadExpected(t, expectedNode)
	var passed, failed, skipped int
	for _, v := range vs {
		switch {
		case v.State == types.SpecStatePassed:
			passed++
			if r, ok := expected[v.ID]; ok {
				t.Logf("unexpected pass: %s (expected failure: %s)", v.Text, r)
			}
		case v.State.Is(types.SpecStateFailureStates):
			failed++
			if _, ok := expected[v.ID]; !ok {
				t.Errorf("FAIL %s\n    %s", v.Text, v.Failure)
			} else {
				t.Logf("expected failure: %s", v.Text)
			}
		default:
			skipped++
		}
	}
	t.Logf("Node %s.js, EIO=%s: %d specs, %d passed, %d failed, %d skipped, wall time %v\n%s",
		fixture, eio, len(vs), passed, failed, skipped, wall.Round(1e6), verdictTable(vs))
	if len(vs) == 0 {
		t.Fatal("no spec ran")
	}
	if eio == "4" && wall.Seconds() > 30 {
		t.Errorf("the EIO4 run took %v, budget 30s", wall)
	}
}
