package suites

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/suites/framework"
)

// EnvChild names the environment variable that turns a process into a
// child of a parallel run: its value is the path of a JSON childJob.
const EnvChild = "SIOSPEC_CHILD_JOB"

// childJob is what a parent hands a child: the resolved configuration
// (targets already preflighted), the child's suites, the selection and
// where to write the Ginkgo report.
type childJob struct {
	Config      framework.Config
	LabelFilter string
	Focus       []string
	Timeout     time.Duration
	Report      string
}

// ChildMain runs this process as a child of a parallel run when EnvChild
// is set and returns its exit code and true; otherwise it returns false
// and does nothing. Binaries that call RunServer with Procs > 0 call it
// first thing in main (or TestMain): the parent starts its own executable
// (os.Executable) as the child.
func ChildMain(ctx context.Context) (int, bool) {
	path := os.Getenv(EnvChild)
	if path == "" {
		return 0, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "siospec child: %v\n", err)
		return 2, true
	}
	var job childJob
	if err := json.Unmarshal(b, &job); err != nil {
		fmt.Fprintf(os.Stderr, "siospec child: %v\n", err)
		return 2, true
	}
	rep, err := runGinkgo(ctx, job.Config, &RunOptions{LabelFilter: job.LabelFilter, Focus: job.Focus, Timeout: job.Timeout}, false)
	if err != nil {
		fmt.Fprintf(os.Stderr, "siospec child: %v\n", err)
		return 2, true
	}
	out, err := json.Marshal(rep)
	if err == nil {
		err = os.WriteFile(job.Report, out, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "siospec child: write report: %v\n", err)
		return 2, true
	}
	return 0, true
}

// runParallel runs each group of suites (groups) in a child process, at
// most o.Procs at a time, and merges their reports into one.
func runParallel(ctx context.Context, cfg framework.Config, o RunOptions) (types.Report, error) {
	exe, err := os.Executable()
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: "find own executable", Err: err}
	}
	dir, err := os.MkdirTemp("", "siospec-run-")
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: "temp dir", Err: err}
	}
	defer os.RemoveAll(dir)
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Minute
	}
	if dl, ok := ctx.Deadline(); ok {
		o.Timeout = min(o.Timeout, time.Until(dl))
	}
	gs := groups(&cfg)
	reps := make([]types.Report, len(gs))
	errs := make([]error, len(gs))
	sem := make(chan struct{}, max(1, o.Procs))
	var mu sync.Mutex
	start := time.Now()
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "running suites %s in %d processes\n", describeGroups(gs), min(len(gs), max(1, o.Procs)))
	}
	var wg sync.WaitGroup
	for i, g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			job := childJob{Config: cfg, LabelFilter: o.LabelFilter, Focus: o.Focus, Timeout: o.Timeout,
				Report: filepath.Join(dir, fmt.Sprintf("report-%d.json", i))}
			job.Config.Suites = g
			reps[i], errs[i] = runChild(ctx, exe, o.ChildArgs, dir, i, job)
			if o.Progress != nil {
				mu.Lock()
				fmt.Fprintf(o.Progress, "%s: %s after %v\n", framework.FormatSuites(g), summarize(reps[i], errs[i]), time.Since(start).Round(time.Millisecond))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return types.Report{}, err
	}
	rep := mergeReports(reps)
	if o.JSONReport != "" {
		b, err := json.Marshal([]types.Report{rep})
		if err == nil {
			err = os.WriteFile(o.JSONReport, b, 0o644)
		}
		if err != nil {
			return rep, &framework.HarnessError{Op: "write JSON report", Err: err}
		}
	}
	return rep, nil
}

func runChild(ctx context.Context, exe string, args []string, dir string, i int, job childJob) (types.Report, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: "encode child job", Err: err}
	}
	jobPath := filepath.Join(dir, fmt.Sprintf("job-%d.json", i))
	if err := os.WriteFile(jobPath, b, 0o600); err != nil {
		return types.Report{}, &framework.HarnessError{Op: "write child job", Err: err}
	}
	// The child is bounded by its own Ginkgo timeout; the extra minute
	// lets it write its report.
	cctx, cancel := context.WithTimeout(ctx, job.Timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe, args...)
	cmd.Env = append(os.Environ(), EnvChild+"="+jobPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	data, err := os.ReadFile(job.Report)
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: "run suites " + framework.FormatSuites(job.Config.Suites) + " in a child process",
			Err: fmt.Errorf("no report (%v); child output:\n%s", runErr, tail(out.String(), 4000))}
	}
	var rep types.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return types.Report{}, &framework.HarnessError{Op: "read child report", Err: err}
	}
	return rep, nil
}

// mergeReports joins the reports of the children into one: every spec,
// the earliest start, the latest end, success only if every child
// succeeded.
func mergeReports(rs []types.Report) types.Report {
	out := rs[0]
	out.SpecReports = append(types.SpecReports(nil), rs[0].SpecReports...)
	for _, r := range rs[1:] {
		out.SpecReports = append(out.SpecReports, r.SpecReports...)
		out.SuiteSucceeded = out.SuiteSucceeded && r.SuiteSucceeded
		out.SpecialSuiteFailureReasons = append(out.SpecialSuiteFailureReasons, r.SpecialSuiteFailureReasons...)
		out.PreRunStats.TotalSpecs += r.PreRunStats.TotalSpecs
		out.PreRunStats.SpecsThatWillRun += r.PreRunStats.SpecsThatWillRun
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

func describeGroups(gs [][]framework.Proto) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = framework.FormatSuites(g)
	}
	return strings.Join(parts, " | ")
}

func summarize(r types.Report, err error) string {
	if err != nil {
		return "harness error"
	}
	var n, failed int
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt || s.State.Is(types.SpecStateSkipped|types.SpecStatePending) {
			continue
		}
		n++
		if s.State.Is(types.SpecStateFailureStates) {
			failed++
		}
	}
	return fmt.Sprintf("%d specs ran, %d failed", n, failed)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
