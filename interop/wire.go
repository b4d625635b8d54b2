package interop

import (
	"encoding/json"
	"fmt"
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

// wirePacket is one Engine.IO packet the proxy's tap saw.
type wirePacket struct {
	At     time.Duration
	Up     bool // client → server
	Type   engineio.PacketType
	Binary bool
	Data   []byte
}

func (w wirePacket) side() string {
	if w.Up {
		return SideClient
	}
	return SideServer
}

func (w wirePacket) String() string {
	arrow := "S→C"
	if w.Up {
		arrow = "C→S"
	}
	var body string
	if w.Binary {
		body = fmt.Sprintf("<binary %d bytes>", len(w.Data))
	} else {
		d := w.Data
		if len(d) > 200 {
			d = append(d[:200:200], "…"...)
		}
		body = strconv.Itoa(int(w.Type)) + string(d)
	}
	return fmt.Sprintf("%8.3fs %s %s", w.At.Seconds(), arrow, body)
}

// wireRecorder records the Engine.IO packets of both directions through an
// EIODropIf observer that never drops.
type wireRecorder struct {
	mu    sync.Mutex
	start time.Time
	pkts  []wirePacket
	lost  int
}

func newWireRecorder() *wireRecorder { return &wireRecorder{start: time.Now()} }

// fault returns the observer to add to the proxy.
func (r *wireRecorder) fault() faultproxy.Fault {
	return faultproxy.EIODropIf{Name: "interop_tap", Direction: faultproxy.Both, DropIf: func(d faultproxy.Direction, p engineio.Packet) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.pkts) >= maxWire {
			r.lost++
			return false
		}
		r.pkts = append(r.pkts, wirePacket{At: time.Since(r.start), Up: d == faultproxy.Upstream, Type: p.Type, Binary: p.Binary, Data: append([]byte(nil), p.Data...)})
		return false
	}}
}

func (r *wireRecorder) packets() []wirePacket {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wirePacket(nil), r.pkts...)
}

// seqSeen is what the tap saw of the workload in one direction.
type seqSeen struct {
	events map[int]int // seq → times seen
	order  []int
	acks   map[int]int // seq → ack packets carrying [seq] the other way
}

// wireJudge checks the recorded packets against the wire rules, both
// directions, and extracts what the workload put on the wire.
type wireJudge struct {
	proto    string // sio5 or sio4
	strictHB bool   // judge the heartbeat (no fault can hold packets)
	fails    []Failure
	up, down seqSeen
	// streamAsked: the client's ext:stream request passed the proxy.
	streamAsked bool
	// blind: part of the traffic passes the tap undecoded (Engine.IO v3
	// polling payloads), so "not seen on the wire" proves nothing.
	blind bool
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
	_          struct{}
}

func newDirState() *dirState {
	return &dirState{askedAcks: map[string]bool{}, answered: map[string]bool{}, seqOf: map[string]int{}}
}

// run judges pkts; end is when the recording ended (on the packets' clock).
func (j *wireJudge) run(pkts []wirePacket, end time.Duration) {
	j.up = seqSeen{events: map[int]int{}, acks: map[int]int{}}
	j.down = seqSeen{events: map[int]int{}, acks: map[int]int{}}
	v4 := j.proto == ProtoSIO5
	dec := socketio.Decoder{Version: socketio.V5}
	if !v4 {
		dec.Version = socketio.V4
	}
	st := map[bool]*dirState{true: newDirState(), false: newDirState()}
	pending := 0 // v4: server pings not yet answered; v3: client pings
	var pingAt time.Duration
	var pingInterval, pingTimeout time.Duration
	// unanswered checks, at the end of a session, that its last ping was
	// answered when the peer had pingTimeout (plus a grace) to do it.
	closed := false // a close packet ended the session: no more heartbeat duty
	unanswered := func(now time.Duration, why string) {
		if pending == 0 || closed || !j.strictHB || now-pingAt < pingTimeout+250*time.Millisecond {
			return
		}
		if v4 {
			j.fail("EIO-HB-02", SideClient, "the ping at %.3fs was never answered with a pong (%s)", pingAt.Seconds(), why)
		} else {
			j.fail("EIO3-02", SideServer, "the client ping at %.3fs was never answered with a pong (%s)", pingAt.Seconds(), why)
		}
	}
	var opened time.Duration
	var lastAt time.Duration
	pings := 0
	for _, p := range pkts {
		lastAt = p.At
		side := p.side()
		probe := string(p.Data) == "probe"
		switch p.Type {
		case engineio.Open:
			if p.Up {
				j.fail("EIO-PKT-04", SideClient, "%s: the client sent an open packet", p)
				continue
			}
			unanswered(p.At, "a new session opened")
			var o struct {
				PingInterval int `json:"pingInterval"`
				PingTimeout  int `json:"pingTimeout"`
			}
			_ = json.Unmarshal(p.Data, &o)
			pingInterval = time.Duration(o.PingInterval) * time.Millisecond
			pingTimeout = time.Duration(o.PingTimeout) * time.Millisecond
			opened, pings, pending, closed = p.At, 0, 0, false
			st[true], st[false] = newDirState(), newDirState()
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
				if pending > 0 && j.strictHB {
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
	if j.strictHB && pingInterval > 0 && pings == 0 && lastAt-opened > 2*pingInterval+500*time.Millisecond {
		if v4 {
			j.fail("EIO-HB-01", SideServer, "no ping in %v of session (pingInterval %v)", (lastAt - opened).Round(time.Millisecond), pingInterval)
		} else {
			j.fail("EIO3-02", SideClient, "no client ping in %v of session (pingInterval %v)", (lastAt - opened).Round(time.Millisecond), pingInterval)
		}
	}
}

func (j *wireJudge) message(dec socketio.Decoder, me, other *dirState, p wirePacket) {
	side := p.side()
	if p.Binary {
		if me.pendingAtt == 0 {
			j.fail("SIO-BIN-02", side, "%s: a binary message with no binary header pending", p)
			return
		}
		me.pendingAtt--
		return
	}
	if me.pendingAtt > 0 {
		j.fail("SIO-BIN-02", side, "%s: %d attachment(s) of %s still missing when a text packet came", p, me.pendingAtt, me.lastHeader.Type)
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
		seen.events[*s.Seq]++
		seen.order = append(seen.order, *s.Seq)
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
