package faultproxy

import (
	"fmt"
	"net/http"
	"time"
)

// HTTPBufferResponse holds the server's HTTP responses on a connection and
// forwards them in one piece: a buffering proxy or antivirus scanner (faults
// doc A9.3). Until BufferComplete releases each response when it is
// complete; BufferBytes releases only once MaxBytes are held, so a short
// long-polling response stalls until later ones fill the buffer (or the
// fault is removed, or the server closes). Hold adds a scanning delay
// before each release. Responses whose length is unknown (chunked,
// read-until-close) and WebSocket traffic after a 101 pass untouched;
// Engine.IO polling responses have a Content-Length, and the tap already
// forwards them whole. Held bytes are released when the fault is removed or
// expires and at end of stream. Add it after other downstream protocol
// faults: what it releases no longer carries parsed units. Type
// "http_buffer_response", attributes "until" ("complete" or "bytes"),
// "max_bytes" and "hold_ms".
type HTTPBufferResponse struct {
	Name     string // default "http_buffer_response"
	Scope    Scope  // AfterBytes must be 0
	Until    BufferUntil
	MaxBytes int64         // >= 0; required (> 0) with BufferBytes; with BufferComplete 0 = no cap
	Hold     time.Duration // >= 0, delay before each release
}

// Type implements Fault.
func (HTTPBufferResponse) Type() string { return "http_buffer_response" }

// Validate implements Fault.
func (f HTTPBufferResponse) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if f.Until > BufferBytes {
		return &FieldError{Fault: f.Type(), Field: "Until", Attr: "until", Reason: "unknown mode"}
	}
	if err := nonNeg(f.Type(), "MaxBytes", "max_bytes", f.MaxBytes); err != nil {
		return err
	}
	if f.Until == BufferBytes && f.MaxBytes == 0 {
		return &FieldError{Fault: f.Type(), Field: "MaxBytes", Attr: "max_bytes", Reason: "must be positive with until \"bytes\""}
	}
	return nonNeg(f.Type(), "Hold", "hold_ms", int64(f.Hold))
}

func (f HTTPBufferResponse) meta() faultMeta {
	return faultMeta{f.Name, Downstream, f.Scope, levelUnit}
}

type bufRespB struct {
	f      HTTPBufferResponse
	held   heldBytes
	inResp bool
	left   int64 // body bytes of the current response still to come
}

func (b *bufRespB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	wasEmpty := len(b.held.data) == 0
	switch {
	case u != nil && u.kind == unitHTTPMessage:
		b.held.add(ck.data, ck.at)
		b.inResp = false
	case u != nil && u.kind == unitHTTPResponseHead && u.status != http.StatusSwitchingProtocols:
		b.held.add(ck.data, ck.at)
		b.inResp, b.left = true, u.bodyLen
	case b.inResp && u == nil:
		b.held.add(ck.data, ck.at)
		b.held.units-- // body bytes of a response already counted
		b.left -= int64(len(ck.data))
	default:
		// Frames after a 101 or opaque bytes: keep the order.
		if err := b.held.release(in, next, "unbuffered traffic follows"); err != nil {
			return err
		}
		return next(ck)
	}
	complete := !b.inResp || b.left <= 0
	if complete {
		b.inResp = false
	}
	full := b.f.MaxBytes > 0 && int64(len(b.held.data)) >= b.f.MaxBytes
	switch {
	case b.f.Until == BufferComplete && (complete || full):
	case b.f.Until == BufferBytes && full:
	default:
		if b.held.units == 1 && len(b.held.data) == len(ck.data) {
			in.decide("hold", fmt.Sprintf("until %s", b.f.Until))
		}
		return nil
	}
	if b.f.Hold > 0 {
		if _, err := in.wait(time.Now().Add(b.f.Hold)); err != nil {
			return err
		}
	}
	why := "response complete"
	if full {
		why = fmt.Sprintf("%d bytes reached", b.f.MaxBytes)
	}
	if wasEmpty && b.f.Hold == 0 {
		why = "" // complete in one piece: nothing was held
	}
	return b.held.release(in, next, why)
}

func (b *bufRespB) flushHeld(in *instance, next emitFunc, why string) error {
	b.inResp = false
	return b.held.release(in, next, why)
}

// httpBufferResponseKind registers HTTPBufferResponse (see registry.go).
var httpBufferResponseKind = faultKind{
	typ: "http_buffer_response", goType: "HTTPBufferResponse", level: "http", where: "http (downstream)",
	toxiproxy: false, stream: "downstream",
	summary: "`until` complete|bytes, `max_bytes`, `hold_ms`",
	attrs:   []AttrSpec{{"until", "complete|bytes", "release each complete response, or only every max_bytes"}, {"max_bytes", "bytes", "release once this much is held (0 = no cap with until complete)"}, {"hold_ms", "ms", "delay before each release"}},
	parse: func(a *attrReader, name string, dir Direction, sc Scope) Fault {
		until := BufferComplete
		switch s := a.str("until"); s {
		case "", "complete":
		case "bytes":
			until = BufferBytes
		default:
			a.fail("until", fmt.Sprintf("must be \"complete\" or \"bytes\", got %q", s))
		}
		return HTTPBufferResponse{Name: name, Scope: sc, Until: until, MaxBytes: a.int("max_bytes"), Hold: a.dur("hold_ms", time.Millisecond)}
	},
	render: func(x Fault, attrs map[string]any) {
		f := x.(HTTPBufferResponse)
		attrs["until"], attrs["max_bytes"], attrs["hold_ms"] = f.Until.String(), f.MaxBytes, ms(f.Hold)
	},
	behaviour: func(x Fault) behaviour { return &bufRespB{f: x.(HTTPBufferResponse)} },
}
