package suites

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"github.com/siospec/siospec/suites/engineio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/socketio"
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
// Engine.IO revision (proto:EIO4 or proto:EIO3), ANDed with user (which may
// be empty). When user names a proto: label itself (for example proto:SIO5
// to run the Socket.IO specs against a Socket.IO server), the revision is
// left to it. Specs labelled slow run only when user names the label slow.
func LabelFilter(cfg *framework.Config, user string) string {
	f := "role:server"
	if !strings.Contains(user, "proto:") {
		f += fmt.Sprintf(" && proto:%s", cfg.Version())
	}
	if !strings.Contains(user, "slow") {
		f += " && !slow"
	}
	if strings.TrimSpace(user) != "" {
		f += " && (" + user + ")"
	}
	return f
}

// Register declares every server spec of the repository in the Ginkgo tree
// for suite s: the Engine.IO specs (proto:EIO4, proto:EIO3) and the
// Socket.IO specs (proto:SIO5, proto:SIO4).
func Register(s *framework.Suite) {
	engineio.Register(s)
	socketio.Register(s)
}

// RegisterSelected declares the specs a run can select: everything for a
// dry run or when user (the user's label filter) names a proto: itself,
// otherwise only the Engine.IO revision under test, so that reports do not
// list specs that could never run as "skipped".
func RegisterSelected(s *framework.Suite, user string, dry bool) {
	if dry || strings.Contains(user, "proto:") {
		Register(s)
		return
	}
	engineio.RegisterFor(s, s.Config().Version())
}

var (
	runOnce sync.Mutex
	ran     bool
)

var errRerun = errors.New("suites: RunServer and ListSpecs may run once per process (a Ginkgo restriction)")

// RunServer runs the server suites against cfg's target and returns Ginkgo's
// report. When cfg.Target is nil it runs the preflight first and returns a
// *framework.PreflightError if the target does not answer as Engine.IO. The
// context's deadline, if any, bounds the run; cancelling ctx does not
// interrupt running specs (Ginkgo installs its own interrupt handler for
// SIGINT). Ginkgo allows one run per process.
func RunServer(ctx context.Context, cfg framework.Config, opts *RunOptions) (types.Report, error) {
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
	return runGinkgo(ctx, cfg, opts, false)
}

// ListSpecs builds the spec tree without running it (a Ginkgo dry run) and
// returns the report of every server spec of every revision that matches
// opts.LabelFilter and opts.Focus; no target is contacted. Ginkgo allows
// one run per process.
func ListSpecs(ctx context.Context, opts *RunOptions) (types.Report, error) {
	var cfg framework.Config
	cfg.Normalize()
	return runGinkgo(ctx, cfg, opts, true)
}

func runGinkgo(ctx context.Context, cfg framework.Config, opts *RunOptions, dry bool) (types.Report, error) {
	runOnce.Lock()
	defer runOnce.Unlock()
	if ran {
		return types.Report{}, errRerun
	}
	ran = true
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	RegisterSelected(framework.NewSuite(&cfg), o.LabelFilter, dry)
	var report types.Report
	var got bool
	ReportAfterSuite("siospec: capture", func(r Report) { report, got = r, true })
	if o.Progress != nil && !dry {
		installProgress(o.Progress)
	}

	sc, rc := GinkgoConfiguration()
	if dry {
		sc.DryRun = true
		sc.LabelFilter = "role:server"
		if strings.TrimSpace(o.LabelFilter) != "" {
			sc.LabelFilter += " && (" + o.LabelFilter + ")"
		}
	} else {
		sc.LabelFilter = LabelFilter(&cfg, o.LabelFilter)
	}
	if err := CheckLabelFilter(sc.LabelFilter); err != nil {
		return types.Report{}, err
	}
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
	RunSpecs(&testingT{}, SuiteName, sc, rc)
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

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// CheckLabelFilter reports whether filter is a valid Ginkgo label filter,
// as a usage error (framework.ErrUsage) with a plain-text explanation.
func CheckLabelFilter(filter string) error {
	if _, err := types.ParseLabelFilter(filter); err != nil {
		msg := strings.Join(strings.Fields(ansi.ReplaceAllString(err.Error(), "")), " ")
		return fmt.Errorf("%w: invalid label filter %q: %s", framework.ErrUsage, filter, msg)
	}
	return nil
}
