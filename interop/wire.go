package interop

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// maxWire bounds how many packets a cell records (the transcript and the
// judge see the first maxWire).
const maxWire = 20000

// transcriptLines bounds the transcript kept in matrix.json per cell.
const transcriptLines = 400

// wirePacket is one Engine.IO packet the proxy's tap saw, or (Why set) one
// unit of Engine.IO data it could not decode.
type wirePacket struct {
	At        time.Duration
	Up        bool   // client → server
	Conn      uint64 // the proxy connection
	Transport string // polling or websocket ("" unknown)
	EIO       int    // 3 or 4 (0 unknown)
	SID       string // the Engine.IO session ("" when the tap cannot tell)
	Type      engineio.PacketType
	Binary    bool
	Data      []byte
	// Undecoded units: Why says what the tap could not decode, Undecoded
	// how many bytes (0 when unknown).
	Undecoded int
	Why       string
}

func (w wirePacket) side() string {
	if w.Up {
		return SideClient
	}
	return SideServer
}

// undecoded reports whether w is a unit the tap could not decode.
func (w wirePacket) undecoded() bool { return w.Why != "" }

func (w wirePacket) String() string {
	arrow := "S→C"
	if w.Up {
		arrow = "C→S"
	}
	var body string
	switch {
	case w.undecoded():
		body = fmt.Sprintf("<not decoded: %d bytes: %s>", w.Undecoded, w.Why)
	case w.Binary:
		body = fmt.Sprintf("<binary %d bytes>", len(w.Data))
	default:
		d := w.Data
		if len(d) > 200 {
			d = append(d[:200:200], "…"...)
		}
		body = strconv.Itoa(int(w.Type)) + string(d)
	}
	tr := w.Transport
	if tr == "" {
		tr = "?"
	}
	return fmt.Sprintf("%8.3fs %s c%d %s %s %s", w.At.Seconds(), arrow, w.Conn, tr, shortSID(w.SID), body)
}

// shortSID abbreviates a sid for the transcript ("-" when unknown).
func shortSID(sid string) string {
	switch {
	case sid == "":
		return "sid:-"
	case len(sid) > 8:
		return "sid:" + sid[:8]
	}
	return "sid:" + sid
}

// wireRecorder records the Engine.IO packets of both directions, and the
// units the tap could not decode, through an EIOObserve observer.
type wireRecorder struct {
	mu    sync.Mutex
	start time.Time
	pkts  []wirePacket
	lost  int
}

func newWireRecorder() *wireRecorder { return &wireRecorder{start: time.Now()} }

// fault returns the observer to add to the proxy.
func (r *wireRecorder) fault() faultproxy.Fault {
	return faultproxy.EIOObserve{Name: "interop_tap", Direction: faultproxy.Both, Observe: r.observe}
}

func (r *wireRecorder) observe(o faultproxy.EIOObservation) {
	w := wirePacket{At: time.Since(r.start), Up: o.Direction == faultproxy.Upstream, Conn: o.Conn, Transport: o.Transport, EIO: o.EIO, SID: o.SID}
	if p := o.Packet; p != nil {
		w.Type, w.Binary, w.Data = p.Type, p.Binary, append([]byte(nil), p.Data...)
	} else {
		w.Undecoded, w.Why = o.Undecoded, o.Why
		if w.Why == "" {
			w.Why = "not decoded"
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pkts) >= maxWire {
		r.lost++
		return
	}
	r.pkts = append(r.pkts, w)
}

// packets returns what was recorded; past maxWire, one undecoded unit says
// how many more were lost to the recorder.
func (r *wireRecorder) packets() []wirePacket {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]wirePacket(nil), r.pkts...)
	if r.lost > 0 {
		out = append(out, wirePacket{At: time.Since(r.start), Why: fmt.Sprintf("%d more units past the recorder's limit of %d", r.lost, maxWire)})
	}
	return out
}

// seqSeen is what the tap saw of the workload in one direction.
type seqSeen struct {
	events map[int]int // seq → times seen
	order  []int       // in the order the tap saw them, across sessions
	at     []time.Duration
	acks   map[int]int // seq → ack packets carrying [seq] the other way
}

// add records seq seen at at.
func (s *seqSeen) add(seq int, at time.Duration) {
	s.events[seq]++
	s.order = append(s.order, seq)
	s.at = append(s.at, at)
}

// sortOrder puts order in the tap's time order (sessions are judged one
// after the other, but may overlap in time).
func (s *seqSeen) sortOrder() {
	idx := make([]int, len(s.order))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s.at[a], s.at[b]) })
	order, at := make([]int, len(idx)), make([]time.Duration, len(idx))
	for k, i := range idx {
		order[k], at[k] = s.order[i], s.at[i]
	}
	s.order, s.at = order, at
}

