package suites

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/siospec/siospec/suites/framework"
)

// clientUncovered names the client-binding MUST and SHOULD requirements
// that no client spec judges, each with the reason.
var clientUncovered = map[string]string{
	"EIO-WT-01": "WebTransport is out of scope for the suites",
	"EIO-WT-02": "WebTransport is out of scope for the suites",
}

// clientBinding reports whether r counts for the client suites' coverage:
// it binds clients (side C or B) at MUST or SHOULD.
func clientBinding(r framework.Requirement) bool {
	return r.Bind.BindsClient() && (r.Level == framework.MUST || r.Level == framework.SHOULD)
}

// TestClientCoverage checks that every client spec names a known
// requirement that binds clients, ends with its ID and carries a case, and
// that every client-binding MUST and SHOULD has a client spec (or a
// reason in clientUncovered).
func TestClientCoverage(t *testing.T) {
	reg := framework.Requirements()
	specs := clientDryRun(t)
	covered := map[string]bool{}
	for _, s := range specs {
		id := labelOf(s.Labels(), "req")
		r, ok := reg.Lookup(id)
		switch {
		case !ok:
			t.Errorf("client spec %q names unknown requirement %q", s.FullText(), id)
			continue
		case !r.Bind.BindsClient():
			t.Errorf("client spec %q judges %s, which does not bind clients", s.FullText(), id)
		case !strings.HasSuffix(s.LeafNodeText, " ["+id+"]"):
			t.Errorf("client spec %q does not end with [%s]", s.FullText(), id)
		case labelOf(s.Labels(), "case") == "":
			t.Errorf("client spec %q has no case", s.FullText())
		}
		covered[id] = true
	}
	var missing []string
	for _, r := range reg.All() {
		if !clientBinding(r) || covered[r.ID] {
			continue
		}
		if _, ok := clientUncovered[r.ID]; ok {
			continue
		}
		missing = append(missing, fmt.Sprintf("%s %s (%s)", r.ID, r.Level, r.Summary))
	}
	for id := range clientUncovered {
		if covered[id] {
			t.Errorf("clientUncovered names %s, which a client spec covers", id)
		}
	}
	for _, m := range missing {
		t.Errorf("client-binding requirement without a client spec: %s", m)
	}
	t.Logf("%d client specs cover %d requirements", len(specs), len(covered))
}

// clientKills returns, for every requirement ID, the broken clients whose
// header expects it to fail.
func clientKills(t *testing.T) map[string][]string {
	kills := map[string][]string{}
	for _, b := range loadBrokenClients(t) {
		for _, id := range b.Expect {
			kills[id] = append(kills[id], b.File)
		}
	}
	return kills
}

// TestClientKillMatrix checks that every client-binding MUST (and so every
// area with one) has a broken client whose header expects it to fail, and
// logs the share of client-binding MUST and SHOULD requirements with one
// (TestBrokenClients proves each).
func TestClientKillMatrix(t *testing.T) {
	reg := framework.Requirements()
	kills := clientKills(t)
	areaMust := map[string]bool{}
	areaKilled := map[string]bool{}
	var binding, killed, open []string
	for _, r := range reg.All() {
		if !clientBinding(r) {
			continue
		}
		if _, ok := clientUncovered[r.ID]; ok {
			continue
		}
		binding = append(binding, r.ID)
		if r.Level == framework.MUST {
			areaMust[r.Area] = true
		}
		if len(kills[r.ID]) > 0 {
			killed = append(killed, r.ID)
			if r.Level == framework.MUST {
				areaKilled[r.Area] = true
			}
		} else {
			open = append(open, r.ID)
			if r.Level == framework.MUST {
				t.Errorf("client-binding MUST %s has no broken client that fails it (suites/testdata/broken-clients)", r.ID)
			}
		}
	}
	for id := range kills {
		if r, ok := reg.Lookup(id); !ok || !r.Bind.BindsClient() {
			t.Errorf("broken clients %v expect %s, which is not a client-binding requirement", kills[id], id)
		}
	}
	var areas []string
	for a := range areaMust {
		areas = append(areas, a)
	}
	sort.Strings(areas)
	for _, a := range areas {
		if !areaKilled[a] {
			t.Errorf("area %s has client-binding MUSTs but no broken client fails one of them", a)
		}
	}
	slices.Sort(open)
	t.Logf("client kill matrix: %d of %d client-binding MUST and SHOULD requirements have a broken client; without one: %s",
		len(killed), len(binding), strings.Join(open, " "))
}
