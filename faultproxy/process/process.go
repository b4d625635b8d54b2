package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Spec says what to run.
type Spec struct {
	// Path is the program. A name without a slash is looked up in PATH by
	// [New]; a relative path with a slash is taken relative to Dir.
	Path string
	// Args are the arguments, not including the program name.
	Args []string
	// Env holds "KEY=value" entries added to the environment inherited from
	// the current process; an entry replaces an inherited one with the same
	// key. Nil: the inherited environment unchanged.
	Env []string
	// Dir is the working directory. Empty: the current directory.
	Dir string
}

// Options configure a [Process]. A nil *Options or a zero field means the
// default given in the field's comment.
type Options struct {
	// Ready says when a started process counts as ready. Zero: as soon as
	// the program has been executed.
	Ready ReadyCheck
	// ReadyTimeout bounds the wait for readiness in Start (and in the start
	// half of Restart). Default 10s.
	ReadyTimeout time.Duration
	// StopSignal is sent to the process group by Stop, Restart and Close.
	// Default SIGTERM.
	StopSignal syscall.Signal
	// StopTimeout is how long Stop waits after StopSignal before it sends
	// SIGKILL. Default 5s.
	StopTimeout time.Duration
	// OutputLimit is how many bytes of each stream (stdout, stderr) are
	// kept, over all runs; older bytes are dropped. Default 64 KiB.
	OutputLimit int
	// DrainTimeout is how long, after the process exited, its output pipes
	// may stay open (held by a process that left the group) before the
	// controller closes them. Default 1s.
	DrainTimeout time.Duration
	// Stdout and Stderr, if set, receive a copy of each stream as it is
	// read (for example a test's log writer). Writes are serialised per
	// stream and must not block for long.
	Stdout, Stderr io.Writer
	// Logger receives debug records for every event and a warning when the
	// process exits on its own. Nil: discard.
	Logger *slog.Logger
	// OnEvent, if set, is called synchronously for every event, in Seq
	// order, from the controller's goroutines; it must not block for long
	// and must not call methods of the Process.
	OnEvent func(Event)
	// EventLogSize is how many events are kept (the oldest are dropped
	// first). Default 10000.
	EventLogSize int
}

// Process controls one program under test: it starts it in its own process
// group, waits until it is ready, signals, stops, restarts, pauses and
// resumes it, and captures its output. Create it with [New]; it is not
// running until [Process.Start]. All methods are safe for concurrent use.
type Process struct {
	spec Spec
	opts Options
	log  *slog.Logger

	events         *eventLog
	stdout, stderr *ring

	// lifecycle serialises Start, Stop, Restart, fault application and
	// Close; a channel so that waiting for it can honour a context.
	lifecycle   chan struct{}
	closeCtx    context.Context
	closeCancel context.CancelFunc
	closeOnce   sync.Once
	closeErr    error
	wg          sync.WaitGroup // waiter and output goroutines of every run

	mu     sync.Mutex
	closed bool
	cur    *run // current or last run; nil before the first Start
	runs   int
	url    string
	addr   string
}

// run is one instance of the program.
type run struct {
	n    int
	pid  int
	cmd  *exec.Cmd
	done chan struct{} // closed once reaped, status set and exit logged
	line chan string   // StdoutLine capture, capacity 1

	outMark, errMark int64

	// Guarded by Process.mu.
	exited   bool // the leader has exited (zombie or reaped)
	paused   bool
	expected bool   // the controller signalled it, so the exit is no surprise
	cause    string // fault name to log with the exit
	status   ExitStatus
}

