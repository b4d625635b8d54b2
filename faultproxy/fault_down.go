package faultproxy

import "fmt"

// Down takes the whole proxy down: the listener is closed, so new connections
// are refused, and Mode says what happens to open ones. The proxy comes back
// (listening on the same address) when the fault expires (Scope.For) or is
// removed. Scope.Conns, AfterBytes and Toxicity do not apply. Type "down",
// attribute "mode" ("refuse", "fin_all", "rst_all").
type Down struct {
	Name  string // default "down"
	Scope Scope
	Mode  DownMode
}

// Type implements Fault.
func (Down) Type() string { return "down" }

// Validate implements Fault.
func (f Down) Validate() error {
	if err := validateCommon(f.Type(), 0, f.Scope); err != nil {
		return err
	}
	if len(f.Scope.Conns) != 0 || f.Scope.AfterBytes != 0 || f.Scope.Toxicity != nil || f.Scope.hasTagMatch() {
		return &FieldError{Fault: f.Type(), Field: "Scope", Attr: "conns", Reason: "down acts on the proxy: conns, after_bytes, transport, sid and toxicity do not apply"}
	}
	if f.Scope.Existing {
		return &FieldError{Fault: f.Type(), Field: "Scope.Existing", Attr: "existing", Reason: "down acts on the proxy: use mode to choose what happens to open connections"}
	}
	if f.Mode > DownResetAll {
		return &FieldError{Fault: f.Type(), Field: "Mode", Attr: "mode", Reason: "unknown mode"}
	}
	return nil
}

func (f Down) meta() faultMeta { return faultMeta{f.Name, Both, f.Scope, levelProxy} }

// downKind registers Down (see registry.go).
var downKind = faultKind{
	typ: "down", goType: "Down", level: "proxy", where: "proxy",
	toxiproxy: false, stream: "downstream",
	summary: "`mode` refuse|fin_all|rst_all",
	attrs:   []AttrSpec{{"mode", "refuse|fin_all|rst_all", "what happens to open connections"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		mode := DownRefuse
		switch s := a.str("mode"); s {
		case "", "refuse":
		case "fin_all":
			mode = DownCloseAll
		case "rst_all":
			mode = DownResetAll
		default:
			a.fail("mode", fmt.Sprintf("must be \"refuse\", \"fin_all\" or \"rst_all\", got %q", s))
		}
		return Down{Name: name, Scope: sc, Mode: mode}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(Down)
		attrs["mode"] = f.Mode.String()
	},
}
