package faultproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// Toxic is a fault in the control API's JSON form, compatible with
// Toxiproxy's toxic objects:
//
//	{"name": "latency_downstream", "type": "latency", "stream": "downstream",
//	 "toxicity": 1, "attributes": {"latency": 100, "jitter": 10}}
//
// Besides each type's own attributes (see [FaultTypes]) every toxic accepts
// the [Scope] attributes "conns" (array of connection ordinals), "after_ms",
// "after_bytes", "for_ms", "transport", "sid", "poll_method" and
// "poll_nth".
type Toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float64        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// AttrSpec documents one attribute of a fault type.
type AttrSpec struct {
	Name string `json:"name"`
	Unit string `json:"unit"`
	Doc  string `json:"doc"`
}

// FaultTypeSpec documents one fault type of the control API.
type FaultTypeSpec struct {
	Type       string     `json:"type"`
	Level      string     `json:"level"` // "stream", "connection", "proxy", "http", "engine.io", "websocket" or "socket.io"
	Toxiproxy  bool       `json:"toxiproxy"`
	Attributes []AttrSpec `json:"attributes"`
	// GoType is the Go type ("Latency"), Stream the default stream of a
	// toxic that names none, Summary the attributes in one line (Markdown).
	GoType  string `json:"go_type"`
	Stream  string `json:"default_stream"`
	Summary string `json:"summary"`
}

var packetAttrs = []AttrSpec{
	{"packet", "name or list", "packet types: open, close, ping, pong, message, upgrade, noop"},
	{"nth", "count", "act on the nth match only (0 = every)"},
	{"probe", "bool", "only packets whose data is \"probe\""},
}

var requestAttrs = []AttrSpec{
	{"method", "HTTP method", "only requests with this method (default any)"},
	{"nth", "count", "only the nth polling request of that method in a session (per sid; 0 = every)"},
}

var scopeAttrs = []AttrSpec{
	{"conns", "ordinals", "only these connection ordinals (default all)"},
	{"after_ms", "ms", "activate this long after attaching"},
	{"after_bytes", "bytes", "activate after this many bytes"},
	{"for_ms", "ms", "stay active this long (0 = until removed)"},
	{"transport", "string", "only connections whose first HTTP request has this transport query parameter"},
	{"sid", "string", "only connections whose first HTTP request has this sid query parameter"},
	{"poll_method", "HTTP method", "only connections whose first request is a polling request with this method"},
	{"existing", "bool", "strike once, after_ms after the fault is added, only the connections open then (later ones pass)"},
	{"poll_nth", "count", "only connections whose first request is the nth polling request (of poll_method, if set) of its session"},
}

// attrReader decodes a toxic's attributes, naming the attribute in errors.
type attrReader struct {
	typ  string
	m    map[string]json.RawMessage
	used map[string]bool
	err  error
}

func (a *attrReader) fail(attr, reason string) {
	if a.err == nil {
		a.err = &FieldError{Fault: a.typ, Field: "attributes." + attr, Attr: attr, Reason: reason}
	}
}

func (a *attrReader) raw(name string) (json.RawMessage, bool) {
	a.used[name] = true
	v, ok := a.m[name]
	if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil, false
	}
	return v, true
}

// int reads an integer attribute (integral JSON numbers such as 100.0 are
// accepted; strings, booleans and fractions are not).
func (a *attrReader) int(name string) int64 {
	v, ok := a.raw(name)
	if !ok {
		return 0
	}
	var n json.Number
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] == '"' {
		a.fail(name, "must be a number, got "+string(v))
		return 0
	}
	if err := json.Unmarshal(v, &n); err != nil {
		a.fail(name, "must be a number, got "+string(v))
		return 0
	}
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		return i
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		a.fail(name, "must be an integer, got "+n.String())
		return 0
	}
	return int64(f)
}

func (a *attrReader) dur(name string, unit time.Duration) time.Duration {
	n := a.int(name)
	if n > math.MaxInt64/int64(unit) || n < math.MinInt64/int64(unit) {
		a.fail(name, "out of range")
		return 0
	}
	return time.Duration(n) * unit
}

func (a *attrReader) str(name string) string {
	v, ok := a.raw(name)
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		a.fail(name, "must be a string, got "+string(v))
	}
	return s
}

func (a *attrReader) boolean(name string) bool {
	v, ok := a.raw(name)
	if !ok {
		return false
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		a.fail(name, "must be true or false, got "+string(v))
	}
	return b
}

func (a *attrReader) strs(name string) []string {
	v, ok := a.raw(name)
	if !ok {
		return nil
	}
	var out []string
	if err := json.Unmarshal(v, &out); err != nil {
		a.fail(name, "must be an array of strings, got "+string(v))
	}
	return out
}

func (a *attrReader) conns(name string) []uint64 {
	v, ok := a.raw(name)
	if !ok {
		return nil
	}
	var out []uint64
	if err := json.Unmarshal(v, &out); err != nil {
		a.fail(name, "must be an array of positive integers, got "+string(v))
	}
	return out
}

func (a *attrReader) closeMode(name string) CloseMode {
	switch s := a.str(name); s {
	case "", "fin":
		return CloseFIN
	case "rst":
		return CloseRST
	default:
		a.fail(name, fmt.Sprintf("must be \"fin\" or \"rst\", got %q", s))
	}
	return CloseFIN
}

func (a *attrReader) finish() error {
	if a.err != nil {
		return a.err
	}
	var unknown []string
	for k := range a.m {
		if !a.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return &FieldError{Fault: a.typ, Field: "attributes." + unknown[0], Attr: unknown[0], Reason: "unknown attribute for this fault type"}
	}
	return nil
}

