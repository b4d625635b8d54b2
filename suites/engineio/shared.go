package engineio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// This file holds the one implementation of each Engine.IO requirement that
// the Engine.IO v4 and v3 suites and the Socket.IO v5 suite's Engine.IO
// layer share. The exported declarers take the suite (its path comes from
// the suite's configuration, its proto label from Suite.WithProto) and,
// where the fixtures differ in what they answer, an *Options.

// Options parametrise the shared declarers for the fixture under test. A
// nil *Options means the Engine.IO echo fixture of the suite's contract
// (FX-EIO4, FX-EIO3): every message comes back as one message.
type Options struct {
	// Alive checks that session c still carries messages on the transport
	// it runs on now: it sends something the fixture answers and fails the
	// spec unless the answer comes within the reply window
	// (framework.Timing.Reply). round counts the calls within one spec
	// from 0, so that a fixture whose first answer differs from the later
	// ones (a Socket.IO server answers one CONNECT, then events) can say
	// so. It returns what it saw, for the observed text. Nil means the
	// echo.
	Alive func(ctx context.Context, e *framework.Env, c framework.Conn, round int) string
	// Answer says in words what Alive expects, for the expected text.
	Answer string
}

// alive runs the fixture's liveness check (the echo by default).
func (o *Options) alive(ctx context.Context, e *framework.Env, c framework.Conn, round int) string {
	GinkgoHelper()
	if o != nil && o.Alive != nil {
		return o.Alive(ctx, e, c, round)
	}
	return echoAlive(ctx, e, c, round)
}

// answer describes what alive expects.
func (o *Options) answer() string {
	if o != nil && o.Alive != nil {
		return o.Answer
	}
	return "a message echoed"
}

// echoAlive sends "4alive-<round>" and expects its echo within the reply
// window.
func echoAlive(ctx context.Context, e *framework.Env, c framework.Conn, round int) string {
	GinkgoHelper()
	want := msg(fmt.Sprintf("alive-%d", round))
	w := e.Timing.Reply("the echo")
	cctx, cancel := context.WithTimeout(ctx, w.Max)
	defer cancel()
	Expect(c.Send(cctx, want)).To(Succeed(), "send %v", want)
	p := nextMessage(cctx, c)
	Expect(p).To(Equal(want), "the echo of %v (%s)", want, w)
	return "echo " + p.String()
}

// OpenPacket declares EIO-HS-02 (the exact key set of the open packet) and
// EIO-HS-03 (the upgrades it advertises) on polling and WebSocket
// handshakes of a v4 session.
func OpenPacket(s *framework.Suite) {
	s.PerTransport(both, func(tr framework.Transport) {
		s.It("EIO-HS-02", "sends an open packet whose JSON has exactly sid, upgrades, pingInterval, pingTimeout and maxPayload with the right types", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			raw := c.Handshake().Raw
			e.Expect("keys exactly %v; sid string, upgrades string array, timings and maxPayload integers", openKeys)
			e.Observe("%s", raw)
			var m map[string]any
			Expect(json.Unmarshal(raw, &m)).To(Succeed(), "open packet JSON")
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			Expect(keys).To(Equal(openKeys), "key set of the open packet")
			Expect(m["sid"]).To(BeAssignableToTypeOf(""))
			Expect(m["upgrades"]).To(BeAssignableToTypeOf([]any{}))
			for _, k := range []string{"pingInterval", "pingTimeout", "maxPayload"} {
				Expect(m[k]).To(BeAssignableToTypeOf(float64(0)), k)
				f := m[k].(float64)
				Expect(f).To(Equal(float64(int64(f))), "%s must be an integer", k)
			}
		}, tr)

		s.It("EIO-HS-03", "advertises only upgrades better than the transport in use", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			up := c.Handshake().Open.Upgrades
			e.Observe("upgrades %q", up)
			if tr == framework.WebSocket {
				e.Expect("upgrades [] on a WebSocket handshake")
				Expect(up).To(BeEmpty())
				return
			}
			// The fixture contract enables WebSocket, so a polling
			// handshake must offer it, whatever the preflight saw.
			ct := e.Cfg.Contract()
			e.Expect(`upgrades ["websocket"] on a polling handshake (%s enables transports %v)`, ct.Name, ct.Transports)
			if !slices.Contains(ct.Transports, "websocket") {
				Expect(up).NotTo(ContainElement("websocket"), "%s does not enable WebSocket", ct.Name)
				return
			}
			Expect(up).To(Equal([]string{"websocket"}), ct.Requires("WebSocket, so the polling handshake must offer it"))
		}, tr)
	})
}

