package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/testee"
)

// runClient implements `siospec client`: check that the command follows
// the client contract (exit 127 for a case that does not exist; which
// suites it supports), run the client suites against it, one process per
// case, and write the same reports and exit codes as `siospec server`.
func runClient(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("siospec client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg framework.ClientConfig
	var (
		exec      = fs.String("exec", os.Getenv("SIOSPEC_EXEC"), "the client under test: a command run with sh -c once per case, following testees/CLIENT-CONTRACT.md (env SIOSPEC_EXEC; default: the built-in reference client, siospec testee)")
		suiteFlag = fs.String("suite", "", "suites to run, comma-separated: eio4,eio3,sio5,sio4, net (the network-failure suite over sio5, only when named) or all (the four protocol suites; default: every one of them the command supports)")
		reportDir = fs.String("report-dir", "", "write report.json, junit.xml, summary.md and index.html here")
		procs     = fs.Int("procs", 4, "share the cases among N child processes (each case is a process of its own anyway); 0 runs them in this process, one after another")
		child     = fs.Bool("child", false, "internal: run as a child process of a parallel run")
	)
	fs.Float64Var(&cfg.TimeScale, "time-scale", 1, "multiply the advertised heartbeat and every budget by this factor (slow clients)")
	fs.BoolVar(&cfg.Strict, "strict", false, "SHOULD and NODE failures fail the run")
	fs.Int64Var(&cfg.Seed, "seed", 0, "root seed (SIOSPEC_SEED of each case derives from it; default: from the clock)")
	fs.DurationVar(&cfg.CaseTimeout, "case-timeout", 0, "bound of one case (default 30s times --time-scale)")
	fs.StringVar(&cfg.Dir, "dir", "", "working directory of the command (default: the current one)")
	fs.IntVar(&cfg.Trials, "trials", 0, fmt.Sprintf("seeded trials per resilience-tier spec of the net suite (default %d)", framework.DefaultTrials))
	var sel selection
	sel.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: siospec client --exec "CMD" [--suite eio4,eio3,sio5,sio4,net] [--label-filter EXPR] [--focus REGEX]
                      [--strict] [--time-scale N] [--seed N] [--procs N] [--case-timeout D] [--trials N]
                      [--report-dir DIR] [--expect-failures FILE] [--rerun-failed report.json]

Tests an Engine.IO or Socket.IO client. siospec plays the server: for every case it starts a
scripted, recording server on 127.0.0.1, runs CMD once with SIOSPEC_URL, SIOSPEC_SUITE,
SIOSPEC_CASE, SIOSPEC_TRANSPORTS, SIOSPEC_OPTIONS and SIOSPEC_SEED, and judges what the client
did on the wire and what it reported (testees/CLIENT-CONTRACT.md).

Before the run CMD must exit 127 for a case that does not exist (else exit code 3), and each
suite is probed: a suite whose first case CMD answers with 127 is not supported and not run.

Without --exec, the built-in reference client (siospec testee) is tested.

Examples:
  siospec client --exec "node testees/node/testee/sio.js"
  siospec client --exec "siospec testee" --suite eio4,sio5
  siospec client --exec "./my-client-testee" --label-filter 'area:heartbeat' --report-dir out
  siospec client --exec "node testees/node/testee/sio.js" --suite net   (network faults through a fault proxy)`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *child {
		code, ok := suites.ClientChildMain(ctx)
		if !ok {
			fmt.Fprintf(stderr, "siospec client: --child is internal (no %s in the environment)\n", suites.EnvClientChild)
			return exitUsage
		}
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "siospec client: unexpected arguments %q (quote the command: --exec \"node client.js\")\n", fs.Args())
		return exitUsage
	}
	cfg.Exec = *exec
	if strings.TrimSpace(cfg.Exec) == "" {
		// Like `siospec server` without a URL: the built-in reference.
		self, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "siospec client: no --exec, and this executable cannot be found to run the built-in reference client: %v\n", err)
			return exitHarness
		}
		cfg.Exec = shellQuote(self) + " testee"
		fmt.Fprintln(stdout, "no --exec: testing the built-in reference client (siospec testee)")
	}
	if *procs < 0 || cfg.TimeScale <= 0 || cfg.CaseTimeout < 0 || cfg.Trials < 0 {
		fmt.Fprintln(stderr, "siospec client: --procs must be 0 or more, --time-scale positive, --case-timeout and --trials not negative")
		return exitUsage
	}
	explicit := *suiteFlag != ""
	if explicit {
		ps, err := framework.ParseSuites(*suiteFlag)
		if err != nil {
			fmt.Fprintf(stderr, "siospec client: --suite: %v\n", err)
			return exitUsage
		}
		cfg.Suites = ps
	}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano() & 0x7fffffff
	}
	filter, expected, code, ok := sel.resolve("siospec client", stdout, stderr)
	if !ok {
		return code
	}

	// The contract probe, then the suites the command supports.
	support, err := suites.ProbeClient(ctx, &cfg)
	if err != nil {
		var ce *testee.ContractError
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "siospec client: preflight failed: %v\n", err)
			return exitPreflight
		}
		fmt.Fprintf(stderr, "siospec client: preflight failed: %v\n", err)
		return exitPreflight
	}
	pre := map[string]string{"exec": cfg.Exec}
	var run []framework.Proto
	for _, s := range support {
		name := strings.ToLower(string(s.Suite))
		if s.Supported {
			run = append(run, s.Suite)
			pre["support."+name] = "yes"
			continue
		}
		pre["support."+name] = "no: " + s.Why
		fmt.Fprintf(stdout, "suite %s: not supported by the client (%s)\n", name, s.Why)
		if explicit {
			fmt.Fprintf(stderr, "siospec client: preflight failed: --suite %s, but %s\n", name, s.Why)
			return exitPreflight
		}
	}
	if len(run) == 0 {
		fmt.Fprintln(stderr, "siospec client: preflight failed: the command supports none of the suites (it exits 127 for each); see testees/CLIENT-CONTRACT.md section 1")
		return exitPreflight
	}
	cfg.Suites = run
	fmt.Fprintf(stdout, "client %q: suites %s\n", cfg.Exec, framework.FormatSuites(run))
	fmt.Fprintf(stdout, "seed %d, time scale %g, strict %v\n", cfg.Seed, cfg.TimeScale, cfg.Strict)

	opts := &suites.RunOptions{LabelFilter: filter, Focus: sel.focus, Procs: *procs, ChildArgs: []string{"client", "--child"}}
	if isTerminal(stderr) || *procs > 0 {
		opts.Progress = stderr
	}
	started := time.Now()
	greport, err := suites.RunClient(ctx, cfg, opts)
	finished := time.Now()
	if err != nil {
		fmt.Fprintf(stderr, "siospec client: %v\n", err)
		if errors.Is(err, framework.ErrUsage) {
			return exitUsage
		}
		return exitHarness
	}
	rep := reports.FromGinkgo(greport, reports.Meta{
		HarnessVersion:   harnessVersion(),
		Target:           cfg.Exec,
		Role:             "client",
		Seed:             cfg.Seed,
		TimeScale:        cfg.TimeScale,
		Strict:           cfg.Strict,
		Preflight:        pre,
		Started:          started,
		Finished:         finished,
		ExpectedFailures: expected,
		Command:          append([]string{"siospec", "client"}, args...),
	})
	if !writeRun("siospec client", rep, &sel, *reportDir, stdout, stderr) {
		return exitHarness
	}
	if *reportDir != "" {
		fmt.Fprintf(stdout, "reports written to %s\n", *reportDir)
	}
	return rep.ExitCode()
}

// shellQuote quotes s for sh -c.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
