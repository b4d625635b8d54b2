package process

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrClosed is returned by every lifecycle method after [Process.Close].
	ErrClosed = errors.New("process: closed")
	// ErrRunning is returned by [Process.Start] when the process is already
	// running.
	ErrRunning = errors.New("process: already running")
	// ErrNotRunning is returned by signalling methods when no process is
	// running.
	ErrNotRunning = errors.New("process: not running")
	// ErrNotStarted is returned by [Process.Wait] before the first Start.
	ErrNotStarted = errors.New("process: never started")
)

// ConfigError reports an invalid [Spec], [Options] or fault value.
type ConfigError struct {
	// Field names the offending field, e.g. "Options.StopTimeout".
	Field string
	// Reason says what is wrong with it.
	Reason string
}

func (e *ConfigError) Error() string { return "process: " + e.Field + ": " + e.Reason }

// ExitStatus describes how one run of the process ended.
type ExitStatus struct {
	// Run is the start ordinal of the run (1-based), PID its process id.
	Run int
	PID int
	// Code is the exit code, or -1 when a signal killed the process.
	Code int
	// Signal is the signal that killed the process; 0 when it exited.
	Signal syscall.Signal
	// Time is when the controller reaped the process.
	Time time.Time
}

// Signaled reports whether a signal killed the process.
func (s ExitStatus) Signaled() bool { return s.Signal != 0 }

// String renders the status like the shell does: "exit status 3" or
// "signal: killed".
func (s ExitStatus) String() string {
	if s.Signaled() {
		return "signal: " + s.Signal.String()
	}
	return fmt.Sprintf("exit status %d", s.Code)
}

// ExitedError is returned by [Process.Start] when the process exits before
// it is ready. It carries the exit status and the last lines the run wrote.
type ExitedError struct {
	Status ExitStatus
	// Stdout and Stderr are the run's last output lines (up to 10 each).
	Stdout, Stderr []string
}

func (e *ExitedError) Error() string {
	return "process: exited before ready: " + e.Status.String() + tailText(e.Stdout, e.Stderr)
}

// NotReadyError is returned by [Process.Start] when the ready check did not
// pass within [Options.ReadyTimeout]. Start has stopped the process.
type NotReadyError struct {
	// Check is the check that was still waiting: "stdout line", "tcp" or
	// "http".
	Check string
	// Timeout is the ready timeout that elapsed.
	Timeout time.Duration
	// Err is the last attempt's error (a dial error, or an unexpected status
	// for HTTP); nil for the stdout check.
	Err error
	// Stdout and Stderr are the run's last output lines (up to 10 each).
	Stdout, Stderr []string
}

func (e *NotReadyError) Error() string {
	s := fmt.Sprintf("process: not ready after %v: waiting for %s", e.Timeout, e.Check)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s + tailText(e.Stdout, e.Stderr)
}

func (e *NotReadyError) Unwrap() error { return e.Err }

// StatusError is the last attempt's error of an HTTP ready check that got a
// response with an unexpected status.
type StatusError struct {
	URL       string
	Got, Want int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("GET %s: status %d, want %d", e.URL, e.Got, e.Want)
}

func tailText(stdout, stderr []string) string {
	var b strings.Builder
	add := func(name string, lines []string) {
		if len(lines) == 0 {
			return
		}
		if len(lines) > 5 {
			lines = lines[len(lines)-5:]
		}
		fmt.Fprintf(&b, "; %s: %s", name, strings.Join(lines, " | "))
	}
	add("stderr", stderr)
	add("stdout", stdout)
	return b.String()
}
