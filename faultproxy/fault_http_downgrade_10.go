package faultproxy

import (
	"bytes"
	"strings"
)

// HTTPDowngrade10 forwards every request as HTTP/1.0 with "Connection:
// close", dropping the hop-by-hop Connection, Keep-Alive and Upgrade headers:
// a reverse proxy such as nginx without proxy_http_version 1.1 (faults doc
// A9.1). WebSocket upgrades therefore never reach the server as upgrades,
// and the server closes the connection after each response. Type
// "http_downgrade_10".
type HTTPDowngrade10 struct {
	Name  string // default "http_downgrade_10"
	Scope Scope  // AfterBytes must be 0
}

// Type implements Fault.
func (HTTPDowngrade10) Type() string { return "http_downgrade_10" }

// Validate implements Fault.
func (f HTTPDowngrade10) Validate() error { return validateUnitScope(f.Type(), f.Scope) }

func (f HTTPDowngrade10) meta() faultMeta {
	return faultMeta{f.Name, Upstream, f.Scope, levelUnit}
}

type downgradeB struct{}

func (b *downgradeB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	if u == nil || (u.kind != unitHTTPRequestHead && u.kind != unitHTTPMessage) || u.req == nil {
		return next(ck)
	}
	headLen := len(ck.data)
	if u.kind == unitHTTPMessage {
		headLen = u.bodyAt
	}
	head, body := ck.data[:headLen], ck.data[headLen:]
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	if i := bytes.LastIndexByte(line, ' '); i >= 0 {
		line = append(append([]byte(nil), line[:i+1]...), "HTTP/1.0"...)
	}
	var out []byte
	out = append(out, line...)
	out = append(out, "\r\n"...)
	for _, ln := range bytes.SplitAfter(rest, []byte("\r\n")) {
		name, _, ok := bytes.Cut(ln, []byte(":"))
		n := strings.ToLower(strings.TrimSpace(string(name)))
		if ok && (n == "connection" || n == "keep-alive" || n == "upgrade") {
			continue
		}
		if bytes.Equal(ln, []byte("\r\n")) {
			out = append(out, "Connection: close\r\n"...)
		}
		out = append(out, ln...)
	}
	in.decide("downgrade", u.req.Method+" "+u.req.URL.RequestURI())
	u.upgrade = false
	nu := *u
	nu.bodyAt = len(out)
	out = append(out, body...)
	return next(chunk{data: out, at: ck.at, u: &nu})
}

// httpDowngrade10Kind registers HTTPDowngrade10 (see registry.go).
var httpDowngrade10Kind = faultKind{
	typ: "http_downgrade_10", goType: "HTTPDowngrade10", level: "http", where: "http",
	toxiproxy: false, stream: "upstream",
	summary: "—",
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return HTTPDowngrade10{Name: name, Scope: sc}
	},
	behaviour: func(x Fault) behaviour { return &downgradeB{} },
}