// New validates spec and opts and returns a stopped Process.
func New(spec Spec, opts *Options) (*Process, error) {
	if spec.Path == "" {
		return nil, &ConfigError{Field: "Spec.Path", Reason: "empty"}
	}
	spec.Args = append([]string(nil), spec.Args...)
	spec.Env = append([]string(nil), spec.Env...)
	if !strings.Contains(spec.Path, "/") {
		path, err := exec.LookPath(spec.Path)
		if err != nil {
			return nil, fmt.Errorf("process: look up %s: %w", spec.Path, err)
		}
		spec.Path = path
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	p := &Process{
		spec:      spec,
		opts:      o,
		log:       o.Logger,
		lifecycle: make(chan struct{}, 1),
		stdout:    &ring{limit: o.OutputLimit, tee: o.Stdout},
		stderr:    &ring{limit: o.OutputLimit, tee: o.Stderr},
	}
	p.events = newEventLog(o.EventLogSize, o.OnEvent)
	p.closeCtx, p.closeCancel = context.WithCancel(context.Background())
	return p, nil
}

func (o *Options) setDefaults() error {
	neg := func(field string, v time.Duration) error {
		if v < 0 {
			return &ConfigError{Field: "Options." + field, Reason: fmt.Sprintf("negative duration %v", v)}
		}
		return nil
	}
	if err := errors.Join(neg("ReadyTimeout", o.ReadyTimeout), neg("StopTimeout", o.StopTimeout),
		neg("DrainTimeout", o.DrainTimeout), neg("Ready.Interval", o.Ready.Interval)); err != nil {
		return err
	}
	if o.OutputLimit < 0 {
		return &ConfigError{Field: "Options.OutputLimit", Reason: fmt.Sprintf("negative size %d", o.OutputLimit)}
	}
	if o.EventLogSize < 0 {
		return &ConfigError{Field: "Options.EventLogSize", Reason: fmt.Sprintf("negative size %d", o.EventLogSize)}
	}
	if o.StopSignal < 0 {
		return &ConfigError{Field: "Options.StopSignal", Reason: fmt.Sprintf("invalid signal %d", int(o.StopSignal))}
	}
	if err := o.Ready.validate(); err != nil {
		return err
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	if o.StopSignal == 0 {
		o.StopSignal = syscall.SIGTERM
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 5 * time.Second
	}
	if o.OutputLimit == 0 {
		o.OutputLimit = 64 << 10
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = time.Second
	}
	if o.EventLogSize == 0 {
		o.EventLogSize = 10000
	}
	if o.Ready.Interval == 0 {
		o.Ready.Interval = 25 * time.Millisecond
	}
	if o.Ready.HTTPStatus == 0 {
		o.Ready.HTTPStatus = 200
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// FreePort returns a TCP port that is free on 127.0.0.1 at the time of the
// call, for a program that must be restarted on the same port: pass it in
// [Spec.Args]. Another process may take the port before the program binds
// it; on loopback in a test that is rare.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("process: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// event logs one event and mirrors it to the logger. Signalling methods
// call it under p.mu right after the signal, so that the waiter, which needs
// p.mu to mark the run exited, cannot log the exit first.
func (p *Process) event(r *run, action, fault, detail string) {
	e := Event{Action: action, Fault: fault, Detail: detail}
	if r != nil {
		e.Run, e.PID = r.n, r.pid
	}
	e = p.events.add(e)
	p.log.Debug("process", "action", action, "run", e.Run, "pid", e.PID, "fault", fault, "step", e.Step, "detail", detail)
}

// Events returns the logged events, oldest first, and how many older ones
// were dropped to respect [Options.EventLogSize].
func (p *Process) Events() ([]Event, uint64) { return p.events.snapshot() }

// Output returns what the process wrote so far, over all runs.
func (p *Process) Output() Output {
	var o Output
	o.Stdout, o.StdoutTotal = p.stdout.snapshot()
	o.Stderr, o.StderrTotal = p.stderr.snapshot()
	return o
}

// URL returns the URL captured by the ready check's StdoutLine in the
// current run (the first capture group, when it contains "://"); empty
// otherwise.
func (p *Process) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url
}

// Addr returns the process's address as host:port: the host of the captured
// URL, a captured host:port, or else the ready check's TCP address or the
// host of its absolute HTTP URL. Empty when none applies.
func (p *Process) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// PID returns the process id of the running process (also its process
// group id), or 0 when it is not running.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil || p.cur.exited {
		return 0
	}
	return p.cur.pid
}

// Running reports whether the process has been started and has not exited.
func (p *Process) Running() bool { return p.PID() != 0 }

// Paused reports whether the process is stopped by [Process.Pause].
func (p *Process) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur != nil && !p.cur.exited && p.cur.paused
}

