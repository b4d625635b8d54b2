package suites

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioserver"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// The broken variants are the reference fixtures with one rule broken, by
// a handler that wraps the fixture (rewriting, holding or answering
// requests itself) or, for timers, by the fixture's injectable clock
// (fixture.Options.Clock). TestBrokenVariants runs the specs around each
// rule against its variant and checks that exactly the specs of the broken
// rule fail, by ID; the same selection passes against the unbroken
// fixture (TestReference runs everything there).

// bufferResponse runs next into a buffer so that a wrapper can rewrite the
// body before it is written.
func bufferResponse(next http.Handler, r *http.Request) (int, http.Header, []byte) {
	bw := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
	next.ServeHTTP(bw, r)
	return bw.status, bw.header, bw.body.Bytes()
}

func writeResponse(w http.ResponseWriter, status int, h http.Header, body []byte) {
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedWriter) WriteHeader(code int)        { b.status = code }

// editPostPackets passes the polling POST r on to next with its packets
// edited: the body is decoded as a payload of the request's revision (EIO=3
// or 4) and edit returns the packets to pass on. When none is left the POST
// is answered "ok" without reaching next; a body that does not decode goes
// on unchanged, for the server to judge.
func editPostPackets(w http.ResponseWriter, r *http.Request, next http.Handler, edit func([]engineio.Packet) []engineio.Packet) {
	v := engineio.V4
	if r.URL.Query().Get("EIO") == "3" {
		v = engineio.V3
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if pkts, derr := engineio.DecodePayload(v, false, body); derr == nil {
		kept := edit(pkts)
		if len(kept) == 0 {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("ok"))
			return
		}
		enc := engineio.Encoder{AllowIllegal: true}
		var b []byte
		var eerr error
		if v == engineio.V3 {
			b, eerr = enc.AppendPayloadV3(nil, kept)
		} else {
			b, eerr = enc.AppendPayload(nil, kept)
		}
		if eerr == nil {
			body = b
		}
	}
	setBody(r, body)
	next.ServeHTTP(w, r)
}

// setBody replaces the request's body with body, with a matching
// Content-Length, before the request is passed on.
func setBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// forwardClose passes a WebSocket close that a relay read from one side
// (err from ReadMessage) on to the other side with the same code and text;
// a close without a status goes on without one. Other errors send nothing.
func forwardClose(to *websocket.Conn, err error) {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return
	}
	msg := []byte{}
	if ce.Code != websocket.CloseNoStatusReceived {
		msg = websocket.FormatCloseMessage(ce.Code, ce.Text)
	}
	_ = to.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

// isPolling reports a polling request; handshake tells whether it has no
// sid.
func isPolling(r *http.Request, method string) (sid string, ok bool) {
	q := r.URL.Query()
	if r.Method != method || q.Get("transport") != "polling" {
		return "", false
	}
	return q.Get("sid"), true
}

// rewritePollGET rewrites the bodies of polling GET responses with re.
func rewritePollGET(next http.Handler, re *regexp.Regexp, repl string, handshakeOnly bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, ok := isPolling(r, http.MethodGet)
		if !ok || (handshakeOnly && sid != "") {
			next.ServeHTTP(w, r)
			return
		}
		status, h, body := bufferResponse(next, r)
		writeResponse(w, status, h, re.ReplaceAll(body, []byte(repl)))
	})
}

// sidTracker remembers the sids the fixture issued in polling handshakes.
type sidTracker struct {
	mu   sync.Mutex
	seen map[string]bool
	next http.Handler
}

var openSID = regexp.MustCompile(`"sid":"([^"]+)"`)

// serveHandshake passes a polling handshake through and notes its sid.
func (t *sidTracker) serveHandshake(w http.ResponseWriter, r *http.Request) {
	status, h, body := bufferResponse(t.next, r)
	if m := openSID.FindSubmatch(body); m != nil {
		t.mu.Lock()
		t.seen[string(m[1])] = true
		t.mu.Unlock()
	}
	writeResponse(w, status, h, body)
}

func (t *sidTracker) known(sid string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seen[sid]
}

