package netload

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dir is the direction of a workload event.
type Dir string

// Directions.
const (
	// Up is client → server.
	Up Dir = "up"
	// Down is server → client.
	Down Dir = "down"
)

// Event names of the workload (see the package doc).
const (
	// EventSeq is the sequenced workload event in both directions.
	EventSeq = "net:seq"
	// EventStream asks the server to emit EventSeq downstream.
	EventStream = "ext:stream"
	// EventTally asks the server for the up seqs it recorded.
	EventTally = "ext:tally"
	// AuthRun is the CONNECT auth (v4: query) key naming the run.
	AuthRun = "netRun"
)

// Mark kinds of the timeline. Others may be used; these have a meaning in
// Measures.
const (
	KindFault            = "fault"
	KindDisconnect       = "disconnect"
	KindConnect          = "connect"
	KindUpgrade          = "upgrade"
	KindHandshake        = "handshake"
	KindReconnectAttempt = "reconnect_attempt"
	KindRecovered        = "recovered"
)

// MaxLostSeqs caps Tally.LostSeqs.
const MaxLostSeqs = 32

// MaxTimeline caps Measures.Timeline (the earliest marks are kept).
const MaxTimeline = 200

// Workload describes the sequenced events one direction sends.
type Workload struct {
	// Count is how many events are sent.
	Count int
	// Interval is the time between two events.
	Interval time.Duration
	// AckEvery: every AckEvery-th event asks for an ack (0: none).
	AckEvery int
	// BinaryEvery: every BinaryEvery-th event carries a binary attachment
	// (0: none).
	BinaryEvery int
}

// DefaultWorkload returns the default workload for a target with the given
// pingInterval: 40 events, one every pingInterval/20 (between 10 ms and
// 100 ms), every 2nd with an ack, every 5th binary.
func DefaultWorkload(pingInterval time.Duration) Workload {
	iv := min(max(pingInterval/20, 10*time.Millisecond), 100*time.Millisecond)
	return Workload{Count: 40, Interval: iv, AckEvery: 2, BinaryEvery: 5}
}

// Duration returns how long sending the whole workload takes.
func (w Workload) Duration() time.Duration { return time.Duration(w.Count) * w.Interval }

// WantsAck reports whether event seq asks for an ack.
func (w Workload) WantsAck(seq int) bool { return w.AckEvery > 0 && seq%w.AckEvery == w.AckEvery-1 }

// IsBinary reports whether event seq carries a binary attachment.
func (w Workload) IsBinary(seq int) bool {
	return w.BinaryEvery > 0 && seq%w.BinaryEvery == w.BinaryEvery-1
}

// Payload is the JSON object of a workload event.
type Payload struct {
	Seq int `json:"seq"`
	Dir Dir `json:"dir"`
}

// SeqBytes is the binary attachment of event seq: seq as 4 bytes, big
// endian.
func SeqBytes(seq int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(seq)) }

// SeqFromBytes decodes SeqBytes; ok is false when b is not 4 bytes.
func SeqFromBytes(b []byte) (seq int, ok bool) {
	if len(b) != 4 {
		return 0, false
	}
	return int(binary.BigEndian.Uint32(b)), true
}

// StreamRequest is the argument of EventStream.
type StreamRequest struct {
	Count       int `json:"count"`
	IntervalMs  int `json:"intervalMs"`
	BinaryEvery int `json:"binaryEvery"`
}

// StreamRequestOf returns the EventStream argument for w.
func StreamRequestOf(w Workload) StreamRequest {
	return StreamRequest{Count: w.Count, IntervalMs: int(w.Interval / time.Millisecond), BinaryEvery: w.BinaryEvery}
}

// Mark is one entry of the timeline.
type Mark struct {
	// At is the time since the ledger was created.
	At     time.Duration `json:"at_ns"`
	Kind   string        `json:"kind"`
	Detail string        `json:"detail,omitempty"`
}

func (m Mark) String() string {
	s := fmt.Sprintf("+%v %s", m.At.Round(time.Millisecond), m.Kind)
	if m.Detail != "" {
		s += " " + m.Detail
	}
	return s
}

