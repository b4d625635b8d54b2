package socketio

import (
	"context"
	"net/http"
	"sort"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

func disconnectV5(s *framework.Suite) {
	Describe("disconnect", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "DISCONNECT 1 or 1/nsp, ends that namespace. No reply is
			// expected; the EIO session may stay up."
			s.It("SIO-DISC-01", "ends the main namespace on DISCONNECT without replying, and the next packet is a ping", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				pings := ss.Pings()
				e.Expect("41 → no Socket.IO packet; the next thing from the server is a ping")
				sendText(ctx, ss, "1")
				w := e.Timing.Within(e.Timing.PingInterval, "a ping within pingInterval")
				e.Budget(w)
				cctx, cancel := context.WithTimeout(ctx, w.Max)
				defer cancel()
				Expect(ss.WaitPing(cctx, pings)).To(Succeed(), "a ping must arrive (%s)", w)
				e.Observe("unread packets %v", packetsAndEnd(ss))
				Expect(packetsAndEnd(ss)).To(BeEmpty(), "the server must not answer a DISCONNECT")
			}, tr)

			s.It("SIO-DISC-01", "ends a custom namespace on DISCONNECT while the main namespace stays joined", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				join(ctx, e, ss, "/custom", nil)
				e.Expect("41/custom, → no reply; / still answers; 40/custom, joins again")
				sendText(ctx, ss, "1/custom,")
				expectAlive(ctx, e, ss, "after leaving /custom")
				join(ctx, e, ss, "/custom", nil)
			}, tr)

			// "A DISCONNECT with a payload → invalid → close."
			s.It("SIO-DISC-02", "closes the session on a DISCONNECT that carries a payload", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("41{} → close")
				sendBad(ctx, e, ss, "1{}")
				expectClosed(ctx, e, ss, "DISCONNECT with payload")
			}, tr)

			// "A DISCONNECT for a namespace not joined → close."
			s.It("SIO-DISC-03", "closes the session on a DISCONNECT for a namespace that was not joined", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("41/custom, without joining /custom → close")
				sendBad(ctx, e, ss, "1/custom,")
				expectClosed(ctx, e, ss, "DISCONNECT for a namespace not joined")
			}, tr)

			// "A server-side namespace disconnect sends 41... and keeps the
			// EIO session."
			s.It("SIO-DISC-04", "sends DISCONNECT for a namespace the server disconnects and keeps the Engine.IO session", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				e.Expect(`42["ext:disconnect"] → 41; the session stays and 40 joins again`)
				emit(ctx, ss, "/", "ext:disconnect")
				p := next(ctx, e, ss, "the server's DISCONNECT")
				e.Observe("%s", p)
				Expect(p.Type).To(Equal(sio.Disconnect))
				Expect(p.Namespace()).To(Equal("/"))
				Expect(p.Data).To(BeNil(), "DISCONNECT carries no payload")
				join(ctx, e, ss, "/", nil)
				expectAlive(ctx, e, ss, "after the server-side namespace disconnect")
			}, tr, extended)

			// "disconnect(true) on the server sends a DISCONNECT for every
			// joined namespace, then closes the EIO session."
			s.It("SIO-DISC-05", "sends DISCONNECT for every joined namespace and then closes the session on a full server disconnect", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				join(ctx, e, ss, "/custom", nil)
				e.Expect(`42["ext:disconnect",true] → 41 and 41/custom, (any order), then the session closes`)
				emit(ctx, ss, "/", "ext:disconnect", true)
				var nsps []string
				for range 2 {
					p := next(ctx, e, ss, "a DISCONNECT")
					Expect(p.Type).To(Equal(sio.Disconnect), "%s", p)
					nsps = append(nsps, p.Namespace())
				}
				sort.Strings(nsps)
				e.Observe("DISCONNECT for %v", nsps)
				Expect(nsps).To(Equal([]string{"/", "/custom"}))
				expectClosed(ctx, e, ss, "after the DISCONNECTs")
			}, tr, extended)
		})
	})
}

func bufferV5(s *framework.Suite) {
	Describe("buffering", func() {
		// "EIO-level packets queued while a polling client has no GET
		// pending wait in the write buffer."
		s.It("NODE-BUF-02", "keeps the packets emitted while no GET is pending and delivers them in order with the next GETs", func(ctx context.Context, e *framework.Env) {
			ps, err := e.C.OpenPolling(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`with no GET pending: POST 40, 42["message","a"], 42["message","b"]; then GETs → CONNECT reply, auth, message-back a, message-back b`)
			for _, text := range []string{"0", `2["message","a"]`, `2["message","b"]`} {
				r, err := ps.Post(ctx, engineio.TextPacket(engineio.Message, text))
				Expect(err).NotTo(HaveOccurred())
				Expect(r.Status).To(Equal(http.StatusOK), "POST %q", text)
			}
			var got []string
			w := replyWindow(e)
			cctx, cancel := context.WithTimeout(ctx, w.Max)
			defer cancel()
			for len(got) < 4 {
				r, pkts, err := ps.Get(cctx)
				Expect(err).NotTo(HaveOccurred(), "GET (budget %s)", w)
				Expect(r.Status).To(Equal(http.StatusOK))
				for _, p := range pkts {
					switch p.Type {
					case engineio.Message:
						got = append(got, string(p.Data))
					case engineio.Ping:
						_, _ = ps.Post(ctx, engineio.TextPacket(engineio.Pong, ""))
					}
				}
			}
			e.Observe("%q", got)
			Expect(got).To(HaveLen(4))
			Expect(got[0]).To(HavePrefix(`0{"sid":`))
			Expect(got[1:]).To(Equal([]string{`2["auth",{}]`, `2["message-back","a"]`, `2["message-back","b"]`}))
		}, framework.Polling)
	})
}
