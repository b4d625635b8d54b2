package process

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"
)

// faultTrace is the timing-independent part of a fault's events.
func faultTrace(p *Process) []string {
	evs, _ := p.Events()
	var out []string
	for _, e := range evs {
		if e.Fault == "" {
			continue
		}
		s := fmt.Sprintf("%s#%d %s", e.Fault, e.Step, e.Action)
		if e.Action != "ready" { // ready's detail holds a port and a duration
			s += " " + e.Detail
		}
		out = append(out, s)
	}
	return out
}

// TestInjectScheduleIsDeterministic runs the server-crash-like schedule
// (process_restart then process_pause) twice on fresh processes and
// compares the decision traces.
func TestInjectScheduleIsDeterministic(t *testing.T) {
	want := []string{
		"process_restart#1 fault after=100ms signal=SIGKILL downtime=150ms",
		"process_restart#2 kill SIGKILL",
		"process_restart#3 exit signal: killed",
		"process_restart#4 start ",
		"process_restart#5 ready",
		"process_pause#1 fault after=700ms for=200ms",
		"process_pause#2 pause SIGSTOP",
		"process_pause#3 resume SIGCONT",
	}
	var traces [][]string
	for i := range 2 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		p := newProc(t, helperSpec("echo", "-addr", addr), nil)
		start(t, p)
		// Listed out of order: Inject sorts by At.
		faults := []Fault{
			Freeze{After: 700 * time.Millisecond, For: 200 * time.Millisecond},
			Crash{After: 100 * time.Millisecond, Restart: true, Downtime: 150 * time.Millisecond},
		}
		began := time.Now()
		if err := p.Inject(ctxT(t, 30*time.Second), faults...); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		took := time.Since(began)
		tr := faultTrace(p)
		if !slices.Equal(tr, want) {
			t.Fatalf("run %d trace:\n%q\nwant\n%q", i, tr, want)
		}
		traces = append(traces, tr)
		// Offsets are lower bounds; the freeze ends at 700+200ms at the earliest.
		evs, _ := p.Events()
		for _, e := range evs {
			if e.Action == "fault" && e.Fault == "process_pause" && e.Time.Sub(began) < 700*time.Millisecond {
				t.Fatalf("freeze fired at %v", e.Time.Sub(began))
			}
			if e.Action == "fault" && e.Fault == "process_restart" && e.Time.Sub(began) < 100*time.Millisecond {
				t.Fatalf("crash fired at %v", e.Time.Sub(began))
			}
		}
		if took < 900*time.Millisecond {
			t.Fatalf("schedule took %v", took)
		}
		// After the schedule the server runs again (run 2) and answers.
		if st, _ := p.Events(); st[len(st)-1].Run != 2 || p.Paused() {
			t.Fatalf("not back up: %v", st[len(st)-1])
		}
		echoOnce(t, dialT(t, addr), "back")
	}
	if !slices.Equal(traces[0], traces[1]) {
		t.Fatalf("traces differ:\n%q\n%q", traces[0], traces[1])
	}
}

func TestCrashWithoutRestartLeavesProcessDown(t *testing.T) {
	p := newProc(t, helperSpec("echo"), nil)
	start(t, p)
	c := Crash{Signal: syscall.SIGTERM}
	if c.Name() != "process_kill" {
		t.Fatalf("name %q", c.Name())
	}
	if err := c.Apply(ctxT(t, 20*time.Second), p); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Fatal("still running")
	}
	if st, _ := p.ExitStatus(); st.Signal != syscall.SIGTERM {
		t.Fatalf("status %v", st)
	}
	// Nothing left to crash.
	err := p.Inject(ctxT(t, 5*time.Second), Crash{})
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("inject on a stopped process: %v", err)
	}
}

func TestFreezeCancelledResumesAtOnce(t *testing.T) {
	p := newProc(t, helperSpec("echo"), nil)
	start(t, p)
	pid := p.PID()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- p.Inject(ctx, Freeze{For: time.Minute}) }()
	if !pollUntil(10*time.Second, p.Paused) {
		t.Fatal("never paused")
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("inject: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Inject did not return after cancel")
	}
	if p.Paused() {
		t.Fatal("still paused")
	}
	if !pollUntil(5*time.Second, func() bool { return procState(pid) != "T" }) {
		t.Fatalf("state %q after cancel", procState(pid))
	}
	echoOnce(t, dialT(t, p.Addr()), "awake")
}

func TestFaultValidation(t *testing.T) {
	cases := []struct {
		f     Fault
		field string
	}{
		{Freeze{}, "Freeze.For"},
		{Freeze{After: -1, For: time.Second}, "Freeze.After"},
		{Crash{After: -time.Second}, "Crash.After"},
		{Crash{Downtime: time.Second}, "Crash.Downtime"},
		{Crash{Restart: true, Downtime: -1}, "Crash.Downtime"},
		{Crash{Signal: -3}, "Crash.Signal"},
	}
	p, err := New(helperSpec("echo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, c := range cases {
		err := p.Inject(context.Background(), c.f)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Errorf("%#v: got %v, want a *ConfigError for %s", c.f, err, c.field)
		}
	}
	var ce *ConfigError
	if err := p.Inject(context.Background(), nil); !errors.As(err, &ce) {
		t.Errorf("nil fault: %v", err)
	}
	if n := (Crash{Restart: true}).Name(); n != "process_restart" {
		t.Errorf("name %q", n)
	}
	if n := (Freeze{}).Name(); n != "process_pause" {
		t.Errorf("name %q", n)
	}
}