// unknownSIDPostOK breaks EIO-POLL-06: a POST naming a sid the server never
// issued is answered 200 "ok" instead of 400.
func unknownSIDPostOK(next http.Handler) http.Handler {
	t := &sidTracker{seen: map[string]bool{}, next: next}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sid, ok := isPolling(r, http.MethodGet); ok && sid == "" {
			t.serveHandshake(w, r)
			return
		}
		if sid, ok := isPolling(r, http.MethodPost); ok && sid != "" && !t.known(sid) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("ok"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// unknownSIDWebSocketAccepted breaks EIO-WS-04: a WebSocket upgrade naming
// a sid the server never issued is accepted (101) and then left silent.
func unknownSIDWebSocketAccepted(next http.Handler) http.Handler {
	t := &sidTracker{seen: map[string]bool{}, next: next}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if sid, ok := isPolling(r, http.MethodGet); ok && sid == "" {
			t.serveHandshake(w, r)
			return
		}
		if sid := q.Get("sid"); q.Get("transport") == "websocket" && sid != "" && !t.known(sid) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// noopWithheldDuringUpgrade breaks EIO-UPG-04: while a probe WebSocket is
// open for a session, a polling GET that the server answers with a noop is
// held back instead (until the client gives up, at most 3 s), so the
// client never learns that it may stop polling.
func noopWithheldDuringUpgrade(next http.Handler) http.Handler {
	var mu sync.Mutex
	probing := map[string]bool{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("transport") == "websocket" && q.Get("sid") != "" {
			mu.Lock()
			probing[q.Get("sid")] = true
			mu.Unlock()
			next.ServeHTTP(w, r)
			return
		}
		sid, ok := isPolling(r, http.MethodGet)
		mu.Lock()
		p := probing[sid]
		mu.Unlock()
		if !ok || sid == "" || !p {
			next.ServeHTTP(w, r)
			return
		}
		status, h, body := bufferResponse(next, r)
		if string(body) == "6" {
			t := time.NewTimer(3 * time.Second)
			defer t.Stop()
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
			}
		}
		writeResponse(w, status, h, body)
	})
}

// closePacketIgnored breaks EIO-CLOSE-01: a close packet posted on a
// polling session is dropped before the server sees it.
func closePacketIgnored(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sid, ok := isPolling(r, http.MethodPost); !ok || sid == "" {
			next.ServeHTTP(w, r)
			return
		}
		editPostPackets(w, r, next, func(pkts []engineio.Packet) []engineio.Packet {
			kept := pkts[:0]
			for _, p := range pkts {
				if p.Type != engineio.Close {
					kept = append(kept, p)
				}
			}
			return kept
		})
	})
}

// stretchClock breaks EIO-HB-01 through the fixture's clock: every timer of
// pingInterval (every) runs three times as long, so pings come every
// 3×pingInterval while the open packet still announces pingInterval. also,
// when set, is stretched too, and factor, when set, replaces the three.
type stretchClock struct {
	every, also time.Duration
	factor      time.Duration
}

func (c stretchClock) stretch(d time.Duration) time.Duration {
	if d != c.every && (c.also == 0 || d != c.also) {
		return d
	}
	if c.factor > 0 {
		return c.factor * d
	}
	return 3 * d
}

func (c stretchClock) Now() time.Time { return time.Now() }

func (c stretchClock) AfterFunc(d time.Duration, f func()) eioserver.Timer {
	return stretchTimer{time.AfterFunc(c.stretch(d), f), c}
}

type stretchTimer struct {
	t *time.Timer
	c stretchClock
}

func (t stretchTimer) Stop() bool                 { return t.t.Stop() }
func (t stretchTimer) Reset(d time.Duration) bool { return t.t.Reset(t.c.stretch(d)) }

// stripSID breaks SIO-CONN-02 / SIO-CONN-03: every CONNECT reply in a
// polling response loses its payload's sid (40{"sid":"x"} → 40{}).
var stripSIDRe = regexp.MustCompile(`(^|\x1e)40(/[^,\x1e]*,)?\{"sid":"[^"]*"\}`)

// ackZeroAsNoID breaks SIO-ACK-04: an ACK for id 0 in a polling response
// loses its id (430[...] → 43[...]).
var ackZeroRe = regexp.MustCompile(`(^|\x1e)430\[`)

