package main

import (
	"bufio"
	"context"
	"fmt"
	"github.com/siospec/siospec/suites"
	"github.com/siospec/siospec/suites/framework"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/siospec/siospec/reference/testee"
)

// runTestee runs the Go reference client as a testee of the client contract
// (testees/CLIENT-CONTRACT.md): it reads the SIOSPEC_* environment, reports
// on stdout, logs on stderr, and exits 0 (the case ran), 1 (an error of the
// testee itself) or 127 (a suite or case it does not run). It ends at the
// exit command, at the end of stdin, or on SIGTERM/SIGINT (ctx).
func runTestee(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: siospec testee (no flags: the SIOSPEC_* environment of testees/CLIENT-CONTRACT.md)")
		if args[0] == "-h" || args[0] == "--help" {
			return exitOK
		}
		return testee.ExitError
	}
	level := slog.LevelInfo
	if os.Getenv("SIOSPEC_TESTEE_DEBUG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	o, err := testee.OptionsFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "siospec testee:", err)
		return testee.ExitError
	}
	cases, err := clientCases(os.Getenv(framework.EnvCases))
	if err != nil {
		fmt.Fprintln(stderr, "siospec testee:", err)
		return testee.ExitError
	}
	o.Cases = cases
	o.Library = "siospec reference client " + harnessVersion()
	o.Stdin = os.Stdin
	o.Stdout = stdout
	o.Logger = log
	return testee.Run(ctx, &o)
}

// clientCases returns which cases exist: the "<suite> <case>" lines of the
// file the harness names in SIOSPEC_CASES (# comments), or, run by hand
// without it, the cases this siospec declares (suites.ClientCases).
func clientCases(file string) (func(suite, name string) bool, error) {
	if file == "" {
		known := suites.ClientCases()
		return func(suite, name string) bool { return known[suite+" "+name] }, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("SIOSPEC_CASES: %w", err)
	}
	defer f.Close()
	set := map[[2]string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if fs := strings.Fields(line); len(fs) == 2 {
			set[[2]string{fs[0], fs[1]}] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("SIOSPEC_CASES: %w", err)
	}
	return func(suite, name string) bool { return set[[2]string{suite, name}] }, nil
}
