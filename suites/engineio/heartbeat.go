package engineio

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

func heartbeatV4(s *framework.Suite) {
	Describe("heartbeat", func() {
		ServerHeartbeat(s)

		s.PerTransport(all, func(tr framework.Transport) {
			s.It("EIO-HB-07", "sends pings without data", func(ctx context.Context, e *framework.Env) {
				c := open(ctx, e, tr)
				var raw string
				if w := c.WS(); w != nil {
					f, err := w.Next(ctx)
					Expect(err).NotTo(HaveOccurred())
					raw = string(f.Data)
				} else {
					r, _, err := c.Poll().Get(ctx)
					Expect(err).NotTo(HaveOccurred())
					raw = string(r.Body)
				}
				e.Expect(`the ping is exactly "2"`)
				e.Observe("%q", raw)
				Expect(raw).To(Equal("2"))
			}, tr)

			s.It("EIO-HB-05", "schedules the next ping pingInterval after a late pong", func(ctx context.Context, e *framework.Env) {
				c := open(ctx, e, tr)
				Expect(c.Next(ctx)).To(beAPing())
				delay := e.Timing.PingTimeout / 2
				e.Expect("pong %v late: the next ping pingInterval after the pong, not after the ping", delay)
				e.Idle(ctx, delay)
				Expect(c.Send(ctx, pkt(engineio.Pong, ""))).To(Succeed())
				pongAt := time.Now()
				win := e.Timing.Around(e.Timing.PingInterval, "pingInterval after the pong")
				e.Budget(win)
				cctx, cancel := context.WithTimeout(ctx, win.Max)
				defer cancel()
				p, err := c.Next(cctx)
				Expect(err).NotTo(HaveOccurred(), "the next ping (%s)", win)
				took := time.Since(pongAt)
				e.Measured("next ping", took)
				e.Observe("%v %v after the pong", p, took.Round(time.Millisecond))
				Expect(p).To(beAPing())
				Expect(e.InWindow(win, took)).To(BeTrue(), "next ping %v after the pong, outside %v", took, win)
			}, tr)

			s.It("EIO-HB-06", "ends a v4 session that receives a ping from the client", func(ctx context.Context, e *framework.Env) {
				c := open(ctx, e, tr)
				e.Expect(`after a client ping "2" (the wrong heartbeat direction in v4), the session ends`)
				sendUnjudged(ctx, e, c, pkt(engineio.Ping, ""))
				expectEnded(ctx, e, c, "the session must end")
			}, tr)
		})

		s.It("EIO-HB-08", "postpones its next ping after an unsolicited pong", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, framework.WebSocket)
			w := c.WS()
			step := e.Timing.PingInterval / 2
			var lastPong time.Time
			for range 5 {
				Expect(w.Send(pkt(engineio.Pong, ""))).To(Succeed())
				lastPong = time.Now()
				e.Idle(ctx, step)
			}
			var pings int
			for _, f := range w.Frames() {
				if f.ParseErr == nil && !f.Binary && f.Packet.Type == engineio.Ping {
					pings++
				}
			}
			e.Expect("no ping while unsolicited pongs come every pingInterval/2; once they stop, a ping pingInterval after the last one")
			e.Observe("%d pings in %v of unsolicited pongs", pings, 5*step)
			Expect(pings).To(BeZero())
			// Silence alone would pass a server that never pings: once the
			// pongs stop, the ping must come, one pingInterval after the last
			// pong.
			win := e.Timing.Around(e.Timing.PingInterval, "pingInterval after the last pong")
			e.Budget(win)
			cctx, cancel := context.WithTimeout(ctx, win.Max-time.Since(lastPong))
			defer cancel()
			p, err := c.Next(cctx)
			Expect(err).NotTo(HaveOccurred(), "a ping must follow once the unsolicited pongs stop (%s)", win)
			took := time.Since(lastPong)
			e.Measured("ping after the last pong", took)
			Expect(p).To(beAPing())
			Expect(e.InWindow(win, took)).To(BeTrue(), "ping %v after the last pong, outside %v", took, win)
		}, framework.WebSocket)

		s.It("EIO-HB-10", "ends a polling session whose client never polls for the ping", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			idle := e.Timing.Scaled(e.Timing.PingInterval+e.Timing.PingTimeout) + e.Timing.Grace(e.Timing.PingInterval+e.Timing.PingTimeout)
			e.Expect("no GET for pingInterval+pingTimeout+grace (%v): the next GET → 400", idle)
			e.Idle(ctx, idle)
			r, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("GET %d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
		}, framework.Polling)
	})
}

