package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name  string
		spec  Spec
		opts  *Options
		field string
	}{
		{"empty path", Spec{}, nil, "Spec.Path"},
		{"negative output limit", Spec{Path: "/bin/true"}, &Options{OutputLimit: -1}, "Options.OutputLimit"},
		{"negative stop timeout", Spec{Path: "/bin/true"}, &Options{StopTimeout: -time.Second}, "Options.StopTimeout"},
		{"bad status", Spec{Path: "/bin/true"}, &Options{Ready: ReadyCheck{HTTP: "http://127.0.0.1:1/", HTTPStatus: 42}}, "Options.Ready.HTTPStatus"},
		{"bad tcp address", Spec{Path: "/bin/true"}, &Options{Ready: ReadyCheck{TCP: "localhost"}}, "Options.Ready.TCP"},
		{"http path without capture", Spec{Path: "/bin/true"}, &Options{Ready: ReadyCheck{HTTP: "/health"}}, "Options.Ready.HTTP"},
		{"relative http url", Spec{Path: "/bin/true"}, &Options{Ready: ReadyCheck{HTTP: "health"}}, "Options.Ready.HTTP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.spec, c.opts)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != c.field {
				t.Fatalf("got %v, want a *ConfigError for %s", err, c.field)
			}
		})
	}
	if _, err := New(Spec{Path: "no-such-program-siospec"}, nil); err == nil {
		t.Fatal("missing program in PATH: no error")
	}
}

func TestReadyOnStdoutLineCapturesURL(t *testing.T) {
	p := newProc(t, helperSpec("echo"), nil)
	start(t, p)
	u := p.URL()
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(u) {
		t.Fatalf("URL() = %q", u)
	}
	if want := strings.TrimPrefix(u, "http://"); p.Addr() != want {
		t.Fatalf("Addr() = %q, want %q", p.Addr(), want)
	}
	echoOnce(t, dialT(t, p.Addr()), "hello")
	if got := actions(p); !slices.Equal(got, []string{"start", "ready"}) {
		t.Fatalf("events %v", got)
	}
	evs, _ := p.Events()
	if evs[0].PID != p.PID() || evs[0].Run != 1 || evs[1].Step != 2 {
		t.Fatalf("events %+v, pid %d", evs, p.PID())
	}
}

func TestReadyOnTCPConnect(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	const delay = 300 * time.Millisecond
	p := newProc(t, helperSpec("echo", "-addr", addr, "-quiet", "-delay", delay.String()),
		&Options{Ready: ReadyCheck{TCP: addr}})
	began := time.Now()
	start(t, p)
	// The helper binds only after delay, so an early "ready" would be wrong.
	if el := time.Since(began); el < delay {
		t.Fatalf("ready after %v, before the helper could listen (%v)", el, delay)
	}
	if p.Addr() != addr || p.URL() != "" {
		t.Fatalf("Addr %q URL %q", p.Addr(), p.URL())
	}
	echoOnce(t, dialT(t, addr), "tcp")
}

func TestReadyOnHTTPStatus(t *testing.T) {
	p := newProc(t, helperSpec("http", "-fail-first", "3"), &Options{Ready: ReadyCheck{
		StdoutLine: listening, HTTP: "/health", Interval: 10 * time.Millisecond,
	}})
	start(t, p)
	// Start must have polled through the three 503 answers.
	resp, err := http.Get(p.URL() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n, _ := strconv.Atoi(resp.Header.Get("X-Count"))
	if resp.StatusCode != 200 || n != 5 {
		t.Fatalf("after ready: status %d, request #%d; want 200 on request #5", resp.StatusCode, n)
	}
}

func TestReadyHTTPWrongStatusTimesOut(t *testing.T) {
	p := newProc(t, helperSpec("http", "-fail-first", "1000000"), &Options{
		Ready: ReadyCheck{StdoutLine: listening, HTTP: "/", Interval: 10 * time.Millisecond},
		// Long enough for a loaded machine to answer at least once; the
		// last answered status is reported even when the deadline cuts
		// a later attempt.
		ReadyTimeout: 2 * time.Second,
	})
	err := p.Start(ctxT(t, 10*time.Second))
	var nr *NotReadyError
	var se *StatusError
	if !errors.As(err, &nr) || nr.Check != "http" || !errors.As(err, &se) || se.Got != 503 || se.Want != 200 {
		t.Fatalf("got %v", err)
	}
	if p.Running() {
		t.Fatal("still running after a failed Start")
	}
}

func TestStartReportsEarlyExitWithOutput(t *testing.T) {
	p := newProc(t, helperSpec("fail"), nil)
	err := p.Start(ctxT(t, 10*time.Second))
	var ee *ExitedError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want *ExitedError", err)
	}
	if ee.Status.Code != 3 || ee.Status.Signaled() {
		t.Fatalf("status %v", ee.Status)
	}
	if !slices.Equal(ee.Stderr, []string{"boom: first problem", "boom: cannot bind"}) || !slices.Equal(ee.Stdout, []string{"starting"}) {
		t.Fatalf("stdout %q stderr %q", ee.Stdout, ee.Stderr)
	}
	if !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "boom: cannot bind") {
		t.Fatalf("message %q", err)
	}
	st, ok := p.ExitStatus()
	if !ok || st.Code != 3 {
		t.Fatalf("ExitStatus %v %v", st, ok)
	}
	// A second start of the same spec fails the same way and reports only
	// its own run's output.
	err = p.Start(ctxT(t, 10*time.Second))
	if !errors.As(err, &ee) || len(ee.Stderr) != 2 || ee.Status.Run != 2 {
		t.Fatalf("second start: %v %+v", err, ee)
	}
}