// ExitStatus returns how the last run ended; false while it runs or before
// the first Start.
func (p *Process) ExitStatus() (ExitStatus, bool) {
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	if r == nil {
		return ExitStatus{}, false
	}
	select {
	case <-r.done:
		return r.status, true
	default:
		return ExitStatus{}, false
	}
}

// Wait waits until the current run exits and returns its status. It
// returns [ErrNotStarted] before the first Start, and the context's error
// if ctx ends first.
func (p *Process) Wait(ctx context.Context) (ExitStatus, error) {
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	if r == nil {
		return ExitStatus{}, ErrNotStarted
	}
	select {
	case <-r.done:
		return r.status, nil
	case <-ctx.Done():
		return ExitStatus{}, fmt.Errorf("process: wait: %w", context.Cause(ctx))
	}
}

// acquire takes the lifecycle lock, giving up when ctx ends or the Process
// is closed.
func (p *Process) acquire(ctx context.Context) (func(), error) {
	select {
	case <-p.closeCtx.Done():
		return nil, ErrClosed
	default:
	}
	select {
	case p.lifecycle <- struct{}{}:
		return func() { <-p.lifecycle }, nil
	case <-p.closeCtx.Done():
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("process: %w", context.Cause(ctx))
	}
}

// withClose returns a context that also ends, with cause ErrClosed, when the
// Process is closed.
func (p *Process) withClose(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(p.closeCtx, func() { cancel(ErrClosed) })
	return ctx, func() { stop(); cancel(nil) }
}

// Start starts the program and returns once it is ready (see [ReadyCheck]).
// If the program exits first, Start returns an *[ExitedError]; if it is not
// ready within [Options.ReadyTimeout], Start stops it and returns a
// *[NotReadyError]; if ctx ends first, Start stops it and returns the
// context's error. The process outlives ctx: end it with Stop or Close.
// Start returns [ErrRunning] if the process is running.
func (p *Process) Start(ctx context.Context) error {
	release, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return p.startLocked(ctx, "")
}

func (p *Process) startLocked(ctx context.Context, fault string) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	prev := p.cur
	if prev != nil && !prev.exited {
		p.mu.Unlock()
		return ErrRunning
	}
	p.mu.Unlock()
	if prev != nil {
		// It has exited; done follows once its output is drained.
		select {
		case <-prev.done:
		case <-ctx.Done():
			return fmt.Errorf("process: start: %w", context.Cause(ctx))
		}
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("process: start: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("process: start: %w", err)
	}
	cmd := &exec.Cmd{
		Path:        p.spec.Path,
		Args:        append([]string{p.spec.Path}, p.spec.Args...),
		Dir:         p.spec.Dir,
		Stdout:      outW,
		Stderr:      errW,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if p.spec.Env != nil {
		cmd.Env = append(os.Environ(), p.spec.Env...)
	}
	r := &run{
		cmd:     cmd,
		done:    make(chan struct{}),
		line:    make(chan string, 1),
		outMark: p.stdout.mark(),
		errMark: p.stderr.mark(),
	}
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return fmt.Errorf("process: start %s: %w", p.spec.Path, err)
	}
	r.pid = cmd.Process.Pid

	p.mu.Lock()
	p.runs++
	r.n = p.runs
	p.cur = r
	p.url, p.addr = "", ""
	p.mu.Unlock()
	p.event(r, "start", fault, "")

	var readers sync.WaitGroup
	readers.Add(2)
	p.wg.Add(3)
	go func() {
		defer p.wg.Done()
		defer readers.Done()
		pump(outR, p.stdout, p.opts.Ready.StdoutLine, r.line)
	}()
	go func() {
		defer p.wg.Done()
		defer readers.Done()
		pump(errR, p.stderr, nil, nil)
	}()
	go func() {
		defer p.wg.Done()
		p.waitRun(r, &readers, outR, errR)
	}()

	if err := p.waitReady(ctx, r, fault); err != nil {
		var exited *ExitedError
		if !errors.As(err, &exited) {
			// Stop what we started; bounded, independent of ctx.
			sctx, cancel := context.WithTimeout(context.Background(), p.opts.StopTimeout+p.opts.DrainTimeout+5*time.Second)
			defer cancel()
			_ = p.stopRun(sctx, r, p.opts.StopSignal, "stop", fault)
		}
		return err
	}
	return nil
}