// beAPing matches a text ping whatever data it carries: the specs of the
// heartbeat's timing judge when pings come, EIO-HB-07 what they carry.
func beAPing() types.GomegaMatcher {
	return And(HaveField("Type", engineio.Ping), HaveField("Binary", false))
}

// lastFrameAt returns when the last frame before the close arrived (the
// ping the client did not answer).
func lastFrameAt(w *framework.WSConn) time.Duration {
	fs := w.Frames()
	if len(fs) == 0 {
		return 0
	}
	return fs[len(fs)-1].At
}

// ServerHeartbeat declares EIO-HB-01 (a ping every pingInterval) and
// EIO-HB-03 (the session ends pingTimeout after an unanswered ping) for a
// v4 session in each transport state: polling, WebSocket, and a WebSocket
// upgraded from polling, where a server that keeps its heartbeat on the
// polling transport stops pinging.
func ServerHeartbeat(s *framework.Suite) {
	s.PerTransport(all, func(tr framework.Transport) {
		s.It("EIO-HB-01", "pings every pingInterval, the first ping pingInterval after the open packet", func(ctx context.Context, e *framework.Env) {
			// Each gap is measured from a moment before the server
			// can have started its timer (before the handshake
			// request, before the pong is sent), so a late observation
			// can make a gap look long, never short.
			last := time.Now()
			c := open(ctx, e, tr)
			win := e.Timing.Around(e.Timing.PingInterval, "pingInterval")
			e.Expect("3 pings, each pingInterval after the open packet or the previous pong")
			e.Budget(win)
			for i := range 3 {
				p, err := c.Next(ctx)
				Expect(err).NotTo(HaveOccurred())
				took := time.Since(last)
				e.Observe("ping %d after %v: %v", i+1, took.Round(time.Millisecond), p)
				Expect(p).To(beAPing(), "packet %d", i+1)
				Expect(e.InWindow(win, took)).To(BeTrue(), "ping %d after %v, outside %v", i+1, took, win)
				last = time.Now()
				Expect(c.Send(ctx, pkt(engineio.Pong, ""))).To(Succeed())
			}
		}, tr)

		s.It("EIO-HB-03", "ends the session when no pong arrives within pingTimeout of a ping", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			p, err := c.Next(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(p).To(beAPing())
			pingAt := e.Rec.Since()
			win := e.Timing.Around(e.Timing.PingTimeout, "pingTimeout")
			e.Expect("no pong: the session ends pingTimeout after the ping")
			e.Budget(win)
			how := expectEndedSilent(ctx, c, win.Max+e.Timing.Grace(win.Max), "the session must end")
			end := e.Rec.Since()
			if w := c.WS(); w != nil {
				pingAt, end = lastFrameAt(w), w.ClosedAt()
			}
			took := end - pingAt
			e.Measured("session ended ("+how+")", took)
			// Late: judged from the ping as observed. Early: judged from
			// the earliest moment the server can have sent the ping,
			// pingInterval after the handshake request (transcript time
			// 0), so a ping observed late cannot make the close look
			// early.
			Expect(took).To(BeNumerically("<=", win.Max), "ended %v after the ping, outside %v", took, win)
			Expect(end-e.Timing.PingInterval).To(BeNumerically(">=", win.Min),
				"ended %v after the open, earlier than pingInterval+pingTimeout allows (%v)", end, win)
		}, tr)
	})
}
