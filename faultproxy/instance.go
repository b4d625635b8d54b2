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
	switch f := f.(type) {
	case Latency:
		return &latencyB{f: f}
	case Bandwidth:
		return &bandwidthB{f: f}
	case Slicer:
		return &slicerB{f: f}
	case LimitData:
		return &limitB{f: f}
	case Blackhole:
		return &blackholeB{}
	case Timeout:
		return &timeoutB{f: f}
	case SlowClose:
		return &slowCloseB{f: f}
	case ResetPeer:
		return &resetB{f: f}
	case IdleTimeout:
		return &idleB{f: f}
	case MaxLifetime:
		return &lifetimeB{f: f}
	case HTTPRejectUpgrade:
		return &rejectB{f: f}
	case HTTPStripUpgrade:
		return &stripB{}
	case HTTPDowngrade10:
		return &downgradeB{}
	case WSUpgradeThenBlackhole:
		return &upgradeHoleB{}
	case EIODropPacket:
		return &eioDropB{m: packetMatch{packets: f.Packets, nth: f.Nth, probe: f.Probe}}
	case EIODelayPacket:
		return &eioDelayB{m: packetMatch{packets: f.Packets, nth: f.Nth, probe: f.Probe}, delay: f.Delay}
	case DelayPollResponse:
		return &delayPollB{f: f}
	case WSCloseMidFrame:
		return &midFrameB{f: f}
	case EIODropIf:
		return &eioDropIfB{f: f}
	case EIODuplicatePacket:
		return &eioDupB{m: packetMatch{packets: f.Packets, nth: f.Nth, probe: f.Probe}}
	case HTTPResponseTimeout:
		return &respTimeoutB{f: f}
	case HTTPDuplicateRequest:
		return &dupReqB{f: f}
	case HTTPBufferResponse:
		return &bufRespB{f: f}
	case WSBufferFrames:
		return &wsBufB{f: f}
	case LBRoundRobin:
		return &lbB{f: f}
	case WSDropDirection:
		return &wsDropDirB{f: f}
	case SIODropPacket:
		return &sioDropB{f: f}
	}
	return passB{} // SlowOpen acts in conn.run
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

type latencyB struct{ f Latency }

func (b *latencyB) process(in *instance, ck chunk, next emitFunc) error {
	d := b.f.Latency
	if j := b.f.Jitter; j > 0 {
		d += time.Duration(in.rng.Int64N(2*int64(j)+1)) - j
		if d < 0 {
			d = 0
		}
	}
	in.decide("delay", d.String())
	release := ck.at.Add(d)
	if _, err := in.wait(release); err != nil {
		return err
	}
	ck.at = time.Now()
	return next(ck)
}

type bandwidthB struct {
	f    Bandwidth
	next time.Time // when the next slice may go
}

func (b *bandwidthB) process(in *instance, ck chunk, next emitFunc) error {
	rate := b.f.RateKBps * 1000
	if rate <= 0 {
		return next(ck)
	}
	slice := max(rate/10, 1)
	data := ck.data
	for len(data) > 0 {
		n := min(int64(len(data)), slice)
		if now := time.Now(); b.next.Before(now) {
			b.next = now
		}
		ok, err := in.wait(b.next)
		if err != nil {
			return err
		}
		if !ok {
			return next(chunk{data: data, at: ck.at, buf: ck.buf})
		}
		if err := next(chunk{data: data[:n], at: ck.at, buf: ck.buf}); err != nil {
			return err
		}
		b.next = b.next.Add(time.Duration(n) * time.Second / time.Duration(rate))
		data = data[n:]
	}
	return nil
}

type slicerB struct{ f Slicer }

