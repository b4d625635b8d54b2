package faultproxy

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"
)

// newStream returns the random stream for one (seed, connection ordinal,
// direction, fault name) tuple. Streams are independent of each other, so
// adding a fault or a connection never shifts another stream's draws.
func newStream(seed int64, conn uint64, dir Direction, fault string) *rand.Rand {
	h := sha256.New()
	var b [17]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(seed))
	binary.LittleEndian.PutUint64(b[8:], conn)
	b[16] = byte(dir)
	h.Write(b[:])
	h.Write([]byte(fault))
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[0:]), binary.LittleEndian.Uint64(sum[8:])))
}

// Decision is one entry of the decision log: something a fault decided or
// did on one connection.
type Decision struct {
	// Seq numbers decisions proxy-wide in the order they were logged.
	Seq uint64 `json:"seq"`
	// Time is the wall-clock time of the decision.
	Time time.Time `json:"time"`
	// Elapsed is Time minus the proxy's start (or last Reseed).
	Elapsed time.Duration `json:"elapsed_ns"`
	// Conn is the connection ordinal (1-based); 0 for proxy-level decisions.
	Conn uint64 `json:"conn"`
	// Direction is Upstream, Downstream, or Both for connection-level faults.
	Direction Direction `json:"direction"`
	// Fault is the fault's name, Type its type.
	Fault string `json:"fault"`
	Type  string `json:"type"`
	// Step numbers decisions within one (Conn, Direction, Fault) stream, from 1.
	// Together with those three fields it identifies a decision independently
	// of scheduling, which is what replay comparisons should key on.
	Step uint64 `json:"step"`
	// Action is a short verb: "skip", "apply", "activate", "expire",
	// "delay", "slice", "limit", "hold", "release", "discard", "close",
	// "reset", "connect_delay", "down", "up", "remove", "start" (a
	// Scope.Existing fault strikes; connection 0), "crash_mode" (server-crash
	// says which crash it runs; connection 0).
	Action string `json:"action"`
	// Detail gives parameters of the action, e.g. "127ms".
	Detail string `json:"detail,omitempty"`
	// SID and Transport are the connection's tags from its first HTTP
	// request, when the protocol tap has seen one (see [ConnInfo]).
	SID       string `json:"sid,omitempty"`
	Transport string `json:"transport,omitempty"`
}

// decisionLog is a bounded, mutex-protected log.
type decisionLog struct {
	mu      sync.Mutex
	limit   int
	seq     uint64
	start   time.Time
	entries []Decision // ring once full
	head    int        // index of oldest when full
	dropped uint64
}

func (l *decisionLog) add(d Decision) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	d.Seq = l.seq
	d.Elapsed = d.Time.Sub(l.start)
	if len(l.entries) < l.limit {
		l.entries = append(l.entries, d)
		return d
	}
	l.entries[l.head] = d
	l.head = (l.head + 1) % l.limit
	l.dropped++
	return d
}

func (l *decisionLog) snapshot() ([]Decision, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Decision, 0, len(l.entries))
	out = append(out, l.entries[l.head:]...)
	out = append(out, l.entries[:l.head]...)
	return out, l.dropped
}

func (l *decisionLog) reset(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
	l.head = 0
	l.dropped = 0
	l.start = now
}
