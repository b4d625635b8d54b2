package sioserver

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// RecoveryOptions turns on connection state recovery (NODE-CSR). A zero
// field takes Node's default.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long a disconnected session (its id,
	// rooms and data) and the packets it may miss are kept. Default 2 min.
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the namespace middlewares for a recovered
	// session too. Default false: they are skipped, as Node's
	// skipMiddlewares defaults to true.
	RunMiddlewares bool
	// MaxPackets bounds the replay log of each namespace; the oldest
	// packets are dropped beyond it. Default 10000. (Node bounds the log by
	// age only.)
	MaxPackets int
}

func (o RecoveryOptions) withDefaults() RecoveryOptions {
	if o.MaxDisconnectionDuration <= 0 {
		o.MaxDisconnectionDuration = 2 * time.Minute
	}
	if o.MaxPackets <= 0 {
		o.MaxPackets = 10000
	}
	return o
}

// recoverable reports whether a disconnect reason lets the session be
// recovered (NODE-CSR-06).
func recoverable(reason string) bool {
	switch reason {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose,
		ReasonPingTimeout, ReasonServerShuttingDown, ReasonForcedServerClose:
		return true
	}
	return false
}

type loggedPacket struct {
	seq    uint64
	at     time.Time
	out    *Outgoing
	rooms  []string
	except []string
}

type savedSession struct {
	sid, pid string
	rooms    []string
	data     any
	at       time.Time
}

// recoveredSession is what restore hands to a new socket.
type recoveredSession struct {
	savedSession
	missed []*Outgoing
}

// recoveryStore is one namespace's session store and packet log. Offsets
// are "<prefix>-<seq in base 36>"; the prefix is random per namespace so
// offsets from another server instance never match.
type recoveryStore struct {
	opts   RecoveryOptions
	clock  clock
	prefix string

	mu       sync.Mutex
	seq      uint64
	packets  []loggedPacket // ascending seq, contiguous
	sessions map[string]savedSession
}

func newRecoveryStore(o RecoveryOptions, c clock) *recoveryStore {
	return &recoveryStore{
		opts: o.withDefaults(), clock: c, prefix: newID()[:8],
		sessions: make(map[string]savedSession),
	}
}

func (r *recoveryStore) nextOffset() string {
	r.mu.Lock()
	r.seq++
	s := r.seq
	r.mu.Unlock()
	return r.prefix + "-" + strconv.FormatUint(s, 36)
}

func (r *recoveryStore) parseOffset(off string) (uint64, bool) {
	rest, ok := strings.CutPrefix(off, r.prefix+"-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(rest, 36, 64)
	return n, err == nil
}

func (r *recoveryStore) log(offset string, out *Outgoing, rooms, except []string) {
	seq, _ := r.parseOffset(offset)
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	// Keep ascending order even when two broadcasts race between offset
	// assignment and logging.
	i := len(r.packets)
	for i > 0 && r.packets[i-1].seq > seq {
		i--
	}
	r.packets = append(r.packets, loggedPacket{})
	copy(r.packets[i+1:], r.packets[i:])
	r.packets[i] = loggedPacket{seq: seq, at: now, out: out, rooms: rooms, except: except}
	r.trimLocked(now)
}

func (r *recoveryStore) trimLocked(now time.Time) {
	drop := 0
	for drop < len(r.packets) && (len(r.packets)-drop > r.opts.MaxPackets ||
		now.Sub(r.packets[drop].at) > r.opts.MaxDisconnectionDuration) {
		drop++
	}
	if drop > 0 {
		clear(r.packets[:drop])
		r.packets = r.packets[drop:]
	}
}

func (r *recoveryStore) persist(s savedSession) {
	now := r.clock.Now()
	s.at = now
	r.mu.Lock()
	defer r.mu.Unlock()
	for pid, old := range r.sessions {
		if now.Sub(old.at) > r.opts.MaxDisconnectionDuration {
			delete(r.sessions, pid)
		}
	}
	r.sessions[s.pid] = s
}

// restore returns the session pid with the packets logged after offset that
// it would have received, or false (NODE-CSR-04).
func (r *recoveryStore) restore(pid, offset string) (recoveredSession, bool) {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sessions[pid]
	if !ok {
		return recoveredSession{}, false
	}
	if now.Sub(s.at) > r.opts.MaxDisconnectionDuration {
		delete(r.sessions, pid)
		return recoveredSession{}, false
	}
	seq, ok := r.parseOffset(offset)
	if !ok {
		return recoveredSession{}, false
	}
	r.trimLocked(now)
	idx := -1
	for i, p := range r.packets {
		if p.seq == seq {
			idx = i
			break
		}
	}
	if idx < 0 {
		return recoveredSession{}, false
	}
	delete(r.sessions, pid)
	rs := recoveredSession{savedSession: s}
	for _, p := range r.packets[idx+1:] {
		if includes(s.rooms, p.rooms, p.except) {
			rs.missed = append(rs.missed, p.out)
		}
	}
	return rs, true
}

// includes is Node's shouldIncludePacket.
func includes(sessionRooms, rooms, except []string) bool {
	in := len(rooms) == 0
	for _, r := range sessionRooms {
		if contains(except, r) {
			return false
		}
		if !in && contains(rooms, r) {
			in = true
		}
	}
	return in
}
