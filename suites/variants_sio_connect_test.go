package suites

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// Broken variants for the Socket.IO encoding, CONNECT, namespace and error
// rules, and for the v4 (socket.io 2.x) rules. Each wraps a reference
// fixture the way one buggy server would behave: client messages are
// rewritten or dropped before the fixture reads them (rewriteSIOPosts),
// polling responses are rewritten after it wrote them (rewritePollGET),
// WebSocket frames are edited in a relay (filterFrames), or a timer runs
// long (the fixture's clock).
//
// New generic capabilities of this file: ignoreSIO (a server that
// silently drops the client messages a predicate picks), aliasConnect with
// a GET rewrite (a server that answers a CONNECT as if it named another
// namespace: the fixture sees an alias that it refuses, the client sees
// the refusal under the namespace it asked for) and perConn (per
// WebSocket connection state for a frame edit).

// ignoreSIO returns a POST rewrite that drops the client's Socket.IO
// messages that drop picks (as a server that ignores them would); the
// others pass, and CONNECTs and DISCONNECTs are tracked in st.joined. p
// and err are the decoded message (err set when it does not decode, and p
// then empty), text its wire form.
func ignoreSIO(drop func(st *sioPostState, text string, p sio.Packet, err error) bool) func(*sioPostState, sio.Version, string) []string {
	return func(st *sioPostState, v sio.Version, text string) []string {
		p, err := sio.Decoder{Version: v}.Decode([]byte(text))
		if drop(st, text, p, err) {
			return nil
		}
		if err == nil {
			trackJoins(st, p)
		}
		return []string{text}
	}
}

// aliasConnect returns a POST rewrite that sends the client's CONNECTs for
// which alias returns a name to the fixture under that name instead (a
// namespace the fixture does not have, so it refuses it); the payload is
// kept. A rewrite of the GETs maps the alias back in the CONNECT_ERROR.
// Aliased CONNECTs are not tracked as joins.
func aliasConnect(alias func(st *sioPostState, p sio.Packet) string) func(*sioPostState, sio.Version, string) []string {
	return func(st *sioPostState, v sio.Version, text string) []string {
		p, ok := decodeSIO(v, text)
		if !ok {
			return []string{text}
		}
		if p.Type == sio.Connect {
			if a := alias(st, p); a != "" {
				return []string{"0" + a + "," + string(p.Data)}
			}
		}
		trackJoins(st, p)
		return []string{text}
	}
}

// commaNamespaceRead breaks SIO-ENC-04: the server reads a CONNECT's
// namespace up to the last comma before the payload, so 0/cus,tom, names
// "/cus,tom". The fixture sees the commas escaped (no such namespace, so
// it refuses it) and the GET rewrite puts them back: the client gets
// 44/cus,tom,{"message":"Invalid namespace"}.
func commaNamespaceRead(_ *sioPostState, v sio.Version, text string) []string {
	if !strings.HasPrefix(text, "0/") {
		return []string{text}
	}
	if _, ok := decodeSIO(v, text); ok {
		return []string{text}
	}
	i := strings.LastIndexByte(text, ',')
	if i < 0 || !strings.Contains(text[1:i], ",") {
		return []string{text}
	}
	return []string{"0" + strings.ReplaceAll(text[1:i], ",", "%2C") + text[i:]}
}

// ackIDFirstDigit breaks SIO-ENC-05: the server takes only the first digit
// after the namespace as the ack id and the rest as the JSON, so
// 4212["message-with-ack",3] is id 1 with the payload 2[...], which is not
// JSON: the fixture is handed exactly that split (a space keeps it from
// reading the digits together) and closes the session.
func ackIDFirstDigit(st *sioPostState, v sio.Version, text string) []string {
	p, ok := decodeSIO(v, text)
	if !ok || p.Type != sio.Event || !p.HasID || p.ID < 10 {
		if ok {
			trackJoins(st, p)
		}
		return []string{text}
	}
	id := strconv.FormatUint(p.ID, 10)
	j := strings.Index(text, id+string(p.Data))
	if j < 0 {
		return []string{text}
	}
	return []string{text[:j+1] + " " + text[j+1:]}
}

