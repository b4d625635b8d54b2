package framework

import (
	"sync"
	"time"

	"github.com/siospec/siospec/reports"
)

// TranscriptEvent is one recorded wire event, the contract's type from
// package reports: the JSON written into the "siospec.transcript" report
// entry is read by reports unchanged.
type TranscriptEvent = reports.TranscriptEvent

// Directions and kinds of transcript events.
const (
	DirC2S   = "c2s"
	DirS2C   = "s2c"
	DirLocal = "local"

	KindHTTPRequest  = "http-request"
	KindHTTPResponse = "http-response"
	KindWSOpen       = "ws-open"
	KindWSFrame      = "ws-frame"
	KindWSClose      = "ws-close"
	KindWSControl    = "ws-control" // a WebSocket control frame (ping, pong)
	KindEIOPacket    = "eio-packet"
	KindTCPClose     = "tcp-close"
	KindNote         = "note"
)

// maxEventData caps the bytes kept per event (64 KiB, per the contract).
const maxEventData = reports.MaxEventData

// Recorder is an append-only, timestamped log of wire events. Times are
// measured from the first connection opened through it.
type Recorder struct {
	mu      sync.Mutex
	start   time.Time
	conns   int
	events  []TranscriptEvent
	changed chan struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// NewConn allocates the next connection ordinal (from 1) and starts the
// clock on the first call.
func (r *Recorder) NewConn() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == 0 {
		r.start = time.Now()
	}
	r.conns++
	return r.conns
}

// Since returns the time elapsed since the first connection opened.
func (r *Recorder) Since() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.start.IsZero() {
		return 0
	}
	return time.Since(r.start)
}

// Add records an event; data is copied and capped.
func (r *Recorder) Add(conn int, dir, kind, summary string, data []byte) {
	ev := TranscriptEvent{Conn: conn, Dir: dir, Kind: kind, Summary: summary}
	if len(data) > 0 {
		n := len(data)
		if n > maxEventData {
			n, ev.Truncated = maxEventData, true
		}
		ev.Data = append([]byte(nil), data[:n]...)
	}
	r.mu.Lock()
	if !r.start.IsZero() {
		ev.At = time.Since(r.start)
	}
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Note records a local remark (a step of the spec, a measured value).
func (r *Recorder) Note(summary string) { r.Add(0, DirLocal, KindNote, summary, nil) }

// Events returns a copy of the events recorded so far.
func (r *Recorder) Events() []TranscriptEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]TranscriptEvent(nil), r.events...)
}

// Changed returns a channel closed at the next recorded event.
func (r *Recorder) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// JSON renders the transcript as the contract's JSON array.
func (r *Recorder) JSON() string {
	return reports.EncodeTranscript(r.Events())
}
