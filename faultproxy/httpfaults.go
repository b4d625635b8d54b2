package faultproxy

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
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

// HTTPResponseTimeout answers a request itself with Status (504 Gateway
// Timeout by default) when its response has not started Timeout after the
// proxy read the request head, then closes the connection: a reverse proxy's
// read timeout (nginx proxy_read_timeout, faults doc A9.4). A long-polling
// GET that the server holds for up to pingInterval is cut when Timeout is
// shorter. Type "http_response_timeout", attributes "timeout_ms", "status",
// "method" and "nth" (see [RequestMatch]).
type HTTPResponseTimeout struct {
	Name    string // default "http_response_timeout"
	Scope   Scope  // AfterBytes must be 0
	Match   RequestMatch
	Timeout time.Duration // > 0
	Status  int           // 200..599; 0 means 504
}

// Type implements Fault.
func (HTTPResponseTimeout) Type() string { return "http_response_timeout" }

// Validate implements Fault.
func (f HTTPResponseTimeout) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := f.Match.validate(f.Type()); err != nil {
		return err
	}
	if f.Timeout <= 0 {
		return &FieldError{Fault: f.Type(), Field: "Timeout", Attr: "timeout_ms", Reason: "must be positive"}
	}
	if f.Status != 0 && (f.Status < 200 || f.Status > 599) {
		return &FieldError{Fault: f.Type(), Field: "Status", Attr: "status", Reason: "must be in [200, 599]"}
	}
	return nil
}

func (f HTTPResponseTimeout) meta() faultMeta {
	return faultMeta{f.Name, Upstream, f.Scope, levelUnit}
}

type respTimeoutB struct{ f HTTPResponseTimeout }

func (b *respTimeoutB) process(_ *instance, ck chunk, next emitFunc) error { return next(ck) }

// run watches the oldest unanswered request of the connection.
func (b *respTimeoutB) run(in *instance) {
	c := in.c
	for {
		c.mu.Lock()
		var head reqRecord
		pending := len(c.reqQ) > 0
		if pending {
			head = c.reqQ[0]
		}
		changed := c.reqSig
		c.mu.Unlock()
		if !pending || !b.f.Match.matches(head.method, head.ord) {
			select {
			case <-changed:
				continue
			case <-in.ctx.Done():
				return
			}
		}
		ok, err := in.wait(head.at.Add(b.f.Timeout))
		if !ok || err != nil {
			return
		}
		c.mu.Lock()
		still := len(c.reqQ) > 0 && c.reqQ[0].seq == head.seq
		c.mu.Unlock()
		if !still {
			continue
		}
		status := b.f.Status
		if status == 0 {
			status = http.StatusGatewayTimeout
		}
		in.decide("timeout", fmt.Sprintf("%d after %s for %s", status, b.f.Timeout, describeReq(head.method, head.uri, head.ord)))
		body := http.StatusText(status) + "\n"
		resp := "HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(body)) +
			"\r\nConnection: close\r\n\r\n" + body
		c.hold.Store(true) // the server side is cut on purpose
		_ = c.client.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.client.Write([]byte(resp))
		c.abort(CloseFIN)
		return
	}
}

// HTTPDuplicateRequest sends a copy of matching requests to the upstream on
// a connection of its own, Delay after forwarding the original, and
// discards the copy's response (logging its status): a proxy or mobile
// stack that retries a request (faults doc A9.6). A duplicated long-polling
// GET overlaps the original, which an Engine.IO server must answer with 400
// and a closed session (EIO-POLL-07); a duplicated POST overlaps likewise
// (EIO-POLL-08). Type "http_duplicate_request", attributes "method"
// (default "GET"), "nth" (see [RequestMatch]) and "delay_ms".
type HTTPDuplicateRequest struct {
	Name  string // default "http_duplicate_request"
	Scope Scope  // AfterBytes must be 0
	// Match selects the requests to duplicate; an empty Method means GET.
	Match RequestMatch
	Delay time.Duration // >= 0
}

// Type implements Fault.
func (HTTPDuplicateRequest) Type() string { return "http_duplicate_request" }

// Validate implements Fault.
func (f HTTPDuplicateRequest) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := f.Match.validate(f.Type()); err != nil {
		return err
	}
	return nonNeg(f.Type(), "Delay", "delay_ms", int64(f.Delay))
}

func (f HTTPDuplicateRequest) meta() faultMeta {
	return faultMeta{f.Name, Upstream, f.Scope, levelUnit}
}

type dupReqB struct{ f HTTPDuplicateRequest }