// Tally is the accounting of one direction.
type Tally struct {
	// Sent counts distinct seqs sent (or expected, see Ledger.Expect).
	Sent int `json:"sent"`
	// Delivered counts distinct sent seqs received at least once.
	Delivered int `json:"delivered"`
	// Lost counts sent seqs never received.
	Lost int `json:"lost"`
	// Duplicated counts receptions beyond the first of a seq.
	Duplicated int `json:"duplicated"`
	// Reordered counts first receptions of a seq lower than one received
	// before it.
	Reordered int `json:"reordered"`
	// Unexpected counts receptions of seqs never sent.
	Unexpected int `json:"unexpected,omitempty"`
	// AcksExpected counts events sent with an ack request; AcksFired those
	// whose ack arrived (once each; AcksDuplicated counts further arrivals),
	// AcksFailed those reported failed (timeout, disconnection), AcksLost
	// those with neither.
	AcksExpected   int `json:"acks_expected"`
	AcksFired      int `json:"acks_fired"`
	AcksDuplicated int `json:"acks_duplicated,omitempty"`
	AcksFailed     int `json:"acks_failed"`
	AcksLost       int `json:"acks_lost"`
	// MaxLatency is the longest time between sending a seq and its first
	// reception, among seqs with a known send time.
	MaxLatency time.Duration `json:"max_latency_ns"`
	// MaxAckLatency is the longest time between sending a seq with an ack
	// request and its ack firing (the round trip), among fired acks.
	MaxAckLatency time.Duration `json:"max_ack_latency_ns,omitempty"`
	// LostSeqs lists lost seqs in order, at most MaxLostSeqs.
	LostSeqs []int `json:"lost_seqs,omitempty"`
}

// ExactlyOnceInOrder reports whether every sent event was delivered once,
// in order, and every ack fired once.
func (t Tally) ExactlyOnceInOrder() bool {
	return t.Lost == 0 && t.Duplicated == 0 && t.Reordered == 0 && t.Unexpected == 0 &&
		t.AcksFired == t.AcksExpected && t.AcksDuplicated == 0 && t.AcksFailed == 0
}

// String is a one-sentence summary, e.g. "37 of 40 delivered, 3 lost (seq
// 12-14), 0 duplicated, 0 reordered; 20 of 20 acks".
func (t Tally) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d delivered, %d lost", t.Delivered, t.Sent, t.Lost)
	if len(t.LostSeqs) > 0 {
		fmt.Fprintf(&b, " (seq %s)", seqRanges(t.LostSeqs, t.Lost))
	}
	fmt.Fprintf(&b, ", %d duplicated, %d reordered", t.Duplicated, t.Reordered)
	if t.Unexpected > 0 {
		fmt.Fprintf(&b, ", %d unexpected", t.Unexpected)
	}
	fmt.Fprintf(&b, "; %d of %d acks", t.AcksFired, t.AcksExpected)
	if t.AcksFailed > 0 {
		fmt.Fprintf(&b, ", %d failed", t.AcksFailed)
	}
	if t.AcksDuplicated > 0 {
		fmt.Fprintf(&b, ", %d fired twice", t.AcksDuplicated)
	}
	if t.MaxLatency > 0 {
		fmt.Fprintf(&b, "; max latency %v", t.MaxLatency.Round(time.Millisecond))
	}
	if t.MaxAckLatency > 0 {
		fmt.Fprintf(&b, "; max ack round trip %v", t.MaxAckLatency.Round(time.Millisecond))
	}
	return b.String()
}

// seqRanges renders sorted seqs as "3, 12-14"; "..." when total exceeds
// len(seqs).
func seqRanges(seqs []int, total int) string {
	var parts []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(seqs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", seqs[i], seqs[j]))
		}
		i = j + 1
	}
	s := strings.Join(parts, ", ")
	if total > len(seqs) {
		s += ", ..."
	}
	return s
}

