package suites

import (
	"testing"
	"time"

	"github.com/siospec/siospec/suites/framework"
)

// startReference starts the built-in reference fixtures for the test and
// returns a configuration resolved to them.
func startReference(t *testing.T, opts *ReferenceOptions) framework.Config {
	t.Helper()
	ref, err := StartReference(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ref.Close() })
	var cfg framework.Config
	if opts != nil {
		cfg.Suites = opts.Suites
	}
	ref.Configure(&cfg)
	return cfg
}

// TestReference runs every suite against the built-in reference fixtures
// in one run, as `make conformance` does: nothing may fail except EDGE and
// MAY specs (never gating), and the run must stay within 30 s.
func TestReference(t *testing.T) {
	skipProof(t)
	t.Parallel() // mostly waiting on protocol timers; the runs are independent
	cfg := startReference(t, nil)
	vs, wall := runSuites(t, cfg, "")
	checkProof(t, vs, nil, false)
	t.Logf("reference: %d specs, wall time %v\n%s", len(vs), wall.Round(time.Millisecond), countTable(vs))
	if wall > 30*time.Second {
		t.Errorf("the run took %v, budget 30s", wall)
	}
}
