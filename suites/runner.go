package suites

import (
	"cmp"
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
	"github.com/siospec/siospec/suites/cluster"
	"github.com/siospec/siospec/suites/engineio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/socketio"
)

// SuiteName is the description of the server suite in Ginkgo reports.
const SuiteName = "siospec server"

// RunOptions selects and presents a run. Nil means defaults.
type RunOptions struct {
	// LabelFilter is a Ginkgo label filter ANDed with the run's own
	// selection (role:server and the suites under test). Empty selects all.
	LabelFilter string
	// Focus are regular expressions over full spec texts (--focus).
	Focus []string
	// Progress receives live progress, meant for a terminal: one line
	// redrawn in place (specs done / total, failures so far, elapsed
	// time) once the run has taken progressDelay, and a line for every
	// failed spec. Nil prints nothing.
	Progress io.Writer
	// Console receives Ginkgo's own console report. Nil discards it.
	Console io.Writer
	// JSONReport, when set, is a path where the run's Ginkgo JSON report
	// is written.
	JSONReport string
	// Timeout bounds the whole run; 0 means 10 minutes.
	Timeout time.Duration
	// Procs is the number of child processes that run the specs (see
	// "Parallel runs" in the package doc). 0 runs everything in this
	// process, one spec after another, which Ginkgo allows once per
	// process; 1 or more starts Procs children (lanes) that each take
	// the next spec nobody has taken yet, so that up to Procs specs run
	// at a time, and may be repeated. Specs labelled serial all run in
	// the first lane, one after another. The CLI's default is DefaultProcs.
	Procs int
	// ChildArgs are the arguments a child process gets (the environment
	// variable EnvChild tells it its job); they must lead the executable
	// to ChildMain, e.g. {"server", "--child"} for the siospec CLI. A test
	// binary calls ChildMain in TestMain and needs none.
	ChildArgs []string

	// lane, in a child process, shares the specs with the other lanes.
	lane *laneClient
	// cluster, when set, makes the run the cluster suite's against it
	// (RunCluster).
	cluster *cluster.Config
}

// LabelFilter returns the filter that selects the server specs of cfg's
// suites (proto: labels), leaving out specs labelled slow unless user names
// slow, ANDed with user (which may be empty).
func LabelFilter(cfg *framework.Config, user string) string {
	f := "role:server"
	if ps := cfg.Suites; len(ps) > 0 && !strings.Contains(user, "proto:") {
		parts := make([]string, len(ps))
		for i, p := range ps {
			parts[i] = "proto:" + string(p)
		}
		if len(parts) == 1 {
			f += " && " + parts[0]
		} else {
			f += " && (" + strings.Join(parts, " || ") + ")"
		}
	}
	if !strings.Contains(user, "slow") {
		f += " && !slow"
	}
	if strings.TrimSpace(user) != "" {
		f += " && (" + user + ")"
	}
	return f
}

// Register declares the server specs of the given suites (every suite when
// none is given) in the Ginkgo tree for s: the Engine.IO specs (proto:EIO4,
// proto:EIO3) and the Socket.IO specs (proto:SIO5, proto:SIO4). The
// Socket.IO specs take their connectTimeout from s's Config.
func Register(s *framework.Suite, suites ...framework.Proto) {
	all := len(suites) == 0
	if all {
		suites = framework.SelectableSuites // the net suite too (dry runs list it)
	}
	var eio, sio []framework.Proto
	for _, p := range suites {
		if p == framework.NET {
			continue // registered below (net_register.go)
		}
		if p.IsSocketIO() {
			sio = append(sio, p)
		} else {
			eio = append(eio, p)
		}
	}
	switch len(eio) {
	case 1:
		engineio.RegisterFor(s, eio[0])
	case 2:
		engineio.Register(s)
	}
	if len(sio) > 0 {
		socketio.RegisterWith(s, &socketio.Options{ConnectTimeout: s.Config().ConnectTimeout, Suites: sio})
	}
	registerNet(s, suites)
	if all {
		cluster.Register(s, nil) // the cluster suite too (dry runs list it; RunCluster runs it)
	}
}

