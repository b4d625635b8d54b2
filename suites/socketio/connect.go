package socketio

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

func connectV5(s *framework.Suite, opts Options) {
	Describe("connect", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "On success, the server answers with a CONNECT in that
			// namespace whose payload is {"sid":"<id>"}."
			s.It("SIO-CONN-02", "answers a CONNECT to the main namespace with a CONNECT whose payload holds exactly a string sid", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				e.Expect(`40 → 40{"sid":"<non-empty string>"} with no other key`)
				sendText(ctx, ss, "0")
				r := nextRaw(ctx, e, ss, "CONNECT reply")
				e.Observe("%q", r.Raw)
				Expect(r.Packet.Type).To(Equal(sio.Connect), "reply type")
				Expect(r.Packet.Namespace()).To(Equal("/"))
				sidOf(r.Packet)
			}, tr)

			// "The Socket.IO sid is separate from the EIO sid."
			s.It("SIO-CONN-03", "issues a Socket.IO sid different from the Engine.IO sid", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				reply := join(ctx, e, ss, "/", nil)
				sid := sidOf(reply)
				e.Expect("Socket.IO sid != Engine.IO sid %q", ss.SID())
				e.Observe("Socket.IO sid %q", sid)
				Expect(sid).NotTo(Equal(ss.SID()))
			}, tr)

			// "The CONNECT payload (auth) is an optional JSON object passed
			// to the application. Node hands the app {} when there is none."
			s.It("SIO-CONN-04", "hands the CONNECT payload to the application, and {} when there is none", func(ctx context.Context, e *framework.Env) {
				e.Expect(`40 → auth event {}; 40{"token":"123"} on a new session → auth event {"token":"123"}`)
				a := open(ctx, e, tr)
				sendText(ctx, a, "0")
				Expect(next(ctx, e, a, "CONNECT reply").Type).To(Equal(sio.Connect))
				ev := next(ctx, e, a, "auth event")
				e.Observe("%s", ev)
				expectEvent(ev, "/", "auth", sio.Object{})
				b := open(ctx, e, tr)
				sendText(ctx, b, `0{"token":"123"}`)
				Expect(next(ctx, e, b, "CONNECT reply").Type).To(Equal(sio.Connect))
				ev = next(ctx, e, b, "auth event")
				e.Observe("%s", ev)
				Expect(string(ev.Data)).To(Equal(`["auth",{"token":"123"}]`))
			}, tr)

			// "CONNECT to an unknown namespace → 44/<nsp>,{"message":"Invalid
			// namespace"}. The EIO connection stays open."
			s.It("SIO-CONN-05", "refuses a CONNECT to an unknown namespace with CONNECT_ERROR Invalid namespace and keeps the session", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				e.Expect(`40/random → 44/random,{"message":"Invalid namespace"}; the session then still joins /`)
				sendText(ctx, ss, "0/random")
				r := nextRaw(ctx, e, ss, "answer to CONNECT /random")
				e.Observe("%q", r.Raw)
				Expect(r.Raw).To(Equal(`4/random,{"message":"Invalid namespace"}`))
				join(ctx, e, ss, "/", nil)
				expectAlive(ctx, e, ss, "after the refused CONNECT")
			}, tr)

			// "If the first Socket.IO packet for a namespace is not a
			// CONNECT, close the EIO connection." An ACK too: a server
			// that looks ACKs up by id before it checks the session's
			// state would drop one it never asked for.
			s.It("SIO-CONN-07", "closes the session when the first packet is an EVENT or an ACK instead of a CONNECT", func(ctx context.Context, e *framework.Env) {
				cases := []string{`2["message","x"]`, `31[]`}
				e.Expect("each of 4%q before any CONNECT → close, before connectTimeout could end the session", cases)
				for _, c := range cases {
					By(c)
					opened := e.Rec.Since()
					ss := open(ctx, e, tr)
					sendBad(ctx, e, ss, c)
					expectClosedBeforeConnectTimeout(ctx, e, ss, opened, "4"+c+" before CONNECT")
				}
			}, tr)

			// "If no namespace is joined within connectTimeout, close."
			s.It("SIO-CONN-08", "closes a session that joins no namespace within connectTimeout although the client answers pings", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				ct := opts.ConnectTimeout
				w := e.Timing.Around(ct, "connectTimeout")
				e.Expect("close after connectTimeout %v (not earlier: pings are answered, so no ping timeout)", ct)
				e.Budget(w)
				cctx, cancel := context.WithTimeout(ctx, w.Max)
				defer cancel()
				end, err := ss.WaitEnded(cctx)
				Expect(err).NotTo(HaveOccurred(), "the server must close a session that joined nothing within %s", w)
				e.Measured("closed ("+end.How+")", end.At)
				e.Observe("closed after %v: %s", end.At.Round(time.Millisecond), end.How)
				Expect(end.At).To(BeNumerically(">=", w.Min), "closed before connectTimeout: the close has another cause")
				Expect(ss.Unread()).To(BeEmpty(), "the server sent Socket.IO packets unprompted")
			}, tr, SpecTimeout(connectSpecTimeout(s, opts)))

			// "An invalid CONNECT payload (array, string, number, null,
			// malformed JSON) → close."
			s.It("SIO-CONN-09", "closes the session on a CONNECT whose payload is not a JSON object", func(ctx context.Context, e *framework.Env) {
				cases := []string{`0[1]`, `0"x"`, `0null`, `0{"a":`}
				e.Expect("each of %q → close", cases)
				for _, c := range cases {
					By(c)
					opened := e.Rec.Since()
					ss := open(ctx, e, tr)
					sendBad(ctx, e, ss, c)
					expectClosedBeforeConnectTimeout(ctx, e, ss, opened, "CONNECT payload 4"+c)
				}
			}, tr)

			// "A second CONNECT for a namespace already joined → close."
			s.It("SIO-CONN-10", "closes the session on a second CONNECT to a namespace already joined", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("40 twice → close")
				sendBad(ctx, e, ss, "0")
				expectClosed(ctx, e, ss, "duplicate CONNECT")
			}, tr)

			// "The CONNECT reply comes before anything the application
			// emits in its connection handler."
			s.It("SIO-CONN-11", "sends the CONNECT reply before the application's first emit", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				sendText(ctx, ss, "0")
				a := next(ctx, e, ss, "first packet after CONNECT")
				b := next(ctx, e, ss, "second packet after CONNECT")
				e.Expect(`CONNECT reply, then 42["auth",{}]`)
				e.Observe("%s", describe(a, b))
				Expect(a.Type).To(Equal(sio.Connect))
				Expect(eventName(b)).To(Equal("auth"))
			}, tr)

			// "A CONNECT_ERROR packet sent by a client → close."
			s.It("SIO-CONN-17", "closes the session when the client sends a CONNECT_ERROR", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`44{"message":"x"} from the client → close`)
				sendBad(ctx, e, ss, `4{"message":"x"}`)
				expectClosed(ctx, e, ss, "client CONNECT_ERROR")
			}, tr)
		})

		// "When app middleware refuses: CONNECT_ERROR {"message":<text>,
		// "data":<any>}, with data dropped if undefined. The EIO connection
		// stays open."
		s.PerTransport(both, func(tr framework.Transport) {
			s.It("SIO-CONN-06", "refuses a CONNECT vetoed by middleware with CONNECT_ERROR {message,data}, drops undefined data and keeps the session", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				e.Expect(`40/ext-refuse,{"data":{"code":1}} → 44/ext-refuse,{"message":"refused","data":{"code":1}}; 40/ext-refuse, → 44/ext-refuse,{"message":"refused"}`)
				sendText(ctx, ss, `0/ext-refuse,{"data":{"code":1}}`)
				r := nextRaw(ctx, e, ss, "answer to the refused CONNECT with data")
				sendText(ctx, ss, `0/ext-refuse,`)
				r2 := nextRaw(ctx, e, ss, "answer to the refused CONNECT without data")
				e.Observe("%q, %q", r.Raw, r2.Raw)
				Expect(r.Raw).To(Equal(`4/ext-refuse,{"message":"refused","data":{"code":1}}`))
				Expect(r2.Raw).To(Equal(`4/ext-refuse,{"message":"refused"}`))
				expectAlive(ctx, e, ss, "after two refused CONNECTs")
			}, tr, extended)
		})
	})
}

