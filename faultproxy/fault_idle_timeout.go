package faultproxy

import (
	"fmt"
	"time"
)

// IdleTimeout closes a connection on which no byte has been read in either
// direction for Idle (a load balancer's idle cut). Type "idle_timeout",
// attributes "idle_ms" and "close" ("fin" or "rst").
type IdleTimeout struct {
	Name  string // default "idle_timeout"
	Scope Scope
	Idle  time.Duration // > 0
	Close CloseMode     // default CloseFIN
}

// Type implements Fault.
func (IdleTimeout) Type() string { return "idle_timeout" }

// Validate implements Fault.
func (f IdleTimeout) Validate() error {
	if err := validateCommon(f.Type(), 0, f.Scope); err != nil {
		return err
	}
	if f.Idle <= 0 {
		return &FieldError{Fault: f.Type(), Field: "Idle", Attr: "idle_ms", Reason: "must be positive"}
	}
	if f.Close > CloseRST {
		return &FieldError{Fault: f.Type(), Field: "Close", Attr: "close", Reason: "unknown close mode"}
	}
	return nil
}

func (f IdleTimeout) meta() faultMeta { return faultMeta{f.Name, Both, f.Scope, levelConn} }

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

// idleTimeoutKind registers IdleTimeout (see registry.go).
var idleTimeoutKind = faultKind{
	typ: "idle_timeout", goType: "IdleTimeout", level: "connection", where: "connection",
	toxiproxy: false, stream: "downstream",
	summary: "`idle_ms`, `close` fin|rst",
	attrs:   []AttrSpec{{"idle_ms", "ms", "close after this long without data"}, {"close", "fin|rst", "how to close"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return IdleTimeout{Name: name, Scope: sc, Idle: a.dur("idle_ms", time.Millisecond), Close: a.closeMode("close")}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(IdleTimeout)
		attrs["idle_ms"], attrs["close"] = ms(f.Idle), f.Close.String()
	},
	behaviour: func(x Fault) behaviour { return &idleB{f: x.(IdleTimeout)} },
}
