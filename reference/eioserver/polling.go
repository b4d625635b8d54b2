package eioserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// encoder writes what the application sends the way Node does: text that
// contains the record separator goes out unchanged (EIO-POLL-19). Send has
// already refused unknown types and binary non-messages.
var encoder = engineio.Encoder{AllowIllegal: true}

// errStop ends payload parsing early without being a decode error.
var errStop = errors.New("stop")

// pollingTransport is the HTTP long-polling transport of one session. Its
// fields are guarded by the session's mutex.
type pollingTransport struct {
	s              *Session
	supportsBinary bool // v3: XHR2 binary payloads allowed (no b64 at handshake)
	// jsonpHead is "___eio[N](" for a JSONP session (j=N at the
	// handshake, EIO-URL-09), empty otherwise.
	jsonpHead string

	get        *pollGet  // the parked GET, until its response is written
	isWritable bool      // a GET is parked and has not been handed packets
	post       *pollPost // the POST being read or processed

	shouldClose func() // a graceful close waiting for the next GET
	closeTimer  Timer
	discarded   bool
	closing     bool
}

// pollGet is a parked GET; ch carries the packets that answer it.
type pollGet struct {
	ch chan []engineio.Packet
}

// pollPost is a POST in flight.
type pollPost struct {
	rc      *http.ResponseController
	reading bool
}

func (t *pollingTransport) name() string   { return TransportPolling }
func (t *pollingTransport) writable() bool { return t.isWritable }
func (t *pollingTransport) discard()       { t.discarded = true }

// park registers a GET as pending and makes the transport writable.
func (t *pollingTransport) park() *pollGet {
	g := &pollGet{ch: make(chan []engineio.Packet, 1)}
	t.get = g
	t.isWritable = true
	return g
}

func (t *pollingTransport) send(pkts []engineio.Packet) {
	if t.get == nil || !t.isWritable {
		return
	}
	t.isWritable = false
	var fn func()
	if t.shouldClose != nil {
		pkts = append(pkts[:len(pkts):len(pkts)], engineio.Packet{Type: engineio.Close})
		fn = t.shouldClose
		t.shouldClose = nil
	}
	t.get.ch <- pkts
	if fn != nil {
		fn()
	}
}

func (t *pollingTransport) close(force bool, done func()) {
	if t.closing {
		return
	}
	t.closing = true
	if t.post != nil && t.post.reading {
		// Node destroys a half-received POST.
		_ = t.post.rc.SetReadDeadline(time.Now())
	}
	finish := func() {
		if t.closeTimer != nil {
			t.closeTimer.Stop()
			t.closeTimer = nil
		}
		if done != nil {
			done()
		}
		t.s.transportClosedLocked(t, ReasonTransportClose, nil)
	}
	if t.isWritable {
		t.send([]engineio.Packet{{Type: engineio.Close}})
		finish()
		return
	}
	if force || t.discarded {
		finish()
		return
	}
	// Wait for the next GET to carry the close packet (EIO-POLL-20), at
	// most Node's closeTimeout.
	t.shouldClose = finish
	s := t.s
	t.closeTimer = s.srv.clock.AfterFunc(pollingCloseTimeout, func() {
		if !s.srv.enter() {
			return
		}
		defer s.srv.exit()
		s.mu.Lock()
		if f := t.shouldClose; f != nil {
			t.shouldClose = nil
			f()
		}
		s.mu.Unlock()
		s.runEvents()
	})
}

// peerClosedLocked handles a close packet POSTed by the client
// (EIO-CLOSE-01): a parked GET is released with a noop and the session
// closes with "transport close".
func (t *pollingTransport) peerClosedLocked() {
	if t.isWritable {
		t.send([]engineio.Packet{{Type: engineio.Noop}})
	}
	t.closing = true
	t.s.transportClosedLocked(t, ReasonTransportClose, nil)
}