func (b *slicerB) process(in *instance, ck chunk, next emitFunc) error {
	var sizes []int
	for rest := len(ck.data); rest > 0; {
		n := b.f.AverageSize
		if v := b.f.SizeVariation; v > 0 {
			n += in.rng.IntN(2*v+1) - v
		}
		n = min(max(n, 1), rest)
		sizes = append(sizes, n)
		rest -= n
	}
	in.decide("slice", formatSizes(len(ck.data), sizes))
	data := ck.data
	for i, n := range sizes {
		if i > 0 && b.f.Delay > 0 {
			ok, err := in.wait(time.Now().Add(b.f.Delay))
			if err != nil {
				return err
			}
			if !ok {
				return next(chunk{data: data, at: ck.at, buf: ck.buf})
			}
		}
		if err := next(chunk{data: data[:n], at: ck.at, buf: ck.buf}); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

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

type limitB struct {
	f    LimitData
	sent int64
}

func (b *limitB) process(in *instance, ck chunk, next emitFunc) error {
	left := b.f.Bytes - b.sent
	data := ck.data
	if int64(len(data)) > left {
		data = data[:left]
	}
	if len(data) > 0 {
		if err := next(chunk{data: data, at: ck.at, buf: ck.buf}); err != nil {
			return err
		}
		b.sent += int64(len(data))
	}
	if b.sent >= b.f.Bytes {
		in.decide("close", fmt.Sprintf("limit of %d bytes reached", b.f.Bytes))
		in.c.abort(CloseFIN)
		return errAborted
	}
	return nil
}

type blackholeB struct{ held atomic.Bool }

func (b *blackholeB) process(in *instance, ck chunk, next emitFunc) error {
	if !b.held.Swap(true) {
		in.decide("hold", "")
	}
	<-in.ctx.Done()
	if in.c.ctx.Err() != nil {
		return errAborted
	}
	return next(ck)
}

func (b *blackholeB) activationNote() string {
	return "blackhole starts: nothing is forwarded in this direction from now"
}

func (b *blackholeB) deactivated(in *instance, _ string) {
	if b.held.Load() {
		in.decide("release", "")
	}
}

type timeoutB struct {
	f         Timeout
	discarded atomic.Bool
}

func (b *timeoutB) process(in *instance, ck chunk, _ emitFunc) error {
	if !b.discarded.Swap(true) {
		in.decide("discard", "")
	}
	return nil
}

func (b *timeoutB) run(in *instance) {
	if b.f.Timeout == 0 {
		return
	}
	if ok, err := in.wait(time.Now().Add(b.f.Timeout)); ok && err == nil {
		in.decide("close", "timeout "+b.f.Timeout.String())
		in.c.abort(CloseFIN)
	}
}

func (b *timeoutB) deactivated(in *instance, reason string) {
	if b.discarded.Load() {
		in.decide("close", reason+" after discarding data")
		in.c.abort(CloseFIN)
	}
}

type slowCloseB struct{ f SlowClose }

func (b *slowCloseB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

func (b *slowCloseB) onEOF(in *instance) error {
	in.decide("delay_close", b.f.Delay.String())
	_, err := in.wait(time.Now().Add(b.f.Delay))
	return err
}

type resetB struct{ f ResetPeer }

func (b *resetB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

func (b *resetB) run(in *instance) {
	if ok, err := in.wait(time.Now().Add(b.f.Timeout)); ok && err == nil {
		in.decide("reset", "after "+b.f.Timeout.String())
		in.c.abort(CloseRST)
	}
}

type idleB struct{ f IdleTimeout }

func (b *idleB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

func (b *idleB) run(in *instance) {
	for {
		last := time.Unix(0, in.c.lastRead.Load())
		deadline := last.Add(b.f.Idle)
		if !time.Now().Before(deadline) {
			in.decide("close", fmt.Sprintf("idle %s (%s)", b.f.Idle, b.f.Close))
			in.c.abort(b.f.Close)
			return
		}
		if ok, err := in.wait(deadline); !ok || err != nil {
			return
		}
	}
}

type lifetimeB struct{ f MaxLifetime }

func (b *lifetimeB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

func (b *lifetimeB) run(in *instance) {
	if ok, err := in.wait(in.c.opened.Add(b.f.Lifetime)); ok && err == nil {
		in.decide("close", fmt.Sprintf("lifetime %s (%s)", b.f.Lifetime, b.f.Close))
		in.c.abort(b.f.Close)
	}
}