// dropBadPayloads breaks SIO-EVT-02 and its kin (a payload of the wrong
// shape closes the session): POSTed messages whose Socket.IO payload has the
// wrong shape for their type (42{} and the like) are dropped before the
// server sees them, so the server never closes for them.
func dropBadPayloads(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := isPolling(r, http.MethodPost); !ok || r.URL.Query().Get("EIO") != "4" {
			next.ServeHTTP(w, r)
			return
		}
		editPostPackets(w, r, next, func(pkts []engineio.Packet) []engineio.Packet {
			kept := pkts[:0]
			for _, p := range pkts {
				if p.Type == engineio.Message && !p.Binary {
					if _, derr := sio.Decode(p.Data); errors.Is(derr, sio.ErrPayload) {
						continue
					}
				}
				kept = append(kept, p)
			}
			return kept
		})
	})
}

// variant is one broken reference fixture.
type variant struct {
	name   string
	rule   string
	suite  framework.Proto
	build  func() (http.Handler, func())
	filter string
	want   []string
}

// wrapped builds a variant from a fixture and a wrapper.
func wrapped(fx fixture.Fixture, wrap func(http.Handler) http.Handler) func() (http.Handler, func()) {
	return func() (http.Handler, func()) {
		return wrap(fx), func() { _ = fx.Close(context.Background()) }
	}
}

func brokenVariants() []variant {
	eio4 := func() fixture.Fixture { return fixture.NewEIO4(proofFixtureOptions()) }
	sio5 := func() fixture.Fixture { return fixture.NewSIO5(&fixture.SIOOptions{Options: *proofFixtureOptions()}) }
	return append([]variant{
		{"open-extra-key", "the open packet holds exactly sid, upgrades, pingInterval, pingTimeout, maxPayload", framework.EIO4,
			wrapped(eio4(), func(h http.Handler) http.Handler {
				return rewritePollGET(h, regexp.MustCompile(`^0\{`), `0{"siospec-extra":true,`, true)
			}),
			"area:handshake && transport:polling", []string{"EIO-HS-02"}},
		{"unknown-sid-post-200", "requests with an unknown sid get 400", framework.EIO4,
			wrapped(eio4(), unknownSIDPostOK), "area:polling", []string{"EIO-POLL-06"}},
		// EIO-WS-10 sends the same unknown-sid upgrade as a raw request and
		// checks the raw 400: both specs judge this one rule.
		{"unknown-sid-websocket-accepted", "a WebSocket upgrade with an unknown sid is refused", framework.EIO4,
			wrapped(eio4(), unknownSIDWebSocketAccepted), "area:websocket", []string{"EIO-WS-04", "EIO-WS-10"}},
		// EIO-CLOSE-06 waits for the end of the session (keeping its
		// heartbeat) before it judges the refusals: no end, no pass.
		{"close-packet-ignored", "a close packet posted on polling ends the session", framework.EIO4,
			wrapped(eio4(), closePacketIgnored), "area:close && transport:polling", []string{"EIO-CLOSE-01", "EIO-CLOSE-06"}},
		{"noop-withheld-during-upgrade", "a GET during the upgrade is answered with a noop", framework.EIO4,
			wrapped(eio4(), noopWithheldDuringUpgrade), "area:upgrade", []string{"EIO-UPG-04"}},
		{"pings-stretched", "the server pings every pingInterval", framework.EIO4,
			func() (http.Handler, func()) {
				fx := fixture.NewEIO4(&fixture.Options{Clock: stretchClock{every: fixture.PingInterval}})
				return fx, func() { _ = fx.Close(context.Background()) }
			},
			// EIO-HB-10 times the close of a client that never polls for
			// the ping from the ping's schedule, and EIO-HB-08 waits for
			// the ping pingInterval after the last unsolicited pong, so
			// both judge the cadence too.
			"area:heartbeat", []string{"EIO-HB-01", "EIO-HB-05", "EIO-HB-08", "EIO-HB-10"}},
		{"connect-reply-without-sid", "the CONNECT reply is {\"sid\":...}", framework.SIO5,
			wrapped(sio5(), func(h http.Handler) http.Handler { return rewritePollGET(h, stripSIDRe, "${1}40${2}{}", false) }),
			"area:connect && transport:polling && !extended", []string{"SIO-CONN-02", "SIO-CONN-03"}},
		{"bad-payload-not-closing", "a packet whose payload has the wrong shape (42{}) closes the session", framework.SIO5,
			wrapped(sio5(), dropBadPayloads),
			"transport:polling && (area:event || area:packet) && !extended", []string{"SIO-ENC-09", "SIO-EVT-02", "SIO-EVT-03", "SIO-EVT-04"}},
		{"ack-id-0-as-no-id", "an EVENT with ack id 0 is acknowledged with id 0", framework.SIO5,
			wrapped(sio5(), func(h http.Handler) http.Handler { return rewritePollGET(h, ackZeroRe, "${1}43[", false) }),
			"area:ack && transport:polling && !extended", []string{"SIO-ACK-04"}},
	}, allVariantSets()...)
}

