package suites

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/formatter"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"github.com/siospec/siospec/suites/client"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/netclient"
	"github.com/siospec/siospec/suites/testee"
)

// ClientSuiteName is the description of the client suite in Ginkgo
// reports.
const ClientSuiteName = "siospec client"

// EnvClientChild names the environment variable that turns a process into
// a child of a parallel client run: its value is the path of a JSON
// clientJob.
const EnvClientChild = "SIOSPEC_CLIENT_CHILD_JOB"

// ClientLabelFilter returns the filter that selects the client specs of
// suites, ANDed with user (which may be empty).
func ClientLabelFilter(suites []framework.Proto, user string) string {
	f := "role:client"
	if len(suites) > 0 && !strings.Contains(user, "proto:") {
		parts := make([]string, len(suites))
		for i, p := range suites {
			parts[i] = "proto:" + string(p)
		}
		f += " && (" + strings.Join(parts, " || ") + ")"
	}
	if !strings.Contains(user, "slow") {
		f += " && !slow"
	}
	if strings.TrimSpace(user) != "" {
		f += " && (" + user + ")"
	}
	return f
}

//go:embed client-cases.txt
var clientCasesFile string

// ClientCases returns the cases of the client suites as "<suite> <case>"
// pairs (suite lower-case), from client-cases.txt, which
// TestClientCases keeps equal to the spec tree.
func ClientCases() map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(clientCasesFile, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) == 2 {
			out[f[0]+" "+f[1]] = true
		}
	}
	return out
}

// SuiteSupport is what the support probe found for one suite.
type SuiteSupport struct {
	Suite     framework.Proto
	Supported bool
	Why       string
}

// ProbeClient checks the testee against the contract before a run: with a
// case name that does not exist it must exit 127 (else a
// *testee.ContractError); then, for each suite, a testee that exits 127 on
// a case its list names (pointed at a closed port) does not support the
// suite.
func ProbeClient(ctx context.Context, cfg *framework.ClientConfig) ([]SuiteSupport, error) {
	suites := cfg.Suites
	if len(suites) == 0 {
		suites = framework.AllSuites
	}
	closed := "http://127.0.0.1:9/"
	dir, err := os.MkdirTemp("", "siospec-probe-")
	if err != nil {
		return nil, &framework.HarnessError{Op: "temp dir", Err: err}
	}
	defer os.RemoveAll(dir)
	// The list handed to the probes: this siospec's cases plus one probe
	// case per suite, so that a 127 in the suite probe can only mean the
	// suite.
	listed := clientCasesFile
	for _, p := range suites {
		listed += "\n" + strings.ToLower(string(framework.TesteeSuite(p))) + " " + suiteProbeCase
	}
	list := filepath.Join(dir, "client-cases.txt")
	if err := os.WriteFile(list, []byte(listed+"\n"), 0o644); err != nil {
		return nil, &framework.HarnessError{Op: "write the case list", Err: err}
	}
	env := []string{framework.EnvCases + "=" + list}
	base := testee.Options{Command: cfg.Exec, Dir: cfg.Dir, URL: closed, Suite: strings.ToLower(string(suites[0])), Seed: cfg.Seed, Grace: 500 * time.Millisecond, Env: env}
	if err := testee.Probe(ctx, &base, probeTimeout); err != nil {
		return nil, err
	}
	out := make([]SuiteSupport, len(suites))
	var wg sync.WaitGroup
	for i, p := range suites {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = probeSuite(ctx, cfg, p, closed, suiteProbeCase, env)
		}()
	}
	wg.Wait()
	return out, nil
}

// suiteProbeCase is the case name of the suite probe; the probe's case
// list names it for every suite.
const suiteProbeCase = "siospec-suite-probe"

// probeTimeout bounds one run of the testee in the probes.
const probeTimeout = 10 * time.Second

// suiteProbeWait is how long a testee may take to say 127 for a suite.
const suiteProbeWait = 5 * time.Second

