// Package prooftest is the one rule by which siospec's own tests live with a
// slow or overloaded machine. It is for _test files only and imports the
// standard library alone.
//
// The rule:
//
//   - No test reads the machine's load to decide an outcome. Load is read
//     for the log only (ReadLoad).
//   - Whole-target proofs (every suite against a fixture) run their fixtures
//     with the slower heartbeat PingInterval/PingTimeout (and
//     ConnectTimeout). The specs derive every budget from the advertised
//     heartbeat and the configured connectTimeout, so the slower fixture is
//     as valid a target as the official contract's 300/200/1000 ms, and
//     leaves a loaded machine more room.
//   - A proof runs through Run: an attempt that fails, or that judged
//     nothing, is retried exactly once (its failures and the load are
//     logged); if the retry fails too, the test fails with both attempts'
//     failures. Nothing is skipped for load.
//   - Timing checks in unit tests keep their lower bounds exact and add the
//     fixed Slack to their upper bounds.
package prooftest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The heartbeat of the fixtures of whole-target proofs, and their
// Socket.IO connectTimeout: the Engine.IO-level specs of a Socket.IO server
// watch three pings before joining any namespace, which must fit well
// within connectTimeout (the official contract's 1000 ms fits 300 ms pings
// only).
const (
	PingInterval   = 1000 * time.Millisecond
	PingTimeout    = 800 * time.Millisecond
	ConnectTimeout = 5 * PingInterval
)

// Slack is added to the upper bound of a timing check in a test: how late
// an event may be on a loaded machine before the check fails. Lower bounds
// (what a fault or timer must at least cost) never get slack.
const Slack = 6 * time.Second

// Attempts is how many times Run tries a proof: once, and once again.
const Attempts = 2

// Load is the machine's load as read from Linux's /proc, for logs. A field
// is negative when unknown.
type Load struct {
	// PSI10 and PSI60 are CPU pressure "some avg10" and "avg60": the share
	// of time (0..100) in which runnable tasks waited for a CPU.
	PSI10, PSI60 float64
	// LoadAvg is the 1-minute load average.
	LoadAvg float64
	// CPUs is runtime.NumCPU.
	CPUs int
}

// ReadLoad reads the current load.
func ReadLoad() Load {
	l := Load{PSI10: -1, PSI60: -1, LoadAvg: -1, CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/pressure/cpu"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "avg10="); ok {
				l.PSI10 = parse(v)
			}
			if v, ok := strings.CutPrefix(f, "avg60="); ok {
				l.PSI60 = parse(v)
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			l.LoadAvg = parse(f[0])
		}
	}
	return l
}

func parse(s string) float64 {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return x
}

// String renders the load for a log line.
func (l Load) String() string {
	num := func(x float64, unit string) string {
		if x < 0 {
			return "unknown"
		}
		return strconv.FormatFloat(x, 'f', 1, 64) + unit
	}
	return fmt.Sprintf("CPU pressure avg10 %s avg60 %s, load average %s on %d CPUs",
		num(l.PSI10, "%"), num(l.PSI60, "%"), num(l.LoadAvg, ""), l.CPUs)
}

// TB is the part of *testing.T that Run reports to.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Context() context.Context
}

// Options tunes Run. Nil means defaults.
type Options struct {
	// AttemptTimeout bounds one attempt: its context ends then. Default
	// 6 minutes.
	AttemptTimeout time.Duration
	// Grace is how long an attempt may take to return once its context
	// has ended; an attempt still running then fails the test. Default
	// 30 s.
	Grace time.Duration
}

// Attempt is one try at a proof. It offers the calls a proof makes on a
// test (Errorf, Fatalf, Logf, Cleanup, Context, Helper) but records the
// failures instead of failing the test, so that Run can retry. A proof says
// how many checks it judged with Judged; an attempt that ends without
// failures and without judging anything fails ("could not judge").
//
// Fatalf and FailNow must be called from the goroutine running the attempt.
type Attempt struct {
	t   TB
	n   int
	ctx context.Context

	mu        sync.Mutex
	problems  []string
	judged    int
	cleanups  []func()
	abandoned bool
}

// N is the attempt's number: 1, or 2 for the retry.
func (a *Attempt) N() int { return a.n }

// Context is cancelled when the attempt ends or times out.
func (a *Attempt) Context() context.Context { return a.ctx }

// Helper marks the caller as a helper in the test's log.
func (a *Attempt) Helper() { a.t.Helper() }

// Logf logs to the test, prefixed with the attempt's number.
func (a *Attempt) Logf(format string, args ...any) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.abandoned {
		return
	}
	a.t.Logf("attempt %d: %s", a.n, fmt.Sprintf(format, args...))
}