// roomsLostOnLeave breaks SIO-NSP-06 the way a server that keeps rooms by
// Engine.IO session would: when the client leaves a custom namespace, the
// main namespace's socket leaves every room it joined (ext:join) too. The
// relay makes the fixture do it by adding an ext:leave without ack id
// (so nothing answers it) after the DISCONNECT.
func roomsLostOnLeave() func(*sioPostState, sio.Version, string) []string {
	rooms := map[*sioPostState][]string{} // guarded by the rewriter's lock
	return func(st *sioPostState, v sio.Version, text string) []string {
		p, ok := decodeSIO(v, text)
		if !ok {
			return []string{text}
		}
		trackJoins(st, p)
		switch {
		case p.Type == sio.Event && p.Namespace() == "/" && eventNameOf(p) == "ext:join":
			if a, err := p.Args(); err == nil && len(a) == 1 {
				if r, ok := a[0].(string); ok {
					rooms[st] = append(rooms[st], r)
				}
			}
		case p.Type == sio.Disconnect && p.Namespace() != "/" && len(rooms[st]) > 0:
			out := []string{text}
			for _, r := range rooms[st] {
				ev, err := sio.NewEvent("/", "ext:leave", r)
				if err != nil {
					continue
				}
				b, _, err := sio.Encoder{Version: v}.Encode(ev)
				if err == nil {
					out = append(out, string(b))
				}
			}
			delete(rooms, st)
			return out
		}
		return []string{text}
	}
}

func eventNameOf(p sio.Packet) string {
	n, err := p.EventName()
	if err != nil {
		return ""
	}
	return n
}

// perConn keeps a frame edit's state per relayed WebSocket connection.
type perConn[T any] struct {
	mu sync.Mutex
	m  map[*http.Request]*T
}

// with runs f on r's state under the lock.
func (c *perConn[T]) with(r *http.Request, f func(*T)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[*http.Request]*T{}
	}
	s := c.m[r]
	if s == nil {
		s = new(T)
		c.m[r] = s
	}
	f(s)
}

// isEIO3 reports an Engine.IO v3 request.
func isEIO3(r *http.Request) bool { return r.URL.Query().Get("EIO") == "3" }

// noImplicitMain4 breaks SIO4-02: on a v4 WebSocket the server does not
// join "/" on its own but waits for the client's CONNECT (as a v5 server
// does): the fixture's implicit 40 and the auth event after it are
// dropped; a client that sends 40 is answered by the fixture (which takes
// it as a fresh CONNECT, SIO4-06).
func noImplicitMain4() frameEdit {
	type state struct{ dropped, authDropped bool }
	var conns perConn[state]
	return func(r *http.Request, fromClient bool, mt int, b []byte) ([]byte, bool) {
		if fromClient || mt != websocket.TextMessage || !isEIO3(r) {
			return b, true
		}
		keep := true
		conns.with(r, func(s *state) {
			switch {
			case !s.dropped && string(b) == "40":
				s.dropped, keep = true, false
			case s.dropped && !s.authDropped && strings.HasPrefix(string(b), `42["auth"`):
				s.authDropped, keep = true, false
			}
		})
		return b, keep
	}
}

// v4ConnectReplyRe matches a v4 CONNECT reply frame (40, 40/nsp,).
var v4ConnectReplyRe = regexp.MustCompile(`^40(/[^,]*,)?$`)

// sidInV4Connect breaks SIO4-04: on Engine.IO v3 the server answers
// CONNECTs in the v5 form, with a {"sid":...} payload.
func sidInV4Connect() frameEdit {
	var n int
	var mu sync.Mutex
	return func(r *http.Request, fromClient bool, mt int, b []byte) ([]byte, bool) {
		if fromClient || mt != websocket.TextMessage || !isEIO3(r) || !v4ConnectReplyRe.Match(b) {
			return b, true
		}
		mu.Lock()
		n++
		sid := fmt.Sprintf("siospec-v5-sid-%d", n)
		mu.Unlock()
		return append(append([]byte(nil), b...), `{"sid":"`+sid+`"}`...), true
	}
}

// v4StringErrorRe matches a v4 ERROR frame whose payload is a JSON string.
var v4StringErrorRe = regexp.MustCompile(`^44(/[^,]*,)?("(?:[^"\\]|\\.)*")$`)

// objectErrorInV4 breaks SIO4-05: on Engine.IO v3 the server sends ERROR
// payloads in the v5 form {"message":...} instead of a JSON string.
func objectErrorInV4(r *http.Request, fromClient bool, mt int, b []byte) ([]byte, bool) {
	if fromClient || mt != websocket.TextMessage || !isEIO3(r) {
		return b, true
	}
	return v4StringErrorRe.ReplaceAll(b, []byte(`44${1}{"message":${2}}`)), true
}

