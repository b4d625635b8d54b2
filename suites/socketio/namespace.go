package socketio

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

func namespaceV5(s *framework.Suite, opts Options) {
	Describe("namespaces", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "The main namespace / always exists."
			s.It("SIO-NSP-01", "accepts a CONNECT to the main namespace after a custom namespace was joined first", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/custom", nil)
				e.Expect("40/custom, then 40 → both accepted")
				reply := join(ctx, e, ss, "/", nil)
				e.Observe("%s", reply)
				sidOf(reply)
			}, tr)

			// "Several namespaces share one EIO session. Each has its own
			// Socket.IO sid, and packets are routed by their namespace
			// field."
			s.It("SIO-NSP-02", "multiplexes namespaces on one session, each with its own sid, routing packets by namespace", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				main := sidOf(join(ctx, e, ss, "/", nil))
				custom := sidOf(join(ctx, e, ss, "/custom", nil))
				e.Expect("distinct sids for / and /custom; message in / answered in /")
				e.Observe("sid / %q, sid /custom %q", main, custom)
				Expect(custom).NotTo(Equal(main))
				emit(ctx, ss, "/", "message", "to-main")
				p := next(ctx, e, ss, "message-back in /")
				expectEvent(p, "/", "message-back", "to-main")
			}, tr)

			// "(v5) A client may join a custom namespace without joining /."
			s.It("SIO-NSP-03", "lets a client join a custom namespace without joining the main namespace", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				e.Expect(`40/custom, → 40/custom,{"sid":...}, then 42/custom,["auth",{}]; with {"token":"abc"} the auth event carries it`)
				sendText(ctx, ss, "0/custom,")
				r := nextRaw(ctx, e, ss, "CONNECT reply for /custom")
				e.Observe("%q", r.Raw)
				Expect(r.Raw).To(HavePrefix("0/custom,"))
				sidOf(r.Packet)
				a := nextRaw(ctx, e, ss, "auth event in /custom")
				Expect(a.Raw).To(Equal(`2/custom,["auth",{}]`))
				ss2 := open(ctx, e, tr)
				sendText(ctx, ss2, `0/custom,{"token":"abc"}`)
				r = nextRaw(ctx, e, ss2, "CONNECT reply for /custom with auth")
				Expect(r.Packet.Type).To(Equal(sio.Connect))
				a = nextRaw(ctx, e, ss2, "auth event in /custom")
				Expect(a.Raw).To(Equal(`2/custom,["auth",{"token":"abc"}]`))
			}, tr)

			// "Namespace names match exactly, case-sensitively; /custom/ is
			// not /custom."
			s.It("SIO-NSP-04", "matches namespace names exactly and case-sensitively", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				e.Expect("40/Custom, and 40/custom/, → CONNECT_ERROR Invalid namespace")
				for _, n := range []string{"/Custom", "/custom/"} {
					sendText(ctx, ss, "0"+n+",")
					p := next(ctx, e, ss, "answer to CONNECT "+n)
					e.Observe("%s", p)
					Expect(p.Type).To(Equal(sio.ConnectError), "CONNECT %s must be refused", n)
					Expect(p.Namespace()).To(Equal(n))
				}
			}, tr)

			// "Any non-CONNECT packet for a namespace not joined (or already
			// left) → close the EIO connection."
			// An ACK too: a server that looks ACKs up by id before it
			// checks the namespace would drop one it never asked for.
			s.It("SIO-NSP-05", "closes the session on an EVENT or an ACK for a namespace that was not joined", func(ctx context.Context, e *framework.Env) {
				cases := []string{`2/custom,["message","x"]`, `3/custom,1[]`}
				e.Expect("each of 4%q after joining / but not /custom → close", cases)
				for _, c := range cases {
					By(c)
					ss := open(ctx, e, tr)
					join(ctx, e, ss, "/", nil)
					sendBad(ctx, e, ss, c)
					expectClosed(ctx, e, ss, "4"+c+" for a namespace not joined")
				}
			}, tr)

			s.It("SIO-NSP-05", "closes the session on an EVENT for a namespace the client has left", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				join(ctx, e, ss, "/custom", nil)
				sendText(ctx, ss, "1/custom,")
				// Node removes the socket on a later tick: make sure the
				// DISCONNECT was handled before the EVENT is read.
				expectAlive(ctx, e, ss, "after 41/custom,")
				e.Expect(`41/custom, then 42/custom,["message","x"] → close`)
				sendBad(ctx, e, ss, `2/custom,["message","x"]`)
				expectClosed(ctx, e, ss, "EVENT for a namespace already left")
			}, tr)

			// "Leaving one namespace leaves the others untouched."
			s.It("SIO-NSP-06", "keeps the main namespace working after the client leaves a custom namespace", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				sendText(ctx, ss, "0/custom")
				joined(ctx, e, ss, "/custom")
				e.Expect(`41/custom then 42["message","message to main namespace"] → 42["message-back","message to main namespace"]`)
				sendText(ctx, ss, "1/custom")
				sendText(ctx, ss, `2["message","message to main namespace"]`)
				r := nextRaw(ctx, e, ss, "message-back in /")
				e.Observe("%q", r.Raw)
				Expect(r.Raw).To(Equal(`2["message-back","message to main namespace"]`))
			}, tr)

			// "After the client has left all namespaces, Node keeps the EIO
			// session (the heartbeat goes on and connectTimeout is not
			// re-armed)."
			s.It("SIO-NSP-07", "keeps the Engine.IO session with its heartbeat after the client left every namespace, without re-arming connectTimeout", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				sendText(ctx, ss, "1")
				pings := ss.Pings()
				e.Expect("after 41: no packet; the session stays open past connectTimeout %v while pings are answered", opts.ConnectTimeout)
				d := e.Timing.Scaled(opts.ConnectTimeout) + e.Timing.Grace(opts.ConnectTimeout)
				e.Budget(framework.Window{Max: d, Why: "connectTimeout ×scale + grace"})
				Consistently(func() []string { return packetsAndEnd(ss) }).WithTimeout(d).WithPolling(10*time.Millisecond).
					Should(BeEmpty(), "the server must neither answer 41 nor close the session")
				Expect(ss.Pings()).To(BeNumerically(">", pings), "the heartbeat must go on")
				reply := join(ctx, e, ss, "/", nil)
				e.Observe("pings %d → %d over %v; rejoined with %s", pings, ss.Pings(), d, reply)
			}, tr, SpecTimeout(connectSpecTimeout(s, opts)))
		})

		// Extended: a broadcast in "/" reaches another session's "/" socket
		// with the main namespace on the wire, not its /custom socket.
		s.PerTransport(both, func(tr framework.Transport) {
			s.It("SIO-NSP-02", "delivers a namespace broadcast only to the sockets of that namespace", func(ctx context.Context, e *framework.Env) {
				a := open(ctx, e, tr)
				join(ctx, e, a, "/", nil)
				requireExtended(ctx, e, a)
				b := open(ctx, e, tr)
				join(ctx, e, b, "/", nil)
				join(ctx, e, b, "/custom", nil)
				room := "siospec-nsp02-" + a.SID()
				id := emitExt(ctx, b, "ext:join", room)
				expectAck(next(ctx, e, b, "ext:join ack"), "/", id)
				e.Expect(`ext:broadcast {"room":R} from A → B receives 42["nsp-check",1] in / once, nothing in /custom`)
				id = emitExt(ctx, a, "ext:broadcast", sio.Object{{Key: "room", Value: room}}, "nsp-check", 1)
				expectAck(next(ctx, e, a, "ext:broadcast ack"), "/", id)
				p := next(ctx, e, b, "the broadcast")
				e.Observe("%s", p)
				expectEvent(p, "/", "nsp-check", 1)
				expectSilentAndOpen(ctx, e, b, "nothing else may reach B (no copy in /custom)")
			}, tr, extended)

			// Extended: leaving /custom keeps the "/" socket in its rooms.
			s.It("SIO-NSP-06", "keeps the main namespace's room membership after the client leaves a custom namespace", func(ctx context.Context, e *framework.Env) {
				a := open(ctx, e, tr)
				join(ctx, e, a, "/", nil)
				requireExtended(ctx, e, a)
				join(ctx, e, a, "/custom", nil)
				room := "siospec-nsp06-" + a.SID()
				id := emitExt(ctx, a, "ext:join", room)
				expectAck(next(ctx, e, a, "ext:join ack"), "/", id)
				sendText(ctx, a, "1/custom,")
				e.Expect(`after 41/custom, ext:broadcast {"room":R,"includeSelf":true} still reaches the / socket`)
				id = emitExt(ctx, a, "ext:broadcast", sio.Object{{Key: "room", Value: room}, {Key: "includeSelf", Value: true}}, "still-here")
				p := next(ctx, e, a, "the broadcast to the room")
				e.Observe("%s", p)
				expectEvent(p, "/", "still-here")
				expectAck(next(ctx, e, a, "ext:broadcast ack"), "/", id)
			}, tr, extended)
		})
	})
}