// Errorf records a failure; the attempt goes on.
func (a *Attempt) Errorf(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.problems = append(a.problems, fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the attempt (runtime.Goexit).
func (a *Attempt) Fatalf(format string, args ...any) {
	a.Errorf(format, args...)
	runtime.Goexit()
}

// Judged counts n checks that the attempt judged (specs run, verdicts
// compared, ...).
func (a *Attempt) Judged(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.judged += n
}

// Failed reports whether the attempt has recorded a failure.
func (a *Attempt) Failed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.problems) > 0
}

// Cleanup registers f to run when the attempt ends, before any retry;
// cleanups run last-registered first.
func (a *Attempt) Cleanup(f func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cleanups = append(a.cleanups, f)
}

// runCleanups runs the cleanups, last first, including those that a
// cleanup registers.
func (a *Attempt) runCleanups() {
	for {
		a.mu.Lock()
		if len(a.cleanups) == 0 {
			a.mu.Unlock()
			return
		}
		f := a.cleanups[len(a.cleanups)-1]
		a.cleanups = a.cleanups[:len(a.cleanups)-1]
		a.mu.Unlock()
		f()
	}
}

// outcome returns the attempt's failures, with "could not judge" when it
// has none and judged nothing.
func (a *Attempt) outcome() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.problems) == 0 && a.judged == 0 {
		return []string{"could not judge: the attempt ended without failures but judged nothing (no spec ran, no check was made)"}
	}
	return append([]string(nil), a.problems...)
}

// Run runs a proof: attempt once, and once more if the first attempt
// failed or could not judge. The first attempt's failures are logged with
// the machine's load. If the retry fails too, Run fails t with both
// attempts' failures (t.Errorf) and returns false; it never skips. Each
// attempt runs in a goroutine of its own that Run waits for, bounded by
// Options.AttemptTimeout plus Options.Grace (an attempt still running then
// fails the test at once, without a retry); an attempt's cleanups run
// before the next attempt starts.
func Run(t TB, opts *Options, attempt func(a *Attempt)) bool {
	t.Helper()
	o := Options{AttemptTimeout: 6 * time.Minute, Grace: 30 * time.Second}
	if opts != nil {
		if opts.AttemptTimeout > 0 {
			o.AttemptTimeout = opts.AttemptTimeout
		}
		if opts.Grace > 0 {
			o.Grace = opts.Grace
		}
	}
	var failures [][]string
	var loads []Load
	for n := 1; n <= Attempts; n++ {
		problems, abandoned := runAttempt(t, n, o, attempt)
		if abandoned {
			// An attempt that outlives its bound is a harness bug, never
			// a reason to retry: fail at once.
			t.Errorf("proof attempt %d of %d failed (%s):\n%s", n, Attempts, ReadLoad(), list(problems))
			return false
		}
		if len(problems) == 0 {
			if n > 1 {
				t.Logf("proof passed on the retry (attempt %d of %d); attempt 1 had failed, see above", n, Attempts)
			}
			return true
		}
		load := ReadLoad()
		failures = append(failures, problems)
		loads = append(loads, load)
		if n < Attempts {
			t.Logf("attempt %d of %d failed (%s); retrying once. Its failures:\n%s", n, Attempts, load, list(problems))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "proof failed in all %d attempts", Attempts)
	for i, p := range failures {
		fmt.Fprintf(&b, "\n--- attempt %d (%s):\n%s", i+1, loads[i], list(p))
	}
	t.Errorf("%s", b.String())
	return false
}

// runAttempt runs attempt number n and returns its failures, and whether
// it was abandoned for outliving its bound.
func runAttempt(t TB, n int, o Options, attempt func(a *Attempt)) (problems []string, abandoned bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), o.AttemptTimeout)
	defer cancel()
	a := &Attempt{t: t, n: n, ctx: ctx}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer a.runCleanups()
		defer cancel()
		defer func() {
			if r := recover(); r != nil {
				a.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		attempt(a)
	}()
	select {
	case <-done:
		return a.outcome(), false
	case <-ctx.Done():
	}
	grace := time.NewTimer(o.Grace)
	defer grace.Stop()
	select {
	case <-done:
		return a.outcome(), false
	case <-grace.C:
	}
	a.mu.Lock()
	a.abandoned = true
	a.mu.Unlock()
	return append(a.outcome(), fmt.Sprintf("the attempt did not return within %v after its context ended (%v): abandoned", o.Grace, context.Cause(ctx))), true
}

func list(problems []string) string {
	var b bytes.Buffer
	for _, p := range problems {
		b.WriteString("  - ")
		b.WriteString(strings.ReplaceAll(strings.TrimRight(p, "\n"), "\n", "\n    "))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}
