package testee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// start runs a testee and stops it when the test ends. The grace is the
// default one unless given: shorter ones make By depend on the machine's
// load.
func start(t *testing.T, ctx context.Context, o Options) *Testee {
	t.Helper()
	tt, err := Start(ctx, &o)
	if err != nil {
		t.Fatalf("Start(%q): %v", o.Command, err)
	}
	t.Cleanup(func() { tt.Stop() })
	return tt
}

func awaitExit(t *testing.T, tt *Testee, d time.Duration) {
	t.Helper()
	select {
	case <-tt.Exited():
	case <-time.After(d):
		t.Fatalf("testee not exited after %s", d)
	}
}

func ev(name string) func(Report) bool { return func(r Report) bool { return r.Ev == name } }

func await(t *testing.T, tt *Testee, name string) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := tt.Await(ctx, ev(name))
	if err != nil {
		t.Fatalf("Await(%s): %v", name, err)
	}
	return r
}

func evs(rs []Report) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Ev)
	}
	return out
}

// gone polls until no process of group pgid runs any more (zombies
// waiting for their reaper run no code) and, when pid > 0, until pid is
// gone too. With strict, it also waits until kill(-pgid, 0) fails with
// ESRCH, which takes as long as the reaper of orphans takes (seconds here).
func gone(t *testing.T, pgid, pid int, strict bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for groupAlive(pgid) || (pid > 0 && running(pid)) {
		if time.Now().After(deadline) {
			t.Fatalf("processes left in group %d (pid %d running = %v)", pgid, pid, running(pid))
		}
		time.Sleep(10 * time.Millisecond) // polling kernel state, bounded
	}
	deadline = time.Now().Add(15 * time.Second)
	for strict {
		err := syscall.Kill(-pgid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kill(-%d, 0) = %v, want ESRCH", pgid, err)
		}
		time.Sleep(20 * time.Millisecond) // polling kernel state, bounded
	}
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func TestReportsParsed(t *testing.T) {
	tt := start(t, context.Background(), Options{Command: "./testdata/reports.sh json"})
	awaitExit(t, tt, 10*time.Second)
	rs := tt.Reports()
	if got, want := strings.Join(evs(rs), ","), "ready,crlf,spaced,message,last"; got != want {
		t.Fatalf("reports = %s, want %s", got, want)
	}
	if s := rs[0].Str("library"); s != "reports 0" {
		t.Errorf(`Str("library") = %q`, s)
	}
	if s := rs[0].Str("missing"); s != "" {
		t.Errorf(`Str("missing") = %q`, s)
	}
	if s := rs[1].Str("n"); s != "" {
		t.Errorf(`Str of a number = %q, want ""`, s)
	}
	if s := rs[2].Str("s"); s != "xé" {
		t.Errorf(`Str("s") = %q`, s)
	}
	if string(rs[2].Fields["nested"]) != `{"a":[1,2]}` || string(rs[2].Fields["ev"]) != `"spaced"` {
		t.Errorf("Fields = %v", rs[2].Fields)
	}
	if rs[3].Raw != `{"ev":"message","data":"hello"}` || rs[1].Raw != `{"ev":"crlf","n":1}` {
		t.Errorf("Raw = %q, %q", rs[3].Raw, rs[1].Raw)
	}
	for i, r := range rs {
		if r.At.IsZero() || (i > 0 && r.At.Before(rs[i-1].At)) {
			t.Errorf("report %d stamped %v", i, r.At)
		}
	}
	out, _, dropped, _ := tt.Output()
	if !strings.Contains(out, "plain text, not a report\n") || !strings.HasSuffix(out, `{"ev":"last"}`) || dropped != 0 {
		t.Errorf("stdout = %q (dropped %d)", out, dropped)
	}
	if e := tt.Stop(); e.By != ByItself || e.Code != 0 || e.Signal != "" || e.Duration <= 0 {
		t.Errorf("Stop = %+v", e)
	}
}

func TestPartialLastLine(t *testing.T) {
	tt := start(t, context.Background(), Options{Command: "./testdata/reports.sh broken"})
	awaitExit(t, tt, 10*time.Second)
	if got := strings.Join(evs(tt.Reports()), ","); got != "ready,crlf,spaced,message" {
		t.Fatalf("reports = %s", got)
	}
	if out, _, _, _ := tt.Output(); !strings.HasSuffix(out, `{"ev":"partial`) {
		t.Errorf("stdout does not end with the partial line: %q", out)
	}
}

func TestEnvironment(t *testing.T) {
	dir, _ := filepath.Abs("testdata")
	tt := start(t, context.Background(), Options{
		Command: "./env.sh",
		Dir:     dir,
		URL:     "http://127.0.0.1:1/socket.io/",
		Suite:   "sio5",
		Case:    "connect-auth",
		Options: map[string]any{"reconnection": false, "auth": map[string]any{"token": "t"}},
		Seed:    -42,
		Env:     []string{"EXTRA=yes", "SIOSPEC_SUITE=overridden"},
	})
	r := await(t, tt, "env")
	want := map[string]string{
		"url": "http://127.0.0.1:1/socket.io/", "suite": "overridden", "case": "connect-auth",
		"transports": DefaultTransports, "seed": "-42", "extra": "yes",
	}
	for k, v := range want {
		if got := r.Str(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	var opts map[string]any
	if err := json.Unmarshal(r.Fields["options"], &opts); err != nil || opts["reconnection"] != false {
		t.Errorf("options = %s (%v)", r.Fields["options"], err)
	}
	awaitExit(t, tt, 10*time.Second)
	if _, stderr, _, _ := tt.Output(); strings.TrimSpace(stderr) != dir {
		t.Errorf("working directory = %q, want %q", stderr, dir)
	}

	tt = start(t, context.Background(), Options{Command: "./testdata/env.sh", Transports: "websocket"})
	r = await(t, tt, "env")
	if string(r.Fields["options"]) != "{}" || r.Str("transports") != "websocket" {
		t.Errorf("nil options and transports: %s", r.Raw)
	}
}

func TestCrash(t *testing.T) {
	tt := start(t, context.Background(), Options{Command: "./testdata/crash.sh"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := tt.Await(ctx, ev("never"))
	var ee *ExitedError
	if !errors.As(err, &ee) || !errors.Is(err, ErrExited) {
		t.Fatalf("Await = %v, want an ExitedError", err)
	}
	if ee.Code != 1 || ee.Signal != "" || !strings.Contains(ee.Stderr, "something went badly wrong") {
		t.Errorf("ExitedError = %+v", ee)
	}
	if !strings.Contains(err.Error(), "exit code 1") || !strings.Contains(err.Error(), "badly wrong") {
		t.Errorf("message = %q", err)
	}
	if r, err := tt.Await(ctx, nil); err != nil || r.Ev != "ready" {
		t.Errorf("Await(nil) = %v, %v", r.Raw, err)
	}
	// Await looks from the start of the run, even after the exit.
	if r := await(t, tt, "ready"); r.Str("library") != "crash 0" {
		t.Errorf("ready = %s", r.Raw)
	}
	select {
	case <-tt.Changed():
	default:
		t.Error("Changed not closed after the exit")
	}
	if e := tt.Stop(); e.By != ByItself || e.Code != 1 {
		t.Errorf("Stop = %+v", e)
	}
}

func TestHangKilledBySIGKILL(t *testing.T) {
	const grace = 200 * time.Millisecond
	// Under the shell of `sh -c`, which dies of SIGTERM, and as the
	// leader itself (exec).
	for _, cmd := range []string{"./testdata/hang.sh", "exec ./testdata/hang.sh"} {
		t.Run(cmd, func(t *testing.T) {
			tt := start(t, context.Background(), Options{Command: cmd, Grace: grace})
			await(t, tt, "ready")
			// The checks of gone can fail: they see the running testee.
			if !groupAlive(tt.pid) || !running(tt.pid) {
				t.Fatal("groupAlive or running does not see the running testee")
			}
			begin := time.Now()
			e := tt.Stop()
			took := time.Since(begin)
			if e.By != BySIGKILL || e.Code != -1 {
				t.Errorf("Stop = %+v", e)
			}
			if strings.HasPrefix(cmd, "exec") && e.Signal != "SIGKILL" {
				t.Errorf("Stop = %+v, want Signal SIGKILL", e)
			}
			if took < 2*grace || took > 2*grace+2*time.Second {
				t.Errorf("Stop took %s, want about %s", took, 2*grace)
			}
			gone(t, tt.pid, 0, false)
		})
	}
}

func TestSIGTERM(t *testing.T) {
	tt := start(t, context.Background(), Options{Command: "exec ./testdata/term.sh"})
	await(t, tt, "ready")
	if e := tt.Stop(); e.By != BySIGTERM || e.Code != 3 || e.Signal != "" {
		t.Errorf("Stop = %+v", e)
	}
	gone(t, tt.pid, 0, false)

	// Under the shell of `sh -c`: the shell dies of the signal.
	tt = start(t, context.Background(), Options{Command: "./testdata/term.sh"})
	await(t, tt, "ready")
	if e := tt.Stop(); e.By != BySIGTERM || e.Code != -1 || e.Signal != "SIGTERM" {
		t.Errorf("Stop = %+v", e)
	}
	gone(t, tt.pid, 0, false)
}

func TestStdinClosed(t *testing.T) {
	tt := start(t, context.Background(), Options{Command: "./testdata/stdin.sh", Grace: 5 * time.Second})
	await(t, tt, "ready")
	begin := time.Now()
	e := tt.Stop()
	if e.By != ByStdinClosed || e.Code != 0 || time.Since(begin) > 4*time.Second {
		t.Errorf("Stop = %+v after %s", e, time.Since(begin))
	}
	if got := strings.Join(evs(tt.Reports()), ","); got != "ready,stdin-eof" {
		t.Errorf("reports = %s", got)
	}
}

func TestFlood(t *testing.T) {
	for _, stream := range []string{"out", "err"} {
		t.Run(stream, func(t *testing.T) {
			const limit = 16 << 10
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			tt := start(t, context.Background(), Options{Command: "./testdata/flood.sh " + stream, OutputLimit: limit})
			awaitExit(t, tt, 60*time.Second)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("reading 10 MiB allocated %d bytes", alloc)
			}
			if got := strings.Join(evs(tt.Reports()), ","); got != "after-flood" {
				t.Errorf("reports = %s", got)
			}
			stdout, stderr, dOut, dErr := tt.Output()
			flooded, dropped, other := stdout, dOut, stderr
			if stream == "err" {
				flooded, dropped, other = stderr, dErr, stdout
			}
			if kept := int64(len(flooded)) - int64(len(fmt.Sprintf("\n[siospec: %d bytes dropped]\n", dropped))); kept != limit {
				t.Errorf("kept %d bytes, want %d", kept, limit)
			}
			if want := int64(10<<20) - limit; dropped < want {
				t.Errorf("dropped %d bytes, want at least %d", dropped, want)
			}
			if !strings.HasPrefix(flooded, "flood flood") || !strings.Contains(flooded, "bytes dropped]\n") {
				t.Errorf("flooded stream starts %q", flooded[:min(len(flooded), 100)])
			}
			// The tail is kept: the last lines show.
			if stream == "out" && !strings.HasSuffix(flooded, "{\"ev\":\"after-flood\"}\n") {
				t.Errorf("stdout tail = %q", flooded[max(0, len(flooded)-100):])
			}
			if stream == "err" && !strings.HasSuffix(flooded, "flood.sh: the end\n") {
				t.Errorf("stderr tail = %q", flooded[max(0, len(flooded)-100):])
			}
			if len(other) > 200 {
				t.Errorf("other stream = %d bytes", len(other))
			}
		})
	}
}

func TestLongLineCut(t *testing.T) {
	tt := start(t, context.Background(), Options{Command: "./testdata/longline.sh"})
	awaitExit(t, tt, 30*time.Second)
	if got := strings.Join(evs(tt.Reports()), ","); got != "after-long-line" {
		t.Errorf("reports = %s", got)
	}
	if _, _, dropped, _ := tt.Output(); dropped < 3<<20-DefaultOutputLimit {
		t.Errorf("dropped = %d", dropped)
	}
}

func TestReportLimit(t *testing.T) {
	tt := start(t, context.Background(), Options{Command: "./testdata/reports.sh json", ReportLimit: 40})
	awaitExit(t, tt, 10*time.Second)
	if got := strings.Join(evs(tt.Reports()), ","); got != "ready" {
		t.Errorf("reports = %s", got)
	}
	if n := tt.DroppedReports(); n != 4 {
		t.Errorf("DroppedReports = %d, want 4", n)
	}
}

func TestForkedChildKilled(t *testing.T) {
	for _, mode := range []string{"holding-output", "quiet"} {
		t.Run(mode, func(t *testing.T) {
			tt := start(t, context.Background(), Options{Command: "./testdata/fork.sh " + mode, Grace: 5 * time.Second})
			r := await(t, tt, "child")
			child, err := strconv.Atoi(string(r.Fields["pid"]))
			if err != nil || child <= 0 {
				t.Fatalf("child pid %s", r.Fields["pid"])
			}

			// The exit sweeps the group: the child holding the pipes does not
			// delay Exited until the drain bound (Grace, 5 s here).
			awaitExit(t, tt, 3*time.Second)
			gone(t, tt.pid, child, true)
			if e := tt.Stop(); e.By != ByItself || e.Code != 0 {
				t.Errorf("Stop = %+v", e)
			}
		})
	}
}

func TestContextEndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tt := start(t, ctx, Options{Command: "./testdata/stdin.sh"})
	await(t, tt, "ready")
	cancel()
	awaitExit(t, tt, 5*time.Second)
	if e := tt.Stop(); e.By != ByStdinClosed {
		t.Errorf("Stop = %+v", e)
	}

	if _, err := Start(ctx, &Options{Command: "./testdata/stdin.sh"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Start after the context ended: %v", err)
	}
}

func TestStopConcurrentAndIdempotent(t *testing.T) {
	tt := start(t, context.Background(), Options{Command: "./testdata/term.sh"})
	await(t, tt, "ready")
	var wg sync.WaitGroup
	exits := make([]Exit, 4)
	for i := range exits {
		wg.Go(func() { exits[i] = tt.Stop() })
	}
	wg.Wait()
	for _, e := range exits {
		if e != exits[0] || e.By != BySIGTERM {
			t.Errorf("Stop = %+v, first %+v", e, exits[0])
		}
	}
	if e := tt.Stop(); e != exits[0] {
		t.Errorf("Stop again = %+v", e)
	}
	// Every method still works after Stop.
	_ = tt.Reports()
	_, _, _, _ = tt.Output()
	<-tt.Changed()
}

func TestAwaitContextAndChanged(t *testing.T) {
	tt := start(t, context.Background(), Options{Command: "./testdata/stdin.sh"})
	await(t, tt, "ready")
	changed := tt.Changed()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := tt.Await(ctx, ev("never")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Await = %v, want DeadlineExceeded", err)
	}
	select {
	case <-changed:
		t.Fatal("Changed closed without a report")
	default:
	}
	tt.Stop() // stdin.sh reports stdin-eof, then exits
	select {
	case <-changed:
	default:
		t.Error("Changed not closed")
	}
}

func TestStartErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, nil); !errors.Is(err, ErrNoCommand) {
		t.Errorf("nil options: %v", err)
	}
	if _, err := Start(ctx, &Options{}); !errors.Is(err, ErrNoCommand) {
		t.Errorf("no command: %v", err)
	}
	if _, err := Start(ctx, &Options{Command: "true", Options: map[string]any{"f": func() {}}}); err == nil {
		t.Error("options that are not JSON: no error")
	}
	var se *StartError
	if _, err := Start(ctx, &Options{Command: "true", Dir: "/nonexistent/dir"}); !errors.As(err, &se) {
		t.Errorf("missing dir: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Start(cctx, &Options{Command: "true"}); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: %v", err)
	}
}

func TestProbe(t *testing.T) {
	ctx := context.Background()
	probe := func(cmd string, timeout time.Duration) error {
		return Probe(ctx, &Options{Command: cmd, Suite: "sio5", Grace: 100 * time.Millisecond}, timeout)
	}
	if err := probe("./testdata/contract.sh", 10*time.Second); err != nil {
		t.Errorf("contract.sh: %v", err)
	}
	cases := []struct {
		cmd     string
		problem Problem
		code    int
		in      string
	}{
		{"./testdata/always0.sh", ProblemExit, 0, "exited with code 0 instead of 127"},
		{"./testdata/crash.sh", ProblemExit, 1, "exited with code 1"},
		{"siospec-no-such-command-x1", ProblemNotFound, 127, "could not find the command"},
		{"./testdata/no-such-file.sh", ProblemNotFound, 127, "could not find the command"},
		{"./testdata/hang.sh", ProblemHang, -1, "did not exit within 300ms"},
	}
	for _, c := range cases {
		err := probe(c.cmd, 300*time.Millisecond)
		var ce *ContractError
		if !errors.As(err, &ce) || !errors.Is(err, ErrContract) {
			t.Errorf("%s: Probe = %v, want a ContractError", c.cmd, err)
			continue
		}
		if ce.Problem != c.problem || ce.Exit.Code != c.code || ce.Command != c.cmd ||
			!strings.HasPrefix(ce.Case, "siospec-no-such-case-") {
			t.Errorf("%s: %+v", c.cmd, ce)
		}
		msg := err.Error()
		if !strings.Contains(msg, c.in) || !strings.Contains(msg, "testees/CLIENT-CONTRACT.md, section 1") {
			t.Errorf("%s: message %q", c.cmd, msg)
		}
	}
	err := Probe(ctx, &Options{Command: "true", Dir: "/nonexistent/dir"}, time.Second)
	if ce := (*ContractError)(nil); !errors.As(err, &ce) || ce.Problem != ProblemStart {
		t.Errorf("missing dir: %v", err)
	}
	if err := Probe(ctx, nil, time.Second); !errors.Is(err, ErrNoCommand) {
		t.Errorf("nil options: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := Probe(cctx, &Options{Command: "./testdata/hang.sh", Grace: 50 * time.Millisecond}, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ended context: %v", err)
	}
}

func TestKeep(t *testing.T) {
	k := newKeep(8) // head 6, tail 2
	k.write([]byte("abc"))
	if s, d := k.text(); s != "abc" || d != 0 {
		t.Errorf("text = %q, %d", s, d)
	}
	k.write([]byte("defg"))
	k.write([]byte("h"))
	if s, d := k.text(); s != "abcdefgh" || d != 0 {
		t.Errorf("text = %q, %d", s, d)
	}
	for _, c := range "ijklmnop" {
		k.write([]byte{byte(c)})
	}
	if s, d := k.text(); s != "abcdef\n[siospec: 8 bytes dropped]\nop" || d != 8 {
		t.Errorf("text = %q, %d", s, d)
	}
	k.write([]byte("0123456789"))
	if s, d := k.text(); s != "abcdef\n[siospec: 18 bytes dropped]\n89" || d != 18 {
		t.Errorf("text = %q, %d", s, d)
	}
	if len(k.tail) > 2*k.tailCap {
		t.Errorf("tail grew to %d", len(k.tail))
	}
}

func TestLastLines(t *testing.T) {
	if got := lastLines("a\n\nb\r\nc\n\n", 2, 100); got != "b\nc" {
		t.Errorf("lastLines = %q", got)
	}
	if got := lastLines("short\n"+strings.Repeat("x", 50), 3, 10); got != strings.Repeat("x", 10) {
		t.Errorf("lastLines = %q", got)
	}
}
