package engineio

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

func websocketV4(s *framework.Suite) {
	Describe("WebSocket transport", func() {
		s.It("EIO-WS-01", "answers a WebSocket handshake with 101 and the open packet as first text frame, without upgrades", func(ctx context.Context, e *framework.Env) {
			w, _, err := e.C.DialWS(ctx, e.C.WSQuery(), nil)
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`101, then a text frame 0{..."upgrades":[]...}`)
			e.Observe("HTTP %d", w.Resp.StatusCode)
			f, err := w.Next(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("first frame binary=%v %q", f.Binary, f.Data)
			Expect(f.Binary).To(BeFalse())
			Expect(f.ParseErr).NotTo(HaveOccurred())
			Expect(f.Packet.Type).To(Equal(engineio.Open))
			op, err := engineio.ParseOpen(f.Packet.Data)
			Expect(err).NotTo(HaveOccurred())
			Expect(op.Upgrades).To(BeEmpty())
		}, framework.WebSocket)

		s.It("EIO-WS-02", "carries exactly one packet per WebSocket message, even with 0x1E inside a text frame", func(ctx context.Context, e *framework.Env) {
			w := open(ctx, e, framework.WebSocket).WS()
			Expect(w.SendText("4a\x1e4b")).To(Succeed())
			Expect(w.SendText("4c")).To(Succeed())
			e.Expect(`two frames back: "4a\x1e4b" and "4c"`)
			f1, f2 := nextFrame(ctx, w), nextFrame(ctx, w)
			e.Observe("%q, %q", f1.Data, f2.Data)
			Expect(string(f1.Data)).To(Equal("4a\x1e4b"))
			Expect(string(f2.Data)).To(Equal("4c"))
		}, framework.WebSocket)

		WebSocketEIORequired(s)
		WebSocketTransportRequired(s)

		s.It("EIO-WS-04", "refuses a WebSocket upgrade naming an unknown sid", func(ctx context.Context, e *framework.Env) {
			e.Observe("%s", expectNoWSSession(ctx, e, e.C.WSQuery("sid", bogusSID)))
		}, framework.WebSocket)

		s.It("EIO-WS-05", "closes a second WebSocket for a session that is already upgrading and keeps the first", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			w1, err := sess.Probe(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(w1.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
			w2, _, err := e.C.DialWS(ctx, e.C.WSQuery(sess.Query()...), nil)
			if err == nil {
				_ = w2.Send(pkt(engineio.Ping, "probe"))
				ce, err := w2.WaitClosed(ctx)
				Expect(err).NotTo(HaveOccurred(), "the second WebSocket must be closed")
				Expect(w2.Frames()).NotTo(ContainElement(HaveField("Packet", pkt(engineio.Pong, "probe"))), "the second probe must not be answered")
				e.Observe("second WebSocket closed (code %d)", ce.Code)
			} else {
				e.Observe("second WebSocket refused: %v", err)
			}
			Expect(w1.Send(pkt(engineio.Upgrade, ""))).To(Succeed())
			Expect(w1.Send(msg("first"))).To(Succeed())
			p := nextMessage(ctx, wsOnly(w1, sess))
			e.Observe("first WebSocket echo %v", p)
			Expect(p).To(Equal(msg("first")))
		}, framework.Upgraded)

		invalidFrameEnds(s)

		s.It("EIO-WS-07", "does not count WebSocket control pongs as heartbeat answers", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, framework.WebSocket)
			w := c.WS()
			budget := e.Timing.PingInterval + e.Timing.PingTimeout
			win := e.Timing.Around(budget, "pingInterval+pingTimeout")
			e.Expect("answering each ping with a control pong only, the session still times out")
			e.Budget(win)
			// A server that takes the control pongs for heartbeat answers
			// never closes: the wait ends with the window.
			cctx, cancel := context.WithTimeout(ctx, win.Max)
			defer cancel()
			for {
				f, err := w.Next(cctx)
				if err != nil {
					break
				}
				if !f.Binary && string(f.Data) == "2" {
					Expect(w.SendControl(websocket.PongMessage, []byte("2"))).To(Succeed())
				}
			}
			if w.Closed() == nil {
				e.Observe("still open after %v of control pongs", win.Max)
			}
			Expect(w.Closed()).NotTo(BeNil(), "the session must time out (%s)", win)
			at := w.ClosedAt()
			e.Measured("closed", at)
			Expect(win.Contains(at)).To(BeTrue(), "closed after %v, outside %v", at, win)
		}, framework.WebSocket)

		s.It("EIO-WS-08", "closes a WebSocket session with a plain close, without a close packet", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, framework.WebSocket)
			w := c.WS()
			_, err := w.WaitClosed(ctx)
			Expect(err).NotTo(HaveOccurred(), "a silent client is timed out")
			var texts []string
			for _, f := range w.Frames() {
				texts = append(texts, string(f.Data))
			}
			e.Observe("frames before the close: %q", texts)
			Expect(texts).NotTo(ContainElement("1"))
		}, framework.WebSocket)

		s.It("EIO-WS-09", "does not negotiate permessage-deflate by default", func(ctx context.Context, e *framework.Env) {
			e.C.OfferCompression = true
			w, _, err := e.C.DialWS(ctx, e.C.WSQuery(), nil)
			Expect(err).NotTo(HaveOccurred())
			ext := w.Resp.Header.Get("Sec-WebSocket-Extensions")
			e.Observe("Sec-WebSocket-Extensions %q", ext)
			Expect(ext).NotTo(ContainSubstring("permessage-deflate"))
		}, framework.WebSocket)

		s.It("EIO-WS-10", "refuses an upgrade that fails verification with a raw HTTP 400 and closes the socket", func(ctx context.Context, e *framework.Env) {
			rc, err := e.DialRaw(ctx)
			framework.FailIfHarness(err)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(rc.Close)
			head := e.RequestHead("GET", e.C.WSQuery("sid", bogusSID).Encode(),
				"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: c2lvc3BlYy1zaW9zcGVjLQ==")
			Expect(rc.Write([]byte(head))).To(Succeed())
			r, err := rc.ReadResponse(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect("HTTP/1.1 400, then the server closes the connection")
			e.Observe("%d %q eof=%v", r.Status, r.Body, r.EOF)
			Expect(r.Status).To(Equal(400))
			Expect(r.EOF).To(BeTrue(), "the socket must be closed after the refusal")
		}, framework.WebSocket)

		s.It("EIO-WS-11", "closes with 1007 on invalid UTF-8 in a text frame", func(ctx context.Context, e *framework.Env) {
			w := open(ctx, e, framework.WebSocket).WS()
			Expect(w.SendText("4\xff\xfe")).To(Succeed())
			ce, err := w.WaitClosed(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("close code %d", ce.Code)
			Expect(ce.Code).To(Equal(websocket.CloseInvalidFramePayloadData))
		}, framework.WebSocket)
	})
}

