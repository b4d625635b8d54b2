package faultproxy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Instance states.
const (
	statePending int32 = iota // trigger not yet satisfied: forward untouched
	stateActive               // the fault acts
	stateDone                 // expired, removed or not applied (toxicity): forward untouched
)

// instance is one fault on one connection and direction (Both for
// connection-level faults). Its random stream and state belong to it alone.
type instance struct {
	e   *entry
	c   *conn
	dir Direction
	rng *rand.Rand // used only by the goroutine that runs the behaviour
	beh behaviour

	ctx    context.Context // cancelled when the instance is deactivated or the conn ends
	cancel context.CancelFunc

	after     time.Duration // Scope.After, or what is left of it for Scope.Existing
	state     atomic.Int32
	step      atomic.Uint64
	bytes     atomic.Int64 // bytes seen while pending, for Scope.AfterBytes
	activated chan struct{}

	mu       sync.Mutex
	timeOK   bool
	bytesOK  bool
	tagOK    bool // Scope.Transport/SID matched (or not set)
	activeAt time.Time
}

// behaviour is what a fault does to chunks while active.
type behaviour interface {
	process(in *instance, ck chunk, next emitFunc) error
}

// runner is implemented by behaviours that act on their own schedule; run is
// called in its own goroutine when the instance activates and must return
// when in.ctx is done.
type runner interface{ run(in *instance) }

// eofHook is implemented by behaviours that act when the source half-closes.
type eofHook interface{ onEOF(in *instance) error }

// deactivator is implemented by behaviours that act when the fault expires or
// is removed from a live connection.
type deactivator interface {
	deactivated(in *instance, reason string)
}

func newBehaviour(f Fault) behaviour {
	if k := kindOf(f.Type()); k != nil && k.behaviour != nil {
		return k.behaviour(f)
	}
	return passB{} // slow_open acts in conn.run, down on the listener
}

// newInstance decides toxicity and, for untriggered faults, activates at
// once, so that no chunk can slip past a fault that applies from the start.
func newInstance(c *conn, e *entry, dir Direction) *instance {
	in := &instance{
		e: e, c: c, dir: dir,
		rng:       newStream(c.seed, c.ord, dir, e.name),
		beh:       newBehaviour(e.f),
		activated: make(chan struct{}),
	}
	in.ctx, in.cancel = context.WithCancel(c.ctx)
	s := e.m.scope
	if t := s.toxicity(); t < 1 {
		draw := in.rng.Float64()
		if draw >= t {
			in.state.Store(stateDone)
			in.decide("skip", fmt.Sprintf("toxicity %g, draw %.6f", t, draw))
			return in
		}
		in.decide("apply", fmt.Sprintf("toxicity %g, draw %.6f", t, draw))
	}
	in.after = s.After
	if s.Existing {
		in.after = max(time.Until(e.strikeAt), 0)
	}
	in.timeOK = in.after == 0
	in.bytesOK = s.AfterBytes == 0
	in.tagOK = !s.hasTagMatch()
	if in.timeOK && in.bytesOK && in.tagOK {
		in.activateLocked()
	}
	return in
}

// needsControl reports whether the instance needs its control goroutine.
func (in *instance) needsControl() bool {
	if in.state.Load() == stateDone {
		return false
	}
	s := in.e.m.scope
	_, isRunner := in.beh.(runner)
	return in.after != 0 || s.For != 0 || isRunner
}

func (in *instance) control() {
	defer in.c.wg.Done()
	s := in.e.m.scope
	if in.after > 0 {
		t := time.NewTimer(in.after)
		select {
		case <-t.C:
			in.trigger(true, false, false)
		case <-in.ctx.Done():
			t.Stop()
			return
		}
	}
	select {
	case <-in.activated:
	case <-in.ctx.Done():
		return
	}
	if r, ok := in.beh.(runner); ok {
		in.c.wg.Add(1)
		go func() { defer in.c.wg.Done(); r.run(in) }()
	}
	if s.For > 0 {
		in.mu.Lock()
		end := in.activeAt.Add(s.For)
		in.mu.Unlock()
		t := time.NewTimer(time.Until(end))
		select {
		case <-t.C:
			in.deactivate("expire")
		case <-in.ctx.Done():
			t.Stop()
		}
	}
}

// trigger records that the time, byte or tag condition holds and activates
// when all do.
func (in *instance) trigger(timeOK, bytesOK, tagOK bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.timeOK = in.timeOK || timeOK
	in.bytesOK = in.bytesOK || bytesOK
	in.tagOK = in.tagOK || tagOK
	if in.timeOK && in.bytesOK && in.tagOK && in.state.Load() == statePending {
		in.activateLocked()
	}
}

