package testee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Report is one JSON line of the testee's stdout.
type Report struct {
	Ev     string                     // the "ev" field
	Fields map[string]json.RawMessage // every field, "ev" included
	Raw    string                     // the line as written
	At     time.Time                  // when the harness read it
}

// Str returns field k as a string ("" when absent or not a string).
func (r Report) Str(k string) string {
	raw, ok := r.Fields[k]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// parseReport returns the report on line, if line is a JSON object with a
// string "ev".
func parseReport(line []byte, at time.Time) (Report, bool) {
	if len(line) == 0 || (line[0] != '{' && line[0] != ' ' && line[0] != '\t') {
		return Report{}, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(line, &fields) != nil || fields == nil {
		return Report{}, false
	}
	var ev string
	if raw, ok := fields["ev"]; !ok || json.Unmarshal(raw, &ev) != nil {
		return Report{}, false
	}
	return Report{Ev: ev, Fields: fields, Raw: string(line), At: at}, true
}

// Exit is how a testee process ended. Code and Signal are those of the
// process started, `sh -c CMD`: a shell that runs CMD in a child (dash
// does) dies of SIGTERM itself even when CMD ignores it, and By then tells
// what it took to end the whole group.
type Exit struct {
	Code     int    // exit code, -1 when killed by a signal
	Signal   string // the signal that ended it, if any
	By       string // "itself", "stdin closed", "SIGTERM", "SIGKILL"
	Duration time.Duration
}

// How a process ended, for Exit.By.
const (
	ByItself      = "itself"
	ByStdinClosed = "stdin closed"
	BySIGTERM     = "SIGTERM"
	BySIGKILL     = "SIGKILL"
)

// Testee is one running testee process.
type Testee struct {
	opts    Options
	log     *slog.Logger
	cmd     *exec.Cmd
	pid     int // also the process group id
	started time.Time

	stdin     *os.File
	stdinOnce sync.Once

	// leaderExited is closed once the process has exited (on Linux before
	// it is reaped); exitedAt is set before.
	leaderExited chan struct{}
	exitedAt     time.Time
	// sigMu orders group signals against the reaping of the leader: no
	// signal is sent to the group id once reaped is set.
	sigMu     sync.Mutex
	reaped    bool
	stopping  bool          // Stop has begun (under sigMu)
	escalated chan struct{} // closed when Stop has done signalling

	exited chan struct{} // closed once exited and drained

	mu             sync.Mutex
	reports        []Report
	reportBytes    int
	droppedReports int64
	changed        chan struct{}
	done           bool // exited and drained; changed is closed for good
	state          *os.ProcessState
	stdout, stderr keep

	stopOnce sync.Once
	exit     Exit

	wg sync.WaitGroup // every goroutine of the run
}

// Start runs the command. The process is stopped by Stop (or when ctx
// ends); Start never leaves a process behind on error.
func Start(ctx context.Context, opts *Options) (*Testee, error) {
	if opts == nil || opts.Command == "" {
		return nil, ErrNoCommand
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("testee: start: %w", err)
	}
	o := opts.resolved()
	env, err := o.environ()
	if err != nil {
		return nil, err
	}

	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return nil, fmt.Errorf("testee: start: %w", err)
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("testee: start: %w", err)
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("testee: start: %w", err)
	}

	cmd := exec.Command("sh", "-c", o.Command)
	cmd.Dir = o.Dir
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		closeAll()
		return nil, &StartError{Command: o.Command, Err: err}
	}
	// The child has its copies; ours would keep the pipes open.
	inR.Close()
	outW.Close()
	errW.Close()

	t := &Testee{
		opts:         o,
		log:          o.Logger.With("case", o.Case, "pid", cmd.Process.Pid),
		cmd:          cmd,
		pid:          cmd.Process.Pid,
		started:      started,
		stdin:        inW,
		leaderExited: make(chan struct{}),
		exited:       make(chan struct{}),
		escalated:    make(chan struct{}),
		changed:      make(chan struct{}),
		stdout:       newKeep(o.OutputLimit),
		stderr:       newKeep(o.OutputLimit),
	}
	t.log.Debug("testee started", "command", o.Command, "suite", o.Suite)

	readers := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Add(2)
	t.wg.Add(4)
	go func() {
		defer t.wg.Done()
		defer rwg.Done()
		pump(outR, t.sink(&t.stdout), t.line)
	}()
	go func() {
		defer t.wg.Done()
		defer rwg.Done()
		pump(errR, t.sink(&t.stderr), nil)
	}()
	go func() {
		defer t.wg.Done()
		rwg.Wait()
		close(readers)
	}()
	go func() {
		defer t.wg.Done()
		t.waitProcess(readers, outR, errR)
	}()
	if ctx.Done() != nil {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			select {
			case <-ctx.Done():
				t.log.Debug("testee: context ended, stopping", "cause", context.Cause(ctx))
				t.stopOnce.Do(t.stop)
			case <-t.exited:
			}
		}()
	}
	return t, nil
}