// Measures is what a spec of the net suite measured.
type Measures struct {
	Up   Tally `json:"up"`
	Down Tally `json:"down"`
	// DetectAfter is the time from the first "fault" mark to the first
	// "disconnect" after it; RecoverAfter to the first "connect" or
	// "recovered" after that disconnect. Zero when not observed.
	DetectAfter  time.Duration `json:"detect_after_ns,omitempty"`
	RecoverAfter time.Duration `json:"recover_after_ns,omitempty"`
	// Reconnects counts "reconnect_attempt" marks; ReconnectDelays are the
	// delays recorded with ReconnectAttempt, in order.
	Reconnects      int             `json:"reconnects"`
	ReconnectDelays []time.Duration `json:"reconnect_delays_ns,omitempty"`
	// FinalTransport is the transport in use at the end ("polling",
	// "websocket"), when known.
	FinalTransport string `json:"final_transport,omitempty"`
	// Timeline holds the marks in order (at most MaxTimeline).
	Timeline []Mark `json:"timeline,omitempty"`
}

// String summarises m in a few lines.
func (m Measures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "up: %s\ndown: %s\n", m.Up, m.Down)
	if m.DetectAfter > 0 {
		fmt.Fprintf(&b, "detected %v after the fault", m.DetectAfter.Round(time.Millisecond))
		if m.RecoverAfter > 0 {
			fmt.Fprintf(&b, ", recovered %v after the fault", m.RecoverAfter.Round(time.Millisecond))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "reconnection attempts: %d", m.Reconnects)
	if len(m.ReconnectDelays) > 0 {
		ds := make([]string, len(m.ReconnectDelays))
		for i, d := range m.ReconnectDelays {
			ds[i] = d.Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, " (delays %s)", strings.Join(ds, ", "))
	}
	if m.FinalTransport != "" {
		fmt.Fprintf(&b, "; final transport %s", m.FinalTransport)
	}
	return b.String()
}

type sent struct {
	at    time.Time
	known bool // at is a real send time
	ack   bool
}

type dirState struct {
	sent      map[int]sent
	recvOrder []int
	firstRecv map[int]time.Time
	acked     map[int]int
	ackedAt   map[int]time.Time
	ackFailed map[int]string
}

func newDirState() *dirState {
	return &dirState{sent: map[int]sent{}, firstRecv: map[int]time.Time{}, acked: map[int]int{}, ackedAt: map[int]time.Time{}, ackFailed: map[int]string{}}
}

// Ledger records a workload's sends, receptions and acks per direction and
// the timeline of marks. It is safe for concurrent use.
type Ledger struct {
	now   func() time.Time
	start time.Time

	mu        sync.Mutex
	dirs      map[Dir]*dirState
	marks     []Mark
	markAbs   []time.Time
	delays    []time.Duration
	transport string
}

// New returns an empty Ledger reading the time from now (time.Now when
// nil).
func New(now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{now: now, start: now(), dirs: map[Dir]*dirState{Up: newDirState(), Down: newDirState()}}
}

func (l *Ledger) dir(d Dir) *dirState {
	s := l.dirs[d]
	if s == nil {
		s = newDirState()
		l.dirs[d] = s
	}
	return s
}

// Sent records that seq was sent in direction d, with an ack request when
// ack is true. Sending a seq again is ignored (the first send counts).
func (l *Ledger) Sent(d Dir, seq int, ack bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.dir(d)
	if _, dup := s.sent[seq]; !dup {
		s.sent[seq] = sent{at: l.now(), known: true, ack: ack}
	}
}

// Expect records that the peer sent seqs 0..n-1 in direction d, with an ack
// request for those w asks one for, at times the ledger cannot know (a
// server's stream): they count as sent, without latency.
func (l *Ledger) Expect(d Dir, w Workload) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.dir(d)
	for seq := range w.Count {
		if _, dup := s.sent[seq]; !dup {
			s.sent[seq] = sent{ack: w.WantsAck(seq)}
		}
	}
}

// Received records one reception of seq in direction d.
func (l *Ledger) Received(d Dir, seq int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.dir(d)
	s.recvOrder = append(s.recvOrder, seq)
	if _, ok := s.firstRecv[seq]; !ok {
		s.firstRecv[seq] = l.now()
	}
}

// ReceivedReport records the receptions a peer reported, in its arrival
// order, without times (the server role's up direction: the server under
// test reports what it got, ext:tally); they take part in every count but
// not in MaxLatency.
func (l *Ledger) ReceivedReport(d Dir, seqs []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.dir(d)
	s.recvOrder = append(s.recvOrder, seqs...)
}

// Acked records that the ack of seq (direction d) fired.
func (l *Ledger) Acked(d Dir, seq int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.dir(d)
	s.acked[seq]++
	if _, ok := s.ackedAt[seq]; !ok {
		s.ackedAt[seq] = l.now()
	}
}

