package faultproxy

import (
	"fmt"
	"net/http"
	"strconv"
)

// HTTPRejectUpgrade answers every HTTP/1.1 upgrade request (Upgrade +
// Connection: upgrade, e.g. Engine.IO's WebSocket upgrade or probe) itself
// with Status and Body, without contacting the upstream, then closes the
// connection: a corporate proxy or firewall that refuses WebSocket. Other
// requests pass. It needs the protocol tap, which every connection accepted
// while an HTTP fault exists gets (see [Options.Tap]). Type
// "http_reject_upgrade", attributes "status" and "body".
type HTTPRejectUpgrade struct {
	Name   string // default "http_reject_upgrade"
	Scope  Scope  // AfterBytes must be 0
	Status int    // HTTP status, 200..599; 0 means 403
	Body   string // response body; "" means the status text
}

// Type implements Fault.
func (HTTPRejectUpgrade) Type() string { return "http_reject_upgrade" }

// Validate implements Fault.
func (f HTTPRejectUpgrade) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if f.Status != 0 && (f.Status < 200 || f.Status > 599) {
		return &FieldError{Fault: f.Type(), Field: "Status", Attr: "status", Reason: "must be in [200, 599]"}
	}
	return nil
}

func (f HTTPRejectUpgrade) meta() faultMeta {
	return faultMeta{f.Name, Upstream, f.Scope, levelUnit}
}

type rejectB struct{ f HTTPRejectUpgrade }

func (b *rejectB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	if u == nil || u.kind != unitHTTPRequestHead || !u.upgrade {
		return next(ck)
	}
	status := b.f.Status
	if status == 0 {
		status = http.StatusForbidden
	}
	body := b.f.Body
	if body == "" {
		body = http.StatusText(status) + "\n"
	}
	in.decide("reject", fmt.Sprintf("%d for %s %s", status, u.req.Method, u.req.URL.RequestURI()))
	resp := "HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Connection: close\r\n\r\n" + body
	u.rejected = true
	c := in.c
	if _, err := c.client.Write([]byte(resp)); err != nil {
		c.abort(CloseFIN)
		return errAborted
	}
	// Half-close both ways: the client reads the answer then EOF; the
	// upstream, which never saw the request, sees EOF; the connection ends
	// when both sides have closed.
	_ = c.client.CloseWrite()
	c.mu.Lock()
	srv := c.server
	c.mu.Unlock()
	if srv != nil {
		_ = srv.CloseWrite()
	}
	return nil
}

// httpRejectUpgradeKind registers HTTPRejectUpgrade (see registry.go).
var httpRejectUpgradeKind = faultKind{
	typ: "http_reject_upgrade", goType: "HTTPRejectUpgrade", level: "http", where: "http",
	toxiproxy: false, stream: "upstream",
	summary: "`status` (default 403), `body`",
	attrs:   []AttrSpec{{"status", "HTTP status", "answer to upgrade requests (default 403)"}, {"body", "text", "response body"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return HTTPRejectUpgrade{Name: name, Scope: sc, Status: int(a.int("status")), Body: a.str("body")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(HTTPRejectUpgrade)
		attrs["status"], attrs["body"] = f.Status, f.Body
	},
	behaviour: func(x Fault) behaviour { return &rejectB{f: x.(HTTPRejectUpgrade)} },
}
