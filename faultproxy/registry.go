package faultproxy

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// faultKind describes one fault type: its names, where it acts, its
// parameters and how the control API's JSON maps to and from the Go value,
// and what it does on a connection. Each fault's file (fault_<type>.go)
// declares its Go type, its behaviour and one faultKind value; the table
// [faultKinds] names them all. Everything that lists or dispatches on fault
// types (ParseToxic, ToxicOf, FaultTypes, the proxy's stages, README.md's
// catalogue and `siospec proxy --help`) reads the table, so adding a fault
// is one new file and one line in the table (see README.md, "Adding a
// fault"); TestREADMECatalogue fails when README.md drifts from it.
type faultKind struct {
	typ       string     // control-API type name, e.g. "latency"; Fault.Type() returns it
	goType    string     // the Go type, e.g. "Latency"
	level     string     // "stream", "connection", "proxy", "http", "engine.io", "websocket" or "socket.io"
	where     string     // the catalogue's level column, with detail, e.g. "engine.io (WebSocket, v4 polling)"
	toxiproxy bool       // the type exists in Toxiproxy with the same attributes
	stream    string     // default stream of a toxic that names none: "downstream" or "upstream"
	summary   string     // the catalogue's attributes column (Markdown, unescaped '|')
	attrs     []AttrSpec // the type's own attributes (not the scope's)
	// parse builds the fault from a toxic's attributes; name, dir and sc are
	// already decoded. nil: the type has no JSON form (Go only).
	parse func(a *attrReader, name string, dir Direction, sc Scope) Fault
	// render writes the type's own attributes of f into attrs; nil: none.
	render func(f Fault, attrs map[string]any)
	// behaviour returns the per-connection stage; nil: the fault acts
	// elsewhere (slow_open in the connect, down on the listener).
	behaviour func(f Fault) behaviour
}

// faultKinds is the fault registry, in catalogue order. It is built once
// from the per-fault descriptors and never written.
var faultKinds = [...]faultKind{
	latencyKind,
	bandwidthKind,
	slicerKind,
	limitDataKind,
	timeoutKind,
	slowCloseKind,
	blackholeKind,
	resetPeerKind,
	slowOpenKind,
	idleTimeoutKind,
	maxLifetimeKind,
	downKind,
	httpRejectUpgradeKind,
	httpStripUpgradeKind,
	httpDowngrade10Kind,
	wsUpgradeThenBlackholeKind,
	eioDropPacketKind,
	eioDelayPacketKind,
	eioDuplicatePacketKind,
	delayPollResponseKind,
	wsCloseMidFrameKind,
	httpResponseTimeoutKind,
	httpDuplicateRequestKind,
	httpBufferResponseKind,
	wsBufferFramesKind,
	wsDropDirectionKind,
	sioDropPacketKind,
	lbRoundRobinKind,
	eioDropIfKind,
	eioObserveKind,
}

// kindOf returns the descriptor of fault type typ, or nil.
func kindOf(typ string) *faultKind {
	for i := range faultKinds {
		if faultKinds[i].typ == typ {
			return &faultKinds[i]
		}
	}
	return nil
}

// ms renders a duration in the control API's milliseconds.
func ms(d time.Duration) int64 { return d.Milliseconds() }

// FaultTypes returns the catalogue of fault types the control API accepts,
// from the registry (Go-only types such as [EIODropIf] are left out).
func FaultTypes() []FaultTypeSpec {
	out := make([]FaultTypeSpec, 0, len(faultKinds))
	for _, k := range faultKinds {
		if k.parse == nil {
			continue
		}
		out = append(out, FaultTypeSpec{Type: k.typ, Level: k.level, Toxiproxy: k.toxiproxy, Attributes: append([]AttrSpec(nil), k.attrs...),
			GoType: k.goType, Stream: k.stream, Summary: k.summary})
	}
	return out
}

// FaultCatalogue is one line per fault type (Go-only ones included), for
// `siospec proxy --help`: type, Go type, level and attributes, aligned.
func FaultCatalogue() string {
	var b strings.Builder
	w := 0
	for _, k := range faultKinds {
		w = max(w, len(k.typ))
	}
	for _, k := range faultKinds {
		typ := k.typ
		if k.parse == nil {
			typ = "(Go only)"
		}
		fmt.Fprintf(&b, "  %-*s  %s, %s: %s\n", w, typ, k.goType, k.where, strings.ReplaceAll(k.summary, "`", ""))
	}
	return b.String()
}

// faultTableMarkdown renders README.md's fault catalogue table.
func faultTableMarkdown() string {
	var b bytes.Buffer
	b.WriteString("| type | Go type | level | attributes (JSON units) |\n|---|---|---|---|\n")
	for _, k := range faultKinds {
		typ := "`" + k.typ + "`"
		if k.parse == nil {
			typ = "— (Go only)"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", typ, k.goType, k.where, strings.ReplaceAll(k.summary, "|", "\\|"))
	}
	return b.String()
}