func probeSuite(ctx context.Context, cfg *framework.ClientConfig, p framework.Proto, url, name string, env []string) SuiteSupport {
	t, err := testee.Start(ctx, &testee.Options{Command: cfg.Exec, Dir: cfg.Dir, URL: url, Suite: strings.ToLower(string(framework.TesteeSuite(p))), Case: name,
		Seed: cfg.Seed, Grace: 500 * time.Millisecond, Env: env})
	if err != nil {
		return SuiteSupport{Suite: p, Why: err.Error()}
	}
	timer := time.NewTimer(suiteProbeWait)
	defer timer.Stop()
	select {
	case <-t.Exited():
	case <-timer.C:
	case <-ctx.Done():
	}
	x := t.Stop()
	if x.By == "itself" && x.Code == 127 {
		return SuiteSupport{Suite: p, Why: fmt.Sprintf("the testee exits 127 for case %s of %s", name, strings.ToLower(string(framework.TesteeSuite(p))))}
	}
	return SuiteSupport{Suite: p, Supported: true}
}

// clientJob is what a parent hands a child of a parallel client run.
type clientJob struct {
	Config        framework.ClientConfig
	LabelFilter   string
	Focus         []string
	Timeout       time.Duration
	Shard, Shards int
	Report        string
}

// ClientChildMain runs this process as a child of a parallel client run
// when EnvClientChild is set and returns its exit code and true;
// otherwise it returns false.
func ClientChildMain(ctx context.Context) (int, bool) {
	path := os.Getenv(EnvClientChild)
	if path == "" {
		return 0, false
	}
	// Processes this child starts (a client under test, a peer) must not
	// take themselves for children of the run.
	os.Unsetenv(EnvChild)
	os.Unsetenv(EnvClientChild)
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "siospec client child: %v\n", err)
		return 2, true
	}
	var job clientJob
	if err := json.Unmarshal(b, &job); err != nil {
		fmt.Fprintf(os.Stderr, "siospec client child: %v\n", err)
		return 2, true
	}
	rep, err := runClientGinkgo(ctx, job.Config, &RunOptions{LabelFilter: job.LabelFilter, Focus: job.Focus, Timeout: job.Timeout}, job.Shard, job.Shards, false)
	if err != nil {
		fmt.Fprintf(os.Stderr, "siospec client child: %v\n", err)
		return 2, true
	}
	out, err := json.Marshal(rep)
	if err == nil {
		err = os.WriteFile(job.Report, out, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "siospec client child: write report: %v\n", err)
		return 2, true
	}
	return 0, true
}

// RunClient runs the client suites of cfg.Suites against the testee
// cfg.Exec and returns Ginkgo's report. The caller probes the testee first
// (ProbeClient). With opts.Procs 0 the specs run in this process (once per
// process); otherwise they are shared among Procs child processes
// (opts.ChildArgs lead the executable to ClientChildMain).
func RunClient(ctx context.Context, cfg framework.ClientConfig, opts *RunOptions) (types.Report, error) {
	if strings.TrimSpace(cfg.Exec) == "" {
		return types.Report{}, fmt.Errorf("%w: no client command (--exec)", framework.ErrUsage)
	}
	if len(cfg.Suites) == 0 {
		cfg.Suites = framework.AllSuites
	}
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	if err := CheckLabelFilter(ClientLabelFilter(cfg.Suites, o.LabelFilter)); err != nil {
		return types.Report{}, err
	}
	if o.Procs > 0 {
		return runClientParallel(ctx, cfg, o)
	}
	return runClientGinkgo(ctx, cfg, &o, 0, 0, false)
}

// ListClientSpecs builds the client spec tree without running it and
// returns the report of every client spec that matches opts.
func ListClientSpecs(ctx context.Context, opts *RunOptions) (types.Report, error) {
	return runClientGinkgo(ctx, framework.ClientConfig{Exec: "true"}, opts, 0, 0, true)
}

