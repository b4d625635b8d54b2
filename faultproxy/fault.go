package faultproxy

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Direction selects which half of a proxied connection a fault acts on.
type Direction uint8

const (
	// DirDefault is the zero value: the fault's default direction, which is
	// Downstream for byte-stream faults (Toxiproxy's default) and Both for
	// connection-level faults.
	DirDefault Direction = iota
	// Upstream is the client → server half (Toxiproxy's "upstream" stream).
	Upstream
	// Downstream is the server → client half (Toxiproxy's "downstream" stream).
	Downstream
	// Both applies a byte-stream fault to each half independently (each half
	// gets its own state and random stream); for connection-level faults it
	// names the connection as a whole.
	Both
)

// String returns "upstream", "downstream", "both" or "default".
func (d Direction) String() string {
	switch d {
	case Upstream:
		return "upstream"
	case Downstream:
		return "downstream"
	case Both:
		return "both"
	case DirDefault:
		return "default"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// ParseDirection parses "upstream", "downstream", "both" or "" (DirDefault).
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "upstream":
		return Upstream, nil
	case "downstream":
		return Downstream, nil
	case "both":
		return Both, nil
	case "":
		return DirDefault, nil
	}
	return 0, fmt.Errorf("faultproxy: unknown direction %q (want upstream, downstream or both)", s)
}