// toxicIn is the accepted input shape.
type toxicIn struct {
	Name       string                     `json:"name"`
	Type       string                     `json:"type"`
	Stream     string                     `json:"stream"`
	Toxicity   *float64                   `json:"toxicity"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

// ParseToxic decodes and validates one toxic. It returns the typed fault and
// the normalised toxic (defaults filled in: name "<type>_<stream>", stream
// "downstream", toxicity 1). Errors are *[FieldError] for bad attributes or
// fields, or wrap [ErrUnknownFault].
func ParseToxic(data []byte) (Fault, Toxic, error) {
	var in toxicIn
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, Toxic{}, jsonFieldError("toxic", err)
	}
	return toxicFromInput(in)
}

func jsonFieldError(what string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &FieldError{Fault: what, Field: te.Field, Attr: te.Field, Reason: "must be a JSON " + te.Type.String() + ", got " + te.Value}
	}
	attr := "body"
	if _, name, ok := strings.Cut(err.Error(), "unknown field "); ok {
		attr = strings.Trim(name, `"`)
		return &FieldError{Fault: what, Field: attr, Attr: attr, Reason: "unknown field"}
	}
	return &FieldError{Fault: what, Field: attr, Attr: attr, Reason: "bad JSON: " + err.Error()}
}

func toxicFromInput(in toxicIn) (Fault, Toxic, error) {
	if in.Type == "" {
		return nil, Toxic{}, &FieldError{Fault: "toxic", Field: "Type", Attr: "type", Reason: "missing"}
	}
	stream := in.Stream
	if stream == "" {
		stream = "downstream"
		if k := kindOf(in.Type); k != nil {
			stream = k.stream // HTTP faults act on requests
		}
	}
	dir, err := ParseDirection(stream)
	if err != nil {
		return nil, Toxic{}, &FieldError{Fault: in.Type, Field: "Direction", Attr: "stream", Reason: fmt.Sprintf("must be \"upstream\", \"downstream\" or \"both\", got %q", in.Stream)}
	}
	tox := 1.0
	if in.Toxicity != nil {
		tox = *in.Toxicity
	}
	a := &attrReader{typ: in.Type, m: in.Attributes, used: map[string]bool{}}
	sc := Scope{
		Conns:      a.conns("conns"),
		After:      a.dur("after_ms", time.Millisecond),
		AfterBytes: a.int("after_bytes"),
		For:        a.dur("for_ms", time.Millisecond),
		Transport:  a.str("transport"),
		SID:        a.str("sid"),
		Poll:       RequestMatch{Method: a.str("poll_method"), Nth: int(a.int("poll_nth"))},
		Existing:   a.boolean("existing"),
	}
	if tox != 1 {
		sc.Toxicity = Probability(tox)
	}
	name := in.Name
	if name == "" {
		name = in.Type + "_" + stream
	}
	k := kindOf(in.Type)
	if k == nil || k.parse == nil {
		return nil, Toxic{}, fmt.Errorf("%w %q (field \"type\")", ErrUnknownFault, in.Type)
	}
	f := k.parse(a, name, dir, sc)
	if err := a.finish(); err != nil {
		return nil, Toxic{}, err
	}
	if err := f.Validate(); err != nil {
		return nil, Toxic{}, err
	}
	return f, ToxicOf(f, stream), nil
}

// ToxicOf renders a fault in the control API's JSON form. stream is reported
// for connection- and proxy-level faults (which ignore it); "" means
// "downstream".
func ToxicOf(f Fault, stream string) Toxic {
	m := f.meta()
	if m.level == levelStream || m.level == levelUnit {
		stream = m.resolvedDir().String()
	} else if stream == "" {
		stream = "downstream"
	}
	attrs := map[string]any{}
	if k := kindOf(f.Type()); k != nil && k.render != nil {
		k.render(f, attrs)
	}
	s := m.scope
	if len(s.Conns) > 0 {
		attrs["conns"] = s.Conns
	}
	if s.After > 0 {
		attrs["after_ms"] = ms(s.After)
	}
	if s.AfterBytes > 0 {
		attrs["after_bytes"] = s.AfterBytes
	}
	if s.For > 0 {
		attrs["for_ms"] = ms(s.For)
	}
	if s.Transport != "" {
		attrs["transport"] = s.Transport
	}
	if s.SID != "" {
		attrs["sid"] = s.SID
	}
	if s.Poll.Method != "" {
		attrs["poll_method"] = s.Poll.Method
	}
	if s.Poll.Nth != 0 {
		attrs["poll_nth"] = s.Poll.Nth
	}
	if s.Existing {
		attrs["existing"] = true
	}
	name := m.name
	if name == "" {
		name = f.Type() + "_" + stream
	}
	return Toxic{Name: name, Type: f.Type(), Stream: stream, Toxicity: s.toxicity(), Attributes: attrs}
}

func packetNames(ts []engineio.PacketType) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return names
}

// ParseToxics decodes a JSON array of toxics (the --faults file format).
func ParseToxics(data []byte) ([]Fault, []Toxic, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, nil, fmt.Errorf("faultproxy: toxics: want a JSON array of toxics: %w", err)
	}
	var fs []Fault
	var ts []Toxic
	for i, r := range raws {
		f, t, err := ParseToxic(r)
		if err != nil {
			return nil, nil, fmt.Errorf("toxic #%d: %w", i, err)
		}
		fs = append(fs, f)
		ts = append(ts, t)
	}
	return fs, ts, nil
}

// Fault validates t and returns its typed fault.
func (t Toxic) Fault() (Fault, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: toxic %q: %w", t.Name, err)
	}
	f, _, err := ParseToxic(b)
	return f, err
}
