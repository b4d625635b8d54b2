package faultproxy

import (
	"fmt"
	"strings"
)

// HTTPStripUpgrade removes the hop-by-hop Upgrade, Connection and
// Sec-WebSocket-* headers from every upgrade request and forwards it as a
// plain request: a proxy that does not pass WebSocket upgrades through. Other
// bytes are untouched. Type "http_strip_upgrade".
type HTTPStripUpgrade struct {
	Name  string // default "http_strip_upgrade"
	Scope Scope  // AfterBytes must be 0
}

// Type implements Fault.
func (HTTPStripUpgrade) Type() string { return "http_strip_upgrade" }

// Validate implements Fault.
func (f HTTPStripUpgrade) Validate() error { return validateUnitScope(f.Type(), f.Scope) }

func (f HTTPStripUpgrade) meta() faultMeta {
	return faultMeta{f.Name, Upstream, f.Scope, levelUnit}
}

type stripB struct{}

func (b *stripB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	if u == nil || u.kind != unitHTTPRequestHead || !u.upgrade {
		return next(ck)
	}
	head, removed := stripUpgradeHeaders(ck.data)
	in.decide("strip", fmt.Sprintf("%s %s: removed %s", u.req.Method, u.req.URL.RequestURI(), strings.Join(removed, ", ")))
	u.upgrade = false
	return next(chunk{data: head, at: ck.at, u: u})
}

// httpStripUpgradeKind registers HTTPStripUpgrade (see registry.go).
var httpStripUpgradeKind = faultKind{
	typ: "http_strip_upgrade", goType: "HTTPStripUpgrade", level: "http", where: "http",
	toxiproxy: false, stream: "upstream",
	summary: "—",
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return HTTPStripUpgrade{Name: name, Scope: sc}
	},
	behaviour: func(x Fault) behaviour { return &stripB{} },
}
