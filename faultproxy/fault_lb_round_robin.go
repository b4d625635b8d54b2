package faultproxy

import (
	"fmt"
	"net"
	"strconv"
)

// LBRoundRobin turns the proxy into a load balancer in front of Backends:
// each new connection goes to the next backend in turn (counted per fault,
// so the sequence is deterministic), unless Sticky routes it to the
// backend its session lives on. Routing is per connection, decided from the
// first request head for StickyCookie and StickySID (the upstream connect
// waits for it) and at accept for StickyNone. With several server instances
// and no stickiness, a polling client's requests reach instances that do not
// know its session: "Session ID unknown", HTTP 400 (faults doc A9.5,
// EIO-POLL-06). The proxy's own upstream is not used while the fault is
// active. Scope.After, AfterBytes and For do not apply. Type
// "lb_round_robin", attributes "backends" (list of host:port) and "sticky"
// ("none", "cookie" or "sid").
type LBRoundRobin struct {
	Name     string // default "lb_round_robin"
	Scope    Scope
	Backends []string // host:port, at least one
	Sticky   Sticky
}

// Type implements Fault.
func (LBRoundRobin) Type() string { return "lb_round_robin" }

// Validate implements Fault.
func (f LBRoundRobin) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if f.Scope.After != 0 || f.Scope.For != 0 || f.Scope.hasTagMatch() {
		return &FieldError{Fault: f.Type(), Field: "Scope", Attr: "after_ms", Reason: "lb_round_robin routes at connect time: after_ms, for_ms, transport and sid do not apply"}
	}
	if len(f.Backends) == 0 {
		return &FieldError{Fault: f.Type(), Field: "Backends", Attr: "backends", Reason: "name at least one backend"}
	}
	for _, b := range f.Backends {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return &FieldError{Fault: f.Type(), Field: "Backends", Attr: "backends", Reason: fmt.Sprintf("want host:port, got %q", b)}
		}
	}
	if f.Sticky > StickySID {
		return &FieldError{Fault: f.Type(), Field: "Sticky", Attr: "sticky", Reason: "unknown mode"}
	}
	return nil
}

func (f LBRoundRobin) meta() faultMeta { return faultMeta{f.Name, Downstream, f.Scope, levelUnit} }

// lbB sets the affinity cookie on responses (StickyCookie).
type lbB struct {
	f       LBRoundRobin
	backend int // set before the connection's pipeline starts
}

func (b *lbB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	if b.f.Sticky != StickyCookie || u == nil || (u.kind != unitHTTPResponseHead && u.kind != unitHTTPMessage) {
		return next(ck)
	}
	headLen := len(ck.data)
	if u.kind == unitHTTPMessage {
		headLen = u.bodyAt
	}
	if headLen < 4 {
		return next(ck)
	}
	line := "Set-Cookie: " + LBCookie + "=" + strconv.Itoa(b.backend) + "; Path=/\r\n"
	out := make([]byte, 0, len(ck.data)+len(line))
	out = append(out, ck.data[:headLen-2]...)
	out = append(out, line...)
	out = append(out, ck.data[headLen-2:]...)
	nu := *u
	if u.kind == unitHTTPMessage {
		nu.bodyAt = headLen + len(line)
	}
	return next(chunk{data: out, at: ck.at, u: &nu})
}

// lbRoundRobinKind registers LBRoundRobin (see registry.go).
var lbRoundRobinKind = faultKind{
	typ: "lb_round_robin", goType: "LBRoundRobin", level: "http", where: "http (routing)",
	toxiproxy: false, stream: "downstream",
	summary: "`backends` (list of host:port), `sticky` none|cookie|sid",
	attrs:   []AttrSpec{{"backends", "list of host:port", "servers to balance over"}, {"sticky", "none|cookie|sid", "how a session stays on its backend"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		sticky := StickyNone
		switch s := a.str("sticky"); s {
		case "", "none":
		case "cookie":
			sticky = StickyCookie
		case "sid":
			sticky = StickySID
		default:
			a.fail("sticky", fmt.Sprintf("must be \"none\", \"cookie\" or \"sid\", got %q", s))
		}
		return LBRoundRobin{Name: name, Scope: sc, Backends: a.strs("backends"), Sticky: sticky}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(LBRoundRobin)
		attrs["backends"], attrs["sticky"] = f.Backends, f.Sticky.String()
	},
	behaviour: func(x Fault) behaviour { return &lbB{f: x.(LBRoundRobin)} },
}