// wireJudge checks the recorded packets against the wire rules, both
// directions, and extracts what the workload put on the wire.
//
// It judges each Engine.IO session on its own (the packets carrying its sid,
// on whichever connections and transports): heartbeat, binary attachments
// and ack ids are per-session state, so packets of different sessions
// never meet in one rule. A session is partially visible when a unit of it
// was not decoded, its open packet was not seen, or traffic the tap could
// not attribute may be its; rules that conclude from absence (attachments
// missing, a ping unanswered, no ping at all) are not applied to it, rules
// that conclude from presence still are (see wire_visibility.go).
type wireJudge struct {
	proto    string // sio5 or sio4
	strictHB bool   // judge the heartbeat (no fault can hold packets)
	fails    []Failure
	up, down seqSeen
	// streamAsked: the client's ext:stream request passed the proxy.
	streamAsked bool
	// blind is set by run when part of the traffic is not visible (a
	// partially visible session, or traffic of no known session), so "not
	// seen on the wire" proves nothing; blindWhy says why. A value set
	// before run is replaced.
	blind    bool
	blindWhy string
	// vis is what run could see, per session.
	vis Visibility
}

func (j *wireJudge) fail(id, side, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	for _, f := range j.fails {
		if f.ID == id && f.Side == side {
			return // one failure per rule and side; the first instance explains it
		}
	}
	j.fails = append(j.fails, Failure{ID: id, Side: side, Detail: msg})
}

type dirState struct {
	pendingAtt int             // binary attachments still expected
	askedAcks  map[string]bool // "nsp id" of events asking for an ack, sent this way
	answered   map[string]bool // acks answered (by the other direction)
	lastHeader socketio.Packet // the binary header being completed
	seqOf      map[string]int  // "nsp id" → seq of a net:seq event asking for an ack
	partial    bool            // the session is partially visible: no absence-based verdicts
	sid        string          // the session, for details
}

func newDirState() *dirState {
	return &dirState{askedAcks: map[string]bool{}, answered: map[string]bool{}, seqOf: map[string]int{}}
}

// run judges pkts; end is when the recording ended (on the packets' clock).
func (j *wireJudge) run(pkts []wirePacket, end time.Duration) {
	j.up = seqSeen{events: map[int]int{}, acks: map[int]int{}}
	j.down = seqSeen{events: map[int]int{}, acks: map[int]int{}}
	sessions, vis := splitSessions(pkts)
	j.vis = vis
	j.blind, j.blindWhy = vis.partial(), vis.why()
	for _, s := range sessions {
		j.session(s, end)
	}
	j.up.sortOrder()
	j.down.sortOrder()
}

// session judges the packets of one Engine.IO session.
func (j *wireJudge) session(s *session, end time.Duration) {
	v4 := j.proto == ProtoSIO5
	dec := socketio.Decoder{Version: socketio.V5}
	if !v4 {
		dec.Version = socketio.V4
	}
	partial := s.partial()
	// Heartbeat verdicts from absence need the whole session.
	strictHB := j.strictHB && !partial
	st := map[bool]*dirState{true: newDirState(), false: newDirState()}
	for _, d := range st {
		d.partial, d.sid = partial, s.sid
	}
	pending := 0 // v4: server pings not yet answered; v3: client pings
	var pingAt time.Duration
	var pingInterval, pingTimeout time.Duration
	// unanswered checks, at the end of a session, that its last ping was
	// answered when the peer had pingTimeout (plus a grace) to do it.
	closed := false // a close packet ended the session: no more heartbeat duty
	unanswered := func(now time.Duration, why string) {
		if pending == 0 || closed || !strictHB || now-pingAt < pingTimeout+250*time.Millisecond {
			return
		}
		if v4 {
			j.fail("EIO-HB-02", SideClient, "session %s: the ping at %.3fs was never answered with a pong (%s)", s.sid, pingAt.Seconds(), why)
		} else {
			j.fail("EIO3-02", SideServer, "session %s: the client ping at %.3fs was never answered with a pong (%s)", s.sid, pingAt.Seconds(), why)
		}
	}
	var opened, lastAt time.Duration
	pings := 0
	for _, p := range s.pkts {
		if p.undecoded() {
			continue
		}
		lastAt = p.At
		side := p.side()
		probe := string(p.Data) == "probe"
		switch p.Type {
		case engineio.Open:
			if p.Up {
				j.fail("EIO-PKT-04", SideClient, "%s: the client sent an open packet", p)
				continue
			}
			var o struct {
				PingInterval int `json:"pingInterval"`
				PingTimeout  int `json:"pingTimeout"`
			}
			_ = json.Unmarshal(p.Data, &o)
			pingInterval = time.Duration(o.PingInterval) * time.Millisecond
			pingTimeout = time.Duration(o.PingTimeout) * time.Millisecond
			opened = p.At
		case engineio.Ping:
			switch {
			case probe && !p.Up:
				j.fail("EIO-PKT-04", SideServer, "%s: the server sent the client's probe ping", p)
			case probe, closed:
			case v4 && p.Up:
				j.fail("EIO-PKT-04", SideClient, "%s: a v4 client sent a ping (the server pings in v4)", p)
			case !v4 && !p.Up:
				j.fail("EIO3-02", SideServer, "%s: a v3 server sent a ping (the client pings in v3)", p)
			default:
				if v4 && len(p.Data) > 0 {
					j.fail("EIO-HB-07", side, "%s: a v4 ping carries data", p)
				}
				if pending > 0 && strictHB {
					if v4 {
						j.fail("EIO-HB-02", SideClient, "%s: the previous ping was never answered with a pong", p)
					} else {
						j.fail("EIO3-02", SideServer, "%s: the previous client ping was never answered with a pong", p)
					}
				}
				pending++
				pings++
				pingAt = p.At
			}
		case engineio.Pong:
			switch {
			case probe && p.Up:
				j.fail("EIO-PKT-04", SideClient, "%s: the client sent the server's probe pong", p)
			case probe:
			case v4 && !p.Up:
				j.fail("EIO-PKT-04", SideServer, "%s: a v4 server sent a pong", p)
			case !v4 && p.Up:
				j.fail("EIO3-02", SideClient, "%s: a v3 client sent a pong", p)
			default:
				if v4 && len(p.Data) > 0 {
					j.fail("EIO-HB-07", side, "%s: a v4 pong carries data", p)
				}
				pending = 0
			}
		case engineio.Close:
			closed, pending = true, 0
		case engineio.Upgrade:
			if !p.Up {
				j.fail("EIO-PKT-04", SideServer, "%s: the server sent an upgrade packet", p)
			}
		case engineio.Noop:
			if p.Up && v4 {
				j.fail("EIO-PKT-04", SideClient, "%s: the client sent a noop", p)
			}
		case engineio.Message:
			j.message(dec, st[p.Up], st[!p.Up], p)
		}
	}
	unanswered(end, "by the end of the cell")
	if strictHB && pingInterval > 0 && pings == 0 && lastAt-opened > 2*pingInterval+500*time.Millisecond {
		if v4 {
			j.fail("EIO-HB-01", SideServer, "session %s: no ping in %v of session (pingInterval %v)", s.sid, (lastAt - opened).Round(time.Millisecond), pingInterval)
		} else {
			j.fail("EIO3-02", SideClient, "session %s: no client ping in %v of session (pingInterval %v)", s.sid, (lastAt - opened).Round(time.Millisecond), pingInterval)
		}
	}
}

