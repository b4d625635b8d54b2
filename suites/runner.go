package suites

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"github.com/siospec/siospec/suites/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// SuiteName is the description of the server suite in Ginkgo reports.
const SuiteName = "siospec server"

// RunOptions selects and presents a run. Nil means defaults.
type RunOptions struct {
	// LabelFilter is a Ginkgo label filter ANDed with the run's own
	// selection (role:server and the proto under test). Empty selects all.
	LabelFilter string
	// Focus are regular expressions over full spec texts (--focus).
	Focus []string
	// Progress receives live progress lines (spec counts, the current
	// spec, elapsed time). Nil prints nothing.
	Progress io.Writer
	// Console receives Ginkgo's own console report. Nil discards it.
	Console io.Writer
	// JSONReport, when set, is a path where Ginkgo writes its JSON report.
	JSONReport string
	// Timeout bounds the whole run; 0 means 10 minutes.
	Timeout time.Duration
}

// LabelFilter returns the filter that selects the server specs of cfg's
// revision, ANDed with user (which may be empty).
func LabelFilter(cfg *framework.Config, user string) string {
	f := fmt.Sprintf("role:server && proto:%s", cfg.Version())
	if strings.TrimSpace(user) != "" {
		f += " && (" + user + ")"
	}
	return f
}

// Register declares every server spec of the repository in the Ginkgo tree
// for suite s.
func Register(s *framework.Suite) {
	engineio.Register(s)
}

var runOnce sync.Mutex

var errRerun = errors.New("suites: RunServer may run once per process (a Ginkgo restriction)")

var ran bool

// RunServer runs the server suites against cfg's target and returns Ginkgo's
// report. When cfg.Target is nil it runs the preflight first and returns a
// *framework.PreflightError if the target does not answer as Engine.IO. The
// context's deadline, if any, bounds the run; cancelling ctx does not
// interrupt running specs (Ginkgo installs its own interrupt handler for
// SIGINT).
func RunServer(ctx context.Context, cfg framework.Config, opts *RunOptions) (types.Report, error) {
	runOnce.Lock()
	defer runOnce.Unlock()
	if ran {
		return types.Report{}, errRerun
	}
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	cfg.Normalize()
	if err := cfg.Validate(true); err != nil {
		return types.Report{}, err
	}
	if cfg.Target == nil {
		t, err := framework.Preflight(ctx, &cfg)
		if err != nil {
			return types.Report{}, err
		}
		cfg.Target = t
	}
	ran = true

	suite := framework.NewSuite(&cfg)
	Register(suite)
	var report types.Report
	var got bool
	ReportAfterSuite("siospec: capture", func(r Report) { report, got = r, true })
	if o.Progress != nil {
		installProgress(o.Progress)
	}

	sc, rc := GinkgoConfiguration()
	sc.LabelFilter = LabelFilter(&cfg, o.LabelFilter)
	sc.FocusStrings = append(sc.FocusStrings, o.Focus...)
	sc.RandomSeed = cfg.Seed
	sc.Timeout = o.Timeout
	if sc.Timeout == 0 {
		sc.Timeout = 10 * time.Minute
	}
	if dl, ok := ctx.Deadline(); ok {
		sc.Timeout = min(sc.Timeout, time.Until(dl))
	}
	rc.NoColor = true
	rc.Succinct = true
	rc.SilenceSkips = true
	if o.JSONReport != "" {
		rc.JSONReport = o.JSONReport
	}
	console := o.Console
	if console == nil {
		console = io.Discard
	}
	prev := formatter.ColorableStdOut
	formatter.ColorableStdOut = console
	defer func() { formatter.ColorableStdOut = prev }()

	gomega.RegisterFailHandler(Fail)
	t := &testingT{}
	RunSpecs(t, SuiteName, sc, rc)
	if !got {
		return report, &framework.HarnessError{Op: "run specs", Err: errors.New("no report from Ginkgo")}
	}
	return report, nil
}

// testingT is the GinkgoTestingT adapter: Ginkgo only calls Fail.
type testingT struct{ failed bool }

func (t *testingT) Fail() { t.failed = true }

// installProgress reports spec counts, the current spec and elapsed time.
func installProgress(w io.Writer) {
	var mu sync.Mutex
	var total, done, failed int
	start := time.Now()
	ReportBeforeSuite(func(r Report) {
		mu.Lock()
		defer mu.Unlock()
		total = r.PreRunStats.SpecsThatWillRun
		fmt.Fprintf(w, "running %d specs\n", total)
	})
	ReportBeforeEach(func(r SpecReport) {
		if r.State.Is(types.SpecStateSkipped | types.SpecStatePending) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "\r\033[K[%d/%d %s, %d failed] %s", done+1, total, time.Since(start).Round(time.Second), failed, shorten(r.FullText(), 90))
	})
	ReportAfterEach(func(r SpecReport) {
		if r.State.Is(types.SpecStateSkipped | types.SpecStatePending) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		done++
		if r.State.Is(types.SpecStateFailureStates) {
			failed++
			fmt.Fprintf(w, "\r\033[KFAIL %s\n", r.FullText())
		}
	})
	ReportAfterSuite("siospec: progress", func(Report) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "\r\033[Kran %d specs in %s, %d failed\n", done, time.Since(start).Round(time.Millisecond), failed)
	})
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}
