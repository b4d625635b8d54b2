package socketio

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

func eventV5(s *framework.Suite) {
	Describe("events", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "An EVENT payload is a non-empty JSON array: element 0 is the
			// event name, the rest are arguments."
			// An event without arguments is the edge: its array holds the
			// name alone, never the bare name.
			s.It("SIO-EVT-01", "sends events whose payload is a non-empty array led by the event name", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				sendText(ctx, ss, "0")
				next(ctx, e, ss, "CONNECT reply")
				p := next(ctx, e, ss, "auth event")
				e.Expect(`the auth event's payload: an array whose first element is the string "auth"; 42["message"] (no arguments) → 42["message-back"]`)
				var arr []any
				Expect(p.Unmarshal(&arr)).To(Succeed())
				Expect(arr).NotTo(BeEmpty())
				Expect(arr[0]).To(Equal("auth"))
				sendText(ctx, ss, `2["message"]`)
				r := nextRaw(ctx, e, ss, "message-back without arguments")
				e.Observe("%s, then %q", p, r.Raw)
				Expect(r.Raw).To(Equal(`2["message-back"]`), "an event without arguments is an array holding the name")
			}, tr)

			// "A payload that is not an array, or is empty, → close."
			s.It("SIO-EVT-02", "closes the session on an EVENT whose payload is not a non-empty array", func(ctx context.Context, e *framework.Env) {
				cases := []string{`2{}`, `2[]`, `2"message"`, `2true`}
				e.Expect("each of 4%s after joining / → close", cases)
				for _, c := range cases {
					By(c)
					ss := open(ctx, e, tr)
					join(ctx, e, ss, "/", nil)
					sendBad(ctx, e, ss, c)
					expectClosed(ctx, e, ss, "EVENT payload 4"+c)
				}
			}, tr)

			// "Never use reserved names as the event name ... the server
			// closes."
			s.It("SIO-EVT-03", "closes the session on an EVENT named with a reserved name", func(ctx context.Context, e *framework.Env) {
				names := []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
				e.Expect(`42["<reserved>"] → close, for %q`, names)
				for _, n := range names {
					By(n)
					ss := open(ctx, e, tr)
					join(ctx, e, ss, "/", nil)
					sendBad(ctx, e, ss, fmt.Sprintf(`2[%q]`, n))
					expectClosed(ctx, e, ss, "reserved event name "+n)
				}
			}, tr)

			// "The event name may be a string or a number; any other JSON
			// type → invalid → close."
			s.It("SIO-EVT-04", "accepts a numeric event name and closes the session on a name of any other non-string type", func(ctx context.Context, e *framework.Env) {
				e.Expect(`42[1,"x"] accepted (session stays); 42[null], 42[true], 42[{}], 42[[]] → close`)
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				sendText(ctx, ss, `2[1,"x"]`)
				expectAlive(ctx, e, ss, `after 42[1,"x"]`)
				for _, c := range []string{`2[null]`, `2[true]`, `2[{}]`, `2[[]]`} {
					By(c)
					bad := open(ctx, e, tr)
					join(ctx, e, bad, "/", nil)
					sendBad(ctx, e, bad, c)
					expectClosed(ctx, e, bad, "event name in 4"+c)
				}
			}, tr)

			// "Arguments are any JSON values (null, nested objects and
			// arrays) and keep their order."
			s.It("SIO-EVT-05", "delivers event arguments of any JSON type in their order", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				args := []any{1, "2", sio.Object{{Key: "3", Value: []any{true}}}, nil, []any{1.5, sio.Object{}}, "é✓"}
				e.Expect(`42["message",1,"2",{"3":[true]},null,[1.5,{}],"é✓"] → message-back with the same arguments`)
				emit(ctx, ss, "/", "message", args...)
				p := next(ctx, e, ss, "message-back")
				e.Observe("%s", p)
				expectEvent(p, "/", "message-back", args...)
			}, tr)

			// "Packets within one connection are delivered in send order."
			s.It("SIO-EVT-06", "handles the packets of one session in the order they were sent", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				const n = 20
				e.Expect("20 message events 0..19 → message-back 0..19 in order")
				for i := range n {
					emit(ctx, ss, "/", "message", i)
				}
				var got []any
				for range n {
					p := next(ctx, e, ss, "message-back")
					a, err := p.Args()
					Expect(err).NotTo(HaveOccurred())
					got = append(got, a...)
				}
				e.Observe("%v", got)
				want := make([]any, n)
				for i := range n {
					want[i] = float64(i)
				}
				Expect(got).To(Equal(want))
			}, tr)

			// Extended: server-initiated events come in emit order.
			s.It("SIO-EVT-06", "sends the events the application emits in emit order", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				names := []any{"e1", "e2", "e3", "e4", "e5"}
				e.Expect(`ext:emit-back ["e1".."e5"],7 → 42["e1",7] .. 42["e5",7], then ack [5]`)
				id := emitExt(ctx, ss, "ext:emit-back", names, 7)
				var got []string
				for _, n := range names {
					p := next(ctx, e, ss, "emitted event")
					got = append(got, p.String())
					expectEvent(p, "/", n.(string), 7)
				}
				a := next(ctx, e, ss, "ext:emit-back ack")
				e.Observe("%v then %s", got, a)
				expectAck(a, "/", id)
				Expect(string(a.Data)).To(Equal("[5]"))
			}, tr, extended)
		})
	})
}

