package faultproxy

import (
	"fmt"
	"time"
)

// Faults of intermediaries that hold, time out or repeat whole HTTP
// exchanges and WebSocket frames (faults doc A9.3, A9.4, A9.6). They need the
// protocol tap, like every protocol fault.

// RequestMatch selects HTTP requests by method and by their ordinal within
// an Engine.IO session: the Nth polling request with that method carrying a
// given sid, counted proxy-wide over every connection (the handshake, which
// has no sid, is not counted; the first poll after it is 1). The ordinal is
// what "the 3rd polling GET" means; decisions name it ("polling GET #3").
type RequestMatch struct {
	// Method is the HTTP method to match ("GET", "POST"); "" means any.
	Method string
	// Nth, if positive, matches only the polling request whose per-session
	// ordinal (see above) is Nth; 0 matches every request of Method.
	Nth int
}

// validate returns nil or a *FieldError.
func (m RequestMatch) validate(typ string) error {
	if err := m.check(typ); err != nil {
		return err
	}
	return nil
}

func (m RequestMatch) check(typ string) *FieldError {
	if m.Nth < 0 {
		return &FieldError{Fault: typ, Field: "Match.Nth", Attr: "nth", Reason: "must not be negative"}
	}
	for _, r := range m.Method {
		if r < 'A' || r > 'Z' {
			return &FieldError{Fault: typ, Field: "Match.Method", Attr: "method", Reason: fmt.Sprintf("want an upper-case HTTP method, got %q", m.Method)}
		}
	}
	return nil
}

func (m RequestMatch) matches(method string, ord int) bool {
	if m.Method != "" && m.Method != method {
		return false
	}
	return m.Nth == 0 || m.Nth == ord
}

// describeReq names a request in decision details.
func describeReq(method, uri string, ord int) string {
	if ord > 0 {
		return fmt.Sprintf("polling %s #%d (%s)", method, ord, uri)
	}
	return method + " " + uri
}

// BufferUntil says when [HTTPBufferResponse] releases what it holds.
type BufferUntil uint8

const (
	// BufferComplete releases each HTTP response once its last byte has
	// arrived (or MaxBytes are held). It is the zero value.
	BufferComplete BufferUntil = iota
	// BufferBytes releases only when MaxBytes are held, across response
	// boundaries: small responses wait for later ones.
	BufferBytes
)

// String returns "complete" or "bytes".
func (u BufferUntil) String() string {
	if u == BufferBytes {
		return "bytes"
	}
	return "complete"
}

// heldBytes is the buffer shared by the holding behaviours: copies of the
// chunks held, in order.
type heldBytes struct {
	data  []byte
	units int // responses or frames held
	since time.Time
}

func (h *heldBytes) add(b []byte, at time.Time) {
	if len(h.data) == 0 {
		h.since = at
	}
	h.data = append(h.data, b...)
	h.units++
}

// release emits everything held as one chunk. An empty why releases
// silently (nothing was held across chunks: the fault changed nothing).
func (h *heldBytes) release(in *instance, next emitFunc, why string) error {
	if len(h.data) == 0 {
		return nil
	}
	data, n, since := h.data, h.units, h.since
	h.data, h.units = nil, 0
	if why == "" {
		return next(chunk{data: data, at: since})
	}
	in.decide("release", fmt.Sprintf("%d bytes (%d held) after %s: %s", len(data), n, time.Since(since).Round(time.Millisecond), why))
	return next(chunk{data: data, at: since})
}