// EIORequired declares EIO-URL-02 for a v4 suite: a polling handshake
// without a numeric EIO opens nothing. (A v3 server with v3 enabled takes
// a missing EIO for v3: EIO-URL-03.)
func EIORequired(s *framework.Suite) {
	s.It("EIO-URL-02", "refuses a polling handshake whose EIO is missing or not a number with 400", func(ctx context.Context, e *framework.Env) {
		e.Expect("GET ?transport=polling and GET ?EIO=abc&transport=polling → 400")
		for _, q := range []string{"transport=polling", "EIO=abc&transport=polling"} {
			r, err := e.C.Do(ctx, framework.Request{RawQuery: q})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%s → %d %q", q, r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest), q)
		}
	}, framework.Polling)
}

// TransportRequired declares EIO-URL-04 for the suite's revision: a
// request whose transport is missing or unknown is refused.
func TransportRequired(s *framework.Suite) {
	s.It("EIO-URL-04", "refuses a request whose transport is missing or unknown with 400", func(ctx context.Context, e *framework.Env) {
		v := "EIO=" + e.C.Version().String()
		e.Expect("GET ?%s and GET ?%s&transport=abc → 400", v, v)
		for _, q := range []string{v, v + "&transport=abc"} {
			r, err := e.C.Do(ctx, framework.Request{RawQuery: q})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%s → %d %q", q, r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest), q)
		}
	}, framework.Polling)
}

// HandshakeMethod declares EIO-HS-07 for the suite's revision: only a GET
// opens a session.
func HandshakeMethod(s *framework.Suite) {
	s.It("EIO-HS-07", "refuses to open a session with POST or PUT (400)", func(ctx context.Context, e *framework.Env) {
		body := e.C.EncodePayload(msg("hello"))
		e.Expect("POST and PUT ?EIO=%s&transport=polling without sid, body %q → 400", e.C.Version(), body)
		for _, m := range []string{http.MethodPost, http.MethodPut} {
			r, err := e.C.Do(ctx, framework.Request{Method: m, Query: e.C.PollQuery(), Body: body})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%s → %d %q", m, r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest), m)
		}
	}, framework.Polling)
}

// WebSocketEIORequired declares the EIO half of EIO-WS-03 for a v4 suite:
// a WebSocket request without a numeric EIO opens no session.
func WebSocketEIORequired(s *framework.Suite) {
	s.It("EIO-WS-03", "opens no session for a WebSocket request whose EIO is missing or not a number", func(ctx context.Context, e *framework.Env) {
		e.Expect("for ?transport=websocket and ?EIO=abc&transport=websocket: upgrade refused, or the socket closes without an open packet")
		for _, q := range []url.Values{e.C.Query("transport", "websocket"), e.C.Query("EIO", "abc", "transport", "websocket")} {
			e.Observe("%s: %s", q.Encode(), expectNoWSSession(ctx, e, q))
		}
	}, framework.WebSocket)
}

// WebSocketTransportRequired declares the transport half of EIO-WS-03 for
// the suite's revision: a WebSocket request whose transport is missing or
// unknown opens no session.
func WebSocketTransportRequired(s *framework.Suite) {
	s.It("EIO-WS-03", "opens no session for a WebSocket request whose transport is missing or unknown", func(ctx context.Context, e *framework.Env) {
		v := e.C.Version().String()
		e.Expect("for ?EIO=%s and ?EIO=%s&transport=abc: upgrade refused, or the socket closes without an open packet", v, v)
		for _, q := range []url.Values{e.C.Query("EIO", v), e.C.Query("EIO", v, "transport", "abc")} {
			e.Observe("%s: %s", q.Encode(), expectNoWSSession(ctx, e, q))
		}
	}, framework.WebSocket)
}