func ackV5(s *framework.Suite) {
	Describe("acknowledgements", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "The receiver of an EVENT ... that carries an id answers once
			// with an ACK ... carrying the same id and namespace."
			s.It("SIO-ACK-01", "acknowledges an EVENT with an id exactly once with that id", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`42456["message-with-ack",1,"2",{"3":[false]}] → 43456[1,"2",{"3":[false]}] once`)
				sendText(ctx, ss, `2456["message-with-ack",1,"2",{"3":[false]}]`)
				p := next(ctx, e, ss, "ACK 456")
				e.Observe("%s", p)
				expectAck(p, "/", 456)
				Expect(p.Type).To(Equal(sio.Ack))
				Expect(jsonValue(p)).To(Equal([]any{1.0, "2", sio.Object{{Key: "3", Value: []any{false}}}}))
				// A second ack would come before the echo of the next event.
				expectAlive(ctx, e, ss, "after the ack (no duplicate ack)")
			}, tr)

			// "The ACK payload is a JSON array, possibly empty ([])."
			// The edges of "an array": no argument, and one argument that
			// an encoder might send unwrapped.
			s.It("SIO-ACK-02", "sends an ACK payload as an array: empty without arguments, wrapping a single argument", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`421["message-with-ack"] → 431[]; 422["message-with-ack","one"] → 432["one"]`)
				sendText(ctx, ss, `21["message-with-ack"]`)
				r := nextRaw(ctx, e, ss, "ACK 1")
				// A session of its own: the shape is judged here, the
				// number of acks per event by SIO-ACK-01.
				s2 := open(ctx, e, tr)
				join(ctx, e, s2, "/", nil)
				sendText(ctx, s2, `22["message-with-ack","one"]`)
				r2 := nextRaw(ctx, e, s2, "ACK 2")
				e.Observe("%q, %q", r.Raw, r2.Raw)
				Expect(r.Raw).To(Equal(`31[]`))
				Expect(r2.Raw).To(Equal(`32["one"]`))
			}, tr)

			// "Id 0 is valid."
			s.It("SIO-ACK-04", "acknowledges an EVENT whose ack id is 0", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`420["message-with-ack","zero"] → 430["zero"]`)
				sendText(ctx, ss, `20["message-with-ack","zero"]`)
				p := next(ctx, e, ss, "ACK 0")
				e.Observe("%s", p)
				expectAck(p, "/", 0)
				Expect(string(p.Data)).To(Equal(`["zero"]`))
			}, tr)

			// "An ACK with an unknown or already-used id is ignored, not
			// fatal."
			s.It("SIO-ACK-05", "ignores an ACK with an id it never issued", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`43999[] → nothing; the session keeps working`)
				sendText(ctx, ss, `3999[]`)
				expectAlive(ctx, e, ss, "after an ACK with an unknown id")
			}, tr)

			// "A malformed ack id → close."
			s.It("SIO-ACK-06", "closes the session on an EVENT with a malformed ack id", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`42abc["message-with-ack",1,"2",{"3":[false]}] → close`)
				sendBad(ctx, e, ss, `2abc["message-with-ack",1,"2",{"3":[false]}]`)
				expectClosed(ctx, e, ss, "malformed ack id")
			}, tr)

			// "An ACK with no payload (431) is tolerated by Node."
			s.It("SIO-ACK-08", "tolerates an ACK without payload", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("431 → nothing; the session keeps working")
				sendText(ctx, ss, `31`)
				expectAlive(ctx, e, ss, "after an ACK without payload")
			}, tr)

			// "The server must ack every event it receives, or the client
			// never moves past that event."
			s.It("NODE-ACK-02", "acknowledges every event of a burst, each with its own id", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("8 message-with-ack events with ids 10..17 → acks 10..17")
				for i := range 8 {
					sendText(ctx, ss, fmt.Sprintf(`2%d["message-with-ack",%d]`, 10+i, i))
				}
				var ids []uint64
				for range 8 {
					p := next(ctx, e, ss, "ack")
					Expect(p.Type).To(Equal(sio.Ack), "%s", p)
					ids = append(ids, p.ID)
				}
				e.Observe("ack ids %v", ids)
				Expect(ids).To(Equal([]uint64{10, 11, 12, 13, 14, 15, 16, 17}))
			}, tr)

			// Extended: the server's own EVENT with an id gets the client's
			// ACK delivered to its callback.
			s.It("SIO-ACK-01", "delivers the client's ACK to the callback of the server's EVENT with the same id", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				e.Expect(`42["ext:server-ack","q",7] → 42N["q",7]; 43N["answer"] → 42["ext:server-ack-result","answer"]`)
				emit(ctx, ss, "/", "ext:server-ack", "q", 7)
				p := next(ctx, e, ss, "the server's EVENT with an ack id")
				expectEvent(p, "/", "q", 7)
				Expect(p.HasID).To(BeTrue(), "the server's EVENT must carry an ack id: %s", p)
				a, _ := sio.NewAck("/", p.ID, "answer")
				send(ctx, ss, a)
				r := next(ctx, e, ss, "ext:server-ack-result")
				e.Observe("%s then %s", p, r)
				expectEvent(r, "/", "ext:server-ack-result", "answer")
			}, tr, extended)

			// Extended: "Node keeps one counter per namespace shared by all
			// sockets ... a peer must echo ids and never predict them."
			s.It("SIO-ACK-07", "draws the ack ids of its own EVENTs from one counter shared by the namespace's sockets", func(ctx context.Context, e *framework.Env) {
				a := open(ctx, e, tr)
				join(ctx, e, a, "/", nil)
				requireExtended(ctx, e, a)
				b := open(ctx, e, tr)
				join(ctx, e, b, "/", nil)
				e.Expect("ext:server-ack on A then on B → two EVENTs with different ack ids")
				emit(ctx, a, "/", "ext:server-ack", "qa")
				pa := next(ctx, e, a, "A's server EVENT")
				emit(ctx, b, "/", "ext:server-ack", "qb")
				pb := next(ctx, e, b, "B's server EVENT")
				e.Observe("A %s, B %s", pa, pb)
				Expect(pa.HasID && pb.HasID).To(BeTrue(), "both EVENTs must carry ack ids")
				Expect(pb.ID).NotTo(Equal(pa.ID), "ids from one per-namespace counter differ across sockets")
				// Echoing the ids delivers each answer to its own socket.
				ack, _ := sio.NewAck("/", pb.ID, "b")
				send(ctx, b, ack)
				expectEvent(next(ctx, e, b, "B's result"), "/", "ext:server-ack-result", "b")
			}, tr, extended)

			// Extended: "An ack the Node server requested is never invoked
			// after the socket disconnects."
			s.It("SIO-ACK-09", "never invokes an ack callback after its socket disconnected", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				emit(ctx, ss, "/", "ext:server-ack", "late")
				p := next(ctx, e, ss, "the server's EVENT with an ack id")
				Expect(p.HasID).To(BeTrue())
				sendText(ctx, ss, "1")
				barrier(ctx, e, ss)
				join(ctx, e, ss, "/", nil)
				e.Expect("41, rejoin /, then 43N[\"late\"] → no ext:server-ack-result")
				a, _ := sio.NewAck("/", p.ID, "late")
				send(ctx, ss, a)
				expectSilentAndOpen(ctx, e, ss, "the old socket's callback must not run for the new socket")
			}, tr, extended)
		})
	})
}