// servePolling handles a GET or POST (or anything else) of an existing
// polling session.
func (s *Session) servePolling(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t, ok := s.transport.(*pollingTransport)
	closed := s.state == stateClosed
	s.mu.Unlock()
	switch {
	case closed:
		writeError(w, engineio.NewHTTPError(engineio.CodeUnknownSID))
	case !ok:
		writeError(w, engineio.NewHTTPError(engineio.CodeBadRequest))
	case r.Method == http.MethodGet:
		t.serveGet(w, r)
	case r.Method == http.MethodPost:
		t.servePost(w, r)
	default:
		// EIO-POLL-15: a valid sid with another method.
		writeEmpty(w, http.StatusInternalServerError)
	}
}

// serveGet parks a GET until there is something to send (EIO-POLL-01).
func (t *pollingTransport) serveGet(w http.ResponseWriter, r *http.Request) {
	s := t.s
	s.mu.Lock()
	if s.state == stateClosed || s.transport != t {
		s.mu.Unlock()
		writeError(w, engineio.NewHTTPError(engineio.CodeUnknownSID))
		return
	}
	if t.get != nil {
		// EIO-POLL-07: the pending GET gets "1", this one 400.
		s.closeLocked(ReasonTransportError, &TransportError{Msg: "overlap from client"})
		s.mu.Unlock()
		s.runEvents()
		writeEmpty(w, http.StatusBadRequest)
		return
	}
	g := t.park()
	s.flushLocked()
	if t.isWritable && t.shouldClose != nil {
		t.send([]engineio.Packet{{Type: engineio.Noop}})
	}
	s.mu.Unlock()
	s.runEvents()
	t.waitAndRespond(w, r, g, false)
}

// waitAndRespond waits for the packets that answer g and writes them; a
// client that goes away first closes the session (EIO-POLL-09).
func (t *pollingTransport) waitAndRespond(w http.ResponseWriter, r *http.Request, g *pollGet, initial bool) {
	s := t.s
	var pkts []engineio.Packet
	select {
	case pkts = <-g.ch:
	default:
		// Only a GET that has to wait asks for the request's Done
		// channel: Serve's lean path watches the connection for it.
		select {
		case pkts = <-g.ch:
		case <-r.Context().Done():
			s.mu.Lock()
			select {
			case pkts = <-g.ch:
			default:
				if t.get == g {
					t.get = nil
					t.isWritable = false
					s.transportClosedLocked(t, ReasonTransportError, &TransportError{Msg: "poll connection closed prematurely"})
				}
				s.mu.Unlock()
				s.runEvents()
				return
			}
			s.mu.Unlock()
		}
	}
	t.respond(w, r, pkts, initial)
	s.mu.Lock()
	if t.get == g {
		t.get = nil
	}
	s.mu.Unlock()
}

