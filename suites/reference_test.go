package suites

import (
	"testing"
	"time"

	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/suites/framework"
)

// startReference starts the built-in reference fixtures for the test (or
// proof attempt) and returns a configuration resolved to them.
func startReference(t tb, opts *ReferenceOptions) framework.Config {
	t.Helper()
	ref, err := StartReference(opts)
	if err != nil {
		t.Fatalf("start the reference: %v", err)
	}
	t.Cleanup(func() { _ = ref.Close() })
	var cfg framework.Config
	if opts != nil {
		cfg.Suites = opts.Suites
	}
	ref.Configure(&cfg)
	return cfg
}

// proofReference is the built-in reference with the proofs' heartbeat and
// connectTimeout.
func proofReference() *ReferenceOptions {
	return &ReferenceOptions{PingInterval: prooftest.PingInterval, PingTimeout: prooftest.PingTimeout, ConnectTimeout: prooftest.ConnectTimeout}
}

// TestReference runs every suite against the built-in reference fixtures
// in one run, as `make conformance` does but with the proofs' heartbeat:
// nothing may fail except EDGE and MAY specs (never gating), and the run
// must stay within its wall-time budget. A failed attempt is retried once
// (prooftest.Run).
func TestReference(t *testing.T) {
	skipProof(t)
	t.Parallel() // mostly waiting on protocol timers; the runs are independent
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		cfg := startReference(a, proofReference())
		vs, wall := runSuites(a, cfg, "")
		checkProof(a, vs, nil, false)
		checkUnsupported(a, vs, unsupportedReference)
		a.Logf("reference: %d specs, wall time %v\n%s\nslowest specs:\n%s", len(vs), wall.Round(time.Millisecond), countTable(vs), slowest(vs, 10))
		if wall > wholeRunBudget {
			a.Errorf("the run took %v, budget %v", wall, wholeRunBudget)
		}
	})
}
