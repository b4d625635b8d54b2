package process

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"syscall"
	"time"
)

// Fault is a process-level fault: a value that [Process.Inject] applies at
// a fixed offset from the start of a schedule, or that a caller (the fault
// proxy, a profile) applies itself with Apply. The catalogue names are
// those of faults-and-harnesses.md C1: process_kill, process_restart,
// process_pause.
type Fault interface {
	// Name is the catalogue name, logged as [Event.Fault].
	Name() string
	// At is the offset from the start of the schedule at which the fault
	// fires.
	At() time.Duration
	// Validate reports an invalid parameter as a *[ConfigError].
	Validate() error
	// Apply applies the fault to p now and returns once it is over (the
	// process is down, back up, or resumed).
	Apply(ctx context.Context, p *Process) error
}

// Crash kills the process with Signal After the schedule starts and waits
// for it to exit (sending SIGKILL after [Options.StopTimeout] if Signal did
// not end it). With Restart it then stays down for Downtime and is started
// again, ready as [Process.Start] defines it (catalogue: process_restart
// with downtime_ms); without Restart it stays down (process_kill).
type Crash struct {
	// After is the offset in the schedule. Default 0 (at once).
	After time.Duration
	// Signal is the signal sent to the process group. Default SIGKILL.
	Signal syscall.Signal
	// Restart starts the process again after Downtime.
	Restart bool
	// Downtime is how long the process stays down before the restart.
	// Default 0; only meaningful with Restart.
	Downtime time.Duration
}

// Name returns "process_restart" with Restart, else "process_kill".
func (c Crash) Name() string {
	if c.Restart {
		return "process_restart"
	}
	return "process_kill"
}

// At returns After.
func (c Crash) At() time.Duration { return c.After }

// Validate checks the parameters.
func (c Crash) Validate() error {
	switch {
	case c.After < 0:
		return &ConfigError{Field: "Crash.After", Reason: fmt.Sprintf("negative duration %v", c.After)}
	case c.Downtime < 0:
		return &ConfigError{Field: "Crash.Downtime", Reason: fmt.Sprintf("negative duration %v", c.Downtime)}
	case c.Signal < 0:
		return &ConfigError{Field: "Crash.Signal", Reason: fmt.Sprintf("invalid signal %d", int(c.Signal))}
	case c.Downtime > 0 && !c.Restart:
		return &ConfigError{Field: "Crash.Downtime", Reason: "set without Restart"}
	}
	return nil
}

func (c Crash) signal() syscall.Signal {
	if c.Signal == 0 {
		return syscall.SIGKILL
	}
	return c.Signal
}

// String renders the parameters as logged in the "fault" event.
func (c Crash) String() string {
	s := fmt.Sprintf("after=%v signal=%s", c.After, signalName(c.signal()))
	if c.Restart {
		s += fmt.Sprintf(" downtime=%v", c.Downtime)
	}
	return s
}

// Apply kills (and, with Restart, restarts) the process now. It returns
// [ErrNotRunning] if the process is not running.
func (c Crash) Apply(ctx context.Context, p *Process) error {
	if err := c.Validate(); err != nil {
		return err
	}
	release, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if !p.Running() {
		return ErrNotRunning
	}
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	p.event(r, "fault", c.Name(), c.String())
	if !c.Restart {
		return p.stopCurrent(ctx, c.signal(), "kill", c.Name())
	}
	return p.restartLocked(ctx, c.signal(), "kill", c.Downtime, c.Name())
}

// Freeze pauses the process group with SIGSTOP After the schedule starts
// and resumes it with SIGCONT For later (catalogue: process_pause with ms):
// the program keeps its sockets open but answers nothing, a hung server.
type Freeze struct {
	// After is the offset in the schedule. Default 0 (at once).
	After time.Duration
	// For is how long the process stays paused; it must be positive.
	For time.Duration
}

// Name returns "process_pause".
func (f Freeze) Name() string { return "process_pause" }

// At returns After.
func (f Freeze) At() time.Duration { return f.After }

// Validate checks the parameters.
func (f Freeze) Validate() error {
	switch {
	case f.After < 0:
		return &ConfigError{Field: "Freeze.After", Reason: fmt.Sprintf("negative duration %v", f.After)}
	case f.For <= 0:
		return &ConfigError{Field: "Freeze.For", Reason: fmt.Sprintf("must be positive, got %v", f.For)}
	}
	return nil
}

// String renders the parameters as logged in the "fault" event.
func (f Freeze) String() string { return fmt.Sprintf("after=%v for=%v", f.After, f.For) }

// Apply pauses the process now, waits For and resumes it. If ctx ends or
// the Process is closed first, it resumes at once and returns the error.
// Other lifecycle calls (Stop, Restart) wait until the freeze is over.
func (f Freeze) Apply(ctx context.Context, p *Process) error {
	if err := f.Validate(); err != nil {
		return err
	}
	release, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if !p.Running() {
		return ErrNotRunning
	}
	p.mu.Lock()
	r := p.cur
	p.mu.Unlock()
	p.event(r, "fault", f.Name(), f.String())
	if err := p.pause(f.Name()); err != nil {
		return err
	}
	wctx, cancel := p.withClose(ctx)
	defer cancel()
	werr := sleep(wctx, f.For)
	if err := p.resume(f.Name()); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	if werr != nil {
		return fmt.Errorf("process: freeze: %w", werr)
	}
	return nil
}

// Inject applies faults one at a time in order of At (faults with the same
// At in the order given), each when its offset from the call has passed, or
// at once when the previous fault ran past it. It returns when the last
// fault is over, at the first fault that fails, or when ctx ends. No fault
// involves randomness, so a schedule always produces the same sequence of
// (Fault, Step, Action) events for a process that behaves the same.
func (p *Process) Inject(ctx context.Context, faults ...Fault) error {
	for i, f := range faults {
		if f == nil {
			return &ConfigError{Field: fmt.Sprintf("faults[%d]", i), Reason: "nil"}
		}
		if err := f.Validate(); err != nil {
			return err
		}
	}
	order := slices.Clone(faults)
	slices.SortStableFunc(order, func(a, b Fault) int {
		switch {
		case a.At() < b.At():
			return -1
		case a.At() > b.At():
			return 1
		}
		return 0
	})
	ctx, cancel := p.withClose(ctx)
	defer cancel()
	start := time.Now()
	for _, f := range order {
		wait := f.At() - time.Since(start)
		if wait < 0 {
			p.log.Debug("process fault late", "fault", f.Name(), "at", f.At(), "late", -wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("process: inject %s: %w", f.Name(), err)
		}
		if err := f.Apply(ctx, p); err != nil {
			return fmt.Errorf("process: inject %s at %v: %w", f.Name(), f.At(), err)
		}
	}
	return nil
}