// waitRun observes the exit of r, sweeps its process group, reaps it and
// drains its output.
func (p *Process) waitRun(r *run, readers *sync.WaitGroup, outR, errR *os.File) {
	swept := false
	if canSweep && waitExited(r.pid) == nil {
		p.mu.Lock()
		r.exited = true
		// The leader is a zombie, so the group id is still ours: kill
		// whatever is left in the group (a child of `sh -c`, a worker)
		// so that nothing holds the port or the pipes.
		_ = syscall.Kill(-r.pid, syscall.SIGKILL)
		p.mu.Unlock()
		swept = true
	}
	_ = r.cmd.Wait()
	if !swept {
		p.mu.Lock()
		r.exited = true
		p.mu.Unlock()
	}
	st := ExitStatus{Run: r.n, PID: r.pid, Code: -1, Time: time.Now()}
	if ps := r.cmd.ProcessState; ps != nil {
		st.Code = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			st.Code, st.Signal = -1, ws.Signal()
		}
	}

	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	t := time.NewTimer(p.opts.DrainTimeout)
	select {
	case <-drained:
	case <-t.C:
		// Someone outside the group still holds the pipes: stop reading.
		outR.Close()
		errR.Close()
		<-drained
	}
	t.Stop()

	p.mu.Lock()
	r.status = st
	r.paused = false
	expected, cause := r.expected, r.cause
	p.mu.Unlock()
	p.event(r, "exit", cause, st.String())
	if !expected {
		p.log.Warn("process exited", "pid", r.pid, "run", r.n, "status", st.String())
	}
	close(r.done)
}

// signalLocked sends sig to r's process group; p.mu must be held.
func (p *Process) signalLocked(r *run, sig syscall.Signal) error {
	if r == nil || r.exited {
		return ErrNotRunning
	}
	if err := syscall.Kill(-r.pid, sig); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("process: signal %v to group %d: %w", sig, r.pid, err)
	}
	switch sig {
	case syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
		r.paused = true
	case syscall.SIGCONT:
		r.paused = false
	}
	return nil
}

// Kill sends sig to the process group of the running process (the program
// and every descendant that stayed in its group) and returns without
// waiting; see [Process.Wait]. It returns [ErrNotRunning] when no process
// runs. Kill(SIGSTOP) and Kill(SIGCONT) count as Pause and Resume.
func (p *Process) Kill(sig syscall.Signal) error {
	return p.kill(sig, "")
}

func (p *Process) kill(sig syscall.Signal, fault string) error {
	p.mu.Lock()
	r := p.cur
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	err := p.signalLocked(r, sig)
	if err == nil {
		r.expected = true
		r.cause = fault
		p.event(r, "kill", fault, signalName(sig))
	}
	p.mu.Unlock()
	return err
}

// Pause stops every process of the group with SIGSTOP: its sockets stay
// open but nothing is read or answered (a hung server). A no-op when
// already paused; [ErrNotRunning] when not running.
func (p *Process) Pause() error { return p.pause("") }

func (p *Process) pause(fault string) error {
	p.mu.Lock()
	r := p.cur
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if r != nil && !r.exited && r.paused {
		p.mu.Unlock()
		return nil
	}
	err := p.signalLocked(r, syscall.SIGSTOP)
	if err == nil {
		p.event(r, "pause", fault, "SIGSTOP")
	}
	p.mu.Unlock()
	return err
}

// Resume continues a paused group with SIGCONT. A no-op when not paused;
// [ErrNotRunning] when not running.
func (p *Process) Resume() error { return p.resume("") }

func (p *Process) resume(fault string) error {
	p.mu.Lock()
	r := p.cur
	if r != nil && !r.exited && !r.paused {
		p.mu.Unlock()
		return nil
	}
	err := p.signalLocked(r, syscall.SIGCONT)
	if err == nil {
		p.event(r, "resume", fault, "SIGCONT")
	}
	p.mu.Unlock()
	return err
}

