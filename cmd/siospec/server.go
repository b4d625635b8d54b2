package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites"
	"github.com/siospec/siospec/suites/framework"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runServer implements `siospec server`: resolve and preflight the
// targets of the selected suites, run the suites (in child processes of
// this executable, one per target unless --procs 0), write one report
// covering every suite, and exit with 0 (no gating failure), 1
// (conformance failures), 2 (harness error), 3 (preflight failed) or 4
// (usage).
func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if isClusterRun(args) {
		return runCluster(ctx, args, stdout, stderr) // cluster.go: the cluster suite's flags (--cluster, --nodes) and nodes
	}
	fs := flag.NewFlagSet("siospec server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg framework.Config
	cfg.RegisterFlags(fs)
	var (
		reportDir   = fs.String("report-dir", "", "write report.json, junit.xml, summary.md and index.html here")
		procs       = fs.Int("procs", suites.DefaultProcs, "run the specs in N child processes that take them one by one, so that up to N specs run at a time (specs labelled serial all run in one of them); 0 runs them in this process, one spec after another")
		child       = fs.Bool("child", false, "internal: run as a child process of a parallel run")
		refInterval = fs.Duration("reference-ping-interval", 0, "without a URL: the built-in reference's pingInterval (default 300ms, the official contract; --connect-timeout sets its connectTimeout)")
		refTimeout  = fs.Duration("reference-ping-timeout", 0, "without a URL: the built-in reference's pingTimeout (default 200ms, the official contract)")
	)
	var sel selection
	sel.register(fs)
	var nf netFlags
	nf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: siospec server [--url URL] [--eio-url URL] [--sio-url URL] [--suite eio4,eio3,sio5,sio4,net] [--path /p/]")
		fmt.Fprintln(stderr, "                      [--label-filter EXPR] [--focus REGEX] [--strict] [--time-scale N] [--seed N] [--connect-timeout D]")
		fmt.Fprintln(stderr, "                      [--procs N] [--report-dir DIR] [--expect-failures FILE] [--rerun-failed report.json]")
		fmt.Fprintln(stderr, "                      [--server-cmd CMD] [--server-ready REGEX|URL] [--trials N]   (net suite)")
		fmt.Fprintln(stderr, "       siospec server --cluster URL1,URL2,... | --suite cluster --server-cmd CMD --nodes N   (cluster suite: siospec server --suite cluster -h)")
		fmt.Fprint(stderr, `
Suites: eio4 (Engine.IO v4), eio3 (Engine.IO v3), sio5 (Socket.IO v5), sio4 (Socket.IO v4 over Engine.IO v3),
and net (network failures: every fault proxy profile judged through the reference client, over the
Socket.IO revision the target speaks; slow, so only when named: "all" means the four protocol suites).

Net suite: --server-cmd "CMD" starts the server under test on the port that replaces {port} (required
in CMD), ready when --server-ready matches (a URL/path answering 200, or a stdout regex; default: TCP).
server-crash kills and restarts such an instance; the load-balancer specs start two. Without
--server-cmd those specs are unsupported; without --url, one instance is the run's target.
  siospec server --suite net --server-cmd "node fixtures/sio5.js --port {port} --recovery" --server-ready '^listening'

Targets:
  no URL            all four suites against the built-in reference fixtures, started in-process
                    (FX-EIO4, FX-EIO3, FX-SIO5 and its v4 equivalent, each on its own port).
  --url URL         every suite's target; without --suite, siospec first detects what the target
                    speaks (/engine.io/ and /socket.io/, or the URL's path; EIO=4 and EIO=3; a
                    Socket.IO CONNECT to "/" and an Engine.IO echo) and runs every suite it speaks.
                    With --suite, a suite the target does not speak ends in exit code 3 with the
                    command line that fits.
  --eio-url URL     the target of eio4/eio3, --sio-url URL the target of sio5/sio4 (override --url),
                    so that separate Engine.IO and Socket.IO servers run in one command.
  --suite LIST      what to run. Default with --url: what detection found; with --eio-url/--sio-url:
                    eio4 when --eio-url is given, plus sio5 when --sio-url is given.
  Paths: /engine.io/ for eio*, /socket.io/ for sio*; a path in the URL or --path overrides them.

Examples:
  siospec server --url http://127.0.0.1:3000
  siospec server --url http://127.0.0.1:3000 --suite sio5,sio4
  siospec server --eio-url http://127.0.0.1:3000 --sio-url http://127.0.0.1:3001 --suite all

Every target is preflighted first (a polling and a WebSocket handshake, at most 4s); a target that
does not answer as Engine.IO ends the run with exit code 3. A Socket.IO target is also asked once
whether it implements the extended contract (ext:hello on "/"): if not, the specs that need it are
unsupported; if so, a spec whose extended exchange goes unanswered fails.

Expected failures (--expect-failures FILE): one "<suite> <ID> <reason>" per line, e.g.
  sio4 SIO-ENC-07 socket.io 2.5.1 keeps the session open after an unknown packet type
An entry applies only to the specs of that suite; entries that no spec failed or passed are
listed on stderr and in the reports.
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *child {
		code, ok := suites.ChildMain(ctx)
		if !ok {
			fmt.Fprintf(stderr, "siospec server: --child is internal (no %s in the environment)\n", suites.EnvChild)
			return exitUsage
		}
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "siospec server: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if *procs < 0 {
		fmt.Fprintf(stderr, "siospec server: --procs must be 0 or more, got %d\n", *procs)
		return exitUsage
	}
	if *refInterval < 0 || *refTimeout < 0 || (*refInterval > 0 || *refTimeout > 0) && cfg.HasTarget() {
		fmt.Fprintln(stderr, "siospec server: --reference-ping-interval and --reference-ping-timeout tune the built-in reference: positive, and only without a URL")
		return exitUsage
	}
	explicitSuites := len(cfg.Suites) > 0
	cfg.Normalize()
	if err := cfg.Validate(false); err != nil {
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		return exitUsage
	}
	filter, expected, code, ok := sel.resolve("siospec server", stdout, stderr)
	if !ok {
		return code
	}
	netTarget, code := setupNet(ctx, &cfg, nf.config(), stdout, stderr)
	if code != exitOK {
		return code
	}
	defer netTarget.close()

	if !cfg.HasTarget() && len(withoutNet(cfg.Suites)) > 0 {
		ref, err := suites.StartReference(&suites.ReferenceOptions{Suites: withoutNet(cfg.Suites), PingInterval: *refInterval, PingTimeout: *refTimeout, ConnectTimeout: cfg.ConnectTimeout})
		if err != nil {
			fmt.Fprintf(stderr, "siospec server: start the reference fixtures: %v\n", err)
			return exitHarness
		}
		defer ref.Close()
		ref.Configure(&cfg)
		fmt.Fprintf(stdout, "no --url: testing the built-in reference fixtures (%s)\n", framework.FormatSuites(withoutNet(cfg.Suites)))
	} else if err := cfg.Validate(cfg.HasTarget()); err != nil { // no target here: the net suite alone, preset by setupNet
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		return exitUsage
	}

	var detection *suites.Detection
	if cfg.URL != "" && cfg.EIOURL == "" && cfg.SIOURL == "" {
		d, code := detectSuites(ctx, &cfg, explicitSuites, stdout, stderr)
		if code != exitOK {
			return code
		}
		detection = d
	}

	// The Engine.IO preflight, then the Socket.IO extended-contract probe,
	// each within framework.PreflightTimeout.
	pctx, cancel := context.WithTimeout(ctx, 2*framework.PreflightTimeout)
	err := suites.Resolve(pctx, &cfg)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		if errors.Is(err, framework.ErrUsage) {
			return exitUsage
		}
		return exitPreflight
	}
	var targets []string
	pre := map[string]string{}
	for _, p := range cfg.Suites {
		t := cfg.Targets[p]
		name := strings.ToLower(string(p))
		fmt.Fprintf(stdout, "preflight %s: %s\n", name, t.Target)
		if t.Target.ExtendedProbe != "" {
			fmt.Fprintf(stderr, "siospec server: %s: the extended-contract probe could not decide (%s); each extended spec probes for itself\n", name, t.Target.ExtendedProbe)
		}
		targets = append(targets, name+"="+t.Target.Endpoint)
		for k, v := range t.Target.Summary() {
			pre[name+"."+k] = v
		}
	}
	if detection != nil {
		for k, v := range detection.Summary() {
			pre[k] = v
		}
	}
	fmt.Fprintf(stdout, "seed %d, time scale %g, strict %v\n", cfg.Seed, cfg.TimeScale, cfg.Strict)

	opts := &suites.RunOptions{LabelFilter: filter, Focus: sel.focus, Procs: *procs, ChildArgs: []string{"server", "--child"}}
	if isTerminal(stderr) {
		// Live progress on a terminal only: a CI log gets the report.
		opts.Progress = stderr
	}
	started := time.Now()
	greport, err := suites.RunServer(ctx, cfg, opts)
	finished := time.Now()
	if err != nil {
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		var pe *framework.PreflightError
		switch {
		case errors.As(err, &pe):
			return exitPreflight
		case errors.Is(err, framework.ErrUsage):
			return exitUsage
		}
		return exitHarness
	}
	rep := reports.FromGinkgo(greport, reports.Meta{
		HarnessVersion:   harnessVersion(),
		Target:           strings.Join(targets, " "),
		Role:             "server",
		Seed:             cfg.Seed,
		TimeScale:        cfg.TimeScale,
		Strict:           cfg.Strict,
		Preflight:        pre,
		Started:          started,
		Finished:         finished,
		ExpectedFailures: expected,
		Command:          append([]string{"siospec", "server"}, args...),
	})
	if !writeRun("siospec server", rep, &sel, *reportDir, stdout, stderr) {
		return exitHarness
	}
	finalLines(stdout, *reportDir, args)
	return rep.ExitCode()
}

// writeRun prints the text report of a run (cmd is "siospec server" or
// "siospec client"), says which expected failures matched nothing, and
// writes the report files to reportDir when it is set. It reports false
// when the files could not be written (exit code 2).
func writeRun(cmd string, rep *reports.Report, sel *selection, reportDir string, stdout, stderr io.Writer) bool {
	if err := rep.WriteText(stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
	}
	sel.reportUnmatched(cmd, rep, stderr)
	if reportDir == "" {
		return true
	}
	if err := rep.WriteFiles(reportDir); err != nil {
		fmt.Fprintf(stderr, "%s: write reports: %v\n", cmd, err)
		return false
	}
	return true
}

// finalLines ends the output of a run: the report files written (with
// --report-dir) and, when a spec did not pass, the command that reruns
// only its requirements (--rerun-failed DIR/report.json), or how to get
// one.
func finalLines(w io.Writer, reportDir string, args []string) {
	if reportDir == "" {
		fmt.Fprintln(w, "no report files written (--report-dir DIR writes report.json, junit.xml, summary.md and index.html)")
		return
	}
	var files []string
	for _, f := range []string{reports.FileJSON, reports.FileJUnit, reports.FileSummary, reports.FileHTML} {
		files = append(files, filepath.Join(reportDir, f))
	}
	fmt.Fprintf(w, "reports: %s\n", strings.Join(files, " "))
	ids, err := failedIDs(files[0])
	if err != nil || len(ids) == 0 {
		return
	}
	fmt.Fprintf(w, "rerun the %d requirements that did not pass: %s\n", len(ids), rerunCommand(args, files[0]))
}

// rerunCommand returns the command line of args (a `siospec server` run)
// with --report-dir and --rerun-failed left out and --rerun-failed report
// added, quoted for a POSIX shell.
func rerunCommand(args []string, report string) string {
	out := []string{"siospec", "server"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && (name == "report-dir" || name == "rerun-failed") {
			if !hasValue {
				i++
			}
			continue
		}
		out = append(out, shellArg(a))
	}
	return strings.Join(append(out, "--rerun-failed", shellArg(report)), " ")
}

// shellArg quotes a for a POSIX shell when it holds anything but letters,
// digits and -_./:=,@%+.
func shellArg(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+") == "" {
		return a
	}
	return shellQuote(a)
}

// detectSuites finds out what the target of a bare --url speaks
// (suites.Detect) and prints one line per probe. Without --suite it runs
// every suite detected; with --suite it checks that each named suite fits
// the target first, so that a target that does not fit ends in exit 3 with
// the command line that would fit instead of a run of false failures. It
// sets cfg.Suites and cfg.Targets (each suite at the path where it was
// found) and returns exitOK, or the exit code to end with.
func detectSuites(ctx context.Context, cfg *framework.Config, explicit bool, stdout, stderr io.Writer) (*suites.Detection, int) {
	dctx, cancel := context.WithTimeout(ctx, framework.PreflightTimeout+suites.DetectProbeTimeout)
	d, err := suites.Detect(dctx, cfg.URL, &suites.DetectOptions{Path: cfg.Path})
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		return nil, exitUsage
	}
	fmt.Fprintf(stdout, "detect %s:\n%s\n", cfg.URL, d.Tried())
	hint := "is the server running, and is the path right (the URL's path or --path; probed without one: " +
		framework.DefaultPath + " and " + framework.DefaultSIOPath + ")? Engine.IO targets must echo messages (the fixture contract); Socket.IO targets must accept a CONNECT to \"/\""
	if !explicit {
		if len(d.Suites) == 0 {
			fmt.Fprintf(stderr, "siospec server: preflight failed: nothing at %s speaks a suite siospec can run; tried:\n%s\n  check: %s\n", cfg.URL, d.Tried(), hint)
			return d, exitPreflight
		}
		cfg.Suites = d.Suites
		fmt.Fprintf(stdout, "detected suites: %s (no --suite: running them all)\n", framework.FormatSuites(d.Suites))
	} else {
		var misfit []string
		for _, p := range cfg.Suites {
			fits := false
			for _, pr := range d.Probes {
				speaks := pr.Speaks == p || p == framework.NET && pr.Speaks.IsSocketIO() // net runs over either Socket.IO revision
				fits = fits || speaks && pr.Path == cfg.For(p).Path
			}
			if !fits {
				misfit = append(misfit, strings.ToLower(string(p)))
			}
		}
		if len(misfit) > 0 {
			found := "nothing"
			if len(d.Suites) > 0 {
				found = framework.FormatSuites(d.Suites)
			}
			fmt.Fprintf(stderr, "siospec server: preflight failed: the target does not fit --suite %s (found: %s); tried:\n%s\n", strings.Join(misfit, ","), found, d.Tried())
			if cmd := d.Command(); cmd != "" {
				fmt.Fprintf(stderr, "  run instead: %s\n", cmd)
			} else {
				fmt.Fprintf(stderr, "  check: %s\n", hint)
			}
			return d, exitPreflight
		}
		fmt.Fprintf(stdout, "detected suites: %s (--suite %s fits)\n", framework.FormatSuites(d.Suites), framework.FormatSuites(cfg.Suites))
	}
	cfg.Targets = map[framework.Proto]*framework.Config{}
	for _, p := range cfg.Suites {
		t := cfg.For(p)
		if path := d.Paths[p]; path != "" && !explicit {
			t.Path = path
		}
		cfg.Targets[p] = t
	}
	return d, exitOK
}

// failedIDs returns the sorted requirement IDs whose specs did not pass in
// the report at path (fail, non-strict or harness-error outcomes).
func failedIDs(path string) ([]string, error) {
	r, err := reports.Load(path)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range r.Specs {
		switch s.Outcome {
		case reports.Pass, reports.Skipped, reports.Unsupported:
			continue
		}
		if s.ID != "" {
			seen[s.ID] = true
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