func (t *Testee) sink(k *keep) func([]byte) {
	return func(b []byte) {
		t.mu.Lock()
		k.write(b)
		t.mu.Unlock()
	}
}

// line records one stdout line as a report when it is one.
func (t *Testee) line(b []byte, cut bool) {
	if cut {
		return
	}
	r, ok := parseReport(b, time.Now())
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reportBytes+len(b) > t.opts.ReportLimit {
		t.droppedReports++
		return
	}
	t.reportBytes += len(b)
	t.reports = append(t.reports, r)
	close(t.changed)
	t.changed = make(chan struct{})
}

// waitProcess waits for the leader to exit, kills what is left of its
// group, reaps it, drains its output and closes t.exited.
func (t *Testee) waitProcess(readers <-chan struct{}, outR, errR *os.File) {
	var err error
	if canSweep && waitExited(t.pid) == nil {
		// The leader is a zombie: its pid, the group id, stays reserved
		// until it is reaped, so the group can be signalled safely.
		t.exitedAt = time.Now()
		close(t.leaderExited)
		t.sigMu.Lock()
		stopping := t.stopping
		t.sigMu.Unlock()
		if stopping {
			// Stop escalates against what is left of the group.
			<-t.escalated
		} else {
			// Children left behind (forked into the background) die
			// with the group.
			t.signalGroup(syscall.SIGKILL)
		}
		t.sigMu.Lock()
		err = t.cmd.Wait() // at once: the leader has exited
		t.reaped = true
		t.sigMu.Unlock()
	} else {
		// Wait blocks until the exit, so it cannot hold sigMu: a group
		// signal may race with the reaping, and the group is not swept.
		err = t.cmd.Wait()
		t.sigMu.Lock()
		t.reaped = true
		t.sigMu.Unlock()
		t.exitedAt = time.Now()
		close(t.leaderExited)
	}
	t.closeStdin()

	// The pipes reach end of file once every holder is gone; a process
	// that left the group could hold them forever, so the drain is bounded.
	timer := time.NewTimer(t.opts.Grace)
	select {
	case <-readers:
		timer.Stop()
	case <-timer.C:
		t.log.Warn("testee: output still open after exit; a process outside its group holds it")
		past := time.Now().Add(-time.Second)
		if outR.SetReadDeadline(past) != nil {
			outR.Close()
		}
		if errR.SetReadDeadline(past) != nil {
			errR.Close()
		}
		<-readers
	}
	outR.Close()
	errR.Close()

	t.mu.Lock()
	t.state = t.cmd.ProcessState
	t.done = true
	close(t.changed)
	t.mu.Unlock()
	t.log.Debug("testee exited", "state", t.state, "err", err)
	close(t.exited)
}

// signalGroup sends sig to the process group unless the leader has been
// reaped (its id could then name another group).
func (t *Testee) signalGroup(sig syscall.Signal) {
	t.sigMu.Lock()
	defer t.sigMu.Unlock()
	if t.reaped {
		return
	}
	if err := syscall.Kill(-t.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.log.Warn("testee: signalling the process group", "signal", signalName(sig), "err", err)
	}
}

func (t *Testee) closeStdin() {
	t.stdinOnce.Do(func() { t.stdin.Close() })
}

// Reports returns the report lines read so far.
func (t *Testee) Reports() []Report {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Report(nil), t.reports...)
}

// DroppedReports returns how many report lines were dropped beyond
// Options.ReportLimit.
func (t *Testee) DroppedReports() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.droppedReports
}

