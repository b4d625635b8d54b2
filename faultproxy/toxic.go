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
	Level      string     `json:"level"` // "stream", "connection", "proxy" or "http"
	Toxiproxy  bool       `json:"toxiproxy"`
	Attributes []AttrSpec `json:"attributes"`
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

// FaultTypes returns the catalogue of fault types the control API accepts.
func FaultTypes() []FaultTypeSpec {
	return []FaultTypeSpec{
		{"latency", "stream", true, []AttrSpec{{"latency", "ms", "delay per chunk"}, {"jitter", "ms", "uniform ± jitter per chunk"}}},
		{"bandwidth", "stream", true, []AttrSpec{{"rate", "KB/s", "rate limit, 0 = unlimited"}}},
		{"slicer", "stream", true, []AttrSpec{{"average_size", "bytes", "average piece size"}, {"size_variation", "bytes", "uniform ± variation"}, {"delay", "µs", "pause between pieces"}}},
		{"limit_data", "stream", true, []AttrSpec{{"bytes", "bytes", "bytes to forward before closing"}}},
		{"timeout", "stream", true, []AttrSpec{{"timeout", "ms", "discard data and close after this; 0 = hold forever"}}},
		{"slow_close", "stream", true, []AttrSpec{{"delay", "ms", "delay before propagating EOF"}}},
		{"blackhole", "stream", false, nil},
		{"reset_peer", "connection", true, []AttrSpec{{"timeout", "ms", "reset (RST) this long after activation"}}},
		{"slow_open", "connection", false, []AttrSpec{{"delay", "ms", "delay before connecting upstream"}}},
		{"idle_timeout", "connection", false, []AttrSpec{{"idle_ms", "ms", "close after this long without data"}, {"close", "fin|rst", "how to close"}}},
		{"max_lifetime", "connection", false, []AttrSpec{{"lifetime_ms", "ms", "close this long after accept"}, {"close", "fin|rst", "how to close"}}},
		{"down", "proxy", false, []AttrSpec{{"mode", "refuse|fin_all|rst_all", "what happens to open connections"}}},
		{"http_reject_upgrade", "http", false, []AttrSpec{{"status", "HTTP status", "answer to upgrade requests (default 403)"}, {"body", "text", "response body"}}},
		{"http_strip_upgrade", "http", false, nil},
		{"http_downgrade_10", "http", false, nil},
		{"ws_upgrade_then_blackhole", "http", false, nil},
		{"eio_drop_packet", "engine.io", false, packetAttrs},
		{"eio_delay_packet", "engine.io", false, append(packetAttrs[:3:3], AttrSpec{"delay_ms", "ms", "how long to hold a matching packet"})},
		{"eio_duplicate_packet", "engine.io", false, packetAttrs},
		{"delay_poll_response", "http", false, []AttrSpec{{"nth", "count", "the nth polling GET response of the connection (0 = every)"}, {"delay_ms", "ms", "how long to hold it"}}},
		{"ws_close_mid_frame", "websocket", false, []AttrSpec{{"nth", "count", "the nth WebSocket frame (0 = the first)"}, {"close", "fin|rst", "how to close"}}},
		{"http_response_timeout", "http", false, []AttrSpec{{"timeout_ms", "ms", "answer a request whose response has not started after this long"}, {"status", "HTTP status", "the answer (default 504)"}, requestAttrs[0], requestAttrs[1]}},
		{"http_duplicate_request", "http", false, []AttrSpec{{"method", "HTTP method", "requests to copy (default GET)"}, requestAttrs[1], {"delay_ms", "ms", "send the copy this long after the original"}}},
		{"http_buffer_response", "http", false, []AttrSpec{{"until", "complete|bytes", "release each complete response, or only every max_bytes"}, {"max_bytes", "bytes", "release once this much is held (0 = no cap with until complete)"}, {"hold_ms", "ms", "delay before each release"}}},
		{"ws_buffer_frames", "websocket", false, []AttrSpec{{"hold_ms", "ms", "forward each frame this long after it was read"}, {"until_bytes", "bytes", "hold frames until this many bytes, then forward them together"}}},
		{"ws_drop_direction", "websocket", false, []AttrSpec{{"control", "bool", "also drop ping, pong and close frames (default: data frames only)"}}},
		{"sio_drop_packet", "socket.io", false, []AttrSpec{{"packet", "name or list", "packet types: connect, disconnect, event, ack, connect_error, binary_event, binary_ack (default any)"}, {"namespace", "string", "only packets of this namespace, e.g. \"/\" or \"/admin\""}, {"event", "string", "only event and binary_event packets with this name"}, {"nth", "count", "act on the nth match only (0 = every)"}}},
		{"lb_round_robin", "http", false, []AttrSpec{{"backends", "list of host:port", "servers to balance over"}, {"sticky", "none|cookie|sid", "how a session stays on its backend"}}},
	}
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
		if (strings.HasPrefix(in.Type, "http_") && in.Type != "http_buffer_response") || (strings.HasPrefix(in.Type, "ws_") && in.Type != "ws_buffer_frames" && in.Type != "ws_drop_direction") {
			stream = "upstream" // HTTP faults act on requests
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
	var f Fault
	switch in.Type {
	case "latency":
		f = Latency{Name: name, Direction: dir, Scope: sc, Latency: a.dur("latency", time.Millisecond), Jitter: a.dur("jitter", time.Millisecond)}
	case "bandwidth":
		f = Bandwidth{Name: name, Direction: dir, Scope: sc, RateKBps: a.int("rate")}
	case "slicer":
		f = Slicer{Name: name, Direction: dir, Scope: sc, AverageSize: int(a.int("average_size")), SizeVariation: int(a.int("size_variation")), Delay: a.dur("delay", time.Microsecond)}
	case "limit_data":
		f = LimitData{Name: name, Direction: dir, Scope: sc, Bytes: a.int("bytes")}
	case "timeout":
		f = Timeout{Name: name, Direction: dir, Scope: sc, Timeout: a.dur("timeout", time.Millisecond)}
	case "slow_close":
		f = SlowClose{Name: name, Direction: dir, Scope: sc, Delay: a.dur("delay", time.Millisecond)}
	case "blackhole":
		f = Blackhole{Name: name, Direction: dir, Scope: sc}
	case "reset_peer":
		f = ResetPeer{Name: name, Scope: sc, Timeout: a.dur("timeout", time.Millisecond)}
	case "slow_open":
		f = SlowOpen{Name: name, Scope: sc, Delay: a.dur("delay", time.Millisecond)}
	case "idle_timeout":
		f = IdleTimeout{Name: name, Scope: sc, Idle: a.dur("idle_ms", time.Millisecond), Close: a.closeMode("close")}
	case "max_lifetime":
		f = MaxLifetime{Name: name, Scope: sc, Lifetime: a.dur("lifetime_ms", time.Millisecond), Close: a.closeMode("close")}
	case "down":
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
		f = Down{Name: name, Scope: sc, Mode: mode}
	case "http_reject_upgrade":
		f = HTTPRejectUpgrade{Name: name, Scope: sc, Status: int(a.int("status")), Body: a.str("body")}
	case "http_strip_upgrade":
		f = HTTPStripUpgrade{Name: name, Scope: sc}
	case "http_downgrade_10":
		f = HTTPDowngrade10{Name: name, Scope: sc}
	case "ws_upgrade_then_blackhole":
		f = WSUpgradeThenBlackhole{Name: name, Scope: sc}
	case "eio_drop_packet":
		f = EIODropPacket{Name: name, Direction: dir, Scope: sc, Packets: parsePacketTypes(a, "packet"), Nth: int(a.int("nth")), Probe: a.boolean("probe")}
	case "eio_delay_packet":
		f = EIODelayPacket{Name: name, Direction: dir, Scope: sc, Packets: parsePacketTypes(a, "packet"), Nth: int(a.int("nth")), Probe: a.boolean("probe"), Delay: a.dur("delay_ms", time.Millisecond)}
	case "delay_poll_response":
		f = DelayPollResponse{Name: name, Scope: sc, Nth: int(a.int("nth")), Delay: a.dur("delay_ms", time.Millisecond)}
	case "ws_close_mid_frame":
		f = WSCloseMidFrame{Name: name, Direction: dir, Scope: sc, Nth: int(a.int("nth")), Close: a.closeMode("close")}
	case "eio_duplicate_packet":
		f = EIODuplicatePacket{Name: name, Direction: dir, Scope: sc, Packets: parsePacketTypes(a, "packet"), Nth: int(a.int("nth")), Probe: a.boolean("probe")}
	case "http_response_timeout":
		f = HTTPResponseTimeout{Name: name, Scope: sc, Match: RequestMatch{Method: a.str("method"), Nth: int(a.int("nth"))},
			Timeout: a.dur("timeout_ms", time.Millisecond), Status: int(a.int("status"))}
	case "http_duplicate_request":
		f = HTTPDuplicateRequest{Name: name, Scope: sc, Match: RequestMatch{Method: a.str("method"), Nth: int(a.int("nth"))},
			Delay: a.dur("delay_ms", time.Millisecond)}
	case "http_buffer_response":
		until := BufferComplete
		switch s := a.str("until"); s {
		case "", "complete":
		case "bytes":
			until = BufferBytes
		default:
			a.fail("until", fmt.Sprintf("must be \"complete\" or \"bytes\", got %q", s))
		}
		f = HTTPBufferResponse{Name: name, Scope: sc, Until: until, MaxBytes: a.int("max_bytes"), Hold: a.dur("hold_ms", time.Millisecond)}
	case "ws_buffer_frames":
		f = WSBufferFrames{Name: name, Direction: dir, Scope: sc, Hold: a.dur("hold_ms", time.Millisecond), UntilBytes: a.int("until_bytes")}
	case "ws_drop_direction":
		f = WSDropDirection{Name: name, Direction: dir, Scope: sc, Control: a.boolean("control")}
	case "sio_drop_packet":
		f = SIODropPacket{Name: name, Direction: dir, Scope: sc, Types: parseSIOTypes(a, "packet"), Namespace: a.str("namespace"), Event: a.str("event"), Nth: int(a.int("nth"))}
	case "lb_round_robin":
		sticky := StickyNone
		switch s := a.str("sticky"); s {
		case "", "none":
		case "cookie":
			sticky = StickyCookie
		case "sid":
			sticky = StickySID
		default:
			a.fail("sticky", fmt.Sprintf("must be \"none\", \"cookie\" or \"sid\", got %q", s))
		}
		f = LBRoundRobin{Name: name, Scope: sc, Backends: a.strs("backends"), Sticky: sticky}
	default:
		return nil, Toxic{}, fmt.Errorf("%w %q (field \"type\")", ErrUnknownFault, in.Type)
	}
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
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	switch f := f.(type) {
	case Latency:
		attrs["latency"], attrs["jitter"] = ms(f.Latency), ms(f.Jitter)
	case Bandwidth:
		attrs["rate"] = f.RateKBps
	case Slicer:
		attrs["average_size"], attrs["size_variation"], attrs["delay"] = f.AverageSize, f.SizeVariation, f.Delay.Microseconds()
	case LimitData:
		attrs["bytes"] = f.Bytes
	case Timeout:
		attrs["timeout"] = ms(f.Timeout)
	case SlowClose:
		attrs["delay"] = ms(f.Delay)
	case ResetPeer:
		attrs["timeout"] = ms(f.Timeout)
	case SlowOpen:
		attrs["delay"] = ms(f.Delay)
	case IdleTimeout:
		attrs["idle_ms"], attrs["close"] = ms(f.Idle), f.Close.String()
	case MaxLifetime:
		attrs["lifetime_ms"], attrs["close"] = ms(f.Lifetime), f.Close.String()
	case Down:
		attrs["mode"] = f.Mode.String()
	case HTTPRejectUpgrade:
		attrs["status"], attrs["body"] = f.Status, f.Body
	case EIODropPacket:
		attrs["packet"], attrs["nth"], attrs["probe"] = packetNames(f.Packets), f.Nth, f.Probe
	case EIODelayPacket:
		attrs["packet"], attrs["nth"], attrs["probe"], attrs["delay_ms"] = packetNames(f.Packets), f.Nth, f.Probe, ms(f.Delay)
	case EIODuplicatePacket:
		attrs["packet"], attrs["nth"], attrs["probe"] = packetNames(f.Packets), f.Nth, f.Probe
	case DelayPollResponse:
		attrs["nth"], attrs["delay_ms"] = f.Nth, ms(f.Delay)
	case WSCloseMidFrame:
		attrs["nth"], attrs["close"] = f.Nth, f.Close.String()
	case HTTPResponseTimeout:
		attrs["timeout_ms"], attrs["status"], attrs["method"], attrs["nth"] = ms(f.Timeout), f.Status, f.Match.Method, f.Match.Nth
	case HTTPDuplicateRequest:
		attrs["method"], attrs["nth"], attrs["delay_ms"] = f.Match.Method, f.Match.Nth, ms(f.Delay)
	case HTTPBufferResponse:
		attrs["until"], attrs["max_bytes"], attrs["hold_ms"] = f.Until.String(), f.MaxBytes, ms(f.Hold)
	case WSBufferFrames:
		attrs["hold_ms"], attrs["until_bytes"] = ms(f.Hold), f.UntilBytes
	case WSDropDirection:
		attrs["control"] = f.Control
	case SIODropPacket:
		attrs["packet"], attrs["namespace"], attrs["event"], attrs["nth"] = sioTypeNames(f.Types), f.Namespace, f.Event, f.Nth
	case LBRoundRobin:
		attrs["backends"], attrs["sticky"] = f.Backends, f.Sticky.String()
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
