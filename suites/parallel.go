package suites

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/suites/framework"
)

// EnvChild names the environment variable that turns a process into a
// child of a parallel run: its value is the path of a JSON childJob.
const EnvChild = "SIOSPEC_CHILD_JOB"

// DefaultProcs is the number of child processes (lanes) of `siospec
// server`: the specs mostly wait on the target's timers. Against the Node
// fixtures on a loaded 2-core machine (TestSpeed, 20 runs each) six lanes
// (each with GOMAXPROCS=1) gave a median of 8.3 s and the same verdicts in
// every run; eight were about as fast but lost a heartbeat-timed spec in 3
// of 20 runs.
const DefaultProcs = 6

// childJob is what a parent hands a child: the resolved configuration
// (targets already preflighted), the selection, where to write the Ginkgo
// report, and the child's lane: its number, and the claim server that
// hands out the specs (see speed_lanes.go).
type childJob struct {
	Config      framework.Config
	LabelFilter string
	Focus       []string
	Timeout     time.Duration
	Report      string
	Lane        int
	Claim       string
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
	// Processes this child starts (a client under test, a peer) must not
	// take themselves for children of the run.
	os.Unsetenv(EnvChild)
	os.Unsetenv(EnvClientChild)
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
	opts := &RunOptions{LabelFilter: job.LabelFilter, Focus: job.Focus, Timeout: job.Timeout}
	if job.Claim != "" {
		opts.lane = &laneClient{url: job.Claim, lane: job.Lane, hc: &http.Client{}}
	}
	rep, err := runGinkgo(ctx, job.Config, opts, false)
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

// runParallel runs the specs of every suite in o.Procs child processes
// (lanes) that share them out spec by spec (speed_lanes.go), and merges
// their reports into one.
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
	lanes := max(1, o.Procs)
	var prog *progressLine
	if o.Progress != nil {
		prog = startProgress(o.Progress, progressDelay)
		defer prog.Close()
	}
	var onEvent func(laneEvent)
	if prog != nil {
		onEvent = prog.update
	}
	srv, err := startLaneServer(lanes, onEvent)
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: "start the lane server", Err: err}
	}
	defer srv.Close()
	reps := make([]types.Report, lanes)
	errs := make([]error, lanes)
	var wg sync.WaitGroup
	for i := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := childJob{Config: cfg, LabelFilter: o.LabelFilter, Focus: o.Focus, Timeout: o.Timeout,
				Report: filepath.Join(dir, fmt.Sprintf("report-%d.json", i)), Lane: i, Claim: srv.url}
			reps[i], errs[i] = runChild(ctx, exe, o.ChildArgs, dir, i, job)
		}()
	}
	wg.Wait()
	if prog != nil {
		prog.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return types.Report{}, err
	}
	if err := srv.check(); err != nil {
		return types.Report{}, &framework.HarnessError{Op: "run specs in lanes", Err: err}
	}
	rep, err := mergeLanes(reps)
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: "merge lane reports", Err: err}
	}
	if o.JSONReport != "" {
		if err := writeJSONReport(o.JSONReport, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func runChild(ctx context.Context, exe string, args []string, dir string, i int, job childJob) (types.Report, error) {
	return runJob(ctx, exe, args, EnvChild, filepath.Join(dir, fmt.Sprintf("job-%d.json", i)), job, job.Timeout, job.Report,
		"run suites "+framework.FormatSuites(job.Config.Suites)+" in a child process")
}

// runJob writes job (JSON) to jobPath, runs exe with args and
// envVar=jobPath in its environment, bounded by timeout plus a minute for
// writing its report, and returns the Ginkgo report the child wrote to
// reportPath. what names the job in errors.
func runJob(ctx context.Context, exe string, args []string, envVar, jobPath string, job any, timeout time.Duration, reportPath, what string) (types.Report, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: "encode child job", Err: err}
	}
	if err := os.WriteFile(jobPath, b, 0o600); err != nil {
		return types.Report{}, &framework.HarnessError{Op: "write child job", Err: err}
	}
	// The child is bounded by its own Ginkgo timeout; the extra minute
	// lets it write its report.
	cctx, cancel := context.WithTimeout(ctx, timeout+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe, args...)
	cmd.Env = append(os.Environ(), envVar+"="+jobPath)
	if os.Getenv("GOMAXPROCS") == "" {
		// A child mostly waits on its targets: one P is plenty, and
		// several children's idle Ps spinning would take CPU from the
		// targets and the other children on a small machine.
		cmd.Env = append(cmd.Env, "GOMAXPROCS=1")
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	data, err := os.ReadFile(reportPath)
	if err != nil {
		return types.Report{}, &framework.HarnessError{Op: what,
			Err: fmt.Errorf("no report (%v); child output:\n%s", runErr, tail(out.String(), 4000))}
	}
	var rep types.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return types.Report{}, &framework.HarnessError{Op: "read child report", Err: err}
	}
	return rep, nil
}

// writeJSONReport writes rep as a Ginkgo JSON report (an array of one) to
// path.
func writeJSONReport(path string, rep types.Report) error {
	b, err := json.Marshal([]types.Report{rep})
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	if err != nil {
		return &framework.HarnessError{Op: "write JSON report", Err: err}
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