// TestBrokenVariants shows that the suites catch what they claim: each
// broken variant of a reference fixture fails exactly the specs of its
// rule, by requirement ID, within a selection of neighbouring specs that
// otherwise pass: the run must fail, every wanted ID must be among the
// failures and no other ID may fail. A variant whose verdicts differ is
// retried once on a fresh fixture (prooftest.Run), then fails the test.
func TestBrokenVariants(t *testing.T) {
	skipProof(t)
	t.Parallel() // mostly waiting on protocol timers, as the other proofs
	// The variants run variantWorkers at a time, whatever -parallel says
	// (subtests that do not call t.Parallel are not bound by it): each
	// mostly waits on its specs' timers.
	all := brokenVariants()
	next := make(chan variant)
	var wg sync.WaitGroup
	for range min(variantWorkers, len(all)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range next {
				t.Run(v.name, func(t *testing.T) {
					prooftest.Run(t, nil, func(a *prooftest.Attempt) {
						// A variant's fixture is built with the list; a
						// retry needs a fresh one (fixtures start no
						// goroutine before serving, so the rest of the
						// fresh list is garbage, not a leak).
						x := v
						if a.N() > 1 {
							x = variantNamed(a, v.name)
						}
						judgeVariant(a, x)
					})
				})
			}
		}()
	}
	for _, v := range all {
		next <- v
	}
	close(next)
	wg.Wait()
}

// variantWorkers is how many broken variants TestBrokenVariants runs at
// once.
const variantWorkers = 6

// variantNamed returns a freshly built broken variant by name.
func variantNamed(t tb, name string) variant {
	t.Helper()
	for _, v := range brokenVariants() {
		if v.name == name {
			return v
		}
	}
	t.Fatalf("no broken variant %q", name)
	return variant{}
}

// judgeVariant runs v's selection against v and records a failure unless
// exactly v.want failed, by ID, and some spec passed.
func judgeVariant(a *prooftest.Attempt, v variant) {
	a.Helper()
	h, stop := v.build()
	u := serve(a, h, stop)
	c := framework.Config{URL: u}
	cfg := framework.Config{Suites: []framework.Proto{v.suite}, Targets: map[framework.Proto]*framework.Config{v.suite: c.For(v.suite)}}
	vs, wall := runSuites(a, cfg, v.filter)
	if len(vs) == 0 {
		a.Fatalf("no spec of %q ran: the variant judged nothing", v.filter)
	}
	a.Judged(len(vs))
	var failed []string
	passed := 0
	for _, x := range vs {
		switch {
		case x.State.Is(types.SpecStateFailureStates):
			if !slices.Contains(failed, x.ID) {
				failed = append(failed, x.ID)
			}
		case x.State == types.SpecStatePassed:
			passed++
		}
	}
	slices.Sort(failed)
	a.Logf("%-32s %-4s %d specs (%s), %d passed, failed %v, %v", v.name, v.suite, len(vs), v.filter, passed, failed, wall.Round(time.Millisecond))
	var missing, unrelated []string
	for _, id := range v.want {
		if !slices.Contains(failed, id) {
			missing = append(missing, id)
		}
	}
	for _, id := range failed {
		if !slices.Contains(v.want, id) {
			unrelated = append(unrelated, id)
		}
	}
	switch {
	case len(failed) == 0:
		a.Errorf("broken rule %q: the run passed; want exactly %v to fail", v.rule, v.want)
	case len(missing) > 0 || len(unrelated) > 0:
		a.Errorf("broken rule %q: failed IDs %v, want exactly %v (not failed: %v; unrelated failures: %v)\n%s", v.rule, failed, v.want, missing, unrelated, verdictTable(onlyFailed(vs)))
	}
	if passed == 0 {
		a.Errorf("no spec passed: the selection shows nothing")
	}
}

func onlyFailed(vs []verdict) []verdict {
	var out []verdict
	for _, v := range vs {
		if v.State.Is(types.SpecStateFailureStates) {
			out = append(out, v)
		}
	}
	return out
}
