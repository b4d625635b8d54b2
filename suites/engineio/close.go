package engineio

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

func closeV4(s *framework.Suite) {
	Describe("close", func() {
		CloseOnPolling(s)

		closeOnWS(s)

		s.It("EIO-CLOSE-04", "answers a GET pending when it ends the session with the close packet", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			_, pkts, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(pkts).To(Equal([]engineio.Packet{pkt(engineio.Ping, "")}))
			e.Expect(`no pong: the GET pending at the ping timeout → 200 "1"`)
			r, pkts, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("GET %d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusOK))
			Expect(pkts).To(ContainElement(pkt(engineio.Close, "")))
		}, framework.Polling)

		s.It("EIO-CLOSE-06", "refuses every request with the sid of a closed session", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			Expect(sess.Post(ctx, pkt(engineio.Close, ""))).To(HaveField("Status", http.StatusOK))
			e.Expect("after POST 1: POST → 400, GET → 400, WebSocket upgrade refused")
			expectEnded(ctx, e, framework.AsConn(sess), "the session must end after the close packet")
			r, err := sess.Post(ctx, msg("late"))
			Expect(err).NotTo(HaveOccurred())
			e.Observe("POST after the end %d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
			g, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("GET after the end %d %q", g.Status, g.Body)
			Expect(g.Status).To(Equal(http.StatusBadRequest))
			e.Observe("WebSocket: %s", expectNoWSSession(ctx, e, e.C.WSQuery(sess.Query()...)))
		}, framework.Polling)
	})
}

// closeOnWS is shared by v4 and v3 (EIO-CLOSE-03).
func closeOnWS(s *framework.Suite) { CloseOnWebSocket(s) }

// CloseOnWebSocket declares the EIO-CLOSE-03 spec for suite s: the one
// implementation that the Engine.IO v4 and v3 suites and the Socket.IO v5
// suite's Engine.IO layer share.
//
// Catalogue EIO-CLOSE-03: "1 received over a WS: the suite expects the
// session to close. Node ignores 1 on WS, so the suite case passes on Node
// only through the ping timeout (~pingInterval+pingTimeout). Harness: an
// immediate close conforms; for Node, expect the close within
// pingInterval+pingTimeout."
//
// The client first refreshes the heartbeat (v4: answers the server's first
// ping; v3: pings and reads the pong), so that the budget runs from a known
// point, then sends 1 and stays silent: a server that acts on the close
// packet closes at once, a server that ignores it (Node) closes through its
// ping timeout, pingInterval+pingTimeout after that last heartbeat. Both
// conform; a server that keeps the session past
// pingInterval+pingTimeout+grace does not. The report's measured time and
// observed text tell which of the two happened.
func CloseOnWebSocket(s *framework.Suite) {
	s.PerTransport([]framework.Transport{framework.WebSocket}, func(tr framework.Transport) {
		s.It("EIO-CLOSE-03", "ends a WebSocket session on a close packet, at the latest through the heartbeat within pingInterval+pingTimeout", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			wp := e.Timing.Within(e.Timing.PingInterval, "the first heartbeat within pingInterval")
			hctx, cancel := context.WithTimeout(ctx, wp.Max)
			defer cancel()
			if e.C.Version() == engineio.V3 {
				Expect(c.Send(ctx, pkt(engineio.Ping, ""))).To(Succeed())
				p, err := c.Next(hctx)
				Expect(err).NotTo(HaveOccurred(), "the pong to the client's ping (%s)", wp)
				Expect(p.Type).To(Equal(engineio.Pong), "the answer to a v3 client ping")
			} else {
				p, err := c.Next(hctx)
				Expect(err).NotTo(HaveOccurred(), "the server's first ping (%s)", wp)
				Expect(p.Type).To(Equal(engineio.Ping), "the first packet after the open packet on an idle session")
				Expect(c.Send(ctx, pkt(engineio.Pong, ""))).To(Succeed())
			}
			Expect(c.Send(ctx, pkt(engineio.Close, ""))).To(Succeed())
			sent := e.Rec.Since()
			hb := e.Timing.PingInterval + e.Timing.PingTimeout
			w := e.Timing.Within(hb, "pingInterval+pingTimeout after the close packet")
			e.Expect(`after "1" (the client silent from then on) the WebSocket closes: at once conforms; through the heartbeat (Node ignores "1" on WebSocket) within pingInterval+pingTimeout conforms too`)
			e.Budget(w)
			how := expectEndedSilent(ctx, c, w.Max, "the session must end after a close packet, at the latest through the heartbeat")
			d := e.Rec.Since() - sent
			e.Measured(how, d)
			if d < e.Timing.PingInterval-e.Timing.Tolerance(e.Timing.PingInterval) {
				e.Observe("%s %v after the close packet: the server acted on it", how, d.Round(time.Millisecond))
			} else {
				e.Observe("%s %v after the close packet: through the heartbeat (the close packet was ignored, as Node does)", how, d.Round(time.Millisecond))
			}
		}, tr)
	})
}
