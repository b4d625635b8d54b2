package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites"
	"github.com/siospec/siospec/suites/framework"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runServer implements `siospec server`: preflight the target, run the
// server conformance suites in-process, write the reports, and exit with
// 0 (no gating failure), 1 (conformance failures), 2 (harness error), 3
// (preflight failed) or 4 (usage).
func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("siospec server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg framework.Config
	cfg.RegisterFlags(fs)
	var (
		labelFilter    = fs.String("label-filter", "", "Ginkgo label filter, e.g. 'area:heartbeat && level:MUST' or 'req: containsAny {EIO-HS-02}'; specs labelled slow run only when the filter names slow")
		focus          multiFlag
		reportDir      = fs.String("report-dir", "", "write report.json, junit.xml, summary.md and index.html here")
		expectFailures = fs.String("expect-failures", "", "file of '<ID> <reason>' lines: failures that do not gate")
		rerunFailed    = fs.String("rerun-failed", "", "report.json of an earlier run: run only the requirements that failed there")
	)
	fs.Var(&focus, "focus", "run only specs whose full text matches this regular expression (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: siospec server [--url URL] [--path /engine.io/] [--eio 4|3] [--label-filter EXPR] [--focus REGEX]")
		fmt.Fprintln(stderr, "                      [--strict] [--time-scale N] [--seed N] [--report-dir DIR] [--expect-failures FILE] [--rerun-failed report.json]")
		fmt.Fprintln(stderr, "\nWithout --url the built-in reference fixture (FX-EIO4 or FX-EIO3) is started in-process and tested.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "siospec server: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	cfg.Normalize()
	if err := cfg.Validate(false); err != nil {
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		return exitUsage
	}
	for _, f := range focus {
		if _, err := regexp.Compile(f); err != nil {
			fmt.Fprintf(stderr, "siospec server: --focus %q: %v\n", f, err)
			return exitUsage
		}
	}
	if *labelFilter != "" {
		if err := suites.CheckLabelFilter(*labelFilter); err != nil {
			fmt.Fprintf(stderr, "siospec server: %v\n", err)
			return exitUsage
		}
	}
	var expected map[string]string
	if *expectFailures != "" {
		f, err := os.Open(*expectFailures)
		if err != nil {
			fmt.Fprintf(stderr, "siospec server: --expect-failures: %v\n", err)
			return exitUsage
		}
		expected, err = reports.ReadExpectedFailures(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "siospec server: --expect-failures %s: %v\n", *expectFailures, err)
			return exitUsage
		}
	}
	filter := *labelFilter
	if *rerunFailed != "" {
		ids, err := failedIDs(*rerunFailed)
		if err != nil {
			fmt.Fprintf(stderr, "siospec server: --rerun-failed: %v\n", err)
			return exitUsage
		}
		if len(ids) == 0 {
			fmt.Fprintf(stdout, "siospec server: %s has no failed spec; nothing to rerun\n", *rerunFailed)
			return exitOK
		}
		sel := "req: containsAny {" + strings.Join(ids, ", ") + "}"
		if filter != "" {
			sel = "(" + filter + ") && " + sel
		}
		filter = sel
		fmt.Fprintf(stdout, "rerunning %d failed requirements: %s\n", len(ids), strings.Join(ids, " "))
	}

	if cfg.URL == "" {
		stop, url, err := startFixture(cfg.EIO)
		if err != nil {
			fmt.Fprintf(stderr, "siospec server: start the reference fixture: %v\n", err)
			return exitHarness
		}
		defer stop()
		cfg.URL = url
		fmt.Fprintf(stdout, "no --url: testing the built-in reference fixture FX-EIO%d at %s\n", cfg.EIO, url)
	}

	pctx, cancel := context.WithTimeout(ctx, framework.PreflightTimeout)
	tgt, err := framework.Preflight(pctx, &cfg)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		return exitPreflight
	}
	cfg.Target = tgt
	fmt.Fprintf(stdout, "preflight: %s\n", tgt)
	fmt.Fprintf(stdout, "seed %d, time scale %g, strict %v\n", cfg.Seed, cfg.TimeScale, cfg.Strict)

	opts := &suites.RunOptions{LabelFilter: filter, Focus: focus}
	if isTerminal(stderr) {
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
		HarnessVersion:   harnessVersion,
		Target:           cfg.URL,
		Role:             "server",
		Seed:             cfg.Seed,
		TimeScale:        cfg.TimeScale,
		Strict:           cfg.Strict,
		Preflight:        tgt.Summary(),
		Started:          started,
		Finished:         finished,
		ExpectedFailures: expected,
		Command:          append([]string{"siospec", "server"}, args...),
	})
	if err := rep.WriteText(stdout); err != nil {
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
	}
	if *reportDir != "" {
		if err := rep.WriteFiles(*reportDir); err != nil {
			fmt.Fprintf(stderr, "siospec server: write reports: %v\n", err)
			return exitHarness
		}
		fmt.Fprintf(stdout, "reports written to %s\n", *reportDir)
	}
	return rep.ExitCode()
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

// startFixture serves the reference FX-EIO4 (or FX-EIO3) fixture on an
// ephemeral 127.0.0.1 port and returns a stop function and its base URL.
func startFixture(eio int) (func(), string, error) {
	var fx *fixture.EngineIO
	if eio == 3 {
		fx = fixture.NewEIO3(nil)
	} else {
		fx = fixture.NewEIO4(nil)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: fx, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = fx.Close(ctx)
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
		<-done
	}
	return stop, "http://" + ln.Addr().String(), nil
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
