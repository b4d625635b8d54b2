package suites

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// envClientDryRun makes TestClientDryRun write the client spec tree's dry
// run to the path it names (Ginkgo runs once per process, so the tests
// that need the tree run this binary again).
const envClientDryRun = "SIOSPEC_TEST_CLIENT_DRY_RUN"

// TestClientDryRun is the child half of clientDryRun; it skips unless
// envClientDryRun is set.
func TestClientDryRun(t *testing.T) {
	out := os.Getenv(envClientDryRun)
	if out == "" {
		t.Skip("runs only as the child of clientDryRun")
	}
	rep, err := ListClientSpecs(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// clientDryRun returns every client spec of the tree, in declaration
// order.
func clientDryRun(t *testing.T) []types.SpecReport {
	t.Helper()
	out := filepath.Join(t.TempDir(), "client-dry-run.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestClientDryRun$", "-test.count=1")
	cmd.Env = append(os.Environ(), envClientDryRun+"="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("client dry run failed: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep types.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	var specs []types.SpecReport
	for _, s := range rep.SpecReports {
		if s.LeafNodeType == types.NodeTypeIt {
			specs = append(specs, s)
		}
	}
	// Ginkgo reports a dry run in its (shuffled) run order: sort by
	// declaration place for a stable list.
	slices.SortStableFunc(specs, func(a, b types.SpecReport) int {
		if c := strings.Compare(a.LeafNodeLocation.FileName, b.LeafNodeLocation.FileName); c != 0 {
			return c
		}
		if c := a.LeafNodeLocation.LineNumber - b.LeafNodeLocation.LineNumber; c != 0 {
			return c
		}
		return strings.Compare(labelOf(a.Labels(), "proto"), labelOf(b.Labels(), "proto"))
	})
	return specs
}

// clientCasesFiles are the two copies of the case list: the one siospec
// embeds (the Go testee's list) and the one testees read.
var clientCasesFiles = []string{"client-cases.txt", "../testees/client-cases.txt"}

const clientCasesHeader = `# The cases of siospec's client suites: "<suite> <case>" per line (testees/CLIENT-CONTRACT.md, section 4).
# Generated from the spec tree; do not edit by hand. Regenerate with:
#   go test ./suites -run '^TestClientCases$' -update
`

// TestClientCases checks that both copies of the case list are what the
// spec tree declares; -update rewrites them.
func TestClientCases(t *testing.T) {
	specs := clientDryRun(t)
	seen := map[string]bool{}
	var lines []string
	order := map[string]int{"EIO4": 0, "EIO3": 1, "SIO5": 2, "SIO4": 3}
	slices.SortStableFunc(specs, func(a, b types.SpecReport) int {
		return order[labelOf(a.Labels(), "proto")] - order[labelOf(b.Labels(), "proto")]
	})
	for _, s := range specs {
		c, p := labelOf(s.Labels(), "case"), labelOf(s.Labels(), "proto")
		if c == "" || p == "" {
			t.Errorf("client spec %q has no case: or proto: label", s.FullText())
			continue
		}
		line := strings.ToLower(p) + " " + c
		if !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	want := clientCasesHeader + strings.Join(lines, "\n") + "\n"
	for _, f := range clientCasesFiles {
		got, _ := os.ReadFile(f)
		if string(got) == want {
			continue
		}
		if *update {
			if err := os.WriteFile(f, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s is stale (%d cases in the spec tree); regenerate with: go test ./suites -run '^TestClientCases$' -update", f, len(lines))
	}
	t.Logf("%d client specs, %d cases", len(specs), len(lines))
}

// labelOf returns the value of the label key:value among labels.
func labelOf(labels []string, key string) string {
	for _, l := range labels {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return v
		}
	}
	return ""
}
