package engineio

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// b64 is the query pair that asks a v3 server for base64 framing.
var b64 = []string{"b64", "1"}

// v3Specs declares the Engine.IO v3 specs; s carries proto:EIO3 and the
// run's client speaks EIO=3.
func v3Specs(s *framework.Suite) {
	Describe("handshake", func() {
		s.It("EIO3-01", "answers EIO=3 with a v3 length-prefixed polling payload, with b64=1 or without", func(ctx context.Context, e *framework.Env) {
			e.Expect(`200 "<len>:0{...}" for ?EIO=3&transport=polling&b64=1 and for ?EIO=3&transport=polling`)
			// EIO=3 alone selects v3: a server that reads a request
			// without b64=1 as v4 fails the second handshake.
			for _, extra := range [][]string{b64, nil} {
				r, err := e.C.Get(ctx, e.C.PollQuery(extra...))
				Expect(err).NotTo(HaveOccurred())
				e.Observe("%v: %d %q", extra, r.Status, r.Body)
				Expect(r.Status).To(Equal(http.StatusOK))
				Expect(string(r.Body)).To(MatchRegexp(`^\d+:0\{`), "query extra %v", extra)
			}
		}, framework.Polling)

		s.It("EIO3-03", "counts the length prefix in UTF-16 code units of the packet", func(ctx context.Context, e *framework.Env) {
			r, err := e.C.Get(ctx, e.C.PollQuery(b64...))
			Expect(err).NotTo(HaveOccurred())
			body := string(r.Body)
			i := strings.IndexByte(body, ':')
			Expect(i).To(BeNumerically(">", 0))
			n, err := strconv.Atoi(body[:i])
			Expect(err).NotTo(HaveOccurred())
			e.Observe("prefix %d, packet %d UTF-16 units", n, engineio.UTF16Len([]byte(body[i+1:])))
			Expect(n).To(Equal(engineio.UTF16Len([]byte(body[i+1:]))))
		}, framework.Polling)

		s.PerTransport(both, func(tr framework.Transport) {
			s.It("EIO3-08", "sends an open packet with sid, upgrades and the heartbeat timings, maxPayload optional", func(ctx context.Context, e *framework.Env) {
				var extra []string
				if tr == framework.Polling {
					extra = b64
				}
				c := open(ctx, e, tr, extra...)
				raw := c.Handshake().Raw
				e.Observe("%s", raw)
				var m map[string]any
				Expect(json.Unmarshal(raw, &m)).To(Succeed())
				Expect(m["sid"]).To(BeAssignableToTypeOf(""))
				Expect(m["pingInterval"]).To(BeAssignableToTypeOf(float64(0)))
				Expect(m["pingTimeout"]).To(BeAssignableToTypeOf(float64(0)))
				if v, ok := m["maxPayload"]; ok {
					Expect(v).To(BeAssignableToTypeOf(float64(0)))
				}
				if tr == framework.WebSocket {
					Expect(m["upgrades"]).To(BeEmpty())
				} else {
					Expect(m["upgrades"]).To(ConsistOf("websocket"))
				}
			}, tr)
		})

		TransportRequired(s)
		HandshakeMethod(s)

		s.It("EIO-URL-03", "opens a v3 WebSocket session when EIO is missing or not a number and v3 is enabled", func(ctx context.Context, e *framework.Env) {
			for _, q := range []string{"transport=websocket", "EIO=abc&transport=websocket"} {
				qv, _ := parseQuery(q)
				w, _, err := e.C.DialWS(ctx, qv, nil)
				Expect(err).NotTo(HaveOccurred(), q)
				p, err := w.NextPacket(ctx)
				Expect(err).NotTo(HaveOccurred(), q)
				e.Observe("%s → %v", q, p)
				Expect(p.Type).To(Equal(engineio.Open), q)
				w.Close()
			}
		}, framework.WebSocket)

		WebSocketTransportRequired(s)
	})

	Describe("HTTP long-polling", func() {
		s.It("EIO3-03", "echoes length-prefixed text packets, non-ASCII ones counted in UTF-16 code units", func(ctx context.Context, e *framework.Env) {
			// "4€😀" is 8 UTF-8 bytes but 4 UTF-16 code units (😀 is a
			// surrogate pair): only a payload with non-ASCII text tells a
			// length in code units from one in bytes or in code points.
			body := "6:4hello4:4€😀"
			expectV3Echo(ctx, e, b64, body, []byte(body))
		}, framework.Polling)

		s.It("EIO-POLL-03", "sends every buffered v3 packet in one GET response, in order", func(ctx context.Context, e *framework.Env) {
			body := "6:4test16:4test26:4test3"
			expectV3Echo(ctx, e, b64, body, []byte(body))
		}, framework.Polling)

		s.It("EIO3-04", "echoes base64 binary as b4 records to a b64 session", func(ctx context.Context, e *framework.Env) {
			body := "6:4hello10:b4AQIDBA=="
			expectV3Echo(ctx, e, b64, body, []byte(body))
		}, framework.Polling)

		s.It("EIO3-05", "answers a binary-capable session with an XHR2 binary payload", func(ctx context.Context, e *framework.Env) {
			want := []byte{0x00, 0x06, 0xFF, '4', 'h', 'e', 'l', 'l', 'o', 0x01, 0x05, 0xFF, 0x04, 0x01, 0x02, 0x03, 0x04}
			r := expectV3Echo(ctx, e, nil, "6:4hello10:b4AQIDBA==", want)
			Expect(r.ContentType()).To(HavePrefix("application/octet-stream"))
		}, framework.Polling)

		s.It("EIO3-10", "ends the session on a payload without a valid length prefix", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e, b64...)
			r, err := sess.PostRaw(ctx, []byte("abc"), nil)
			if err == nil {
				e.Observe("POST %d %q (not judged)", r.Status, r.Body)
			}
			expectEnded(ctx, e, framework.AsConn(sess), "the session must end")
		}, framework.Polling)

		s.It("EIO3-10", "ends the session on a length prefix that overruns the payload", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e, b64...)
			_, _ = sess.PostRaw(ctx, engineio.AppendRawPayloadV3(nil, 9, []byte("4hello")), nil)
			expectEnded(ctx, e, framework.AsConn(sess), "the session must end")
		}, framework.Polling)

		s.It("EIO-POLL-07", "refuses a second concurrent v3 GET and ends the session", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e, b64...)
			first := parkGet(ctx, e, sess)
			r2, _, err := sess.Get(ctx, "t", "burst")
			Expect(err).NotTo(HaveOccurred())
			first.wait(ctx, time.Second)
			e.Observe("first GET %d %v, duplicate %d", status(first.resp), first.pkts, r2.Status)
			Expect(r2.Status).To(BeElementOf(http.StatusBadRequest, http.StatusInternalServerError))
			expectEnded(ctx, e, framework.AsConn(sess), "the session must end")
		}, framework.Polling)

		s.It("EIO3-09", "releases a parked GET with 1:6 when the client posts 1:1, then refuses the sid", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e, b64...)
			parked := parkGet(ctx, e, sess)
			r, err := sess.PostRaw(ctx, []byte("1:1"), nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Status).To(Equal(http.StatusOK))
			parked.wait(ctx, time.Second)
			e.Expect(`parked GET → "1:6"; next GET → 400`)
			e.Observe("parked GET %d %q", status(parked.resp), bodyOf(parked.resp))
			Expect(string(bodyOf(parked.resp))).To(Equal("1:6"))
			g, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(g.Status).To(Equal(http.StatusBadRequest))
		}, framework.Polling)

		s.It("EIO3-11", "answers a v3 polling GET with j=0 with a JSONP script", func(ctx context.Context, e *framework.Env) {
			r, err := e.C.Get(ctx, e.C.PollQuery("j", "0"))
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%d %q", r.Status, r.Body)
			jsonpServed(e, r)
			Expect(string(r.Body)).To(HavePrefix("___eio[0]("))
		}, framework.Polling)
	})

	Describe("WebSocket transport", func() {
		s.It("EIO-WS-02", "echoes a v3 text packet as one WebSocket message", func(ctx context.Context, e *framework.Env) {
			w := open(ctx, e, framework.WebSocket).WS()
			Expect(w.SendText("4hello")).To(Succeed())
			f := nextFrame(ctx, w)
			e.Observe("%q", f.Data)
			Expect(string(f.Data)).To(Equal("4hello"))
		}, framework.WebSocket)

		s.It("EIO3-07", "echoes a binary frame that starts with the type byte 0x04", func(ctx context.Context, e *framework.Env) {
			w := open(ctx, e, framework.WebSocket).WS()
			Expect(w.SendBinary([]byte{4, 1, 2, 3, 4})).To(Succeed())
			f := nextFrame(ctx, w)
			e.Observe("binary=%v % x", f.Binary, f.Data)
			Expect(f.Binary).To(BeTrue())
			Expect(f.Data).To(Equal([]byte{4, 1, 2, 3, 4}))
		}, framework.WebSocket)

		invalidFrameEnds(s)
		unknownTypeEnds(s)
	})

	Describe("close", func() { closeSpecs(s) })

	Describe("size limits", limitsLabel, func() { limitSpecs(s) })

	Describe("heartbeat", func() {
		s.It("EIO3-02", "answers each client ping on polling with a pong", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e, b64...)
			for i := range 3 {
				r, err := sess.PostRaw(ctx, []byte("1:2"), nil)
				Expect(err).NotTo(HaveOccurred())
				Expect(r.Status).To(Equal(http.StatusOK))
				g, _, err := sess.Get(ctx)
				Expect(err).NotTo(HaveOccurred())
				e.Observe("round %d: GET %d %q", i+1, g.Status, g.Body)
				Expect(string(g.Body)).To(Equal("1:3"))
			}
		}, framework.Polling)

		s.It("EIO3-02", "ends a polling session whose client stops pinging for pingInterval+pingTimeout", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e, b64...)
			budget := e.Timing.PingInterval + e.Timing.PingTimeout
			e.Idle(ctx, e.Timing.Scaled(budget)+e.Timing.Grace(budget))
			r, err := sess.PostRaw(ctx, []byte("1:2"), nil)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("POST 1:2 → %d", r.Status)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
		}, framework.Polling)

		s.PerTransport(wsStates, func(tr framework.Transport) {
			s.It("EIO3-02", "answers each client ping on a WebSocket with a pong", func(ctx context.Context, e *framework.Env) {
				w := open(ctx, e, tr).WS()
				for i := range 3 {
					Expect(w.SendText("2")).To(Succeed())
					f, err := w.Next(ctx)
					Expect(err).NotTo(HaveOccurred())
					e.Observe("round %d: %q", i+1, f.Data)
					Expect(string(f.Data)).To(Equal("3"))
				}
			}, tr)

			s.It("EIO3-02", "closes a WebSocket whose client never pings after pingInterval+pingTimeout", func(ctx context.Context, e *framework.Env) {
				c := open(ctx, e, tr)
				budget := e.Timing.PingInterval + e.Timing.PingTimeout
				win := e.Timing.Around(budget, "pingInterval+pingTimeout")
				e.Expect("no client ping: the WebSocket closes pingInterval+pingTimeout after the handshake")
				e.Budget(win)
				// The window runs from the handshake request (transcript
				// time 0), as ClosedAt does.
				cctx, cancel := context.WithTimeout(ctx, win.Max-e.Rec.Since())
				defer cancel()
				_, err := c.WS().WaitClosed(cctx)
				Expect(err).NotTo(HaveOccurred(), "the WebSocket must close (%s)", win)
				at := c.WS().ClosedAt()
				e.Measured("closed", at)
				Expect(win.Contains(at)).To(BeTrue(), "closed after %v, outside %v", at, win)
			}, tr)
		})
	})

	Describe("upgrade from polling to WebSocket", func() {
		upgradeSpecs(s)

		s.It("EIO3-12", "releases the polling GET during the upgrade with the v3 noop 1:6", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e, b64...)
			w, err := sess.Probe(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(w.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
			r, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%d %q", r.Status, r.Body)
			Expect(string(r.Body)).To(Equal("1:6"))
		}, framework.Upgraded)
	})
}

// expectV3Echo opens a polling session with extra, posts body and checks
// that the next GET answers exactly want.
func expectV3Echo(ctx context.Context, e *framework.Env, extra []string, body string, want []byte) *framework.Response {
	GinkgoHelper()
	sess := openPoll(ctx, e, extra...)
	r, err := sess.PostRaw(ctx, []byte(body), nil)
	Expect(err).NotTo(HaveOccurred())
	Expect(r.Status).To(Equal(http.StatusOK))
	Expect(r.Body).To(Equal(okBody))
	g, _, err := sess.Get(ctx)
	Expect(err).NotTo(HaveOccurred())
	e.Expect("POST %q → ok; GET → %q", body, want)
	e.Observe("GET %d %s %q", g.Status, g.ContentType(), g.Body)
	Expect(g.Body).To(Equal(want))
	return g
}

func bodyOf(r *framework.Response) []byte {
	if r == nil {
		return nil
	}
	return r.Body
}