// eio3WebSocketRefused breaks SIO4-01 on one transport: the server's
// WebSocket endpoint knows only Engine.IO v4 and refuses EIO=3 with
// "Unsupported protocol version", while polling serves it.
func eio3WebSocketRefused(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) && isEIO3(r) {
			body := engineio.NewHTTPError(engineio.CodeUnsupportedProtocolVersion).AppendJSON(nil)
			h := http.Header{"Content-Type": {"application/json"}}
			writeResponse(w, http.StatusBadRequest, h, body)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// dropNamespaceQuery breaks SIO4-03: the server ignores the query of a v4
// CONNECT's namespace (40/custom?token=abc, is read as 40/custom,), so the
// credentials never reach the application.
func dropNamespaceQuery(st *sioPostState, v sio.Version, text string) []string {
	p, ok := decodeSIO(v, text)
	if !ok || v != sio.V4 || p.Type != sio.Connect || p.Query == "" {
		if ok {
			trackJoins(st, p)
		}
		return []string{text}
	}
	trackJoins(st, p)
	return []string{strings.Replace(text, "?"+p.Query, "", 1)}
}

func sioConnectVariants() []variant {
	sio5 := func() fixture.Fixture { return fixture.NewSIO5(&fixture.SIOOptions{Options: *proofFixtureOptions()}) }
	sio4 := func() fixture.Fixture { return fixture.NewSIO4(&fixture.SIOOptions{Options: *proofFixtureOptions()}) }
	posts := func(fx fixture.Fixture, rw func(*sioPostState, sio.Version, string) []string) func() (http.Handler, func()) {
		return wrapped(fx, func(h http.Handler) http.Handler { return rewriteSIOPosts(h, rw) })
	}
	gets := func(fx fixture.Fixture, re *regexp.Regexp, repl string) func() (http.Handler, func()) {
		return wrapped(fx, func(h http.Handler) http.Handler { return rewritePollGET(h, re, repl, false) })
	}
	// postsAndGets rewrites the client's messages with rw and the polling
	// responses with re → repl.
	postsAndGets := func(fx fixture.Fixture, rw func(*sioPostState, sio.Version, string) []string, re *regexp.Regexp, repl string) func() (http.Handler, func()) {
		return wrapped(fx, func(h http.Handler) http.Handler { return rewriteSIOPosts(rewritePollGET(h, re, repl, false), rw) })
	}
	return []variant{
		// The split messages are a CONNECT reply and EVENTs: the
		// neighbours are the specs whose server packets are neither.
		{"payload-in-own-message", "each Socket.IO packet rides in exactly one Engine.IO message", framework.SIO5,
			gets(sio5(), regexp.MustCompile(`(^|\x1e)4([02])(/[^,\x1e]*,)?([\[{])`), "${1}4${2}${3}\x1e4${4}"),
			"transport:polling && (req:SIO-ENC-01 || req:SIO-ERR-01 || req:SIO-ERR-03 || req:SIO-CONN-07 || req:SIO-CONN-09 || req:SIO-NSP-04)",
			[]string{"SIO-ENC-01"}},
		{"namespace-comma-dropped", "the namespace is followed by a comma before the payload", framework.SIO5,
			gets(sio5(), regexp.MustCompile(`(^|\x1e)4([02])(/[^,\x1e]*),([\[{])`), "${1}4${2}${3}${4}"),
			"transport:polling && !extended && (req:SIO-ENC-02 || area:connect || req:SIO-NSP-04)", []string{"SIO-ENC-02"}},
		// Only ACKs in a custom namespace show it: the extended ext:watch
		// on /custom provokes one.
		{"ack-id-before-namespace", "the ack id follows the namespace and its comma", framework.SIO5,
			gets(sio5(), regexp.MustCompile(`(^|\x1e)43(/[^,\x1e]*),(\d+)`), "${1}43${3}${2},"),
			"area:packet && transport:polling", []string{"SIO-ENC-02"}},
		{"namespace-to-last-comma", "a namespace ends at the first comma", framework.SIO5,
			postsAndGets(sio5(), commaNamespaceRead, regexp.MustCompile(`%2C`), ","),
			"area:packet && transport:polling && !extended", []string{"SIO-ENC-04"}},
		// The neighbours leave out the specs that send multi-digit ack
		// ids for other rules (SIO-ENC-08, SIO-ENC-11, the ack area).
		{"ack-id-one-digit", "the ack id is the whole digit run before the JSON", framework.SIO5,
			posts(sio5(), ackIDFirstDigit),
			"transport:polling && !extended && (req:SIO-ENC-05 || req:SIO-ENC-06 || area:connect || area:namespace)", []string{"SIO-ENC-05"}},
		{"invalid-json-ignored", "an EVENT with malformed JSON closes the session", framework.SIO5,
			posts(sio5(), ignoreSIO(func(_ *sioPostState, text string, _ sio.Packet, err error) bool {
				return errors.Is(err, sio.ErrInvalidJSON) && strings.HasPrefix(text, "2")
			})),
			"area:packet && transport:polling && !extended", []string{"SIO-ENC-06"}},
		// A server that reads an ACK's arguments only when a callback
		// waits for its id never sees the bad JSON of a stray ACK.
		{"malformed-ack-ignored", "an ACK with malformed JSON closes the session", framework.SIO5,
			posts(sio5(), ignoreSIO(func(_ *sioPostState, text string, _ sio.Packet, err error) bool {
				return errors.Is(err, sio.ErrInvalidJSON) && strings.HasPrefix(text, "3")
			})),
			"area:packet && transport:polling && !extended", []string{"SIO-ENC-06"}},
		// Before a CONNECT an unknown type still closes (SIO-ERR-01).
		{"unknown-type-ignored-when-joined", "an unknown packet type closes the session", framework.SIO5,
			posts(sio5(), ignoreSIO(func(st *sioPostState, _ string, _ sio.Packet, err error) bool {
				return errors.Is(err, sio.ErrUnknownType) && len(st.joined) > 0
			})),
			"(area:packet || area:errors) && transport:polling && !extended", []string{"SIO-ENC-07"}},
		{"unknown-type-ignored-v4", "an unknown v4 packet type closes the session", framework.SIO4,
			posts(sio4(), ignoreSIO(func(_ *sioPostState, _ string, _ sio.Packet, err error) bool {
				return errors.Is(err, sio.ErrUnknownType)
			})),
			"transport:polling && !extended", []string{"SIO-ENC-07"}},
		{"unknown-type-ignored-before-connect", "a packet that does not decode closes the session, before any CONNECT too", framework.SIO5,
			posts(sio5(), ignoreSIO(func(st *sioPostState, _ string, _ sio.Packet, err error) bool {
				return errors.Is(err, sio.ErrUnknownType) && len(st.joined) == 0
			})),
			"(area:packet || area:errors || area:connect) && transport:polling && !extended", []string{"SIO-ERR-01"}},
		{"invalid-namespace-reworded", `an unknown namespace is refused with {"message":"Invalid namespace"}`, framework.SIO5,
			gets(sio5(), regexp.MustCompile(`"Invalid namespace"`), `"Namespace not found"`),
			"transport:polling && !extended && (area:connect || area:namespace || area:errors)", []string{"SIO-CONN-05"}},
		{"middleware-data-dropped", "a middleware refusal is CONNECT_ERROR {message,data}", framework.SIO5,
			gets(sio5(), regexp.MustCompile(`(^|\x1e)(44/[^,\x1e]*,\{"message":"[^"\x1e]*"),"data":[^\x1e]*\}($|\x1e)`), "${1}${2}}${3}"),
			"transport:polling && (area:connect || area:errors)", []string{"SIO-CONN-06"}},
		{"event-before-connect-ignored", "an EVENT before any CONNECT closes the session", framework.SIO5,
			posts(sio5(), ignoreSIO(func(st *sioPostState, _ string, p sio.Packet, err error) bool {
				return err == nil && p.Type == sio.Event && len(st.joined) == 0
			})),
			"(area:connect || area:errors) && transport:polling && !extended", []string{"SIO-CONN-07"}},
		// A server that hands ACKs to its ack table before it checks the
		// session's state drops an ACK whose id it never issued.
		{"ack-before-connect-ignored", "an ACK before any CONNECT closes the session", framework.SIO5,
			posts(sio5(), ignoreSIO(func(st *sioPostState, _ string, p sio.Packet, err error) bool {
				return err == nil && p.Type == sio.Ack && len(st.joined) == 0
			})),
			"(area:connect || area:errors) && transport:polling && !extended", []string{"SIO-CONN-07"}},
		{"connect-timeout-tripled", "a session that joins nothing is closed after connectTimeout", framework.SIO5,
			// The server closes an idle session after three times the
			// connectTimeout the suite was told (the official 1 s).
			wrapped(fixture.NewSIO5(&fixture.SIOOptions{Options: *proofFixtureOptions(), ConnectTimeout: 3 * fixture.ConnectTimeout}),
				func(h http.Handler) http.Handler { return h }),
			"area:connect && transport:polling && !extended", []string{"SIO-CONN-08"}},
		{"main-namespace-after-custom-refused", "the main namespace always exists", framework.SIO5,
			postsAndGets(sio5(), aliasConnect(func(st *sioPostState, p sio.Packet) string {
				if p.Namespace() == "/" && !st.joined["/"] && len(st.joined) > 0 {
					return "/siospec-main-gone"
				}
				return ""
			}), regexp.MustCompile(`(^|\x1e)44/siospec-main-gone,`), "${1}44"),
			"area:namespace && transport:polling && !extended", []string{"SIO-NSP-01"}},
		// SIO-NSP-01's spec joins /custom first, without "/": under this
		// variant it cannot reach what it judges, so it is left out.
		{"custom-namespace-needs-main", "a custom namespace can be joined without the main one", framework.SIO5,
			postsAndGets(sio5(), aliasConnect(func(st *sioPostState, p sio.Packet) string {
				if p.Namespace() != "/" && !st.joined["/"] {
					return "/siospec-main-first" + p.Namespace()
				}
				return ""
			}), regexp.MustCompile(`/siospec-main-first(/[^,\x1e]*),`), "${1},"),
			"area:namespace && transport:polling && !extended && !req:SIO-NSP-01", []string{"SIO-NSP-03"}},
		{"unjoined-namespace-packet-ignored", "a packet for a namespace not joined closes the session", framework.SIO5,
			posts(sio5(), ignoreSIO(func(st *sioPostState, _ string, p sio.Packet, err error) bool {
				return err == nil && p.Type != sio.Connect && len(st.joined) > 0 && !st.joined[p.Namespace()]
			})),
			"area:namespace && transport:polling && !extended", []string{"SIO-NSP-05"}},
		{"ack-for-unjoined-namespace-ignored", "an ACK for a namespace not joined closes the session", framework.SIO5,
			posts(sio5(), ignoreSIO(func(st *sioPostState, _ string, p sio.Packet, err error) bool {
				return err == nil && p.Type == sio.Ack && len(st.joined) > 0 && !st.joined[p.Namespace()]
			})),
			"area:namespace && transport:polling && !extended", []string{"SIO-NSP-05"}},
		{"leave-custom-drops-main-rooms", "leaving one namespace leaves the others untouched", framework.SIO5,
			posts(sio5(), roomsLostOnLeave()),
			"area:namespace && transport:polling", []string{"SIO-NSP-06"}},
		{"connect-error-as-string", "a v5 CONNECT_ERROR payload is an object {message, data?}", framework.SIO5,
			gets(sio5(), regexp.MustCompile(`(^|\x1e)44(/[^,\x1e]*,)?\{"message":("[^"\x1e]*")\}`), "${1}44${2}${3}"),
			"transport:polling && !extended && (area:errors || area:namespace)", []string{"SIO-ERR-03"}},
		// The break is on WebSocket only: the neighbours are the v4 specs
		// on polling.
		{"v4-websocket-refuses-eio3", "Socket.IO v4 runs over Engine.IO v3", framework.SIO4,
			wrapped(sio4(), eio3WebSocketRefused),
			"req:SIO4-01 || (transport:polling && !extended)", []string{"SIO4-01"}},
		// Every v4 spec on WebSocket starts from the implicit join: the
		// neighbours are the v4 specs on polling.
		{"v4-main-not-implicit", "a v4 server joins / on its own after the Engine.IO open", framework.SIO4,
			filterFrames(sio4(), noImplicitMain4()),
			"req:SIO4-02 || (transport:polling && !extended)", []string{"SIO4-02"}},
		{"v4-namespace-query-ignored", "v4 credentials ride in the namespace query", framework.SIO4,
			posts(sio4(), dropNamespaceQuery),
			"transport:polling && !extended", []string{"SIO4-03"}},
		{"v4-connect-reply-with-sid", "the v4 CONNECT reply carries no sid", framework.SIO4,
			filterFrames(sio4(), sidInV4Connect()),
			"transport:websocket && !extended", []string{"SIO4-04"}},
		{"v4-error-as-object", "a v4 ERROR payload is a JSON string", framework.SIO4,
			filterFrames(sio4(), objectErrorInV4),
			"transport:websocket && !extended", []string{"SIO4-05"}},
	}
}

// sioConnectNoVariant lists the family's rules that no broken variant can
// break black-box, each with the reason.
func sioConnectNoVariant() map[string]string {
	return nil
}