// Await returns the first report (from the start of the run) that match
// accepts, waiting until ctx ends or the process has exited and its
// stdout is drained. A nil match accepts any report. It returns an [*ExitedError] (errors.Is ErrExited)
// when the process exited without a matching report, and an error wrapping
// ctx's error when ctx ended first.
func (t *Testee) Await(ctx context.Context, match func(Report) bool) (Report, error) {
	if match == nil {
		match = func(Report) bool { return true }
	}
	next := 0
	for {
		t.mu.Lock()
		for ; next < len(t.reports); next++ {
			if r := t.reports[next]; match(r) {
				t.mu.Unlock()
				return r, nil
			}
		}
		done, changed := t.done, t.changed
		t.mu.Unlock()
		if done {
			return Report{}, t.exitedError()
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Report{}, fmt.Errorf("testee: awaiting a report: %w", context.Cause(ctx))
		}
	}
}

func (t *Testee) exitedError() *ExitedError {
	code, sig := exitStatus(t.state)
	_, stderr, _, _ := t.Output()
	return &ExitedError{Code: code, Signal: sig, Stderr: lastLines(stderr, 10, 2048)}
}

// Changed is closed at the next report line or at exit.
func (t *Testee) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// Exited is closed once the process has exited and its output is drained.
func (t *Testee) Exited() <-chan struct{} { return t.exited }

// Stop ends the run: close stdin, wait Grace for the process to exit by
// itself, then SIGTERM the process group, wait Grace, then SIGKILL the
// group; it returns how the process ended. Stop is idempotent.
func (t *Testee) Stop() Exit {
	t.stopOnce.Do(t.stop)
	t.wg.Wait()
	return t.exit
}

func (t *Testee) stop() {
	t.sigMu.Lock()
	t.stopping = true
	t.sigMu.Unlock()
	by, end := ByItself, time.Time{}
	select {
	case <-t.leaderExited:
		// It ended before Stop; sweep its group in case the exit
		// watcher saw Stop begin and left the sweep to it.
		t.signalGroup(syscall.SIGKILL)
		end = t.exitedAt
	default:
		t.closeStdin()
		by = ByStdinClosed
		if !t.waitGone(t.opts.Grace) {
			t.signalGroup(syscall.SIGTERM)
			by = BySIGTERM
			if !t.waitGone(t.opts.Grace) {
				t.signalGroup(syscall.SIGKILL)
				by = BySIGKILL
			}
		}
		end = time.Now()
	}
	close(t.escalated)
	<-t.exited
	if by == BySIGKILL {
		end = time.Now()
	}
	code, sig := exitStatus(t.state)
	t.exit = Exit{Code: code, Signal: sig, By: by, Duration: end.Sub(t.started)}
	t.log.Debug("testee stopped", "by", by, "code", code, "signal", sig)
}

// waitGone waits up to d for the leader to exit and, where that can be
// seen, for the rest of its group to end too: `sh -c CMD` may run CMD in a
// child that outlives the shell (a testee ignoring SIGTERM under a shell
// that does not).
func (t *Testee) waitGone(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-t.leaderExited:
	case <-timer.C:
		return false
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if !t.groupAlive() {
			return true
		}
		select {
		case <-tick.C:
		case <-timer.C:
			return false
		}
	}
}

// groupAlive reports whether a process of the group other than the leader
// is still running, while the group id is known to be ours.
func (t *Testee) groupAlive() bool {
	t.sigMu.Lock()
	defer t.sigMu.Unlock()
	return !t.reaped && groupAlive(t.pid)
}

// Output returns the kept stdout and stderr and how many bytes of each
// were dropped beyond OutputLimit. Where bytes were dropped, a marker line
// "[siospec: N bytes dropped]" separates the kept head from the kept tail.
func (t *Testee) Output() (stdout, stderr string, droppedOut, droppedErr int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	stdout, droppedOut = t.stdout.text()
	stderr, droppedErr = t.stderr.text()
	return stdout, stderr, droppedOut, droppedErr
}

// exitStatus returns the exit code and the signal name of state.
func exitStatus(state *os.ProcessState) (int, string) {
	if state == nil {
		return -1, ""
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, signalName(ws.Signal())
	}
	return state.ExitCode(), ""
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGBUS:
		return "SIGBUS"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	}
	return fmt.Sprintf("signal %d", int(s))
}