// tagged applies the Scope.Transport/SID match once the connection's first
// request is known.
func (in *instance) tagged(info ConnInfo) {
	s := in.e.m.scope
	if !s.hasTagMatch() {
		return
	}
	if s.matchTags(info) {
		in.trigger(false, false, true)
		return
	}
	in.mu.Lock()
	skip := in.state.CompareAndSwap(statePending, stateDone)
	in.mu.Unlock()
	if skip {
		in.cancel()
		in.decide("skip", fmt.Sprintf("tags transport=%q sid=%q first request %s #%d do not match", info.Transport, info.SID, info.Method, info.RequestOrdinal))
	}
}

// activationNoter is implemented by behaviours whose activation is news
// in itself (a blackhole holds nothing visible until bytes arrive): the
// "activate" decision then carries its detail, which `siospec proxy` logs
// at info level.
type activationNoter interface{ activationNote() string }

func (in *instance) activateLocked() {
	in.activeAt = time.Now()
	in.state.Store(stateActive)
	close(in.activated)
	note := ""
	if n, ok := in.beh.(activationNoter); ok {
		note = n.activationNote()
	}
	in.decide("activate", note)
}

func (in *instance) isActive() bool { return in.state.Load() == stateActive }

// deactivate ends the fault on this connection (reason "expire" or "remove").
func (in *instance) deactivate(reason string) {
	in.mu.Lock()
	prev := in.state.Swap(stateDone)
	in.mu.Unlock()
	in.cancel()
	if prev != stateActive {
		return
	}
	in.decide(reason, "")
	if d, ok := in.beh.(deactivator); ok {
		d.deactivated(in, reason)
	}
	if _, ok := in.beh.(holder); ok && in.dir != Both {
		select {
		case in.c.link(in.dir).kick <- struct{}{}:
		default:
		}
	}
}

// process runs ck through this instance.
func (in *instance) process(ck chunk, next emitFunc) error {
	switch in.state.Load() {
	case stateActive:
		return in.beh.process(in, ck, next)
	case statePending:
		limit := in.e.m.scope.AfterBytes
		if limit == 0 {
			return next(ck)
		}
		n := int64(len(ck.data))
		after := in.bytes.Add(n)
		before := after - n
		if after < limit || before >= limit {
			if before >= limit {
				in.trigger(false, true, false)
			}
			return next(ck)
		}
		k := limit - before
		if k > 0 {
			if err := next(chunk{data: ck.data[:k], at: ck.at, buf: ck.buf}); err != nil {
				return err
			}
		}
		in.trigger(false, true, false)
		rest := ck.data[k:]
		if len(rest) == 0 {
			return nil
		}
		return in.process(chunk{data: rest, at: ck.at, buf: ck.buf}, next)
	}
	return next(ck)
}

func (in *instance) onEOF() error {
	if h, ok := in.beh.(eofHook); ok && in.isActive() {
		return h.onEOF(in)
	}
	return nil
}

// wait blocks until t. It returns true if t was reached, false if the
// instance was deactivated first (the caller stops faulting and forwards),
// and errAborted if the connection ended.
func (in *instance) wait(t time.Time) (bool, error) {
	d := time.Until(t)
	if d <= 0 {
		if in.c.ctx.Err() != nil {
			return false, errAborted
		}
		return in.ctx.Err() == nil, nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true, nil
	case <-in.ctx.Done():
		if in.c.ctx.Err() != nil {
			return false, errAborted
		}
		return false, nil
	}
}

func (in *instance) decide(action, detail string) {
	d := Decision{
		Conn: in.c.ord, Direction: in.dir, Fault: in.e.name, Type: in.e.f.Type(),
		Step: in.step.Add(1), Action: action, Detail: detail,
	}
	if tags := in.c.tags.Load(); tags != nil {
		d.SID, d.Transport = tags.SID, tags.Transport
	}
	in.c.p.decide(d)
}

// --- behaviours ---

type passB struct{}

func (passB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

func formatSizes(total int, sizes []int) string {
	var sb strings.Builder
	sb.WriteString(strconv.Itoa(total))
	sb.WriteString(" bytes into [")
	for i, n := range sizes {
		if i == 32 {
			fmt.Fprintf(&sb, " ...%d more", len(sizes)-i)
			break
		}
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.Itoa(n))
	}
	sb.WriteByte(']')
	return sb.String()
}
