package faultproxy

import (
	"fmt"
	"time"
)

// MaxLifetime closes a connection Lifetime after it was accepted, even under
// constant traffic (a load balancer's hard lifetime). Added to an older
// connection it fires at once. Type "max_lifetime", attributes "lifetime_ms"
// and "close" ("fin" or "rst").
type MaxLifetime struct {
	Name     string // default "max_lifetime"
	Scope    Scope
	Lifetime time.Duration // >= 0
	Close    CloseMode     // default CloseFIN
}

// Type implements Fault.
func (MaxLifetime) Type() string { return "max_lifetime" }

// Validate implements Fault.
func (f MaxLifetime) Validate() error {
	if err := validateCommon(f.Type(), 0, f.Scope); err != nil {
		return err
	}
	if f.Close > CloseRST {
		return &FieldError{Fault: f.Type(), Field: "Close", Attr: "close", Reason: "unknown close mode"}
	}
	return nonNeg(f.Type(), "Lifetime", "lifetime_ms", int64(f.Lifetime))
}

func (f MaxLifetime) meta() faultMeta { return faultMeta{f.Name, Both, f.Scope, levelConn} }

type lifetimeB struct{ f MaxLifetime }

func (b *lifetimeB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

func (b *lifetimeB) run(in *instance) {
	if ok, err := in.wait(in.c.opened.Add(b.f.Lifetime)); ok && err == nil {
		in.decide("close", fmt.Sprintf("lifetime %s (%s)", b.f.Lifetime, b.f.Close))
		in.c.abort(b.f.Close)
	}
}

// maxLifetimeKind registers MaxLifetime (see registry.go).
var maxLifetimeKind = faultKind{
	typ: "max_lifetime", goType: "MaxLifetime", level: "connection", where: "connection",
	toxiproxy: false, stream: "downstream",
	summary: "`lifetime_ms`, `close` fin|rst",
	attrs:   []AttrSpec{{"lifetime_ms", "ms", "close this long after accept"}, {"close", "fin|rst", "how to close"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return MaxLifetime{Name: name, Scope: sc, Lifetime: a.dur("lifetime_ms", time.Millisecond), Close: a.closeMode("close")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(MaxLifetime)
		attrs["lifetime_ms"], attrs["close"] = ms(f.Lifetime), f.Close.String()
	},
	behaviour: func(x Fault) behaviour { return &lifetimeB{f: x.(MaxLifetime)} },
}
