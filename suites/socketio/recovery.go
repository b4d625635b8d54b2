package socketio

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

// csrReply is a CONNECT reply of a recovery-enabled server.
type csrReply struct {
	SID string `json:"sid"`
	PID string `json:"pid"`
}

// joinCSR joins "/" with auth and returns the reply's sid and pid; it skips
// the spec as unsupported when the reply has no pid (recovery off, as in
// the FX-SIO5 contract).
func joinCSR(ctx context.Context, e *framework.Env, s *Session, auth any) csrReply {
	GinkgoHelper()
	reply := join(ctx, e, s, "/", auth)
	var r csrReply
	Expect(reply.Unmarshal(&r)).To(Succeed(), "CONNECT reply %s", reply)
	if r.PID == "" {
		Skip(noRecovery(e))
	}
	return r
}

// noRecovery is the reason a recovery spec is unsupported when the CONNECT
// reply has no pid. The fixture contract (FX-SIO5) configures no recovery,
// so these rules concern another configuration: they are judged only
// against a target that shows recovery on (a pid), as testdata/sio5-csr.js
// does. A target that shows a pid under the contract is judged here and
// fails SIO-CONN-02 ("the CONNECT reply has only sid").
func noRecovery(e *framework.Env) string {
	ct := e.Cfg.Contract()
	if ct.Recovery == framework.Off {
		return ct.Unsupported("configures no connection state recovery and the CONNECT reply has no pid", "a server with recovery on")
	}
	return "unsupported: connection state recovery is not enabled (the CONNECT reply has no pid)"
}

// lastOffset returns the offset string a recovery-enabled server appends to
// a plain event (NODE-CSR-02).
func lastOffset(p sio.Packet) string {
	GinkgoHelper()
	var arr []any
	Expect(p.Unmarshal(&arr)).To(Succeed())
	Expect(len(arr)).To(BeNumerically(">=", 2), "event %s has no offset argument", p)
	off, ok := arr[len(arr)-1].(string)
	Expect(ok).To(BeTrue(), "the last argument of %s must be the offset string", p)
	Expect(off).NotTo(BeEmpty())
	return off
}

