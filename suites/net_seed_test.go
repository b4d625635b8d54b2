package suites

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/netload"
)

// netFaultMarks returns, per requirement, the verdict and the "fault"
// marks (fault type and its parameters) of a run's siospec.net entries.
func netFaultMarks(t *testing.T, r types.Report) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt || s.State == types.SpecStateSkipped {
			continue
		}
		id := ""
		for _, l := range s.Labels() {
			if v, ok := strings.CutPrefix(l, "req:"); ok {
				id = v
			}
		}
		var marks []string
		for _, e := range s.ReportEntries {
			if e.Name != reports.EntryNet {
				continue
			}
			var n reports.Net
			if err := json.Unmarshal([]byte(e.Value.Representation), &n); err != nil {
				t.Fatalf("%s: siospec.net: %v", id, err)
			}
			var m netload.Measures
			if err := json.Unmarshal(n.Measures, &m); err != nil {
				t.Fatalf("%s: measures: %v", id, err)
			}
			for _, mk := range m.Timeline {
				if mk.Kind == netload.KindFault {
					marks = append(marks, mk.Detail)
				}
			}
		}
		out[id] = s.State.String() + " " + strings.Join(marks, "; ")
	}
	return out
}

// TestNetSeedReproducible: the resilience tier draws its faults from the
// run's seed: the same --seed gives the same faults (and verdicts), another
// seed other faults.
func TestNetSeedReproducible(t *testing.T) {
	skipProof(t)
	t.Parallel()
	url := serveRef(t, netRefOptions())
	seeds := []int64{4242, 4242, 777}
	reps := make([]types.Report, len(seeds))
	errs := make([]error, len(seeds))
	var wg sync.WaitGroup
	for i, seed := range seeds {
		wg.Go(func() {
			cfg := netConfig(url, &framework.NetConfig{Trials: 1})
			cfg.Seed = seed
			reps[i], errs[i] = RunServer(t.Context(), cfg, &RunOptions{LabelFilter: netFilter("NET-RES-01", "NET-RES-02"), Procs: 1, Timeout: 3 * time.Minute})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	a, b, c := netFaultMarks(t, reps[0]), netFaultMarks(t, reps[1]), netFaultMarks(t, reps[2])
	if len(a) != 2 {
		t.Fatalf("want two resilience specs, got %v", a)
	}
	for id, v := range a {
		if !strings.Contains(v, "res-") {
			t.Errorf("%s: no seeded fault recorded: %q", id, v)
		}
		if b[id] != v {
			t.Errorf("%s: same seed, different faults or verdict:\n  %s\n  %s", id, v, b[id])
		}
		if c[id] == v {
			t.Errorf("%s: another seed drew the same faults: %s", id, v)
		}
	}
}
