package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/siospec/siospec/reports"
)

const reportUsage = `usage:
  siospec report render (--in report.json | --ginkgo ginkgo.json [run flags]) --out DIR
  siospec report compare [--markdown] OLD.json NEW.json
  siospec report show [--markdown] report.json

render   writes report.json, junit.xml, summary.md and index.html into DIR, from a
         siospec report.json (--in) or from the JSON report of a ginkgo run
         (--ginkgo, with the run's metadata given as flags). Exits with the
         report's verdict: 0 pass, 1 conformance failures, 2 harness error.
compare  lists specs newly failing, newly passing and otherwise changed between
         two runs. Exits 1 when NEW has a gating failure OLD did not have.
show     prints the summary of a report.json. Exits with the report's verdict.

Exit code 4 means a usage error; 2 also means an input could not be read.
`

// runReport implements "siospec report": render, compare and show.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, reportUsage)
		return reports.ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, reportUsage)
		return reports.ExitOK
	case "render":
		return reportRender(ctx, args[1:], stdout, stderr)
	case "compare", "diff":
		return reportCompare(args[1:], stdout, stderr)
	case "show":
		return reportShow(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "siospec report: unknown subcommand %q\n\n%s", args[0], reportUsage)
	return reports.ExitUsage
}

// parseArgs parses flags anywhere among args (flag stops at the first
// positional argument; this keeps going) and returns the positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("siospec report "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, reportUsage)
		fmt.Fprintf(stderr, "\nflags of %s:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return reports.ExitOK
	}
	return reports.ExitUsage
}

func reportRender(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("render", stderr)
	in := fs.String("in", "", "a siospec `report.json` to re-render")
	ginkgoJSON := fs.String("ginkgo", "", "a ginkgo --json-report `file` to build the report from")
	out := fs.String("out", "", "output `directory` (created if missing)")
	target := fs.String("target", "", "with --ginkgo: the target URL or command")
	role := fs.String("role", "server", "with --ginkgo: the target's role, server or client")
	seed := fs.Int64("seed", 0, "with --ginkgo: the run's root seed")
	timeScale := fs.Float64("time-scale", 1, "with --ginkgo: the run's time scale")
	strict := fs.Bool("strict", false, "with --ginkgo: SHOULD and NODE failures gate")
	expect := fs.String("expect-failures", "", "with --ginkgo: expected-failures `file` (lines '<suite> <ID> <reason>')")
	version := fs.String("harness-version", harnessVersion(), "with --ginkgo: the harness version to record")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return usageExit(err)
	}
	switch {
	case len(pos) > 0:
		fmt.Fprintf(stderr, "siospec report render: unexpected argument %q\n", pos[0])
		return reports.ExitUsage
	case *out == "":
		fmt.Fprintln(stderr, "siospec report render: --out is required")
		return reports.ExitUsage
	case (*in == "") == (*ginkgoJSON == ""):
		fmt.Fprintln(stderr, "siospec report render: give exactly one of --in and --ginkgo")
		return reports.ExitUsage
	case *timeScale <= 0:
		fmt.Fprintln(stderr, "siospec report render: --time-scale must be positive")
		return reports.ExitUsage
	}
	var r *reports.Report
	if *in != "" {
		ginkgoOnly := []string{"target", "role", "seed", "time-scale", "strict", "expect-failures", "harness-version"}
		bad := ""
		fs.Visit(func(f *flag.Flag) {
			for _, n := range ginkgoOnly {
				if f.Name == n {
					bad = f.Name
				}
			}
		})
		if bad != "" {
			fmt.Fprintf(stderr, "siospec report render: --%s applies only with --ginkgo\n", bad)
			return reports.ExitUsage
		}
		r, err = reports.Load(*in)
		if err != nil {
			fmt.Fprintf(stderr, "siospec report render: %v\n", err)
			return reports.ExitHarnessError
		}
	} else {
		meta := reports.Meta{
			HarnessVersion: *version, Target: *target, Role: *role, Seed: *seed,
			TimeScale: *timeScale, Strict: *strict,
		}
		if *expect != "" {
			meta.ExpectedFailures, err = readExpectations(*expect)
			if err != nil {
				fmt.Fprintf(stderr, "siospec report render: %v\n", err)
				return reports.ExitUsage
			}
		}
		rs, err := reports.ReadGinkgoJSON(*ginkgoJSON)
		if err != nil {
			fmt.Fprintf(stderr, "siospec report render: %v\n", err)
			return reports.ExitHarnessError
		}
		r = reports.FromGinkgoReports(rs, meta)
	}
	if err := r.WriteFiles(*out); err != nil {
		fmt.Fprintf(stderr, "siospec report render: %v\n", err)
		return reports.ExitHarnessError
	}
	code := r.ExitCode()
	fmt.Fprintf(stdout, "siospec report: %s (exit %d); wrote %s\n", r.Verdict, code, filepath.Join(*out, "{"+strings.Join(
		[]string{reports.FileJSON, reports.FileJUnit, reports.FileSummary, reports.FileHTML}, ",")+"}"))
	return code
}

func readExpectations(path string) ([]reports.Expectation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("expected failures: %w", err)
	}
	defer f.Close()
	m, err := reports.ReadExpectedFailures(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func reportCompare(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("compare", stderr)
	md := fs.Bool("markdown", false, "print the diff as Markdown (for CI job summaries)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) != 2 {
		fmt.Fprintln(stderr, "siospec report compare: want OLD.json NEW.json")
		return reports.ExitUsage
	}
	old, err := reports.Load(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "siospec report compare: %v\n", err)
		return reports.ExitHarnessError
	}
	cur, err := reports.Load(pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "siospec report compare: %v\n", err)
		return reports.ExitHarnessError
	}
	d := reports.Compare(old, cur)
	if *md {
		err = d.WriteMarkdown(stdout)
	} else {
		err = d.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "siospec report compare: %v\n", err)
		return reports.ExitHarnessError
	}
	if d.HasNewFailures() {
		return reports.ExitFailures
	}
	return reports.ExitOK
}

func reportShow(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("show", stderr)
	md := fs.Bool("markdown", false, "print summary.md instead of the terminal summary")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return usageExit(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "siospec report show: want one report.json")
		return reports.ExitUsage
	}
	r, err := reports.Load(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "siospec report show: %v\n", err)
		return reports.ExitHarnessError
	}
	if *md {
		err = r.WriteSummary(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "siospec report show: %v\n", err)
		return reports.ExitHarnessError
	}
	return r.ExitCode()
}