// CloseOnPolling declares EIO-CLOSE-01 for the suite's revision: a close
// packet posted on polling ends the session, releases the parked GET with
// a noop and is answered ok.
func CloseOnPolling(s *framework.Suite) {
	s.It("EIO-CLOSE-01", "ends a polling session on a close packet, releasing the parked GET with a noop and answering ok", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		parked := parkGet(ctx, e, sess)
		r, err := sess.Post(ctx, pkt(engineio.Close, ""))
		Expect(err).NotTo(HaveOccurred())
		parked.wait(ctx, e.Timing.Reply("the parked GET released").Max)
		e.Expect(`POST close → 200 ok; the parked GET → 200 with the noop "6" alone; the next GET → 400`)
		e.Observe("POST %d %q; parked GET %d %v", r.Status, r.Body, status(parked.resp), parked.pkts)
		Expect(r.Status).To(Equal(http.StatusOK))
		Expect(r.Body).To(Equal(okBody))
		Expect(parked.err).NotTo(HaveOccurred())
		Expect(status(parked.resp)).To(Equal(http.StatusOK))
		Expect(parked.pkts).To(Equal([]engineio.Packet{pkt(engineio.Noop, "")}))
		g, _, err := sess.Get(ctx)
		Expect(err).NotTo(HaveOccurred())
		e.Observe("next GET %d", g.Status)
		Expect(g.Status).To(Equal(http.StatusBadRequest))
	}, framework.Polling)
}

// UpgradeMoves declares EIO-UPG-06 (the session moves to the WebSocket on
// the upgrade packet), EIO-UPG-07 (polling with the upgraded sid is
// refused while the session lives on) and EIO-UPG-08 (a second WebSocket
// with the upgraded sid is closed, the first keeps working) for the
// suite's revision; o says how the fixture shows that a session carries
// messages (nil: the echo).
func UpgradeMoves(s *framework.Suite, o *Options) {
	up := framework.Upgraded
	s.It("EIO-UPG-06", "moves the session to the WebSocket on the upgrade packet", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Upgrade(ctx)
		Expect(err).NotTo(HaveOccurred(), "2probe → 3probe, then 5")
		e.Expect("after the upgrade packet, the fixture's answer on the WebSocket: %s", o.answer())
		e.Observe("%s", o.alive(ctx, e, wsOnly(w, sess), 0))
	}, up)

	s.It("EIO-UPG-07", "refuses a polling GET with 400 once the session is upgraded", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Upgrade(ctx)
		Expect(err).NotTo(HaveOccurred())
		wc := wsOnly(w, sess)
		e.Expect("once the fixture answers on the WebSocket (the upgrade completed; %s): GET with the upgraded sid → 400, and the session lives on over the WebSocket", o.answer())
		// The upgrade packet and the GET travel on two connections: only
		// an answer on the WebSocket shows that the server has handled
		// the upgrade before the GET arrives.
		e.Observe("upgrade completed: %s", o.alive(ctx, e, wc, 0))
		r, _, err := sess.Get(ctx)
		Expect(err).NotTo(HaveOccurred())
		e.Observe("GET %d %q", r.Status, r.Body)
		Expect(r.Status).To(Equal(http.StatusBadRequest))
		// The refusal is about the transport: a server that also ended the
		// session would pass a status check alone.
		e.Observe("WebSocket still carries the session: %s", o.alive(ctx, e, wc, 1))
	}, up)

	s.It("EIO-UPG-08", "closes another WebSocket with the upgraded sid and keeps the first", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Upgrade(ctx)
		Expect(err).NotTo(HaveOccurred())
		wc := wsOnly(w, sess)
		e.Expect("a second WebSocket with the sid closed or refused; the first still answers (%s)", o.answer())
		e.Observe("upgrade completed: %s", o.alive(ctx, e, wc, 0))
		w2, _, err := e.C.DialWS(ctx, e.C.WSQuery(sess.Query()...), nil)
		if err == nil {
			win := e.Timing.Reply("the second WebSocket closed")
			e.Budget(win)
			cctx, cancel := context.WithTimeout(ctx, win.Max)
			defer cancel()
			ce, err := w2.WaitClosed(cctx)
			Expect(err).NotTo(HaveOccurred(), "the second WebSocket must be closed")
			e.Observe("second WebSocket closed (code %d)", ce.Code)
		} else {
			e.Observe("second WebSocket refused: %v", err)
		}
		e.Observe("first WebSocket: %s", o.alive(ctx, e, wc, 1))
	}, up)
}
