package faultproxy

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// HTTPResponseTimeout answers a request itself with Status (504 Gateway
// Timeout by default) when its response has not started Timeout after the
// proxy read the request head, then closes the connection: a reverse proxy's
// read timeout (nginx proxy_read_timeout, faults doc A9.4). A long-polling
// GET that the server holds for up to pingInterval is cut when Timeout is
// shorter. Type "http_response_timeout", attributes "timeout_ms", "status",
// "method" and "nth" (see [RequestMatch]).
type HTTPResponseTimeout struct {
	Name    string // default "http_response_timeout"
	Scope   Scope  // AfterBytes must be 0
	Match   RequestMatch
	Timeout time.Duration // > 0
	Status  int           // 200..599; 0 means 504
}

// Type implements Fault.
func (HTTPResponseTimeout) Type() string { return "http_response_timeout" }

// Validate implements Fault.
func (f HTTPResponseTimeout) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := f.Match.validate(f.Type()); err != nil {
		return err
	}
	if f.Timeout <= 0 {
		return &FieldError{Fault: f.Type(), Field: "Timeout", Attr: "timeout_ms", Reason: "must be positive"}
	}
	if f.Status != 0 && (f.Status < 200 || f.Status > 599) {
		return &FieldError{Fault: f.Type(), Field: "Status", Attr: "status", Reason: "must be in [200, 599]"}
	}
	return nil
}

func (f HTTPResponseTimeout) meta() faultMeta {
	return faultMeta{f.Name, Upstream, f.Scope, levelUnit}
}

type respTimeoutB struct{ f HTTPResponseTimeout }

func (b *respTimeoutB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

// run watches the oldest unanswered request of the connection.
func (b *respTimeoutB) run(in *instance) {
	c := in.c
	for {
		c.mu.Lock()
		var head reqRecord
		pending := len(c.reqQ) > 0
		if pending {
			head = c.reqQ[0]
		}
		changed := c.reqSig
		c.mu.Unlock()
		if !pending || !b.f.Match.matches(head.method, head.ord) {
			select {
			case <-changed:
				continue
			case <-in.ctx.Done():
				return
			}
		}
		ok, err := in.wait(head.at.Add(b.f.Timeout))
		if !ok || err != nil {
			return
		}
		c.mu.Lock()
		still := len(c.reqQ) > 0 && c.reqQ[0].seq == head.seq
		c.mu.Unlock()
		if !still {
			continue
		}
		status := b.f.Status
		if status == 0 {
			status = http.StatusGatewayTimeout
		}
		in.decide("timeout", fmt.Sprintf("%d after %s for %s", status, b.f.Timeout, describeReq(head.method, head.uri, head.ord)))
		body := http.StatusText(status) + "\n"
		resp := "HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(body)) +
			"\r\nConnection: close\r\n\r\n" + body
		c.hold.Store(true) // the server side is cut on purpose
		_ = c.client.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.client.Write([]byte(resp))
		c.abort(CloseFIN)
		return
	}
}

// httpResponseTimeoutKind registers HTTPResponseTimeout (see registry.go).
var httpResponseTimeoutKind = faultKind{
	typ: "http_response_timeout", goType: "HTTPResponseTimeout", level: "http", where: "http",
	toxiproxy: false, stream: "upstream",
	summary: "`timeout_ms`, `status` (default 504), `method`, `nth`",
	attrs:   []AttrSpec{{"timeout_ms", "ms", "answer a request whose response has not started after this long"}, {"status", "HTTP status", "the answer (default 504)"}, requestAttrs[0], requestAttrs[1]},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return HTTPResponseTimeout{Name: name, Scope: sc, Match: RequestMatch{Method: a.str("method"), Nth: int(a.int("nth"))},
			Timeout: a.dur("timeout_ms", time.Millisecond), Status: int(a.int("status"))}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(HTTPResponseTimeout)
		attrs["timeout_ms"], attrs["status"], attrs["method"], attrs["nth"] = ms(f.Timeout), f.Status, f.Match.Method, f.Match.Nth
	},
	behaviour: func(x Fault) behaviour { return &respTimeoutB{f: x.(HTTPResponseTimeout)} },
}
