package process

import (
	"fmt"
	"sync"
	"time"
)

// Event is one entry of a [Process]'s decision log: something the controller
// did to the process or saw it do. Its JSON shape follows the fault proxy's
// decision log (faultproxy.Decision: seq, time, elapsed_ns, fault, step,
// action, detail) with run and pid in place of the connection fields, so
// both logs can be merged and read the same way.
type Event struct {
	// Seq numbers events process-wide in the order they were logged, from 1.
	Seq uint64 `json:"seq"`
	// Time is the wall-clock time of the event.
	Time time.Time `json:"time"`
	// Elapsed is Time minus the creation of the Process.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Run is the start ordinal of the process instance concerned (1 for the
	// first Start, 2 after one restart, ...); 0 before any start.
	Run int `json:"run"`
	// PID is the operating-system process id of that instance (also its
	// process group id); 0 when none was started.
	PID int `json:"pid"`
	// Fault is the catalogue name of the scheduled fault that caused the
	// event ("process_kill", "process_restart", "process_pause"); empty for
	// direct method calls and for exits nobody asked for.
	Fault string `json:"fault,omitempty"`
	// Step numbers events within one Fault stream (the empty name is a
	// stream too), from 1. Together with Fault it identifies an event
	// independently of timing, which is what replay comparisons key on.
	Step uint64 `json:"step"`
	// Action is a short verb: "start", "ready", "not_ready", "kill", "stop",
	// "escalate", "exit", "restart", "pause", "resume", "fault".
	Action string `json:"action"`
	// Detail gives parameters of the action: a signal, an exit status, the
	// captured URL, a fault's parameters.
	Detail string `json:"detail,omitempty"`
}

// String renders the event on one line, e.g.
// "+1.204s run=2 pid=4242 process_restart#3 exit signal: killed".
func (e Event) String() string {
	f := e.Fault
	if f == "" {
		f = "-"
	}
	s := fmt.Sprintf("+%v run=%d pid=%d %s#%d %s", e.Elapsed.Round(time.Millisecond), e.Run, e.PID, f, e.Step, e.Action)
	if e.Detail != "" {
		s += " " + e.Detail
	}
	return s
}

// eventLog is a bounded, mutex-protected log. The callback runs under the
// lock so that every observer sees events in Seq order.
type eventLog struct {
	mu      sync.Mutex
	limit   int
	start   time.Time
	seq     uint64
	steps   map[string]uint64
	entries []Event // ring once full
	head    int     // index of the oldest entry when full
	dropped uint64
	notify  func(Event)
}

func newEventLog(limit int, notify func(Event)) *eventLog {
	return &eventLog{limit: limit, start: time.Now(), steps: map[string]uint64{}, notify: notify}
}

func (l *eventLog) add(e Event) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq = l.seq
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Elapsed = e.Time.Sub(l.start)
	l.steps[e.Fault]++
	e.Step = l.steps[e.Fault]
	if len(l.entries) < l.limit {
		l.entries = append(l.entries, e)
	} else {
		l.entries[l.head] = e
		l.head = (l.head + 1) % l.limit
		l.dropped++
	}
	if l.notify != nil {
		l.notify(e)
	}
	return e
}

func (l *eventLog) snapshot() ([]Event, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Event, 0, len(l.entries))
	out = append(out, l.entries[l.head:]...)
	out = append(out, l.entries[:l.head]...)
	return out, l.dropped
}
