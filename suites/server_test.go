package suites

import (
	"context"
	"flag"
	"os"
	"testing"

	"go.uber.org/goleak"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/suites/framework"
)

// testCfg holds the suite flags (--url, --eio-url, --sio-url, --path,
// --suite, --time-scale, --strict, --seed, --connect-timeout) of this test
// binary.
var testCfg framework.Config

// update rewrites golden files (coverage_test.go).
var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestMain(m *testing.M) {
	// A child of a parallel run (RunServer with Procs > 0 started this
	// binary again): run its suites and exit.
	if code, ok := ChildMain(context.Background()); ok {
		os.Exit(code)
	}
	if code, ok := ClientChildMain(context.Background()); ok {
		os.Exit(code)
	}
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

// TestServerSuite runs the server specs as a plain Ginkgo suite, in this
// process, one spec after another:
//
//	go test ./suites -run TestServerSuite -args --url http://127.0.0.1:3000 [--suite eio4,eio3]
//	go test ./suites -run TestServerSuite -args --eio-url http://127.0.0.1:3000 --sio-url http://127.0.0.1:3001 --suite all
//	go tool ginkgo ./suites -- --url http://127.0.0.1:3000 --suite sio5
//
// Without a target URL it skips, except in a dry run, which lists every
// spec of every suite.
func TestServerSuite(t *testing.T) {
	RegisterFailHandler(Fail)
	sc, rc := GinkgoConfiguration()
	cfg := testCfg
	cfg.Normalize()
	if err := cfg.Validate(false); err != nil {
		t.Fatal(err)
	}
	suite := framework.NewSuite(&cfg)
	defer suite.Close()
	if sc.DryRun {
		Register(suite)
		RunSpecs(t, SuiteName, sc, rc)
		return
	}
	if !cfg.HasTarget() {
		t.Skip("no --url given; run with -args --url http://HOST:PORT [--suite ...] (see package doc)")
	}
	if err := cfg.Validate(true); err != nil {
		t.Fatal(err)
	}
	if err := Resolve(context.Background(), &cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range cfg.Suites {
		t.Logf("preflight %s: %s", p, cfg.Targets[p].Target)
	}
	sc.LabelFilter = LabelFilter(&cfg, sc.LabelFilter)
	sc.RandomSeed = cfg.Seed
	Register(suite, cfg.Suites...)
	RunSpecs(t, SuiteName, sc, rc)
}