func (b *dupReqB) process(in *instance, ck chunk, next emitFunc) error {
	u := ck.u
	if u == nil || (u.kind != unitHTTPRequestHead && u.kind != unitHTTPMessage) || u.req == nil || u.upgrade {
		return next(ck)
	}
	m := b.f.Match
	if m.Method == "" {
		m.Method = http.MethodGet
	}
	if !m.matches(u.req.Method, u.ord) {
		return next(ck)
	}
	// A request head with a body that is not held whole cannot be copied.
	if u.kind == unitHTTPRequestHead && u.req.ContentLength > 0 {
		return next(ck)
	}
	copyReq := append([]byte(nil), ck.data...)
	what := describeReq(u.req.Method, u.req.URL.RequestURI(), u.ord)
	if err := next(ck); err != nil {
		return err
	}
	in.decide("duplicate", fmt.Sprintf("%s, copy in %s", what, b.f.Delay))
	c := in.c
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.wg.Add(1)
	target := c.target
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		b.sendCopy(in, target, copyReq, what)
	}()
	return nil
}

// sendCopy writes the copy on a fresh upstream connection and logs the
// status line of the answer.
func (b *dupReqB) sendCopy(in *instance, target string, req []byte, what string) {
	if b.f.Delay > 0 {
		if _, err := in.wait(time.Now().Add(b.f.Delay)); err != nil {
			return
		}
	}
	d := net.Dialer{Timeout: in.c.p.opts.DialTimeout}
	nc, err := d.DialContext(in.c.ctx, "tcp", target)
	if err != nil {
		in.decide("duplicate_error", err.Error())
		return
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-in.c.ctx.Done():
		case <-done:
		}
		nc.Close()
	}()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write(req); err != nil {
		in.decide("duplicate_error", err.Error())
		return
	}
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		if in.c.ctx.Err() == nil {
			in.decide("duplicate_error", "reading the answer: "+err.Error())
		}
		return
	}
	in.decide("duplicate_response", strings.TrimSpace(line)+" for the copy of "+what)
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

// WSBufferFrames holds WebSocket frames in its direction after a 101: with
// Hold, each frame is forwarded Hold after the proxy read it (what follows
// waits too); with UntilBytes, frames are held until that many bytes have
// accumulated and then forwarded together, so a quiet connection (a probe
// reply, a few pings) can stall indefinitely: antivirus software scanning
// WebSocket traffic (faults doc A9.3). Exactly one of Hold and UntilBytes is
// set. Held frames are released when the fault is removed or expires and at
// end of stream. Type "ws_buffer_frames", attributes "hold_ms" and
// "until_bytes".
type WSBufferFrames struct {
	Name       string    // default "ws_buffer_frames"
	Direction  Direction // default Downstream
	Scope      Scope     // AfterBytes must be 0
	Hold       time.Duration
	UntilBytes int64
}

// Type implements Fault.
func (WSBufferFrames) Type() string { return "ws_buffer_frames" }

// Validate implements Fault.
func (f WSBufferFrames) Validate() error {
	if err := validateUnitScope(f.Type(), f.Scope); err != nil {
		return err
	}
	if err := validateCommon(f.Type(), f.Direction, Scope{}); err != nil {
		return err
	}
	if err := nonNeg(f.Type(), "Hold", "hold_ms", int64(f.Hold)); err != nil {
		return err
	}
	if err := nonNeg(f.Type(), "UntilBytes", "until_bytes", f.UntilBytes); err != nil {
		return err
	}
	if (f.Hold > 0) == (f.UntilBytes > 0) {
		return &FieldError{Fault: f.Type(), Field: "Hold", Attr: "hold_ms", Reason: "set exactly one of hold_ms and until_bytes"}
	}
	return nil
}

func (f WSBufferFrames) meta() faultMeta { return packetMeta(f.Name, f.Direction, f.Scope) }

type wsBufB struct {
	f    WSBufferFrames
	held heldBytes
	seen int
}

func (b *wsBufB) process(in *instance, ck chunk, next emitFunc) error {
	if ck.u == nil || ck.u.kind != unitWSFrame {
		if err := b.held.release(in, next, "unframed bytes follow"); err != nil {
			return err
		}
		return next(ck)
	}
	b.seen++
	if b.f.Hold > 0 {
		in.decide("delay", fmt.Sprintf("frame #%d by %s", b.seen, b.f.Hold))
		if _, err := in.wait(ck.at.Add(b.f.Hold)); err != nil {
			return err
		}
		return next(ck)
	}
	if len(b.held.data) == 0 {
		in.decide("hold", fmt.Sprintf("from frame #%d until %d bytes", b.seen, b.f.UntilBytes))
	}
	b.held.add(ck.data, ck.at)
	if int64(len(b.held.data)) < b.f.UntilBytes {
		return nil
	}
	return b.held.release(in, next, fmt.Sprintf("%d bytes reached", b.f.UntilBytes))
}

func (b *wsBufB) flushHeld(in *instance, next emitFunc, why string) error {
	return b.held.release(in, next, why)
}
