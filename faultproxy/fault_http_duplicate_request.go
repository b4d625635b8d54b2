package faultproxy

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// HTTPDuplicateRequest sends a copy of matching requests to the upstream on
// a connection of its own, Delay after forwarding the original, and
// discards the copy's response (logging its status): a proxy or mobile
// stack that retries a request (faults doc A9.6). A duplicated long-polling
// GET overlaps the original, which an Engine.IO server must answer with 400
// and a closed session (EIO-POLL-07); a duplicated POST overlaps likewise
// (EIO-POLL-08). Type "http_duplicate_request", attributes "method"
// (default "GET"), "nth" (see [RequestMatch]) and "delay_ms".
type HTTPDuplicateRequest struct {
	Name  string // default "http_duplicate_request"
	Scope Scope  // AfterBytes must be 0
	// Match selects the requests to duplicate; an empty Method means GET.
	Match RequestMatch
	Delay time.Duration // >= 0
}

// Type implements Fault.
func (HTTPDuplicateRequest) Type() string { return "http_duplicate_request" }

// Validate implements Fault.
func (f HTTPDuplicateRequest) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := f.Match.validate(f.Type()); err != nil {
		return err
	}
	return nonNeg(f.Type(), "Delay", "delay_ms", int64(f.Delay))
}

func (f HTTPDuplicateRequest) meta() faultMeta {
	return faultMeta{f.Name, Upstream, f.Scope, levelUnit}
}

type dupReqB struct{ f HTTPDuplicateRequest }

func (b *dupReqB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	if u == nil || (u.kind != unitHTTPRequestHead && u.kind != unitHTTPMessage) || u.req == nil || u.upgrade {
		return next(ck)
	}
	m := b.f.Match
	if m.Method == "" {
		m.Method = http.MethodGet
	}
	if !m.matches(u.req.Method, u.ord) {
		return next(ck)
	}
	// A request head with a body that is not held whole cannot be copied.
	if u.kind == unitHTTPRequestHead && u.req.ContentLength > 0 {
		return next(ck)
	}
	copyReq := append([]byte(nil), ck.data...)
	what := describeReq(u.req.Method, u.req.URL.RequestURI(), u.ord)
	if err := next(ck); err != nil {
		return err
	}
	in.decide("duplicate", fmt.Sprintf("%s, copy in %s", what, b.f.Delay))
	c := in.c
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.wg.Add(1)
	target := c.target
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		b.sendCopy(in, target, copyReq, what)
	}()
	return nil
}

// sendCopy writes the copy on a fresh upstream connection and logs the
// status line of the answer.
func (b *dupReqB) sendCopy(in *instance, target string, req []byte, what string) {
	if b.f.Delay > 0 {
		if _, err := in.wait(time.Now().Add(b.f.Delay)); err != nil {
			return
		}
	}
	d := net.Dialer{Timeout: in.c.p.opts.DialTimeout}
	nc, err := d.DialContext(in.c.ctx, "tcp", target)
	if err != nil {
		in.decide("duplicate_error", err.Error())
		return
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-in.c.ctx.Done():
		case <-done:
		}
		nc.Close()
	}()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write(req); err != nil {
		in.decide("duplicate_error", err.Error())
		return
	}
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		if in.c.ctx.Err() == nil {
			in.decide("duplicate_error", "reading the answer: "+err.Error())
		}
		return
	}
	in.decide("duplicate_response", strings.TrimSpace(line)+" for the copy of "+what)
}

// httpDuplicateRequestKind registers HTTPDuplicateRequest (see registry.go).
var httpDuplicateRequestKind = faultKind{
	typ: "http_duplicate_request", goType: "HTTPDuplicateRequest", level: "http", where: "http",
	toxiproxy: false, stream: "upstream",
	summary: "`method` (default GET), `nth`, `delay_ms`",
	attrs:   []AttrSpec{{"method", "HTTP method", "requests to copy (default GET)"}, requestAttrs[1], {"delay_ms", "ms", "send the copy this long after the original"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return HTTPDuplicateRequest{Name: name, Scope: sc, Match: RequestMatch{Method: a.str("method"), Nth: int(a.int("nth"))},
			Delay: a.dur("delay_ms", time.Millisecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(HTTPDuplicateRequest)
		attrs["method"], attrs["nth"], attrs["delay_ms"] = f.Match.Method, f.Match.Nth, ms(f.Delay)
	},
	behaviour: func(x Fault) behaviour { return &dupReqB{f: x.(HTTPDuplicateRequest)} },
}