// expectNoWSSession asserts that a WebSocket request with q opens no
// session: the upgrade is refused, or the socket closes before any open
// packet. It returns a description of what happened.
func expectNoWSSession(ctx context.Context, e *framework.Env, q url.Values) string {
	GinkgoHelper()
	w, resp, err := e.C.DialWS(ctx, q, nil)
	if err != nil {
		Expect(resp).NotTo(BeNil(), "expected an HTTP refusal, got %v", err)
		return "upgrade refused with HTTP " + resp.Status
	}
	cctx, cancel := context.WithTimeout(ctx, e.Timing.Scaled(2*time.Second))
	defer cancel()
	ce, err := w.WaitClosed(cctx)
	Expect(err).NotTo(HaveOccurred(), "the WebSocket must be closed")
	for _, f := range w.Frames() {
		Expect(strings.HasPrefix(string(f.Data), "0{")).To(BeFalse(), "an open packet was sent: %q", f.Data)
	}
	return "101, then closed without an open packet (code " + itoa(ce.Code) + ")"
}

// wsOnly adapts an upgraded WebSocket into a framework.Conn.
func wsOnly(w *framework.WSConn, s *framework.PollSession) framework.Conn {
	return framework.AsWSConn(w, s.HS, framework.Upgraded, s)
}

// invalidFrameEnds declares EIO-WS-06 for the suite's revision on a
// WebSocket opened as such and on one upgraded from polling.
func invalidFrameEnds(s *framework.Suite) {
	s.PerTransport(wsStates, func(tr framework.Transport) {
		s.It("EIO-WS-06", "ends the session when a WebSocket frame holds an invalid packet", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			Expect(c.WS().SendText("abc")).To(Succeed())
			e.Expect(`after "abc": the WebSocket closes`)
			expectEnded(ctx, e, c, "the WebSocket must close")
		}, tr)
	})
}
