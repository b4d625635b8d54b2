package suites

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// Broken variants for the Engine.IO handshake, URL, packet, binary,
// WebSocket and limit rules, and for the v3 rules. Two generic wrappers
// are new here: beforeFixture (inspect or rewrite a request, or answer it
// instead of the fixture) and editPollGET (rewrite the status and body of
// a polling GET answer with a function rather than a regular expression).

// beforeFixture runs pre on every request before the fixture sees it; pre
// may rewrite r, or answer it itself and return true.
func beforeFixture(next http.Handler, pre func(w http.ResponseWriter, r *http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !pre(w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// editPollGET rewrites the answers to polling GETs (handshakes included;
// the sid tells them apart) with edit.
func editPollGET(next http.Handler, edit func(r *http.Request, body []byte) []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := isPolling(r, http.MethodGet); !ok {
			next.ServeHTTP(w, r)
			return
		}
		status, h, body := bufferResponse(next, r)
		if status == http.StatusOK {
			body = edit(r, body)
		}
		writeResponse(w, status, h, body)
	})
}

// setQuery replaces r's query with q.
func setQuery(r *http.Request, q map[string][]string) {
	v := r.URL.Query()
	for k, vs := range q {
		if vs == nil {
			v.Del(k)
			continue
		}
		v[k] = vs
	}
	r.URL.RawQuery = v.Encode()
}

// readBody reads r's body and puts it back for the fixture.
func readBody(r *http.Request) []byte {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// refuse answers 400 with an Engine.IO error body.
func refuse(w http.ResponseWriter, code int, msg string) bool {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"code":` + strconv.Itoa(code) + `,"message":"` + msg + `"}`))
	return true
}

// isV3 reports a request that asks for Engine.IO v3.
func isV3(r *http.Request) bool { return r.URL.Query().Get("EIO") == "3" }

// editV3Packets decodes a v3 text payload, lets edit rewrite its packets
// and re-encodes it with correct length prefixes; a body that does not
// decode (an XHR2 binary payload, say) is returned unchanged.
func editV3Packets(body []byte, edit func([]engineio.Packet) []engineio.Packet) []byte {
	pkts, err := engineio.DecodePayload(engineio.V3, false, body)
	if err != nil {
		return body
	}
	out, err := (engineio.Encoder{AllowIllegal: true}).AppendPayloadV3(nil, edit(pkts))
	if err != nil {
		return body
	}
	return out
}

// v3ByteLengths re-frames a v3 text payload with each length counted in
// UTF-8 bytes instead of UTF-16 code units (breaks EIO3-03).
func v3ByteLengths(body []byte) []byte {
	pkts, err := engineio.DecodePayload(engineio.V3, false, body)
	if err != nil {
		return body
	}
	var out []byte
	for _, p := range pkts {
		rec, err := (engineio.Encoder{AllowIllegal: true}).AppendPayloadV3(nil, []engineio.Packet{p})
		if err != nil {
			return body
		}
		rec = rec[bytes.IndexByte(rec, ':')+1:]
		out = engineio.AppendRawPayloadV3(out, len(rec), rec)
	}
	return out
}

// nonASCII matches every rune outside ASCII.
var nonASCII = regexp.MustCompile(`[^\x00-\x7f]`)

// asciiOnly replaces every non-ASCII rune with '?', as a server that
// transcodes text through a single-byte charset does (breaks EIO-PKT-02).
func asciiOnly(b []byte) []byte {
	if utf8.Valid(b) {
		return nonASCII.ReplaceAll(b, []byte("?"))
	}
	return b
}

// openPingInterval matches the pingInterval of an open packet.
var openPingInterval = regexp.MustCompile(`"pingInterval":\d+`)

// unpaddedBase64 strips the '=' padding of every b<base64> record.
var unpaddedBase64 = regexp.MustCompile(`((?:^|\x1e)b[A-Za-z0-9+/]*)=+`)

// sequentialSIDs breaks EIO-HS-05: the client sees session ids from a
// counter ("1", "2", ...); the wrapper maps them back to the fixture's.
type sequentialSIDs struct {
	next http.Handler
	mu   sync.Mutex
	n    int
	real map[string]string
}

func (s *sequentialSIDs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if sid := q.Get("sid"); sid != "" {
		s.mu.Lock()
		real, ok := s.real[sid]
		s.mu.Unlock()
		if ok {
			setQuery(r, map[string][]string{"sid": {real}})
		}
		s.next.ServeHTTP(w, r)
		return
	}
	if _, ok := isPolling(r, http.MethodGet); !ok {
		s.next.ServeHTTP(w, r)
		return
	}
	status, h, body := bufferResponse(s.next, r)
	if m := openSID.FindSubmatchIndex(body); m != nil {
		s.mu.Lock()
		s.n++
		fake := strconv.Itoa(s.n)
		s.real[fake] = string(body[m[2]:m[3]])
		s.mu.Unlock()
		body = slices.Concat(body[:m[2]], []byte(fake), body[m[3]:])
	}
	writeResponse(w, status, h, body)
}

// secondProbeAnswered breaks EIO-WS-05: a second WebSocket for a session
// whose WebSocket is already open is accepted and its probe answered
// before it is closed, instead of being closed unanswered.
func secondProbeAnswered() (http.Handler, func()) {
	f := newFrameFilter(fixture.NewEIO4(proofFixtureOptions()), func(_ *http.Request, _ bool, _ int, b []byte) ([]byte, bool) { return b, true })
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	h := beforeFixture(f, func(w http.ResponseWriter, r *http.Request) bool {
		if !websocket.IsWebSocketUpgrade(r) || !f.isLive(r.URL.Query().Get("sid")) {
			return false
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return true
		}
		defer c.Close()
		if mt, b, err := c.ReadMessage(); err == nil && mt == websocket.TextMessage && string(b) == "2probe" {
			_ = c.WriteMessage(websocket.TextMessage, []byte("3probe"))
		}
		return true
	})
	return h, f.stop
}

// pongEchoed breaks EIO-PKT-04: a pong from the client that answers no
// ping is answered with a pong. The relay turns such a pong into a marker
// message, which the fixture echoes and the relay turns into "3".
func pongEchoed() frameEdit {
	const marker = "4siospec-unsolicited-pong"
	var mu sync.Mutex
	pinged := map[*http.Request]bool{}
	return func(r *http.Request, fromClient bool, mt int, b []byte) ([]byte, bool) {
		if mt != websocket.TextMessage {
			return b, true
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case !fromClient && string(b) == "2":
			pinged[r] = true
		case !fromClient && string(b) == marker:
			return []byte("3"), true
		case fromClient && string(b) == "3":
			if pinged[r] {
				pinged[r] = false
				return b, true
			}
			return []byte(marker), true
		}
		return b, true
	}
}

// serverFrames adapts an edit of the server's messages to a frameEdit.
func serverFrames(edit func(r *http.Request, mt int, b []byte) []byte) frameEdit {
	return func(r *http.Request, fromClient bool, mt int, b []byte) ([]byte, bool) {
		if fromClient {
			return b, true
		}
		return edit(r, mt, b), true
	}
}

// clientFrames adapts an edit of the client's messages to a frameEdit.
func clientFrames(edit func(r *http.Request, mt int, b []byte) []byte) frameEdit {
	return func(r *http.Request, fromClient bool, mt int, b []byte) ([]byte, bool) {
		if !fromClient {
			return b, true
		}
		return edit(r, mt, b), true
	}
}

// withPollEdit wraps a variant's handler in a polling GET edit.
func withPollEdit(build func() (http.Handler, func()), edit func(r *http.Request, body []byte) []byte) func() (http.Handler, func()) {
	return func() (http.Handler, func()) {
		h, stop := build()
		return editPollGET(h, edit), stop
	}
}

// controlPongAsHeartbeat breaks EIO-WS-07: the fixture's WebSocket reads a
// client's control pong as an Engine.IO pong ("3"), as a server that takes
// any pong for a heartbeat answer does. The wrapper hands the fixture a
// hijacked connection whose inbound frames it rewrites; no relay is
// involved, so the fixture's own framing stays on the wire.
func controlPongAsHeartbeat(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !websocket.IsWebSocketUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&pongHijacker{ResponseWriter: w}, r)
	})
}

// pongHijacker hands out a connection whose control pongs read as "3".
type pongHijacker struct{ http.ResponseWriter }

func (h *pongHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	pc := &pongConn{Conn: c, src: brw.Reader}
	return pc, bufio.NewReadWriter(bufio.NewReader(pc), bufio.NewWriter(pc)), nil
}

// pongConn reads whole client frames from src and passes them on, a
// control pong (opcode 0xA) turned into the masked text frame "3".
type pongConn struct {
	net.Conn
	src *bufio.Reader
	out []byte
}

func (c *pongConn) Read(p []byte) (int, error) {
	if len(c.out) == 0 {
		f, err := c.frame()
		if err != nil {
			return 0, err
		}
		c.out = f
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// frame reads the next frame, rewriting a control pong.
func (c *pongConn) frame() ([]byte, error) {
	head := make([]byte, 2, 14)
	if _, err := io.ReadFull(c.src, head); err != nil {
		return nil, err
	}
	n := uint64(head[1] & 0x7f)
	switch n {
	case 126, 127:
		ext := make([]byte, map[uint64]int{126: 2, 127: 8}[n])
		if _, err := io.ReadFull(c.src, ext); err != nil {
			return nil, err
		}
		head = append(head, ext...)
		n = 0
		for _, b := range ext {
			n = n<<8 | uint64(b)
		}
	}
	var mask []byte
	if head[1]&0x80 != 0 {
		mask = make([]byte, 4)
		if _, err := io.ReadFull(c.src, mask); err != nil {
			return nil, err
		}
	}
	if n > fixture.MaxPayload+16 {
		return nil, errors.New("frame too large for the variant")
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(c.src, payload); err != nil {
		return nil, err
	}
	if head[0]&0x0f == websocket.PongMessage && len(mask) == 4 {
		return []byte{0x80 | websocket.TextMessage, 0x80 | 1, mask[0], mask[1], mask[2], mask[3], '3' ^ mask[0]}, nil
	}
	return slices.Concat(head, mask, payload), nil
}

// knownQuery is what a strict server accepts in a query.
var knownQuery = []string{"EIO", "transport", "sid", "t", "b64", "j"}

// eioHandshakeVariants are broken variants of the reference fixtures for one family of
// rules (see variants_sets_test.go).
func eioHandshakeVariants() []variant {
	eio4 := func() fixture.Fixture { return fixture.NewEIO4(proofFixtureOptions()) }
	eio3 := func() fixture.Fixture { return fixture.NewEIO3(proofFixtureOptions()) }
	pre := func(fx fixture.Fixture, f func(w http.ResponseWriter, r *http.Request) bool) func() (http.Handler, func()) {
		return wrapped(fx, func(h http.Handler) http.Handler { return beforeFixture(h, f) })
	}
	pollEdit := func(fx fixture.Fixture, edit func(r *http.Request, body []byte) []byte) func() (http.Handler, func()) {
		return wrapped(fx, func(h http.Handler) http.Handler { return editPollGET(h, edit) })
	}
	handshake := func(r *http.Request) bool { return r.URL.Query().Get("sid") == "" }
	return []variant{
		{"served-on-every-path", "Engine.IO is served under its path prefix only", framework.EIO4,
			pre(eio4(), func(_ http.ResponseWriter, r *http.Request) bool {
				r.URL.Path = fixture.EnginePath
				r.RequestURI = r.URL.RequestURI()
				return false
			}), "area:url", []string{"EIO-URL-01"}},
		{"eio-defaults-to-4", "a polling request without a numeric EIO opens no session", framework.EIO4,
			pre(eio4(), func(_ http.ResponseWriter, r *http.Request) bool {
				if _, err := strconv.Atoi(r.URL.Query().Get("EIO")); err != nil && !websocket.IsWebSocketUpgrade(r) {
					setQuery(r, map[string][]string{"EIO": {"4"}})
				}
				return false
			}), "area:url", []string{"EIO-URL-02"}},
		{"transport-defaults-to-polling", "a request without a known transport is refused with 400", framework.EIO4,
			pre(eio4(), func(_ http.ResponseWriter, r *http.Request) bool {
				if t := r.URL.Query().Get("transport"); t != "polling" && t != "websocket" && !websocket.IsWebSocketUpgrade(r) {
					setQuery(r, map[string][]string{"transport": {"polling"}})
				}
				return false
			}), "area:url", []string{"EIO-URL-04"}},
		// EIO-HS-07 posts the same sid-less POST to open a session: both
		// specs judge this one refusal.
		{"post-without-sid-ok", "a POST without sid is a failed handshake (400)", framework.EIO4,
			pre(eio4(), func(w http.ResponseWriter, r *http.Request) bool {
				if sid, ok := isPolling(r, http.MethodPost); !ok || sid != "" {
					return false
				}
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/html")
				_, _ = w.Write([]byte("ok"))
				return true
			}), "area:url || area:handshake", []string{"EIO-HS-07", "EIO-URL-05"}},
		{"unknown-query-refused", "unknown query parameters change nothing", framework.EIO4,
			pre(eio4(), func(w http.ResponseWriter, r *http.Request) bool {
				for k := range r.URL.Query() {
					if !slices.Contains(knownQuery, k) {
						return refuse(w, 3, "Bad request")
					}
				}
				return false
			}), "area:url", []string{"EIO-URL-06"}},
		// A handshake whose open packet is malformed fails the preflight,
		// which is the same check; this one names a sid that was never
		// registered, so every polling session is broken and the neighbours
		// are the WebSocket handshakes.
		{"handshake-sid-not-registered", "a polling handshake opens the session its open packet names", framework.EIO4,
			pollEdit(eio4(), func(r *http.Request, body []byte) []byte {
				if !handshake(r) {
					return body
				}
				return openSID.ReplaceAll(body, []byte(`"sid":"siospec-unregistered-$1"`))
			}), "req:EIO-HS-01 || (area:handshake && transport:websocket)", []string{"EIO-HS-01"}},
		{"polling-handshake-without-upgrades", "a polling handshake advertises the websocket upgrade", framework.EIO4,
			pollEdit(eio4(), func(r *http.Request, body []byte) []byte {
				if !handshake(r) {
					return body
				}
				return bytes.Replace(body, []byte(`"upgrades":["websocket"]`), []byte(`"upgrades":[]`), 1)
			}), "area:handshake", []string{"EIO-HS-03"}},
		{"websocket-default-ping-interval", "the timings advertised are the same on every transport", framework.EIO4,
			filterFrames(eio4(), serverFrames(func(_ *http.Request, _ int, b []byte) []byte {
				if !bytes.HasPrefix(b, []byte("0{")) {
					return b
				}
				return openPingInterval.ReplaceAll(b, []byte(`"pingInterval":25000`))
			})), "area:handshake", []string{"EIO-HS-04"}},
		{"sequential-sids", "session ids are unique, unpredictable and URL-safe", framework.EIO4,
			func() (http.Handler, func()) {
				fx := eio4()
				return &sequentialSIDs{next: fx, real: map[string]string{}}, func() { _ = fx.Close(context.Background()) }
			}, "area:handshake && transport:polling", []string{"EIO-HS-05"}},
		{"put-opens-session", "only GET opens a session", framework.EIO4,
			pre(eio4(), func(_ http.ResponseWriter, r *http.Request) bool {
				if sid, ok := isPolling(r, http.MethodPut); ok && sid == "" {
					r.Method = http.MethodGet
				}
				return false
			}), "area:handshake", []string{"EIO-HS-07"}},
		{"empty-record-between-packets", "every packet is a type digit and optional data", framework.EIO4,
			pollEdit(eio4(), func(r *http.Request, body []byte) []byte {
				if handshake(r) {
					return body
				}
				return bytes.ReplaceAll(body, []byte("\x1e"), []byte("\x1e\x1e"))
			}), "area:packet", []string{"EIO-PKT-01"}},
		{"text-transcoded-to-ascii", "text survives a round trip byte for byte", framework.EIO4,
			withPollEdit(filterFrames(eio4(), serverFrames(func(_ *http.Request, mt int, b []byte) []byte {
				if mt != websocket.TextMessage {
					return b
				}
				return asciiOnly(b)
			})), func(_ *http.Request, body []byte) []byte { return asciiOnly(body) }),
			"area:packet", []string{"EIO-PKT-02"}},
		{"unsolicited-pong-answered", "the server never sends pong", framework.EIO4,
			filterFrames(eio4(), pongEchoed()), "area:packet", []string{"EIO-PKT-04"}},
		// EIO-BIN-02 compares the whole mixed payload byte for byte, so it
		// judges the base64 of its binary record too.
		{"unpadded-base64", "polling binary is b plus padded standard base64", framework.EIO4,
			pollEdit(eio4(), func(_ *http.Request, body []byte) []byte { return unpaddedBase64.ReplaceAll(body, []byte("$1")) }),
			"area:binary", []string{"EIO-BIN-01", "EIO-BIN-02"}},
		{"mixed-payload-refused", "text and binary packets mix in one payload", framework.EIO4,
			pre(eio4(), func(w http.ResponseWriter, r *http.Request) bool {
				if sid, ok := isPolling(r, http.MethodPost); !ok || sid == "" {
					return false
				}
				pkts, err := engineio.DecodePayload(engineio.V4, false, readBody(r))
				if err != nil {
					return false
				}
				text := slices.ContainsFunc(pkts, func(p engineio.Packet) bool { return !p.Binary })
				bin := slices.ContainsFunc(pkts, func(p engineio.Packet) bool { return p.Binary })
				if text && bin {
					return refuse(w, 3, "Bad request")
				}
				return false
			}), "area:binary", []string{"EIO-BIN-02"}},
		{"binary-frame-read-as-v3", "a WebSocket binary message is exactly the bytes, no type byte", framework.EIO4,
			filterFrames(eio4(), clientFrames(func(_ *http.Request, mt int, b []byte) []byte {
				if mt == websocket.BinaryMessage && len(b) > 0 {
					return b[1:]
				}
				return b
			})), "area:binary", []string{"EIO-BIN-03"}},
		// EIO-HS-03 judges the same upgrades list of a WebSocket handshake.
		{"websocket-handshake-offers-upgrade", "a WebSocket handshake sends the open packet with no upgrades", framework.EIO4,
			filterFrames(eio4(), serverFrames(func(_ *http.Request, _ int, b []byte) []byte {
				if !bytes.HasPrefix(b, []byte("0{")) {
					return b
				}
				return bytes.Replace(b, []byte(`"upgrades":[]`), []byte(`"upgrades":["websocket"]`), 1)
			})), "(area:websocket || area:handshake) && transport:websocket", []string{"EIO-HS-03", "EIO-WS-01"}},
		{"websocket-frame-split-at-separator", "one WebSocket message carries one packet, 0x1E included", framework.EIO4,
			filterFrames(eio4(), clientFrames(func(_ *http.Request, mt int, b []byte) []byte {
				if i := bytes.IndexByte(b, 0x1e); mt == websocket.TextMessage && i >= 0 {
					return b[:i]
				}
				return b
			})), "area:websocket", []string{"EIO-WS-02"}},
		{"websocket-transport-from-upgrade-header", "a WebSocket request with a bad transport opens no session", framework.EIO4,
			pre(eio4(), func(_ http.ResponseWriter, r *http.Request) bool {
				if websocket.IsWebSocketUpgrade(r) && r.URL.Query().Get("transport") != "websocket" {
					setQuery(r, map[string][]string{"transport": {"websocket"}})
				}
				return false
			}), "area:websocket", []string{"EIO-WS-03"}},
		{"second-probe-answered", "a second WebSocket for a session is closed and the first keeps working", framework.EIO4,
			secondProbeAnswered, "area:websocket", []string{"EIO-WS-05"}},
		{"control-pong-as-heartbeat", "WebSocket control pongs are not the Engine.IO heartbeat", framework.EIO4,
			wrapped(eio4(), controlPongAsHeartbeat), "area:websocket", []string{"EIO-WS-07"}},
		{"max-payload-off-by-one", "a POST body of exactly maxPayload bytes is accepted", framework.EIO4,
			pre(fixture.NewEIO4(bulkFixtureOptions()), func(w http.ResponseWriter, r *http.Request) bool {
				if _, ok := isPolling(r, http.MethodPost); !ok || r.ContentLength < fixture.MaxPayload {
					return false
				}
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				return true
			}), "area:limits", []string{"EIO-LIMIT-01"}},

		// Engine.IO v3.
		// The preflight's handshake has b64=1, so a server that ignored EIO=3
		// for every request would fail it, which is the same check; this
		// one reads a polling request without b64=1 as v4.
		{"v3-only-with-b64", "EIO=3 selects the v3 protocol", framework.EIO3,
			pre(eio3(), func(_ http.ResponseWriter, r *http.Request) bool {
				if _, ok := isPolling(r, r.Method); ok && isV3(r) && !r.URL.Query().Has("b64") {
					setQuery(r, map[string][]string{"EIO": {"4"}})
				}
				return false
			}), "area:url || area:handshake", []string{"EIO3-01"}},
		{"v3-client-ping-unanswered", "a v3 server answers client pings with pong", framework.EIO3,
			filterFrames(eio3(), dropClient(clientPing)), "area:heartbeat", []string{"EIO3-02"}},
		{"v3-lengths-in-bytes", "v3 lengths count UTF-16 code units", framework.EIO3,
			pollEdit(eio3(), func(r *http.Request, body []byte) []byte {
				if !isV3(r) || handshake(r) {
					return body
				}
				return v3ByteLengths(body)
			}), "area:polling", []string{"EIO3-03"}},
		{"v3-b64-ignored", "a b64 session gets binary as b4<base64>", framework.EIO3,
			pre(eio3(), func(_ http.ResponseWriter, r *http.Request) bool {
				if isV3(r) {
					setQuery(r, map[string][]string{"b64": nil})
				}
				return false
			}), "area:binary", []string{"EIO3-04"}},
		{"v3-always-b64", "a binary-capable session gets XHR2 binary payloads", framework.EIO3,
			pre(eio3(), func(_ http.ResponseWriter, r *http.Request) bool {
				if _, ok := isPolling(r, http.MethodGet); ok && isV3(r) && handshake(r) {
					setQuery(r, map[string][]string{"b64": {"1"}})
				}
				return false
			}), "area:binary", []string{"EIO3-05"}},
		{"v3-binary-frame-without-type", "a v3 WebSocket binary frame starts with 0x04", framework.EIO3,
			filterFrames(fixture.NewEIO3(bulkFixtureOptions()), serverFrames(func(r *http.Request, mt int, b []byte) []byte {
				if isV3(r) && mt == websocket.BinaryMessage && len(b) > 0 && b[0] == 4 {
					return b[1:]
				}
				return b
			})), "transport:websocket", []string{"EIO3-07"}},
		// An open packet the harness cannot parse fails the preflight; this
		// one parses, but its upgrades leave websocket out.
		{"v3-open-without-upgrades", "the v3 open packet has sid, upgrades and the timings", framework.EIO3,
			pollEdit(eio3(), func(r *http.Request, body []byte) []byte {
				if !isV3(r) || !handshake(r) {
					return body
				}
				return editV3Packets(body, func(pkts []engineio.Packet) []engineio.Packet {
					for i, p := range pkts {
						if p.Type == engineio.Open {
							pkts[i].Data = bytes.Replace(p.Data, []byte(`"upgrades":["websocket"]`), []byte(`"upgrades":[]`), 1)
						}
					}
					return pkts
				})
			}), "area:handshake", []string{"EIO3-08"}},
		{"v3-noop-unframed", "the v3 noop on polling is 1:6", framework.EIO3,
			pollEdit(eio3(), func(r *http.Request, body []byte) []byte {
				if isV3(r) && string(body) == "1:6" {
					return []byte("6")
				}
				return body
			}), "area:polling", []string{"EIO3-09"}},
	}
}

// eioHandshakeNoVariant lists the family's rules that no broken variant can
// break black-box, each with the reason.
func eioHandshakeNoVariant() map[string]string {
	return nil
}
