package faultproxy

import "time"

// SlowOpen delays the upstream connect of each new matching connection by
// Delay, so the first byte in either direction is delayed too (an
// approximation of a slow TCP handshake). It does nothing to connections that
// were already connected when it was added. Type "slow_open", attribute
// "delay" (ms).
type SlowOpen struct {
	Name  string // default "slow_open"
	Scope Scope
	Delay time.Duration // >= 0
}

// Type implements Fault.
func (SlowOpen) Type() string { return "slow_open" }

// Validate implements Fault.
func (f SlowOpen) Validate() error {
	if err := validateCommon(f.Type(), 0, f.Scope); err != nil {
		return err
	}
	if f.Scope.After != 0 || f.Scope.AfterBytes != 0 {
		return &FieldError{Fault: f.Type(), Field: "Scope.After", Attr: "after_ms", Reason: "slow_open acts at connect time and takes no trigger"}
	}
	if f.Scope.Existing {
		return &FieldError{Fault: f.Type(), Field: "Scope.Existing", Attr: "existing", Reason: "slow_open acts on new connections only"}
	}
	return nonNeg(f.Type(), "Delay", "delay", int64(f.Delay))
}

func (f SlowOpen) meta() faultMeta { return faultMeta{f.Name, Both, f.Scope, levelConn} }

// slowOpenKind registers SlowOpen (see registry.go).
var slowOpenKind = faultKind{
	typ: "slow_open", goType: "SlowOpen", level: "connection", where: "connection",
	toxiproxy: false, stream: "downstream",
	summary: "`delay` ms before the upstream connect",
	attrs:   []AttrSpec{{"delay", "ms", "delay before connecting upstream"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		return SlowOpen{Name: name, Scope: sc, Delay: a.dur("delay", time.Millisecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(SlowOpen)
		attrs["delay"] = ms(f.Delay)
	},
}