// Resolve fills cfg.Targets with the configuration of every suite in
// cfg.Suites (cfg.For, unless the caller set an entry) and preflights each
// target that has no Target yet, concurrently, within
// framework.PreflightTimeout. A failing target is returned as a
// *framework.PreflightError naming its suite. A Socket.IO target is then
// asked once whether it implements the extended contract (within another
// framework.PreflightTimeout); the answer is Target.Extended.
func Resolve(ctx context.Context, cfg *framework.Config) error {
	if cfg.Targets == nil {
		cfg.Targets = map[framework.Proto]*framework.Config{}
	}
	for _, p := range cfg.Suites {
		if cfg.Targets[p] == nil {
			cfg.Targets[p] = cfg.For(p)
		}
		t := cfg.Targets[p]
		t.Strict, t.TimeScale, t.Seed, t.ConnectTimeout = cfg.Strict, cfg.TimeScale, cfg.Seed, cfg.ConnectTimeout
		t.EIO = p.EIO()
	}
	errs := make([]error, len(cfg.Suites))
	var wg sync.WaitGroup
	for i, p := range cfg.Suites {
		t := cfg.Targets[p]
		if t.Target != nil {
			continue
		}
		if t.URL == "" {
			errs[i] = fmt.Errorf("%w: suite %s has no target URL", framework.ErrUsage, strings.ToLower(string(p)))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tgt, err := preflightSuite(ctx, p, t)
			var pe *framework.PreflightError
			if errors.As(err, &pe) {
				pe.Suite = strings.ToLower(string(p))
			}
			errs[i], t.Target = err, tgt
			if err == nil && p.IsSocketIO() {
				probeExtended(ctx, t)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// probeExtended asks the Socket.IO target of t (preflighted) once whether
// it implements the extended contract and records the answer in t.Target,
// so that its extended specs need no probe of their own. The probe takes
// at most framework.PreflightTimeout (and ends with ctx); a probe that
// cannot decide leaves Extended unknown and says why in ExtendedProbe.
func probeExtended(ctx context.Context, t *framework.Config) {
	ctx, cancel := context.WithTimeout(ctx, framework.PreflightTimeout)
	defer cancel()
	ext, err := socketio.ProbeExtended(ctx, t)
	t.Target.Extended = ext
	if err != nil {
		t.Target.Extended, t.Target.ExtendedProbe = framework.ExtendedUnknown, err.Error()
	}
}

var (
	runOnce sync.Mutex
	ran     bool
)

var errRerun = errors.New("suites: an in-process run (Procs 0) and ListSpecs may run once per process (a Ginkgo restriction)")

// RunServer runs the server suites of cfg.Suites against their targets and
// returns Ginkgo's report, one report for every suite. It resolves and
// preflights the targets first (Resolve) and returns a
// *framework.PreflightError if one does not answer as Engine.IO. The
// context's deadline, if any, bounds the run. With opts.Procs 0 the specs
// run in this process (once per process); otherwise in child processes,
// and RunServer may be called again.
func RunServer(ctx context.Context, cfg framework.Config, opts *RunOptions) (types.Report, error) {
	cfg.Normalize()
	needURL := false
	for _, p := range cfg.Suites {
		if cfg.Targets[p] == nil {
			needURL = true
		}
	}
	if err := cfg.Validate(needURL); err != nil {
		return types.Report{}, err
	}
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	if err := CheckLabelFilter(LabelFilter(&cfg, o.LabelFilter)); err != nil {
		return types.Report{}, err
	}
	if err := Resolve(ctx, &cfg); err != nil {
		return types.Report{}, err
	}
	if o.Procs > 0 {
		return runParallel(ctx, cfg, o)
	}
	return runGinkgo(ctx, cfg, &o, false)
}

// ListSpecs builds the spec tree without running it (a Ginkgo dry run) and
// returns the report of every server spec of every suite that matches
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
	suite := framework.NewSuite(&cfg)
	defer suite.Close()
	switch {
	case o.cluster != nil:
		cluster.Register(suite, o.cluster)
	case dry:
		Register(suite)
	default:
		Register(suite, cfg.Suites...)
	}
	if o.lane != nil {
		o.lane.install(cmp.Or(o.Timeout, 10*time.Minute))
	}
	var report types.Report
	var got bool
	ReportAfterSuite("siospec: capture", func(r Report) { report, got = r, true })
	if o.Progress != nil && !dry {
		defer installProgress(o.Progress).Close()
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

// installProgress draws a progressLine from this process's Ginkgo run;
// the caller closes it after the run.
func installProgress(w io.Writer) *progressLine {
	var mu sync.Mutex
	var ev laneEvent
	p := startProgress(w, progressDelay)
	ReportBeforeSuite(func(r Report) {
		mu.Lock()
		defer mu.Unlock()
		ev.Total = r.PreRunStats.SpecsThatWillRun
		p.update(ev)
	})
	ReportAfterEach(func(r SpecReport) {
		if r.State.Is(types.SpecStateSkipped | types.SpecStatePending) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		ev.Done++
		ev.FailedText = ""
		if r.State.Is(types.SpecStateFailureStates) {
			ev.Failed++
			ev.FailedText = r.FullText()
		}
		p.update(ev)
	})
	ReportAfterSuite("siospec: progress", func(Report) {
		mu.Lock()
		defer mu.Unlock()
		p.Close()
	})
	return p
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
