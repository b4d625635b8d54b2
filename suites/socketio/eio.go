package socketio

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	eiosuite "github.com/siospec/siospec/suites/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// eioLayerV5 declares the Engine.IO-level checks of the official SIO v5
// suite (TS-S5-01..16): the Engine.IO requirements as a Socket.IO server
// shows them under its own path, before any namespace is joined (so every
// spec ends well within the fixture's connectTimeout). s carries proto:SIO5.
func eioLayerV5(s *framework.Suite) {
	Describe("Engine.IO layer", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "The open packet JSON has exactly sid, upgrades, pingInterval,
			// pingTimeout and maxPayload with the right JSON types."
			s.It("EIO-HS-02", "opens an Engine.IO v4 session whose open packet has exactly sid, upgrades, pingInterval, pingTimeout and maxPayload", func(ctx context.Context, e *framework.Env) {
				c, err := e.Open(ctx, tr)
				Expect(err).NotTo(HaveOccurred(), "open a session %s", tr.Describe())
				raw := c.Handshake().Raw
				want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}
				e.Expect("keys exactly %v; upgrades %s", want, map[framework.Transport]string{framework.Polling: `["websocket"]`, framework.WebSocket: `[]`}[tr])
				e.Observe("%s", raw)
				var m map[string]any
				Expect(json.Unmarshal(raw, &m)).To(Succeed())
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				Expect(keys).To(Equal(want))
				Expect(m["sid"]).To(BeAssignableToTypeOf(""))
				up := c.Handshake().Open.Upgrades
				if tr == framework.WebSocket {
					Expect(up).To(BeEmpty())
				} else if e.Cfg.Target != nil && slices.Contains(e.Cfg.Target.Transports, "websocket") {
					Expect(up).To(Equal([]string{"websocket"}))
				}
			}, tr)

			// "The server pings every pingInterval, the first one
			// pingInterval after the open packet."
			s.It("EIO-HB-01", "sends pings every pingInterval that the client answers with pongs", func(ctx context.Context, e *framework.Env) {
				c, err := e.Open(ctx, tr)
				Expect(err).NotTo(HaveOccurred())
				w := e.Timing.Around(e.Timing.PingInterval, "pingInterval")
				e.Expect("3 pings, each about pingInterval after the previous open/pong, nothing else")
				e.Budget(w)
				// Gaps run from moments before the server can have started
				// its timer (the handshake request, the pong's send), so a
				// late observation can make a gap look long, never short.
				var last time.Duration
				for i := range 3 {
					cctx, cancel := context.WithTimeout(ctx, w.Max)
					p, err := c.Next(cctx)
					cancel()
					Expect(err).NotTo(HaveOccurred(), "ping %d", i+1)
					gap := e.Rec.Since() - last
					Expect(p.Type == engineio.Ping && len(p.Data) == 0).To(BeTrue(), "packet %d must be a bare ping, got %v", i+1, p)
					Expect(gap).To(BeNumerically(">=", w.Min), "ping %d came after %v", i+1, gap)
					last = e.Rec.Since()
					Expect(c.Send(ctx, engineio.TextPacket(engineio.Pong, ""))).To(Succeed())
				}
				e.Observe("3 pings answered")
			}, tr)

			// "Without a pong within pingTimeout of a ping the server ends
			// the session."
			s.It("EIO-HB-03", "ends a session whose client leaves a ping unanswered for pingTimeout", func(ctx context.Context, e *framework.Env) {
				c, err := e.Open(ctx, tr)
				Expect(err).NotTo(HaveOccurred())
				wp := e.Timing.Within(e.Timing.PingInterval, "first ping")
				cctx, cancel := context.WithTimeout(ctx, wp.Max)
				p, err := c.Next(cctx)
				cancel()
				Expect(err).NotTo(HaveOccurred(), "the first ping (%s)", wp)
				Expect(p.Type).To(Equal(engineio.Ping))
				pinged := e.Rec.Since()
				w := e.Timing.Within(e.Timing.PingTimeout, "pingTimeout")
				e.Expect("the session ends pingTimeout after the unanswered ping")
				e.Budget(w)
				// On polling a GET parks until the server ends the session; a
				// parked GET is not traffic that could extend the deadline.
				cctx, cancel = context.WithTimeout(ctx, w.Max)
				defer cancel()
				how, err := c.Ended(cctx)
				Expect(err).NotTo(HaveOccurred(), "the session must end (%s)", w)
				e.Observe("%s", how)
				e.Measured("ended", e.Rec.Since()-pinged)
			}, tr)
		})

		// "A request without ... a valid EIO ... opens no v4 session."
		s.It("EIO-URL-02", "refuses a polling handshake with a missing or non-numeric EIO with 400", func(ctx context.Context, e *framework.Env) {
			e.Expect("GET ?transport=polling and ?EIO=abc&transport=polling → 400")
			for _, q := range []url.Values{e.C.Query("transport", "polling"), e.C.Query("EIO", "abc", "transport", "polling")} {
				r, err := e.C.Get(ctx, q)
				Expect(err).NotTo(HaveOccurred())
				e.Observe("%s → %d %q", q.Encode(), r.Status, r.Body)
				Expect(r.Status).To(Equal(http.StatusBadRequest), q.Encode())
			}
		}, framework.Polling)

		// "The transport parameter is required and is polling or
		// websocket; anything else is refused with 400."
		s.It("EIO-URL-04", "refuses a polling handshake with a missing or unknown transport with 400", func(ctx context.Context, e *framework.Env) {
			e.Expect("GET ?EIO=4 and ?EIO=4&transport=abc → 400")
			for _, q := range []url.Values{e.C.Query("EIO", "4"), e.C.Query("EIO", "4", "transport", "abc")} {
				r, err := e.C.Get(ctx, q)
				Expect(err).NotTo(HaveOccurred())
				e.Observe("%s → %d %q", q.Encode(), r.Status, r.Body)
				Expect(r.Status).To(Equal(http.StatusBadRequest), q.Encode())
			}
		}, framework.Polling)

		// "Only GET can open a session; other methods without sid get
		// 400."
		s.It("EIO-HS-07", "refuses to open a session with POST or PUT (400)", func(ctx context.Context, e *framework.Env) {
			e.Expect("POST and PUT ?EIO=4&transport=polling without sid → 400")
			for _, m := range []string{http.MethodPost, http.MethodPut} {
				r, err := e.C.Do(ctx, framework.Request{Method: m, Query: e.C.PollQuery(), Body: []byte("40")})
				Expect(err).NotTo(HaveOccurred())
				e.Observe("%s → %d %q", m, r.Status, r.Body)
				Expect(r.Status).To(Equal(http.StatusBadRequest), m)
			}
		}, framework.Polling)

		// "A WebSocket request with a bad or missing EIO or transport gets
		// no session and is closed."
		s.It("EIO-WS-03", "opens no session for a WebSocket request with a missing or invalid EIO or transport", func(ctx context.Context, e *framework.Env) {
			qs := []url.Values{
				e.C.Query("transport", "websocket"),
				e.C.Query("EIO", "abc", "transport", "websocket"),
				e.C.Query("EIO", "4"),
				e.C.Query("EIO", "4", "transport", "abc"),
			}
			w := e.Timing.Within(e.Timing.PingTimeout, "close")
			e.Expect("each request refused, or closed within %s without an open packet", w)
			for _, q := range qs {
				By(q.Encode())
				ws, _, err := e.C.DialWS(ctx, q, nil)
				if err != nil {
					e.Observe("%s refused: %v", q.Encode(), err)
					continue
				}
				cctx, cancel := context.WithTimeout(ctx, w.Max)
				_, werr := ws.WaitClosed(cctx)
				cancel()
				Expect(werr).NotTo(HaveOccurred(), "%s: the WebSocket must be closed", q.Encode())
				for _, f := range ws.Frames() {
					Expect(f.ParseErr == nil && f.Packet.Type == engineio.Open).To(BeFalse(), "%s: no session may open", q.Encode())
				}
			}
		}, framework.WebSocket)

		// "A polling close packet ends the session, releases the pending
		// GET with a noop and answers ok."
		s.It("EIO-CLOSE-01", "ends a polling session on a close packet, releasing the parked GET with a noop", func(ctx context.Context, e *framework.Env) {
			ps, err := e.C.OpenPolling(ctx)
			Expect(err).NotTo(HaveOccurred())
			type res struct {
				r    *framework.Response
				pkts []engineio.Packet
				err  error
			}
			got := make(chan res, 1)
			go func() {
				r, pkts, err := ps.Get(ctx)
				got <- res{r, pkts, err}
			}()
			hold := min(e.Timing.PingInterval/4, 100*time.Millisecond)
			Consistently(got).WithTimeout(hold).WithPolling(5*time.Millisecond).ShouldNot(Receive(), "the server must park the GET (Errata 4)")
			e.Expect("POST 1 → 200 ok; parked GET → 200 with 6; next GET → 400")
			r, err := ps.Post(ctx, engineio.TextPacket(engineio.Close, ""))
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Status).To(Equal(http.StatusOK))
			var g res
			Eventually(got).WithContext(ctx).WithTimeout(replyWindow(e).Max).Should(Receive(&g))
			Expect(g.err).NotTo(HaveOccurred())
			e.Observe("parked GET %d %q", g.r.Status, g.r.Body)
			Expect(g.r.Status).To(Equal(http.StatusOK))
			Expect(g.pkts).To(Equal([]engineio.Packet{engineio.TextPacket(engineio.Noop, "")}))
			r2, _, err := ps.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(r2.Status).To(Equal(http.StatusBadRequest))
		}, framework.Polling)

		// EIO-CLOSE-03: one implementation with the Engine.IO suites.
		eiosuite.CloseOnWebSocket(s)

		// "After the upgrade packet the session runs on the WebSocket."
		s.It("EIO-UPG-06", "moves the session to the WebSocket after the upgrade packet", func(ctx context.Context, e *framework.Env) {
			c, err := e.Open(ctx, framework.Upgraded)
			Expect(err).NotTo(HaveOccurred(), "2probe → 3probe, then 5")
			e.Expect("after 5, a CONNECT sent on the WebSocket is answered on it")
			Expect(c.Send(ctx, engineio.TextPacket(engineio.Message, "0"))).To(Succeed())
			p := nextNonHeartbeat(ctx, e, c)
			e.Observe("%s", p)
			Expect(p.Type).To(Equal(engineio.Message))
			Expect(string(p.Data)).To(HavePrefix(`0{"sid":`))
		}, framework.Upgraded)

		// "Polling with an upgraded sid gets 400."
		s.It("EIO-UPG-07", "refuses polling requests with the sid of an upgraded session", func(ctx context.Context, e *framework.Env) {
			c, err := e.Open(ctx, framework.Upgraded)
			Expect(err).NotTo(HaveOccurred())
			e.Expect("once a CONNECT sent on the WebSocket is answered there (the upgrade completed): GET with the upgraded sid → 400")
			// The upgrade packet and the GET travel on two connections:
			// only an answer on the WebSocket shows that the server has
			// handled the upgrade before the GET arrives.
			Expect(c.Send(ctx, engineio.TextPacket(engineio.Message, "0"))).To(Succeed())
			Expect(string(nextNonHeartbeat(ctx, e, c).Data)).To(HavePrefix(`0{"sid":`), "the CONNECT reply on the WebSocket")
			r, _, err := c.Poll().Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
		}, framework.Upgraded)

		// "Another WebSocket with an upgraded sid is closed; the first
		// keeps working."
		s.It("EIO-UPG-08", "closes a second WebSocket for an upgraded session and keeps the first", func(ctx context.Context, e *framework.Env) {
			c, err := e.Open(ctx, framework.Upgraded)
			Expect(err).NotTo(HaveOccurred())
			e.Expect("second WebSocket with the sid closed or refused; the first still answers 40")
			ws, _, err := e.C.DialWS(ctx, e.C.WSQuery("sid", c.SID()), nil)
			if err == nil {
				w := replyWindow(e)
				cctx, cancel := context.WithTimeout(ctx, w.Max)
				_, werr := ws.WaitClosed(cctx)
				cancel()
				Expect(werr).NotTo(HaveOccurred(), "the second WebSocket must be closed (%s)", w)
			}
			Expect(c.Send(ctx, engineio.TextPacket(engineio.Message, "0"))).To(Succeed())
			p := nextNonHeartbeat(ctx, e, c)
			e.Observe("first WebSocket: %s", p)
			Expect(string(p.Data)).To(HavePrefix(`0{"sid":`))
		}, framework.Upgraded)
	})
}

// nextNonHeartbeat returns the next packet that is not a ping (answered)
// or a noop.
func nextNonHeartbeat(ctx context.Context, e *framework.Env, c framework.Conn) engineio.Packet {
	GinkgoHelper()
	w := replyWindow(e)
	cctx, cancel := context.WithTimeout(ctx, w.Max)
	defer cancel()
	for {
		p, err := c.Next(cctx)
		Expect(err).NotTo(HaveOccurred(), "a packet within %s", w)
		switch p.Type {
		case engineio.Ping:
			_ = c.Send(ctx, engineio.TextPacket(engineio.Pong, ""))
		case engineio.Noop:
		default:
			return p
		}
	}
}