func runClientGinkgo(ctx context.Context, cfg framework.ClientConfig, opts *RunOptions, shard, shards int, dry bool) (types.Report, error) {
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
	suite := framework.NewClientSuite(&cfg)
	defer suite.Close()
	suite.Shard(shard, shards)
	if dry {
		client.Register(suite)
		netclient.Register(suite)
	} else {
		var protos []framework.Proto
		for _, p := range cfg.Suites {
			if p != framework.NET {
				protos = append(protos, p)
			}
		}
		if len(protos) > 0 {
			client.Register(suite, protos...)
		}
		if slices.Contains(cfg.Suites, framework.NET) {
			netclient.Register(suite)
		}
	}
	var report types.Report
	var got bool
	ReportAfterSuite("siospec: capture", func(r Report) { report, got = r, true })
	if o.Progress != nil && !dry {
		installProgress(o.Progress)
	}
	sc, rc := GinkgoConfiguration()
	sc.DryRun = dry
	sc.LabelFilter = ClientLabelFilter(cfg.Suites, o.LabelFilter)
	if dry {
		sc.LabelFilter = ClientLabelFilter(nil, o.LabelFilter)
	}
	sc.FocusStrings = append(sc.FocusStrings, o.Focus...)
	sc.RandomSeed = cfg.Seed
	sc.Timeout = o.Timeout
	if sc.Timeout == 0 {
		sc.Timeout = 20 * time.Minute
	}
	if dl, ok := ctx.Deadline(); ok {
		sc.Timeout = min(sc.Timeout, time.Until(dl))
	}
	rc.NoColor, rc.Succinct, rc.SilenceSkips = true, true, true
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
	RunSpecs(&testingT{}, ClientSuiteName, sc, rc)
	if !got {
		return report, &framework.HarnessError{Op: "run client specs", Err: errors.New("no report from Ginkgo")}
	}
	return report, nil
}

// runClientParallel shares the specs among o.Procs child processes (every
// child declares the i-th spec when i mod Procs is its shard) and merges
// their reports.
func runClientParallel(ctx context.Context, cfg framework.ClientConfig, o RunOptions) (types.Report, error) {
	exe, err := os.Executable()
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: "find own executable", Err: err}
	}
	dir, err := os.MkdirTemp("", "siospec-client-")
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: "temp dir", Err: err}
	}
	defer os.RemoveAll(dir)
	if o.Timeout == 0 {
		o.Timeout = 20 * time.Minute
	}
	if dl, ok := ctx.Deadline(); ok {
		o.Timeout = min(o.Timeout, time.Until(dl))
	}
	n := o.Procs
	reps := make([]types.Report, n)
	errs := make([]error, n)
	start := time.Now()
	var mu sync.Mutex
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "running the client suites %s in %d processes\n", framework.FormatSuites(cfg.Suites), n)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := clientJob{Config: cfg, LabelFilter: o.LabelFilter, Focus: o.Focus, Timeout: o.Timeout, Shard: i, Shards: n,
				Report: filepath.Join(dir, fmt.Sprintf("report-%d.json", i))}
			reps[i], errs[i] = runClientChild(ctx, exe, o.ChildArgs, dir, i, job)
			if o.Progress != nil {
				mu.Lock()
				fmt.Fprintf(o.Progress, "client shard %d/%d: %s after %v\n", i+1, n, clientSummary(reps[i], errs[i]), time.Since(start).Round(time.Millisecond))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return types.Report{}, err
	}
	rep := mergeClientReports(reps)
	rep.SuiteDescription = ClientSuiteName
	if o.JSONReport != "" {
		if err := writeJSONReport(o.JSONReport, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func runClientChild(ctx context.Context, exe string, args []string, dir string, i int, job clientJob) (types.Report, error) {
	return runJob(ctx, exe, args, EnvClientChild, filepath.Join(dir, fmt.Sprintf("job-%d.json", i)), job, job.Timeout, job.Report,
		fmt.Sprintf("run client shard %d/%d in a child process", job.Shard+1, job.Shards))
}

// mergeClientReports joins the reports of the shards of one client run.
func mergeClientReports(reps []types.Report) types.Report {
	out := reps[0]
	out.SpecReports = nil
	out.SuiteSucceeded = true
	for _, r := range reps {
		out.SpecReports = append(out.SpecReports, r.SpecReports...)
		out.SuiteSucceeded = out.SuiteSucceeded && r.SuiteSucceeded
		out.SpecialSuiteFailureReasons = append(out.SpecialSuiteFailureReasons, r.SpecialSuiteFailureReasons...)
		if r.StartTime.Before(out.StartTime) {
			out.StartTime = r.StartTime
		}
		if r.EndTime.After(out.EndTime) {
			out.EndTime = r.EndTime
		}
	}
	out.RunTime = out.EndTime.Sub(out.StartTime)
	return out
}

// clientSummary says in a few words how a shard ended.
func clientSummary(r types.Report, err error) string {
	if err != nil {
		return "harness error"
	}
	ran, failed := 0, 0
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt || s.State.Is(types.SpecStateSkipped|types.SpecStatePending) {
			continue
		}
		ran++
		if s.State.Is(types.SpecStateFailureStates) {
			failed++
		}
	}
	return fmt.Sprintf("%d specs, %d failed", ran, failed)
}
