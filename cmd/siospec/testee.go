package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
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
	cases, err := provisionalCases(os.Getenv("SIOSPEC_CASES_FILE"))
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

// PROVISIONAL: the integrator replaces this with the client suite registry.
// With SIOSPEC_CASES_FILE set, the cases are the "<suite> <case>" lines of
// that file (testees/client-cases.txt format, # comments); without it, any
// well-formed case name except the harness's "siospec-no-such-case..."
// probe is accepted.
var caseName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func provisionalCases(file string) (func(suite, name string) bool, error) {
	if file == "" {
		return func(_, name string) bool {
			return caseName.MatchString(name) && !strings.HasPrefix(name, "siospec-no-such-case")
		}, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("SIOSPEC_CASES_FILE: %w", err)
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
		return nil, fmt.Errorf("SIOSPEC_CASES_FILE: %w", err)
	}
	return func(suite, name string) bool { return set[[2]string{suite, name}] }, nil
}
