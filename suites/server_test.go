package suites

import (
	"context"
	"flag"
	"testing"

	"go.uber.org/goleak"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/suites/framework"
)

// testCfg holds the suite flags (--url, --path, --eio, --time-scale,
// --strict, --seed) of this test binary.
var testCfg framework.Config

// update rewrites golden files (coverage_test.go).
var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestMain(m *testing.M) {
	testCfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	// Ginkgo's interrupt handler and output interceptor live for the whole
	// process; everything the framework and the proofs start must be gone.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/onsi/ginkgo/v2/internal/interrupt_handler.(*InterruptHandler).registerForInterrupts.func2"),
		goleak.IgnoreTopFunction("os/signal.signal_recv"),
		goleak.IgnoreAnyFunction("github.com/onsi/ginkgo/v2/internal.(*Suite).runNode.func1"),
	)
}

// TestServerSuite runs the server specs as a plain Ginkgo suite:
//
//	go test ./suites -run TestServerSuite -args --url http://127.0.0.1:3000 [--eio 3]
//	go tool ginkgo ./suites -- --url http://127.0.0.1:3000
//
// Without --url it skips, except in a dry run, which lists every spec of
// every revision.
func TestServerSuite(t *testing.T) {
	RegisterFailHandler(Fail)
	sc, rc := GinkgoConfiguration()
	cfg := testCfg
	cfg.Normalize()
	if err := cfg.Validate(false); err != nil {
		t.Fatal(err)
	}
	if !sc.DryRun {
		if cfg.URL == "" {
			t.Skip("no --url given; run with -args --url http://HOST:PORT (see package doc)")
		}
		tgt, err := framework.Preflight(context.Background(), &cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Target = tgt
		t.Logf("preflight: %s", tgt)
		user := sc.LabelFilter
		sc.LabelFilter = LabelFilter(&cfg, user)
		sc.RandomSeed = cfg.Seed
		RegisterSelected(framework.NewSuite(&cfg), user, false)
	} else {
		Register(framework.NewSuite(&cfg))
	}
	RunSpecs(t, SuiteName, sc, rc)
}