func recoveryV5(s *framework.Suite) {
	Describe("connection state recovery", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "When on, the CONNECT reply is {"sid":"…","pid":"…"}."
			s.It("NODE-CSR-01", "adds a private pid next to sid in the CONNECT reply when recovery is enabled", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				sendText(ctx, ss, "0")
				p := next(ctx, e, ss, "CONNECT reply")
				var m map[string]any
				Expect(p.Unmarshal(&m)).To(Succeed())
				e.Observe("%s", p.Data)
				if _, ok := m["pid"]; !ok {
					Skip(noRecovery(e))
				}
				e.Expect(`{"sid":"<string>","pid":"<string>"} with pid != sid`)
				Expect(m).To(HaveLen(2))
				Expect(m["pid"]).To(BeAssignableToTypeOf(""))
				Expect(m["sid"]).To(BeAssignableToTypeOf(""))
				Expect(m["pid"]).NotTo(Equal(m["sid"]))
			}, tr)

			// "Every server→client EVENT that has no ack and is not volatile
			// gets an offset string appended as its last argument."
			s.It("NODE-CSR-02", "appends an offset as the last argument of plain events but not of acks", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				joinCSR(ctx, e, ss, nil)
				requireExtended(ctx, e, ss)
				e.Expect(`ext:emit-back ["x"],1 → 42["x",1,"<offset>"], then ack exactly [1]`)
				id := emitExt(ctx, ss, "ext:emit-back", []any{"x"}, 1)
				p := next(ctx, e, ss, "emitted event")
				a := next(ctx, e, ss, "ext:emit-back ack")
				e.Observe("%s then %s", p, a)
				Expect(eventName(p)).To(Equal("x"))
				lastOffset(p)
				var arr []any
				Expect(p.Unmarshal(&arr)).To(Succeed())
				Expect(arr).To(HaveLen(3), "name, the argument, the offset")
				expectAck(a, "/", id)
				Expect(string(a.Data)).To(Equal("[1]"))
			}, tr, extended)

			// "The server restores only if pid is known ... The session
			// keeps the same sid and pid, its rooms" and "Missed packets are
			// sent as EVENTs before the CONNECT reply."
			recoverSession := func(ctx context.Context, e *framework.Env) (old csrReply, room string, missed []sio.Packet, reply sio.Packet, again *Session) {
				GinkgoHelper()
				a := openWith(ctx, e, tr, nil)
				old = joinCSR(ctx, e, a, nil)
				requireExtended(ctx, e, a)
				room = "siospec-csr-" + old.SID
				id := emitExt(ctx, a, "ext:join", room)
				expectAck(next(ctx, e, a, "ext:join ack"), "/", id)
				id = emitExt(ctx, a, "ext:emit-back", []any{"seen"})
				off := lastOffset(next(ctx, e, a, "event with an offset"))
				expectAck(next(ctx, e, a, "ext:emit-back ack"), "/", id)
				By("the transport of A ends (a recoverable reason: transport close)")
				if tr == framework.Polling {
					// An aborted poll is noticed only at the next ping
					// timeout; a close packet ends the session at once.
					Expect(a.SendEIO(ctx, engineio.TextPacket(engineio.Close, ""))).To(Succeed())
					w := closeWindow(e)
					cctx, cancel := context.WithTimeout(ctx, w.Max)
					_, err := a.WaitEnded(cctx)
					cancel()
					Expect(err).NotTo(HaveOccurred(), "the polling session must end after its close packet (%s)", w)
				}
				a.Close()
				b := open(ctx, e, tr)
				join(ctx, e, b, "/", nil)
				id = emitExt(ctx, b, "ext:broadcast", sio.Object{{Key: "room", Value: room}}, "missed", 2)
				expectAck(next(ctx, e, b, "ext:broadcast ack"), "/", id)
				By("A reconnects with its pid and last offset")
				again = open(ctx, e, tr)
				c, err := sio.NewConnect("/", sio.Object{{Key: "pid", Value: old.PID}, {Key: "offset", Value: off}})
				Expect(err).NotTo(HaveOccurred())
				send(ctx, again, c)
				for range 4 {
					p := next(ctx, e, again, "replayed events, then the CONNECT reply")
					if p.Type == sio.Connect {
						reply = p
						return
					}
					missed = append(missed, p)
				}
				Fail("no CONNECT reply after 4 packets")
				return
			}

			s.It("NODE-CSR-04", "restores a recoverable session with its sid, pid and rooms", func(ctx context.Context, e *framework.Env) {
				old, room, _, reply, again := recoverSession(ctx, e)
				var r csrReply
				Expect(reply.Unmarshal(&r)).To(Succeed())
				e.Expect("reply {sid,pid} equal to the old %s/%s; the room %s still joined", old.SID, old.PID, room)
				e.Observe("reply %s", reply.Data)
				Expect(r).To(Equal(old))
				next(ctx, e, again, "the fixture's auth event after recovery")
				id := emitExt(ctx, again, "ext:join", "siospec-csr-other")
				p := next(ctx, e, again, "ext:join ack")
				expectAck(p, "/", id)
				Expect(string(p.Data)).To(ContainSubstring(room), "rooms after recovery: %s", p.Data)
			}, tr, extended)

			s.It("NODE-CSR-05", "replays the events missed while disconnected before the CONNECT reply", func(ctx context.Context, e *framework.Env) {
				_, _, missed, reply, _ := recoverSession(ctx, e)
				e.Expect(`42["missed",2,"<offset>"] before the CONNECT reply`)
				e.Observe("%s then %s", describe(missed...), reply)
				Expect(missed).To(HaveLen(1))
				Expect(eventName(missed[0])).To(Equal("missed"))
				lastOffset(missed[0])
			}, tr, extended)

			// "Nothing is kept after a client or server namespace
			// disconnect."
			s.It("NODE-CSR-06", "does not restore a session the client left with a DISCONNECT", func(ctx context.Context, e *framework.Env) {
				a := open(ctx, e, tr)
				old := joinCSR(ctx, e, a, nil)
				requireExtended(ctx, e, a)
				id := emitExt(ctx, a, "ext:emit-back", []any{"seen"})
				off := lastOffset(next(ctx, e, a, "event with an offset"))
				expectAck(next(ctx, e, a, "ext:emit-back ack"), "/", id)
				sendText(ctx, a, "1")
				barrier(ctx, e, a)
				e.Expect("after 41, CONNECT with the old pid and offset → a new sid and pid")
				b := open(ctx, e, tr)
				reply := join(ctx, e, b, "/", sio.Object{{Key: "pid", Value: old.PID}, {Key: "offset", Value: off}})
				var r csrReply
				Expect(reply.Unmarshal(&r)).To(Succeed())
				e.Observe("old %v, new %s", old, reply.Data)
				Expect(r.SID).NotTo(Equal(old.SID))
				Expect(r.PID).NotTo(Equal(old.PID))
			}, tr, extended)
		})
	})
}