// expectClosedBeforeConnectTimeout asserts that the server ends a session
// that joined no namespace because of the packet just sent: within the
// close window, and before connectTimeout could have ended it for having
// joined nothing. A server that ignores the packet is closed by
// connectTimeout, which is no proof when the close window is as long as
// connectTimeout. The session's timer starts after opened (taken before
// the handshake), so a close seen less than connectTimeout after opened
// cannot be connectTimeout's.
func expectClosedBeforeConnectTimeout(ctx context.Context, e *framework.Env, s *Session, opened time.Duration, why string) {
	GinkgoHelper()
	ct := e.Cfg.ConnectTimeout
	if ct <= 0 {
		ct = DefaultConnectTimeout
	}
	expectClosed(ctx, e, s, why)
	after := s.Ended().At - opened
	e.Observe("closed %v after the handshake began; connectTimeout %v", after.Round(time.Millisecond), ct)
	Expect(after).To(BeNumerically("<", ct), "%s: the session ended %v after the handshake began, when connectTimeout %v may have closed it, so the close does not show that the packet was refused", why, after.Round(time.Millisecond), ct)
}

// connectSpecTimeout bounds the connectTimeout spec: the usual spec timeout
// plus connectTimeout, both scaled.
func connectSpecTimeout(s *framework.Suite, opts Options) time.Duration {
	scale := s.Config().TimeScale
	if scale <= 0 {
		scale = 1
	}
	return s.Config().ForSpec(framework.SIO5).SpecTimeout() + time.Duration(float64(opts.ConnectTimeout)*scale)
}