// MarshalText implements encoding.TextMarshaler.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler ("default" is accepted).
func (d *Direction) UnmarshalText(b []byte) error {
	s := string(b)
	if s == "default" {
		s = ""
	}
	v, err := ParseDirection(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// CloseMode says how a fault closes a connection.
type CloseMode uint8

const (
	// CloseFIN closes both sockets normally (the zero value).
	CloseFIN CloseMode = iota
	// CloseRST closes both sockets with SO_LINGER=0, so each peer sees a TCP RST.
	CloseRST
)

// String returns "fin" or "rst".
func (m CloseMode) String() string {
	if m == CloseRST {
		return "rst"
	}
	return "fin"
}

// DownMode says what a Down fault does to connections that are already open.
type DownMode uint8

const (
	// DownRefuse closes the listener (new connections are refused by the
	// kernel) and leaves open connections alone. It is the zero value.
	DownRefuse DownMode = iota
	// DownCloseAll also closes every open connection normally (FIN); this is
	// what Toxiproxy's "enabled": false does.
	DownCloseAll
	// DownResetAll also resets every open connection (RST).
	DownResetAll
)

// String returns "refuse", "fin_all" or "rst_all".
func (m DownMode) String() string {
	switch m {
	case DownCloseAll:
		return "fin_all"
	case DownResetAll:
		return "rst_all"
	}
	return "refuse"
}

// Scope holds the fields every fault shares: which connections it matches,
// when it fires and for how long, and with what probability.
//
// A fault is attached to every matching connection, both those open when it
// is added and those accepted later. On each connection it is "pending" until
// its trigger holds, then "active" for For (or until removed), then
// "expired". A pending or expired fault forwards bytes untouched.
type Scope struct {
	// Conns restricts the fault to these connection ordinals (1 is the first
	// connection the proxy accepted, see [Proxy.Reseed]). Empty means every
	// connection.
	Conns []uint64
	// After delays activation by this long, measured from the moment the fault
	// is attached to the connection (accept time, or the Add call for
	// connections already open). 0 means no delay.
	After time.Duration
	// AfterBytes delays activation until this many bytes have passed in the
	// fault's direction (either direction for connection-level faults) since it
	// was attached. The chunk that crosses the threshold is split so that
	// exactly AfterBytes bytes pass unaffected. 0 means no byte trigger. When
	// both After and AfterBytes are set, both must hold.
	AfterBytes int64
	// For deactivates the fault this long after it became active. 0 means it
	// stays active until removed.
	For time.Duration
	// Transport, if set, restricts the fault to connections whose first
	// HTTP request carries this "transport" query parameter ("polling" or
	// "websocket"); SID likewise for "sid". Setting either turns the
	// protocol tap on for connections accepted while the fault exists. The
	// fault stays pending on a connection until its first request head has
	// been parsed, and never applies if the tags do not match (a "skip"
	// decision). Empty means any.
	Transport string
	SID       string
	// Poll, if its Method or Nth is set, restricts the fault to connections
	// whose first request is a polling request with a sid that matches it:
	// Nth is the request's per-session ordinal (see [RequestMatch]; the
	// Node client opens one connection per polling request, so this is
	// "the connection carrying the 3rd polling GET"). It turns the tap on
	// and waits for the first request head as Transport does.
	Poll RequestMatch
	// Existing makes the fault strike once, at a moment fixed when it is
	// added: After is measured from the Add call (not from each
	// connection's accept), and only connections open at that moment
	// (Add + After) are affected; connections accepted later are never
	// touched (a "skip" decision says so). This is how a network loss
	// behaves: it hits the flows of the moment, and a client that gives up
	// on a dead connection can connect again (half-open). When the moment
	// comes, the proxy logs one "start" decision (connection 0) naming the
	// connections struck. Not for down and slow_open. Default false.
	Existing bool
	// Toxicity is the probability in [0, 1] that the fault applies to a given
	// connection (per direction for byte-stream faults), decided once from the
	// connection's deterministic random stream. nil means 1 (always). Use
	// [Probability] to build the pointer.
	Toxicity *float64
}

// Probability returns a pointer to p, for [Scope.Toxicity].
func Probability(p float64) *float64 { return &p }

func (s Scope) toxicity() float64 {
	if s.Toxicity == nil {
		return 1
	}
	return *s.Toxicity
}

func (s Scope) hasTagMatch() bool {
	return s.Transport != "" || s.SID != "" || s.Poll != (RequestMatch{})
}

// matchTags reports whether a tagged connection matches Transport, SID and
// Poll.
func (s Scope) matchTags(info ConnInfo) bool {
	if s.Poll != (RequestMatch{}) && (info.RequestOrdinal == 0 || !s.Poll.matches(info.Method, info.RequestOrdinal)) {
		return false
	}
	return (s.Transport == "" || s.Transport == info.Transport) && (s.SID == "" || s.SID == info.SID)
}

func (s Scope) matchesConn(ord uint64) bool {
	if len(s.Conns) == 0 {
		return true
	}
	for _, c := range s.Conns {
		if c == ord {
			return true
		}
	}
	return false
}

// Fault is a typed fault value: one of [Latency], [Bandwidth], [Slicer],
// [LimitData], [Blackhole], [Timeout], [SlowClose], [ResetPeer], [SlowOpen],
// [IdleTimeout], [MaxLifetime], [Down], [HTTPRejectUpgrade],
// [HTTPStripUpgrade], [HTTPDowngrade10], [WSUpgradeThenBlackhole], [EIODropPacket],
// [EIODelayPacket], [EIODuplicatePacket], [EIODropIf], [DelayPollResponse],
// [WSCloseMidFrame], [HTTPResponseTimeout], [HTTPDuplicateRequest],
// [HTTPBufferResponse], [WSBufferFrames], [LBRoundRobin], [WSDropDirection]
// or [SIODropPacket]. The set is
// closed; values are immutable once added to a proxy.
type Fault interface {
	// Type returns the fault's type name as used by the control API
	// ("latency", "reset_peer", ...).
	Type() string
	// Validate reports the first invalid parameter as a *[FieldError].
	Validate() error
	meta() faultMeta
}

// level says where a fault acts.
type level uint8

const (
	levelStream level = iota // per direction, sees chunks
	levelConn                // per connection, runs timers
	levelProxy               // per proxy (listener)
	levelUnit                // upstream, sees parsed protocol units (runs first)
)

type faultMeta struct {
	name  string
	dir   Direction
	scope Scope
	level level
}

// resolvedDir returns the direction after applying the default.
func (m faultMeta) resolvedDir() Direction {
	switch m.level {
	case levelUnit:
		if m.dir == DirDefault {
			return Upstream
		}
		return m.dir
	case levelConn, levelProxy:
		return Both
	}
	if m.dir == DirDefault {
		return Downstream
	}
	return m.dir
}

// FieldError reports an invalid fault parameter. Field is the Go field name,
// Attr the control-API attribute name.
type FieldError struct {
	Fault  string // fault type, e.g. "latency"
	Field  string // Go field, e.g. "Jitter" or "Scope.For"
	Attr   string // JSON attribute, e.g. "jitter" or "for_ms"
	Reason string // e.g. "must not be negative"
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("faultproxy: %s: field %s (attribute %q): %s", e.Fault, e.Field, e.Attr, e.Reason)
}

// Sentinel errors.
var (
	// ErrClosed is returned by operations on a closed proxy or a removed handle.
	ErrClosed = errors.New("faultproxy: closed")
	// ErrDuplicateName is returned by Add when a fault with the same name exists.
	ErrDuplicateName = errors.New("faultproxy: a fault with this name already exists")
	// ErrNotStarted is returned when a proxy is used before Start.
	ErrNotStarted = errors.New("faultproxy: not started")
	// ErrAlreadyStarted is returned by a second Start.
	ErrAlreadyStarted = errors.New("faultproxy: already started")
	// ErrUnknownFault is returned (wrapped) for an unknown fault type name.
	ErrUnknownFault = errors.New("faultproxy: unknown fault type")
	// ErrNotFound is returned (wrapped) for an unknown fault or proxy name.
	ErrNotFound = errors.New("faultproxy: not found")
)

func nonNeg(typ, field, attr string, d int64) error {
	if d < 0 {
		return &FieldError{Fault: typ, Field: field, Attr: attr, Reason: "must not be negative"}
	}
	return nil
}

func validateCommon(typ string, dir Direction, s Scope) error {
	if dir > Both {
		return &FieldError{Fault: typ, Field: "Direction", Attr: "stream", Reason: "unknown direction"}
	}
	for _, c := range s.Conns {
		if c == 0 {
			return &FieldError{Fault: typ, Field: "Scope.Conns", Attr: "conns", Reason: "connection ordinals start at 1"}
		}
	}
	if err := nonNeg(typ, "Scope.After", "after_ms", int64(s.After)); err != nil {
		return err
	}
	if err := nonNeg(typ, "Scope.AfterBytes", "after_bytes", s.AfterBytes); err != nil {
		return err
	}
	if err := nonNeg(typ, "Scope.For", "for_ms", int64(s.For)); err != nil {
		return err
	}
	if fe := s.Poll.check(typ); fe != nil {
		fe.Field = "Scope.Poll." + strings.TrimPrefix(fe.Field, "Match.")
		fe.Attr = "poll_" + fe.Attr
		return fe
	}
	if t := s.Toxicity; t != nil && !(*t >= 0 && *t <= 1) {
		return &FieldError{Fault: typ, Field: "Scope.Toxicity", Attr: "toxicity", Reason: "must be in [0, 1]"}
	}
	return nil
}

// defaultName returns the Toxiproxy-style default name.
func defaultName(f Fault) string {
	m := f.meta()
	if m.level == levelStream {
		return f.Type() + "_" + m.resolvedDir().String()
	}
	return f.Type()
}