// AckFailed records that the ack of seq (direction d) was reported failed
// to the application, with the reason.
func (l *Ledger) AckFailed(d Dir, seq int, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dir(d).ackFailed[seq] = reason
}

// Mark adds an entry to the timeline.
func (l *Ledger) Mark(kind, detail string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.marks = append(l.marks, Mark{At: now.Sub(l.start), Kind: kind, Detail: detail})
	l.markAbs = append(l.markAbs, now)
	if kind == KindUpgrade && detail != "" {
		l.transport = detail
	}
}

// ReconnectAttempt marks a reconnection attempt the client scheduled after
// delay.
func (l *Ledger) ReconnectAttempt(n int, delay time.Duration) {
	l.Mark(KindReconnectAttempt, fmt.Sprintf("#%d after %v", n, delay.Round(time.Millisecond)))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.delays = append(l.delays, delay)
}

// SetTransport records the transport in use (Measures.FinalTransport).
func (l *Ledger) SetTransport(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.transport = name
}

// Since returns the time since the first mark of kind, and false when there
// is none.
func (l *Ledger) Since(kind string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, m := range l.marks {
		if m.Kind == kind {
			return l.now().Sub(l.markAbs[i]), true
		}
	}
	return 0, false
}

// Count returns the number of marks of kind.
func (l *Ledger) Count(kind string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.marks {
		if m.Kind == kind {
			n++
		}
	}
	return n
}

// Tally returns the accounting of direction d so far.
func (l *Ledger) Tally(d Dir) Tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tally(d)
}

func (l *Ledger) tally(d Dir) Tally {
	s := l.dir(d)
	var t Tally
	t.Sent = len(s.sent)
	seen := map[int]bool{}
	highest := -1
	for _, seq := range s.recvOrder {
		if seen[seq] {
			t.Duplicated++
			continue
		}
		seen[seq] = true
		if _, ok := s.sent[seq]; !ok {
			t.Unexpected++
			continue
		}
		t.Delivered++
		if seq < highest {
			t.Reordered++
		}
		highest = max(highest, seq)
	}
	seqs := make([]int, 0, len(s.sent))
	for seq := range s.sent {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		sn := s.sent[seq]
		if !seen[seq] {
			t.Lost++
			if len(t.LostSeqs) < MaxLostSeqs {
				t.LostSeqs = append(t.LostSeqs, seq)
			}
		} else if at, ok := s.firstRecv[seq]; ok && sn.known {
			t.MaxLatency = max(t.MaxLatency, at.Sub(sn.at))
		}
		if !sn.ack {
			continue
		}
		t.AcksExpected++
		_, failed := s.ackFailed[seq]
		switch n := s.acked[seq]; {
		case n > 0:
			t.AcksFired++
			t.AcksDuplicated += n - 1
			if sn.known {
				t.MaxAckLatency = max(t.MaxAckLatency, s.ackedAt[seq].Sub(sn.at))
			}
		case failed:
		default:
			t.AcksLost++
		}
		if failed {
			t.AcksFailed++
		}
	}
	return t
}

// Measures returns everything measured so far.
func (l *Ledger) Measures() Measures {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := Measures{Up: l.tally(Up), Down: l.tally(Down), FinalTransport: l.transport}
	m.ReconnectDelays = slices.Clone(l.delays)
	fault, disc := -1, -1
	for i, mk := range l.marks {
		switch {
		case mk.Kind == KindReconnectAttempt:
			m.Reconnects++
		case mk.Kind == KindFault && fault < 0:
			fault = i
		case mk.Kind == KindDisconnect && fault >= 0 && disc < 0:
			disc = i
			m.DetectAfter = max(l.markAbs[i].Sub(l.markAbs[fault]), time.Nanosecond)
		case (mk.Kind == KindConnect || mk.Kind == KindRecovered) && disc >= 0 && m.RecoverAfter == 0:
			m.RecoverAfter = max(l.markAbs[i].Sub(l.markAbs[fault]), time.Nanosecond)
		}
	}
	m.Timeline = slices.Clone(l.marks[:min(len(l.marks), MaxTimeline)])
	return m
}
