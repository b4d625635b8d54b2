package prooftest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeT records what Run reports, in place of a *testing.T.
type fakeT struct {
	ctx    context.Context
	mu     sync.Mutex
	logs   []string
	errors []string
}

func newFakeT(t *testing.T) *fakeT { return &fakeT{ctx: t.Context()} }

func (f *fakeT) Helper()                  {}
func (f *fakeT) Context() context.Context { return f.ctx }
func (f *fakeT) Logf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, a...))
}
func (f *fakeT) Errorf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}

func (f *fakeT) failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.errors) > 0
}

func (f *fakeT) allErrors() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.errors, "\n")
}

func (f *fakeT) allLogs() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.logs, "\n")
}

// TestRunFailsTwice: a proof that fails in both attempts fails the test,
// naming both attempts' failures and the load.
func TestRunFailsTwice(t *testing.T) {
	ft := newFakeT(t)
	calls := 0
	ok := Run(ft, nil, func(a *Attempt) {
		calls++
		a.Judged(3)
		a.Errorf("EIO-HB-01 failed in attempt %d", a.N())
	})
	if ok || !ft.failed() {
		t.Fatalf("Run = %v, test failed = %v: want a failed test", ok, ft.failed())
	}
	if calls != Attempts {
		t.Errorf("%d attempts, want %d", calls, Attempts)
	}
	msg := ft.allErrors()
	for _, want := range []string{"EIO-HB-01 failed in attempt 1", "EIO-HB-01 failed in attempt 2", "load average"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure message lacks %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(ft.allLogs(), "retrying once") {
		t.Errorf("the first failure was not logged as retried:\n%s", ft.allLogs())
	}
}

// TestRunRetryPasses: a proof that fails once and then passes passes, and
// the first attempt's failures are in the log.
func TestRunRetryPasses(t *testing.T) {
	ft := newFakeT(t)
	calls := 0
	ok := Run(ft, nil, func(a *Attempt) {
		calls++
		a.Judged(1)
		if a.N() == 1 {
			a.Errorf("late ping")
		}
	})
	if !ok || ft.failed() {
		t.Fatalf("Run = %v, errors %q: want a pass on the retry", ok, ft.allErrors())
	}
	if calls != 2 {
		t.Errorf("%d attempts, want 2", calls)
	}
	if logs := ft.allLogs(); !strings.Contains(logs, "late ping") || !strings.Contains(logs, "passed on the retry") {
		t.Errorf("log does not show the retried failure:\n%s", logs)
	}
}

// TestRunPassesOnce: a passing proof runs once.
func TestRunPassesOnce(t *testing.T) {
	ft := newFakeT(t)
	calls := 0
	if !Run(ft, nil, func(a *Attempt) { calls++; a.Judged(1) }) || ft.failed() {
		t.Fatalf("a passing proof failed: %s", ft.allErrors())
	}
	if calls != 1 {
		t.Errorf("%d attempts, want 1", calls)
	}
}

// TestRunCouldNotJudge: an attempt that judges nothing is a failure, not a
// pass.
func TestRunCouldNotJudge(t *testing.T) {
	ft := newFakeT(t)
	calls := 0
	if Run(ft, nil, func(a *Attempt) { calls++ }) || !ft.failed() {
		t.Fatal("a proof that judged nothing passed")
	}
	if calls != 2 {
		t.Errorf("%d attempts, want 2", calls)
	}
	if !strings.Contains(ft.allErrors(), "could not judge") {
		t.Errorf("failure does not say the proof could not judge:\n%s", ft.allErrors())
	}
}

// TestRunFatalf: Fatalf ends the attempt; its cleanups run, last first,
// and its context ends before the retry starts.
func TestRunFatalf(t *testing.T) {
	ft := newFakeT(t)
	var order []string
	var ctxs []context.Context
	ok := Run(ft, nil, func(a *Attempt) {
		ctxs = append(ctxs, a.Context())
		order = append(order, fmt.Sprintf("start %d", a.N()))
		a.Cleanup(func() { order = append(order, fmt.Sprintf("cleanup first %d", a.N())) })
		a.Cleanup(func() { order = append(order, fmt.Sprintf("cleanup second %d", a.N())) })
		a.Judged(1)
		a.Fatalf("fixture did not start")
		order = append(order, "after Fatalf")
	})
	if ok || !ft.failed() {
		t.Fatal("a proof whose attempts called Fatalf passed")
	}
	want := "start 1,cleanup second 1,cleanup first 1,start 2,cleanup second 2,cleanup first 2"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	for i, c := range ctxs {
		if c.Err() == nil {
			t.Errorf("attempt %d's context still live after Run", i+1)
		}
	}
}

// TestRunPanic: a panicking attempt is a failure with the panic's value.
func TestRunPanic(t *testing.T) {
	ft := newFakeT(t)
	if Run(ft, nil, func(a *Attempt) { a.Judged(1); panic("boom") }) || !ft.failed() {
		t.Fatal("a panicking proof passed")
	}
	if !strings.Contains(ft.allErrors(), "panic: boom") {
		t.Errorf("failure lacks the panic:\n%s", ft.allErrors())
	}
}

// TestRunAbandoned: an attempt that outlives its timeout and grace fails
// the test at once, without a retry.
func TestRunAbandoned(t *testing.T) {
	ft := newFakeT(t)
	release := make(chan struct{})
	exited := make(chan struct{})
	calls := 0
	start := time.Now()
	ok := Run(ft, &Options{AttemptTimeout: 50 * time.Millisecond, Grace: 50 * time.Millisecond}, func(a *Attempt) {
		defer close(exited)
		calls++
		a.Judged(1)
		<-release // ignores its context
	})
	close(release)
	<-exited
	if ok || !ft.failed() {
		t.Fatal("an abandoned attempt passed")
	}
	if calls != 1 {
		t.Errorf("%d attempts, want 1 (no retry after an abandoned attempt)", calls)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 100*time.Millisecond+Slack {
		t.Errorf("Run returned after %v, want within [100ms, %v]", d, 100*time.Millisecond+Slack)
	}
	if !strings.Contains(ft.allErrors(), "abandoned") {
		t.Errorf("failure does not say the attempt was abandoned:\n%s", ft.allErrors())
	}
}

// TestRunContextCancelled: an attempt's context ends at its timeout, and a
// proof that returns then reports what it saw.
func TestRunContextCancelled(t *testing.T) {
	ft := newFakeT(t)
	ok := Run(ft, &Options{AttemptTimeout: 20 * time.Millisecond}, func(a *Attempt) {
		a.Judged(1)
		<-a.Context().Done()
		a.Errorf("run cut short: %v", a.Context().Err())
	})
	if ok || !strings.Contains(ft.allErrors(), "deadline exceeded") {
		t.Fatalf("Run = %v, errors:\n%s", ok, ft.allErrors())
	}
}

// TestReadLoad: the load renders, known or not.
func TestReadLoad(t *testing.T) {
	l := ReadLoad()
	if l.CPUs < 1 {
		t.Errorf("CPUs = %d", l.CPUs)
	}
	s := l.String()
	if !strings.Contains(s, "CPU pressure") || !strings.Contains(s, "load average") {
		t.Errorf("String() = %q", s)
	}
	t.Log(s)
	if u := (Load{PSI10: -1, PSI60: -1, LoadAvg: -1, CPUs: 2}).String(); !strings.Contains(u, "unknown") {
		t.Errorf("unknown load renders as %q", u)
	}
}