// respond writes a GET response carrying pkts (EIO-POLL-02/03/14).
func (t *pollingTransport) respond(w http.ResponseWriter, r *http.Request, pkts []engineio.Packet, initial bool) {
	s := t.s
	contentType := "text/plain; charset=UTF-8"
	var body []byte
	var err error
	switch {
	case s.version == engineio.V4:
		body, err = encoder.AppendPayload(nil, pkts)
	case t.jsonpHead != "":
		body, err = encoder.AppendPayloadV3(nil, pkts)
	case t.supportsBinary && engineio.HasBinary(pkts):
		body, err = encoder.AppendBinaryPayloadV3(nil, pkts)
		contentType = "application/octet-stream"
	default:
		body, err = encoder.AppendPayloadV3(nil, pkts)
	}
	// The encoded body holds copies: the array goes back to the pool.
	s.srv.putPacketBuf(pkts)
	if err == nil && t.jsonpHead != "" {
		body, err = appendJSONP(nil, t.jsonpHead, body)
	}
	if err != nil {
		s.srv.log.Error("encode polling payload", "sid", s.id, "err", err)
		writeEmpty(w, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	if initial && s.srv.opts.Cookie != nil {
		h.Add("Set-Cookie", cookieHeader(s.srv.opts.Cookie, s.id))
	}
	if th := s.srv.opts.CompressionThreshold; th >= 0 && len(body) >= th {
		if enc := negotiateEncoding(r.Header.Get("Accept-Encoding")); enc != "" {
			if zb, err := compress(enc, body); err == nil {
				h.Set("Content-Encoding", enc)
				body = zb
			}
		}
	}
	pollingHeaders(h, r, contentType, strconv.Itoa(len(body)))
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(s.srv.opts.PingInterval + s.srv.opts.PingTimeout))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// pollingHeaders sets the headers of a polling data response: its type
// and length, and what Node's polling transport adds to every one.
func pollingHeaders(h http.Header, r *http.Request, contentType, length string) {
	// One array for the three values, where Header.Set would allocate
	// one each; the keys are canonical, as Set would make them. The
	// order of the keys on the wire is net/http's (sorted), not ours.
	v := []string{contentType, length, "no-store"}
	h["Content-Type"] = v[0:1:1]
	h["Content-Length"] = v[1:2:2]
	h["Cache-Control"] = v[2:3:3]
	if ua := r.Header.Get("User-Agent"); strings.Contains(ua, ";MSIE") || strings.Contains(ua, "Trident/") {
		h.Set("X-XSS-Protection", "0")
	}
}

func cookieHeader(c *CookieOptions, sid string) string {
	ck := http.Cookie{
		Name:     c.Name,
		Value:    sid,
		Path:     c.Path,
		Domain:   c.Domain,
		Secure:   c.Secure,
		HttpOnly: !c.NoHTTPOnly,
		SameSite: c.SameSite,
	}
	if c.MaxAge > 0 {
		ck.MaxAge = int(c.MaxAge / time.Second)
	}
	return ck.String()
}

var errTooLarge = errors.New("eioserver: request body too large")

// maxBodyHint bounds what readBody allocates on a Content-Length alone.
const maxBodyHint = 64 << 10

// readBody reads at most limit bytes of a request body. size is the
// declared Content-Length (-1 if unknown): a body that keeps to it is read
// into one array of that size, where io.ReadAll would start at 512 bytes
// and copy on every growth. The result is as io.ReadAll of limit+1 bytes:
// errTooLarge beyond limit, whatever the declared size.
func readBody(r io.Reader, limit, size int64) ([]byte, error) {
	n := int64(512)
	if size >= 0 && size <= limit {
		// Room for the read that returns io.EOF; a declared size is not
		// trusted beyond maxBodyHint before the bytes arrive.
		n = min(size+1, maxBodyHint)
	}
	b := make([]byte, 0, n)
	for {
		if int64(len(b)) > limit {
			return nil, errTooLarge
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		buf := b[len(b):cap(b)]
		if room := limit + 1 - int64(len(b)); int64(len(buf)) > room {
			buf = buf[:room]
		}
		m, err := r.Read(buf)
		b = b[:len(b)+m]
		if err == io.EOF { // unwrapped by contract, as io.ReadAll compares
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

// servePost reads a payload, processes its packets in order and answers
// "ok" (EIO-POLL-04/05).
func (t *pollingTransport) servePost(w http.ResponseWriter, r *http.Request) {
	s := t.s
	s.mu.Lock()
	if s.state == stateClosed || s.transport != t {
		s.mu.Unlock()
		writeError(w, engineio.NewHTTPError(engineio.CodeUnknownSID))
		return
	}
	if t.post != nil {
		// EIO-POLL-08.
		s.closeLocked(ReasonTransportError, &TransportError{Msg: "data request overlap from client"})
		s.mu.Unlock()
		s.runEvents()
		writeEmpty(w, http.StatusBadRequest)
		return
	}
	isBinary := r.Header.Get("Content-Type") == "application/octet-stream"
	if isBinary && s.version == engineio.V4 {
		// EIO-POLL-13.
		s.closeLocked(ReasonTransportError, &TransportError{Msg: "invalid content"})
		s.mu.Unlock()
		s.runEvents()
		writeEmpty(w, http.StatusBadRequest)
		return
	}
	p := &pollPost{rc: http.NewResponseController(w), reading: true}
	t.post = p
	s.mu.Unlock()

	// A slow sender is cut off: by this deadline, or earlier when the
	// heartbeat closes the session.
	_ = p.rc.SetReadDeadline(time.Now().Add(s.srv.opts.PingInterval + s.srv.opts.PingTimeout))
	body, err := readBody(r.Body, s.srv.opts.MaxHTTPBufferSize, r.ContentLength)
	s.mu.Lock()
	p.reading = false
	s.mu.Unlock()
	if err == nil {
		_ = p.rc.SetReadDeadline(time.Time{})
	}
	if errors.Is(err, errTooLarge) {
		// EIO-LIMIT-02: 413, and Node leaves the session open.
		s.mu.Lock()
		if t.post == p {
			t.post = nil
		}
		s.mu.Unlock()
		writeEmpty(w, http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		// EIO-POLL-10: the body was cut short.
		s.mu.Lock()
		if t.post == p {
			t.post = nil
			s.transportClosedLocked(t, ReasonTransportError, &TransportError{Msg: "data request connection closed prematurely", Err: err})
		}
		s.mu.Unlock()
		s.runEvents()
		// Destroy the connection as Node does; the deadline stays in the
		// past so that the server does not wait for the rest of the body.
		_ = p.rc.SetReadDeadline(time.Now())
		panic(http.ErrAbortHandler)
	}

	if t.jsonpHead != "" {
		var ok bool
		if body, ok = jsonpData(body); !ok {
			// Node ignores a JSONP POST without a single d field.
			s.mu.Lock()
			if t.post == p {
				t.post = nil
			}
			s.mu.Unlock()
			writeOK(w, r)
			return
		}
	}
	s.mu.Lock()
	handle := func(pkt engineio.Packet) error {
		if s.transport != t || s.state == stateClosed {
			return errStop
		}
		if pkt.Type == engineio.Close {
			t.peerClosedLocked()
			return errStop
		}
		s.onPacketLocked(pkt)
		return nil
	}
	switch {
	case s.version == engineio.V4:
		err = engineio.ParsePayload(body, handle)
	case isBinary:
		err = engineio.ParseBinaryPayloadV3(body, handle)
	default:
		err = engineio.ParsePayloadV3(body, handle)
	}
	if err != nil && !errors.Is(err, errStop) && s.transport == t && s.state == stateOpen {
		// Errata 1: the session closes, the POST still gets "ok".
		s.closeLocked(ReasonParseError, err)
	}
	if t.post == p {
		t.post = nil
	}
	s.mu.Unlock()
	s.runEvents()
	writeOK(w, r)
}

// writeOK answers a POST whose payload was taken (EIO-POLL-04).
func writeOK(w http.ResponseWriter, r *http.Request) {
	pollingHeaders(w.Header(), r, "text/html", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
}

// appendJSONP wraps a text payload the way Node's JSONP transport does:
// head + the payload as a JavaScript string literal (JSON.stringify, with
// U+2028 and U+2029 escaped) + ");".
func appendJSONP(dst []byte, head string, payload []byte) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(string(payload)); err != nil {
		return nil, err
	}
	lit := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	dst = append(dst, head...)
	dst = append(dst, lit...)
	return append(dst, ");"...), nil
}

// jsonpData extracts the payload of a JSONP POST: the form field d, with
// the client's newline escapes undone (a literal backslash-n is a newline,
// a doubled backslash before n stays one backslash-n). It reports false
// when there is no single d field.
func jsonpData(body []byte) ([]byte, bool) {
	form, _ := url.ParseQuery(string(body))
	d, ok := form["d"]
	if !ok || len(d) != 1 {
		return nil, false
	}
	in := d[0]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		switch {
		case in[i] == '\\' && i+2 < len(in) && in[i+1] == '\\' && in[i+2] == 'n':
			out = append(out, '\\', 'n')
			i += 2
		case in[i] == '\\' && i+1 < len(in) && in[i+1] == 'n':
			out = append(out, '\n')
			i++
		default:
			out = append(out, in[i])
		}
	}
	return out, true
}
