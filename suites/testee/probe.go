package testee

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultProbeTimeout is Probe's timeout when it is given none.
const DefaultProbeTimeout = 10 * time.Second

// Probe runs the command once with a case name that does not exist and
// returns nil when it exits 127 within timeout; otherwise an error that
// says what the command did instead (exit code, output excerpt), which
// siospec client reports as a contract violation (exit code 3).
//
// The contract violations are [*ContractError]s (errors.Is ErrContract):
// another exit code, no exit within timeout (the run is then stopped as
// Stop does), a command that could not be started, and a command the shell
// did not find (exit 127 with the shell's "not found" on stderr). Other
// errors (ErrNoCommand, ctx ending, bad Options) are the caller's. A
// timeout of zero or less means DefaultProbeTimeout.
func Probe(ctx context.Context, opts *Options, timeout time.Duration) error {
	if opts == nil || opts.Command == "" {
		return ErrNoCommand
	}
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	o := *opts
	o.Case = ProbeCase()

	t, err := Start(ctx, &o)
	if err != nil {
		var se *StartError
		if errors.As(err, &se) {
			return &ContractError{Command: o.Command, Case: o.Case, Problem: ProblemStart, Err: se.Err}
		}
		return err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	hung := false
	select {
	case <-t.Exited():
	case <-timer.C:
		hung = true
	case <-ctx.Done():
		t.Stop()
		return fmt.Errorf("testee: probe: %w", context.Cause(ctx))
	}
	exit := t.Stop()
	stdout, stderr, _, _ := t.Output()
	cerr := &ContractError{
		Command: o.Command,
		Case:    o.Case,
		Exit:    exit,
		Stdout:  lastLines(stdout, 5, 1024),
		Stderr:  lastLines(stderr, 10, 2048),
	}
	switch {
	case hung:
		cerr.Problem = ProblemHang
		cerr.Timeout = timeout.String()
	case exit.Code == 127 && exit.Signal == "" && shellNotFound(stderr, o.Case):
		cerr.Problem = ProblemNotFound
	case exit.Code == 127 && exit.Signal == "":
		return nil
	default:
		cerr.Problem = ProblemExit
	}
	return cerr
}

// ProbeCase returns a random case name that no testee can know.
func ProbeCase() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "siospec-no-such-case-" + hex.EncodeToString(b)
}

// shellNotFound reports whether stderr holds a shell's complaint that a
// command does not exist ("sh: 1: foo: not found" from dash, "sh: line 1:
// foo: command not found" from bash, "...: No such file or directory").
// Lines naming the probe's case are the testee's own words, not the
// shell's.
func shellNotFound(stderr, probeCase string) bool {
	for l := range strings.Lines(stderr) {
		l = strings.TrimSpace(l)
		if strings.Contains(l, probeCase) {
			continue
		}
		if strings.HasSuffix(l, ": not found") ||
			strings.HasSuffix(l, ": command not found") ||
			strings.HasSuffix(l, ": No such file or directory") {
			return true
		}
	}
	return false
}