func (j *wireJudge) message(dec socketio.Decoder, me, other *dirState, p wirePacket) {
	side := p.side()
	if p.Binary {
		if me.pendingAtt == 0 {
			// On a partially visible session the header may be what
			// was not decoded.
			if !me.partial {
				j.fail("SIO-BIN-02", side, "%s: a binary message with no binary header pending", p)
			}
			return
		}
		me.pendingAtt--
		return
	}
	if me.pendingAtt > 0 {
		// Absence: on a partially visible session the attachments may be
		// in what was not decoded.
		if !me.partial {
			j.fail("SIO-BIN-02", side, "%s: %d attachment(s) of %s still missing when a text packet came", p, me.pendingAtt, me.lastHeader.Type)
		}
		me.pendingAtt = 0
	}
	sp, err := dec.Decode(p.Data)
	if err != nil {
		j.fail("SIO-ENC-01", side, "%s: not a valid Socket.IO packet: %v", p, err)
		return
	}
	if sp.Type.IsBinary() {
		me.pendingAtt = sp.Attachments
		me.lastHeader = sp
	}
	key := sp.Namespace() + " " + strconv.FormatUint(sp.ID, 10)
	seen := &j.down
	if p.Up {
		seen = &j.up
	}
	switch sp.Type {
	case socketio.Event, socketio.BinaryEvent:
		name, _ := sp.EventName()
		if p.Up && name == "ext:stream" {
			j.streamAsked = true
		}
		if sp.HasID {
			me.askedAcks[key] = true
			delete(other.answered, key)
		}
		if name != "net:seq" {
			return
		}
		var args []json.RawMessage
		if json.Unmarshal(sp.Data, &args) != nil || len(args) < 2 {
			return
		}
		var s struct {
			Seq *int `json:"seq"`
		}
		if json.Unmarshal(args[1], &s) != nil || s.Seq == nil {
			return
		}
		seen.add(*s.Seq, p.At)
		if sp.HasID {
			me.seqOf[key] = *s.Seq
		}
	case socketio.Ack, socketio.BinaryAck:
		if !sp.HasID {
			return
		}
		if other.answered[key] {
			j.fail("SIO-ACK-01", side, "%s: ack id %d on %s answered a second time", p, sp.ID, sp.Namespace())
			return
		}
		if other.askedAcks[key] {
			other.answered[key] = true
			delete(other.askedAcks, key)
			if seq, ok := other.seqOf[key]; ok {
				// An ack of the other direction's net:seq: counted on
				// that direction's ledger.
				if p.Up {
					j.down.acks[seq]++
				} else {
					j.up.acks[seq]++
				}
			}
		}
	}
}
