package suites

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/siospec/siospec/suites/framework"
)

// killTarget is the share, in percent, of server-binding MUST and SHOULD
// requirements that should have a broken variant their specs catch.
const killTarget = 90

// readmePath is the repository README, from the package directory.
const readmePath = "../README.md"

// killMatrix is the published figure: how many server-binding MUST and
// SHOULD requirements have a broken variant that their specs catch.
type killMatrix struct {
	// Binding holds every server-binding (side S or B) MUST or SHOULD
	// requirement: M.
	Binding []string
	// Killed holds those some variant's want names: N.
	Killed []string
	// NoVariant holds those without a variant that give a reason why none
	// can exist black-box; they count in M.
	NoVariant []string
	// Open holds those with neither.
	Open []string
}

// figure is the sentence fragment the README publishes, e.g.
// "41 of 97 server-binding MUST and SHOULD requirements (42 %)".
func (k killMatrix) figure() string {
	pct := 0
	if len(k.Binding) > 0 {
		pct = 100 * len(k.Killed) / len(k.Binding)
	}
	return fmt.Sprintf("%d of %d server-binding MUST and SHOULD requirements (%d %%)", len(k.Killed), len(k.Binding), pct)
}

// computeKillMatrix counts the binding requirements killed by a variant.
func computeKillMatrix(reg *framework.Registry, kills map[string][]string, noVariant map[string]string) killMatrix {
	var k killMatrix
	for _, r := range reg.All() {
		if !killBinding(r) {
			continue
		}
		k.Binding = append(k.Binding, r.ID)
		switch {
		case len(kills[r.ID]) > 0:
			k.Killed = append(k.Killed, r.ID)
		case noVariant[r.ID] != "":
			k.NoVariant = append(k.NoVariant, r.ID)
		default:
			k.Open = append(k.Open, r.ID)
		}
	}
	for _, ids := range [][]string{k.Binding, k.Killed, k.NoVariant, k.Open} {
		framework.SortIDs(ids)
	}
	return k
}

// killBinding reports whether r counts in M: it binds the server (side S
// or B) at MUST or SHOULD.
func killBinding(r framework.Requirement) bool {
	return (r.Bind == framework.BindServer || r.Bind == framework.BindBoth) &&
		(r.Level == framework.MUST || r.Level == framework.SHOULD)
}

// TestKillMatrix computes the kill matrix figure from the broken variants
// (suites/variants*_test.go, each proven by TestBrokenVariants) and their
// no-variant reasons, prints it with the requirements still open, checks
// that every ID the variants name is known and that no requirement is both
// killed and declared unkillable, and that README.md states the figure.
func TestKillMatrix(t *testing.T) {
	reg := framework.Requirements()
	vs := brokenVariants()
	kills := allKills(t, vs)
	noVar := noVariantSets()
	for _, v := range vs {
		if len(v.want) == 0 {
			t.Errorf("broken variant %s names no requirement it kills", v.name)
		}
		for _, id := range v.want {
			if _, ok := reg.Lookup(id); !ok {
				t.Errorf("broken variant %s names unknown requirement %s", v.name, id)
			}
		}
	}
	for id, why := range noVar {
		r, ok := reg.Lookup(id)
		switch {
		case !ok:
			t.Errorf("no-variant reason for unknown requirement %s", id)
		case !killBinding(r):
			t.Errorf("no-variant reason for %s, which is %s (only server-binding MUST and SHOULD count)", id, r.Level)
		case strings.TrimSpace(why) == "":
			t.Errorf("no-variant entry for %s gives no reason", id)
		case len(kills[id]) > 0:
			t.Errorf("%s has a no-variant reason but variants %v kill it: drop the reason", id, kills[id])
		}
	}
	k := computeKillMatrix(reg, kills, noVar)
	t.Logf("kill matrix: %s have a broken variant that their specs catch (target %d %%)", k.figure(), killTarget)
	t.Logf("no variant possible (%d, counted in M): %s", len(k.NoVariant), strings.Join(k.NoVariant, " "))
	t.Logf("open (%d, neither a variant nor a reason): %s", len(k.Open), strings.Join(k.Open, " "))
	if 100*len(k.Killed) < killTarget*len(k.Binding) {
		t.Errorf("kill matrix %s is below the %d %% target", k.figure(), killTarget)
	}
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), k.figure()) {
		t.Errorf("README.md does not state the kill matrix figure %q (section \"How far the verdicts can be trusted\"); update the sentence there", k.figure())
	}
}