// Stop sends [Options.StopSignal] to the process group, waits up to
// [Options.StopTimeout] for the program to exit, then sends SIGKILL and
// waits for the exit. A paused process is resumed after the stop signal so
// that it can handle it. Stop returns nil when nothing runs. If ctx ends
// first, Stop sends SIGKILL and returns the context's error.
func (p *Process) Stop(ctx context.Context) error {
	release, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	return p.stopCurrent(ctx, p.opts.StopSignal, "stop", "")
}

func (p *Process) stopCurrent(ctx context.Context, sig syscall.Signal, action, fault string) error {
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	if r == nil {
		return nil
	}
	return p.stopRun(ctx, r, sig, action, fault)
}

// stopRun signals r with sig, escalates to SIGKILL after StopTimeout and
// waits until r is done.
func (p *Process) stopRun(ctx context.Context, r *run, sig syscall.Signal, action, fault string) error {
	p.mu.Lock()
	if r.exited {
		p.mu.Unlock()
		select {
		case <-r.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("process: %s: %w", action, context.Cause(ctx))
		}
	}
	r.expected = true
	r.cause = fault
	paused := r.paused
	err := p.signalLocked(r, sig)
	if err == nil && paused && sig != syscall.SIGKILL {
		_ = p.signalLocked(r, syscall.SIGCONT)
	}
	if err == nil {
		detail := signalName(sig)
		if paused {
			detail += "+SIGCONT"
		}
		p.event(r, action, fault, detail)
	}
	p.mu.Unlock()
	if err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}

	t := time.NewTimer(p.opts.StopTimeout)
	defer t.Stop()
	var ctxErr error
	select {
	case <-r.done:
		return nil
	case <-t.C:
	case <-ctx.Done():
		ctxErr = fmt.Errorf("process: %s: %w", action, context.Cause(ctx))
	}
	p.mu.Lock()
	if err := p.signalLocked(r, syscall.SIGKILL); err == nil {
		p.event(r, "escalate", fault, "SIGKILL")
	}
	p.mu.Unlock()
	if ctxErr != nil {
		return ctxErr
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("process: %s: %w", action, context.Cause(ctx))
	}
}

// Restart stops the process as [Process.Stop] does (if it runs), waits
// downtime, and starts it again as [Process.Start] does, with the same
// spec: to come back on the same port, pass a fixed port (see [FreePort])
// in the arguments.
func (p *Process) Restart(ctx context.Context, downtime time.Duration) error {
	if downtime < 0 {
		return &ConfigError{Field: "downtime", Reason: fmt.Sprintf("negative duration %v", downtime)}
	}
	release, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	p.event(r, "restart", "", "downtime="+downtime.String())
	return p.restartLocked(ctx, p.opts.StopSignal, "stop", downtime, "")
}

func (p *Process) restartLocked(ctx context.Context, sig syscall.Signal, action string, downtime time.Duration, fault string) error {
	ctx, cancel := p.withClose(ctx)
	defer cancel()
	if err := p.stopCurrent(ctx, sig, action, fault); err != nil {
		return err
	}
	if err := sleep(ctx, downtime); err != nil {
		return fmt.Errorf("process: downtime: %w", err)
	}
	return p.startLocked(ctx, fault)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Close stops the process if it runs (as Stop does, bounded by
// StopTimeout plus a grace), aborts a Start or Restart in progress, and
// waits for every goroutine the Process started. It is idempotent and
// returns the same error each time.
func (p *Process) Close() error {
	p.closeOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.closeCancel()
		p.lifecycle <- struct{}{} // in-flight operations see closeCtx and return
		ctx, cancel := context.WithTimeout(context.Background(), p.opts.StopTimeout+p.opts.DrainTimeout+5*time.Second)
		p.closeErr = p.stopCurrent(ctx, p.opts.StopSignal, "stop", "")
		cancel()
		p.wg.Wait()
		<-p.lifecycle
	})
	return p.closeErr
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGUSR1:
		return "SIGUSR1"
	case syscall.SIGUSR2:
		return "SIGUSR2"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGCONT:
		return "SIGCONT"
	case syscall.SIGSTOP:
		return "SIGSTOP"
	case syscall.SIGTSTP:
		return "SIGTSTP"
	}
	return fmt.Sprintf("signal %d", int(sig))
}
