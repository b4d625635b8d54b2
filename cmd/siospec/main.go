// Command siospec is the Engine.IO / Socket.IO conformance harness: it runs
// the reference server in fixture mode, runs the conformance suites against a
// server under test, runs the fault-injecting proxy, and renders reports.
//
// Exit codes: 0 no MUST failed, 1 conformance failures, 2 harness error,
// 3 preflight failed, 4 usage error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"
)

// Exit codes shared by every subcommand.
const (
	exitOK          = 0
	exitFailures    = 1
	exitHarness     = 2
	exitPreflight   = 3
	exitUsage       = 4
	devVersion      = "0.1.0-dev"
	usageLineFormat = "  %-8s %s\n"
)

// harnessVersion returns the version of this siospec: the module version
// that `go install github.com/siospec/siospec/cmd/siospec@VERSION` (or a
// build from a checkout, which Go stamps from the VCS) recorded in the
// binary, else the development version.
func harnessVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return devVersion
}

// command is one subcommand: its one-line help and the function that runs it
// with the arguments after its name.
type command struct {
	help string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"client":  {"run the client conformance suites against a client under test (--exec CMD, testees/CLIENT-CONTRACT.md)", runClient},
		"certify": {"certify one implementation against Node socket.io (4.8.4 for sio5, 2.5.x for sio4): a bundle with its evidence (--server-cmd CMD | --client-exec CMD; certify verify BUNDLE)", runCertify},
		"list":    {"list the requirements and the specs that cover them", runList},
		"matrix":  {"run the interop matrix: clients × servers × network profiles (--config testees/impls.yaml; matrix merge)", runMatrix},
		"proxy":   {"run the fault-injecting proxy with its control API", runProxy},
		"report":  {"render, show or compare reports (report.json)", runReport},
		"serve":   {"run the reference server in fixture mode (eio4, eio3, sio5, sio4)", runServe},
		"server":  {"run the server conformance suites against a server (default: the built-in reference)", runServer},
		"testee":  {"run the Go reference client as a testee of the client contract (SIOSPEC_* environment)", runTestee},
		"version": {"print the harness version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "siospec: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: siospec <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, usageLineFormat, n, cmds[n].help)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'siospec <command> -h' for a command's flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 conformance failures, 2 harness error, 3 preflight failed, 4 usage error.")
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, "siospec", harnessVersion())
	return exitOK
}