func TestStartNotReadyInTimeStopsProcess(t *testing.T) {
	p := newProc(t, helperSpec("silent"), &Options{ReadyTimeout: 300 * time.Millisecond})
	began := time.Now()
	err := p.Start(ctxT(t, 10*time.Second))
	var nr *NotReadyError
	if !errors.As(err, &nr) || nr.Check != "stdout line" || nr.Timeout != 300*time.Millisecond {
		t.Fatalf("got %v", err)
	}
	if el := time.Since(began); el < 300*time.Millisecond {
		t.Fatalf("gave up after %v", el)
	}
	st, ok := p.ExitStatus()
	if !ok || st.Signal != syscall.SIGTERM {
		t.Fatalf("exit status %v %v, want killed by SIGTERM", st, ok)
	}
	if got := actions(p); !slices.Equal(got, []string{"start", "not_ready", "stop", "exit"}) {
		t.Fatalf("events %v", got)
	}
}

func TestStartCancelledByContextStopsProcess(t *testing.T) {
	p := newProc(t, helperSpec("silent"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := p.Start(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if p.Running() {
		t.Fatal("still running")
	}
}

func TestStartTwiceIsErrRunning(t *testing.T) {
	p := newProc(t, helperSpec("echo"), nil)
	start(t, p)
	if err := p.Start(ctxT(t, time.Second)); !errors.Is(err, ErrRunning) {
		t.Fatalf("got %v", err)
	}
}

func TestKillSignalIsObservedInExitStatus(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT} {
		t.Run(signalName(sig), func(t *testing.T) {
			p := newProc(t, helperSpec("echo"), nil)
			start(t, p)
			pid := p.PID()
			if err := p.Kill(sig); err != nil {
				t.Fatal(err)
			}
			st := wait(t, p)
			if st.Signal != sig || st.Code != -1 || st.PID != pid || st.String() != "signal: "+sig.String() {
				t.Fatalf("status %+v (%v)", st, st)
			}
			if err := p.Kill(sig); !errors.Is(err, ErrNotRunning) {
				t.Fatalf("kill after exit: %v", err)
			}
			evs, _ := p.Events()
			last := evs[len(evs)-1]
			if last.Action != "exit" || last.Detail != st.String() || evs[len(evs)-2].Detail != signalName(sig) {
				t.Fatalf("events %v", evs)
			}
		})
	}
}

func TestStopGracefulExit(t *testing.T) {
	p := newProc(t, helperSpec("echo", "-graceful"), &Options{StopTimeout: 10 * time.Second})
	start(t, p)
	if err := p.Stop(ctxT(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	st, _ := p.ExitStatus()
	if st.Code != 0 || st.Signaled() {
		t.Fatalf("status %v", st)
	}
	if got := actions(p); !slices.Equal(got, []string{"start", "ready", "stop", "exit"}) {
		t.Fatalf("events %v", got)
	}
	if !bytes.HasSuffix(p.Output().Stdout, []byte("bye\n")) {
		t.Fatalf("stdout %q", p.Output().Stdout)
	}
	if err := p.Stop(ctxT(t, time.Second)); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestStopEscalatesToSIGKILLWhenSIGTERMIgnored(t *testing.T) {
	const stopTimeout = 300 * time.Millisecond
	p := newProc(t, helperSpec("echo", "-ignore-term"), &Options{StopTimeout: stopTimeout})
	start(t, p)
	began := time.Now()
	if err := p.Stop(ctxT(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(began); el < stopTimeout {
		t.Fatalf("stopped after %v, before StopTimeout", el)
	}
	st, _ := p.ExitStatus()
	if st.Signal != syscall.SIGKILL {
		t.Fatalf("status %v, want killed by SIGKILL", st)
	}
	if got := actions(p); !slices.Equal(got, []string{"start", "ready", "stop", "escalate", "exit"}) {
		t.Fatalf("events %v", got)
	}
}

func TestStopContextEndsWithSIGKILL(t *testing.T) {
	p := newProc(t, helperSpec("echo", "-ignore-term"), &Options{StopTimeout: time.Minute})
	start(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := p.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if st := wait(t, p); st.Signal != syscall.SIGKILL {
		t.Fatalf("status %v", st)
	}
}

func TestRestartOnSamePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := newProc(t, helperSpec("echo", "-addr", addr), nil)
	start(t, p)
	url1, pid1 := p.URL(), p.PID()
	c1 := dialT(t, addr)
	echoOnce(t, c1, "before")

	const downtime = 200 * time.Millisecond
	if err := p.Restart(ctxT(t, 20*time.Second), downtime); err != nil {
		t.Fatal(err)
	}
	// The old connection is gone with the old process.
	_ = c1.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c1.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("old connection: read err %v, want EOF or reset", err)
	}
	// A client reconnects to the same address.
	echoOnce(t, dialT(t, addr), "after")
	if p.URL() != url1 || p.PID() == pid1 || p.PID() == 0 {
		t.Fatalf("URL %q (was %q), pid %d (was %d)", p.URL(), url1, p.PID(), pid1)
	}
	evs, _ := p.Events()
	var got []string
	var exitAt, startAt time.Time
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%d:%s", e.Run, e.Action))
		if e.Action == "exit" {
			exitAt = e.Time
		}
		if e.Action == "start" && e.Run == 2 {
			startAt = e.Time
		}
	}
	want := []string{"1:start", "1:ready", "1:restart", "1:stop", "1:exit", "2:start", "2:ready"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if d := startAt.Sub(exitAt); d < downtime {
		t.Fatalf("down for %v, want at least %v", d, downtime)
	}
}

func TestPauseStopsAnsweringAndResumeAnswersAgain(t *testing.T) {
	p := newProc(t, helperSpec("echo"), nil)
	start(t, p)
	c := dialT(t, p.Addr())
	echoOnce(t, c, "one")

	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := p.Pause(); err != nil { // no-op
		t.Fatal(err)
	}
	pid := p.PID()
	if !pollUntil(5*time.Second, func() bool { return procState(pid) == "T" }) {
		t.Fatalf("state %q, want T (stopped)", procState(pid))
	}
	if !p.Paused() {
		t.Fatal("Paused() false")
	}
	if _, err := c.Write([]byte("two")); err != nil {
		t.Fatal(err)
	}
	// Bounded wait: a paused server answers nothing, the connection stays open.
	_ = c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	if n, err := c.Read(make([]byte, 8)); !isTimeout(err) {
		t.Fatalf("paused server: read %d bytes, err %v; want a timeout", n, err)
	}

	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 3)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "two" {
		t.Fatalf("after resume: %q %v", got, err)
	}
	if got := actions(p); !slices.Equal(got, []string{"start", "ready", "pause", "resume"}) {
		t.Fatalf("events %v", got)
	}
}

func TestStopWhilePausedResumesToDeliverSignal(t *testing.T) {
	p := newProc(t, helperSpec("echo", "-graceful"), nil)
	start(t, p)
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctxT(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	st, _ := p.ExitStatus()
	if st.Code != 0 {
		t.Fatalf("status %v, want a graceful exit", st)
	}
	evs, _ := p.Events()
	if evs[3].Action != "stop" || evs[3].Detail != "SIGTERM+SIGCONT" {
		t.Fatalf("events %v", evs)
	}
}

func TestOutputIsBounded(t *testing.T) {
	const lines = 20000 // 12 bytes each
	p := newProc(t, helperSpec("echo", "-spam", strconv.Itoa(lines)), &Options{OutputLimit: 1000})
	start(t, p)
	out := p.Output()
	if len(out.Stdout) != 1000 {
		t.Fatalf("kept %d bytes, want 1000", len(out.Stdout))
	}
	if out.StdoutTotal < lines*12 {
		t.Fatalf("total %d", out.StdoutTotal)
	}
	if !bytes.HasSuffix(out.Stdout, []byte("\nlistening "+p.URL()+"\n")) {
		t.Fatalf("tail %q", tail(out.Stdout, 80))
	}
	want := fmt.Sprintf("spam %06d\npid ", lines-1)
	if !bytes.Contains(out.Stdout, []byte(want)) {
		t.Fatalf("last spam line missing from %q", out.Stdout)
	}
	if len(out.Stderr) != 0 || out.StderrTotal != 0 {
		t.Fatalf("stderr %q", out.Stderr)
	}
}

func TestOutputTeeAndRing(t *testing.T) {
	r := &ring{limit: 4}
	for _, s := range []string{"ab", "cde", "fghij", "", "k"} {
		_, _ = r.Write([]byte(s))
	}
	if b, n := r.snapshot(); string(b) != "ghij"[1:]+"k" || n != 11 {
		t.Fatalf("ring %q %d", b, n)
	}
	if got := string(r.since(9)); got != "jk" {
		t.Fatalf("since: %q", got)
	}
	if got := lastLines([]byte("a\n\nb\r\nc\n"), 2); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("lastLines %q", got)
	}
}

func TestGroupKillReachesGrandchild(t *testing.T) {
	for _, how := range []string{"kill", "close"} {
		t.Run(how, func(t *testing.T) {
			p := newProc(t, helperSpec("parent"), nil)
			start(t, p)
			m := regexp.MustCompile(`(?m)^pid (\d+)$`).FindSubmatch(p.Output().Stdout)
			if m == nil {
				t.Fatalf("no grandchild pid in %q", p.Output().Stdout)
			}
			gpid, _ := strconv.Atoi(string(m[1]))
			if gpid == p.PID() {
				t.Fatal("grandchild pid is the parent's")
			}
			echoOnce(t, dialT(t, p.Addr()), "grandchild")
			switch how {
			case "kill":
				if err := p.Kill(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				if st := wait(t, p); st.Signal != syscall.SIGTERM {
					t.Fatalf("parent status %v", st)
				}
			case "close":
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
			}
			// Dead: gone or a zombie, and its listening socket closed (a
			// zombie leader thread can precede the release of its files).
			dead := func() bool {
				if s := procState(gpid); s != "" && s != "Z" {
					return false
				}
				c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
				if err == nil {
					c.Close()
					return false
				}
				return true
			}
			if !pollUntil(5*time.Second, dead) {
				t.Fatalf("grandchild %d still alive, state %q", gpid, procState(gpid))
			}
		})
	}
}

func TestLeaderExitSweepsItsGroup(t *testing.T) {
	p := newProc(t, helperSpec("parent", "-usr2", "exit"), nil)
	start(t, p)
	m := regexp.MustCompile(`(?m)^pid (\d+)$`).FindSubmatch(p.Output().Stdout)
	if m == nil {
		t.Fatalf("no grandchild pid in %q", p.Output().Stdout)
	}
	gpid, _ := strconv.Atoi(string(m[1]))
	// SIGUSR2 makes the parent exit on its own (status 4); the grandchild
	// ignores it, so only the sweep after the leader's exit can end it.
	if err := p.Kill(syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, p); st.Code != 4 {
		t.Fatalf("parent status %v", st)
	}
	if !pollUntil(5*time.Second, func() bool { s := procState(gpid); return s == "" || s == "Z" }) {
		t.Fatalf("grandchild %d survived its group leader, state %q", gpid, procState(gpid))
	}
}

func TestCloseIsIdempotentAndFinal(t *testing.T) {
	p := newProc(t, helperSpec("echo"), nil)
	start(t, p)
	pid := p.PID()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if p.Running() {
		t.Fatal("running after Close")
	}
	if s := procState(pid); s != "" && s != "Z" {
		t.Fatalf("pid %d state %q after Close", pid, s)
	}
	if err := p.Start(ctxT(t, time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}
	if err := p.Restart(ctxT(t, time.Second), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("restart after close: %v", err)
	}
	if err := p.Kill(syscall.SIGKILL); !errors.Is(err, ErrClosed) {
		t.Fatalf("kill after close: %v", err)
	}

	q, err := New(helperSpec("echo"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("close of a never-started process: %v", err)
	}
	if _, err := q.Wait(ctxT(t, time.Second)); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("wait: %v", err)
	}
}

func TestCloseAbortsStartInProgress(t *testing.T) {
	p := newProc(t, helperSpec("silent"), &Options{ReadyTimeout: time.Minute})
	errc := make(chan error, 1)
	go func() { errc <- p.Start(context.Background()) }()
	if !pollUntil(10*time.Second, p.Running) {
		t.Fatal("never started")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("start: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after Close")
	}
}

func TestOnEventAndLogBound(t *testing.T) {
	var seen []Event
	p := newProc(t, helperSpec("echo"), &Options{EventLogSize: 2, OnEvent: func(e Event) { seen = append(seen, e) }})
	start(t, p)
	if err := p.Stop(ctxT(t, 20*time.Second)); err != nil {
		t.Fatal(err)
	}
	evs, dropped := p.Events()
	if len(evs) != 2 || dropped != 2 || evs[0].Action != "stop" || evs[1].Action != "exit" {
		t.Fatalf("log %v dropped %d", evs, dropped)
	}
	if len(seen) != 4 || seen[3].Seq != 4 {
		t.Fatalf("OnEvent saw %v", seen)
	}
}
