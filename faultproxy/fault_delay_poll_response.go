package faultproxy

import (
	"fmt"
	"time"
)

// DelayPollResponse holds the Nth polling GET response of a connection (or
// every one, Nth 0) for Delay: a slow or buffering intermediary on the
// long-polling transport. Only complete v4 polling responses up to 1 MiB are
// seen (see [Options.Tap]). Type "delay_poll_response", attributes "nth" and
// "delay_ms".
type DelayPollResponse struct {
	Name  string // default "delay_poll_response"
	Scope Scope  // AfterBytes must be 0
	Nth   int    // 1-based; 0 = every polling response
	Delay time.Duration
}

// Type implements Fault.
func (DelayPollResponse) Type() string { return "delay_poll_response" }

// Validate implements Fault.
func (f DelayPollResponse) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if f.Nth < 0 {
		return &FieldError{Fault: f.Type(), Field: "Nth", Attr: "nth", Reason: "must not be negative"}
	}
	return nonNeg(f.Type(), "Delay", "delay_ms", int64(f.Delay))
}

func (f DelayPollResponse) meta() faultMeta {
	return faultMeta{f.Name, Downstream, f.Scope, levelUnit}
}

type delayPollB struct {
	f    DelayPollResponse
	seen int
}

func (b *delayPollB) process(in *instance, ck chunk, next emitFunc) error {
	if ck.u == nil || ck.u.kind != unitHTTPMessage || (ck.u.eio != nil && ck.u.eio.v3) {
		// v3 responses have been held whole only for observers since
		// they were first tapped; this fault keeps acting on v4 ones.
		return next(ck)
	}
	b.seen++
	if b.f.Nth > 0 && b.seen != b.f.Nth {
		return next(ck)
	}
	in.decide("delay", fmt.Sprintf("polling response #%d by %s", b.seen, b.f.Delay))
	if _, err := in.wait(time.Now().Add(b.f.Delay)); err != nil {
		return err
	}
	return next(ck)
}

// delayPollResponseKind registers DelayPollResponse (see registry.go).
var delayPollResponseKind = faultKind{
	typ: "delay_poll_response", goType: "DelayPollResponse", level: "http", where: "http (polling)",
	toxiproxy: false, stream: "downstream",
	summary: "`nth`, `delay_ms`",
	attrs:   []AttrSpec{{"nth", "count", "the nth polling GET response of the connection (0 = every)"}, {"delay_ms", "ms", "how long to hold it"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return DelayPollResponse{Name: name, Scope: sc, Nth: int(a.int("nth")), Delay: a.dur("delay_ms", time.Millisecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(DelayPollResponse)
		attrs["nth"], attrs["delay_ms"] = f.Nth, ms(f.Delay)
	},
	behaviour: func(x Fault) behaviour { return &delayPollB{f: x.(DelayPollResponse)} },
}
