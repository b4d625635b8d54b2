package faultproxy

import "strings"

// WSUpgradeThenBlackhole answers every WebSocket upgrade request itself with
// a valid "101 Switching Protocols" and then forwards nothing either way while
// keeping the client's connection open: a proxy that reports success and
// then hangs (Squid, faults doc A9.2). The upstream never sees the request;
// the proxy closes its upstream connection. Type "ws_upgrade_then_blackhole".
type WSUpgradeThenBlackhole struct {
	Name  string // default "ws_upgrade_then_blackhole"
	Scope Scope  // AfterBytes must be 0
}

// Type implements Fault.
func (WSUpgradeThenBlackhole) Type() string { return "ws_upgrade_then_blackhole" }

// Validate implements Fault.
func (f WSUpgradeThenBlackhole) Validate() error { return validateUnitScope(f.Type(), f.Scope) }

func (f WSUpgradeThenBlackhole) meta() faultMeta {
	return faultMeta{f.Name, Upstream, f.Scope, levelUnit}
}

type upgradeHoleB struct{}

func (b *upgradeHoleB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	key := ""
	if u != nil && u.kind == unitHTTPRequestHead && u.upgrade && strings.EqualFold(u.req.Header.Get("Upgrade"), "websocket") {
		key = u.req.Header.Get("Sec-WebSocket-Key")
	}
	if key == "" {
		return next(ck)
	}
	in.decide("upgrade_then_hold", u.req.Method+" "+u.req.URL.RequestURI())
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + wsAccept(key) + "\r\n\r\n"
	u.rejected = true // the tap discards everything the client sends from now on
	c := in.c
	c.hold.Store(true)
	if _, err := c.client.Write([]byte(resp)); err != nil {
		c.abort(CloseFIN)
		return errAborted
	}
	c.mu.Lock()
	srv := c.server
	c.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	return nil
}

// wsUpgradeThenBlackholeKind registers WSUpgradeThenBlackhole (see registry.go).
var wsUpgradeThenBlackholeKind = faultKind{
	typ: "ws_upgrade_then_blackhole", goType: "WSUpgradeThenBlackhole", level: "http", where: "http",
	toxiproxy: false, stream: "upstream",
	summary: "—",
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return WSUpgradeThenBlackhole{Name: name, Scope: sc}
	},
	behaviour: func(x Fault) behaviour { return &upgradeHoleB{} },
}
