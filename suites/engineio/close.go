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
		s.It("EIO-CLOSE-01", "ends a polling session on a close packet, releasing the parked GET with a noop and answering ok", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			parked := parkGet(ctx, e, sess)
			r, err := sess.Post(ctx, pkt(engineio.Close, ""))
			Expect(err).NotTo(HaveOccurred())
			parked.wait(ctx, time.Second)
			e.Expect(`POST "1" → 200 ok; the parked GET → 200 "6"; the next GET → 400`)
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
			Eventually(func(g Gomega) {
				r, err := sess.Post(ctx, msg("late"))
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(r.Status).To(Equal(http.StatusBadRequest))
			}).WithContext(ctx).WithTimeout(time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
			g, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(g.Status).To(Equal(http.StatusBadRequest))
			e.Observe("WebSocket: %s", expectNoWSSession(ctx, e, e.C.WSQuery(sess.Query()...)))
		}, framework.Polling)
	})
}

// closeOnWS is shared by v4 and v3 (EIO-CLOSE-03).
func closeOnWS(s *framework.Suite) {
	s.It("EIO-CLOSE-03", "ends a WebSocket session on a close packet, at the latest through the ping timeout", func(ctx context.Context, e *framework.Env) {
		c := open(ctx, e, framework.WebSocket)
		Expect(c.Send(ctx, pkt(engineio.Close, ""))).To(Succeed())
		sent := time.Now()
		win := e.Timing.Within(e.Timing.PingInterval+e.Timing.PingTimeout, "pingInterval+pingTimeout")
		e.Expect(`after "1", the WebSocket closes (immediately conforms; Node only through the ping timeout)`)
		e.Budget(win)
		how := expectEnded(ctx, c, win.Max, "the session must end after a close packet")
		e.Measured(how, time.Since(sent))
	}, framework.WebSocket)
}
