package testee

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNoCommand is returned by Start and Probe when Options or
	// Options.Command is missing.
	ErrNoCommand = errors.New("testee: no command")
	// ErrExited matches (errors.Is) an [*ExitedError].
	ErrExited = errors.New("testee: process exited")
	// ErrContract matches (errors.Is) a [*ContractError].
	ErrContract = errors.New("testee: command does not follow the client contract")
)

// StartError is returned by Start when the command could not be started.
type StartError struct {
	Command string
	Err     error
}

func (e *StartError) Error() string {
	return fmt.Sprintf("testee: start %q: %v", e.Command, e.Err)
}

func (e *StartError) Unwrap() error { return e.Err }

// ExitedError is returned by Await when the process exited (and its stdout
// was drained) without a report that matches.
type ExitedError struct {
	Code   int    // exit code, -1 when killed by a signal
	Signal string // the signal that ended it, if any
	Stderr string // the last lines of its stderr
}

func (e *ExitedError) Error() string {
	var b strings.Builder
	b.WriteString("testee: process exited (")
	if e.Signal != "" {
		b.WriteString("killed by " + e.Signal)
	} else {
		fmt.Fprintf(&b, "exit code %d", e.Code)
	}
	b.WriteString(") without the awaited report")
	if e.Stderr != "" {
		b.WriteString("; stderr ends:\n" + e.Stderr)
	} else {
		b.WriteString("; stderr empty")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrExited) true.
func (e *ExitedError) Is(target error) bool { return target == ErrExited }

// Problem names what a command did instead of following the contract.
type Problem string

// The problems Probe finds.
const (
	ProblemNotFound Problem = "not found" // sh could not find the command
	ProblemStart    Problem = "start"     // the command could not be started at all
	ProblemExit     Problem = "exit"      // it exited, but not with 127
	ProblemHang     Problem = "hang"      // it did not exit within the probe's timeout
)

// ContractError is returned by Probe when the command does not exit 127 for
// a case that does not exist (testees/CLIENT-CONTRACT.md, section 1).
type ContractError struct {
	Command string
	Case    string  // the case name of the probe
	Problem Problem // what went wrong
	Exit    Exit    // how the probe ended (zero for ProblemStart)
	Timeout string  // the probe's timeout, for ProblemHang
	Stdout  string  // the last lines of its stdout
	Stderr  string  // the last lines of its stderr
	Err     error   // the start error, for ProblemStart
}

const contractRule = "testees/CLIENT-CONTRACT.md, section 1: a testee must exit 127 for a case it does not support, " +
	"and the harness checks this by running it once with a case name that does not exist"

func (e *ContractError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "siospec: the testee command %q does not follow the client contract: ", e.Command)
	switch e.Problem {
	case ProblemNotFound:
		b.WriteString("the shell could not find the command (exit 127, \"not found\" on stderr); check --exec and the PATH")
	case ProblemStart:
		fmt.Fprintf(&b, "it could not be started: %v", e.Err)
	case ProblemHang:
		fmt.Fprintf(&b, "run with SIOSPEC_CASE=%s (a case that does not exist) it did not exit within %s and was killed (%s)",
			e.Case, e.Timeout, e.Exit.By)
	default:
		fmt.Fprintf(&b, "run with SIOSPEC_CASE=%s (a case that does not exist) it ", e.Case)
		if e.Exit.Signal != "" {
			fmt.Fprintf(&b, "was killed by %s", e.Exit.Signal)
		} else {
			fmt.Fprintf(&b, "exited with code %d", e.Exit.Code)
		}
		b.WriteString(" instead of 127")
	}
	b.WriteString(" (" + contractRule + ")")
	if e.Stderr != "" {
		b.WriteString("\nstderr ends:\n" + e.Stderr)
	}
	if e.Stdout != "" {
		b.WriteString("\nstdout ends:\n" + e.Stdout)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrContract) true.
func (e *ContractError) Is(target error) bool { return target == ErrContract }

func (e *ContractError) Unwrap() error { return e.Err }
