package socketio

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

const (
	ph0 = `{"_placeholder":true,"num":0}`
	ph1 = `{"_placeholder":true,"num":1}`
)

var (
	bin1 = []byte{1, 2, 3}
	bin2 = []byte{4, 5, 6}
)

// binaryEcho sends the official suite's binary message event and returns the
// server's answer (header packet with its attachments) and its raw header.
func binaryEcho(ctx context.Context, e *framework.Env, s *Session) Received {
	GinkgoHelper()
	sendText(ctx, s, `52-["message",`+ph0+`,`+ph1+`]`, bin1, bin2)
	return nextRaw(ctx, e, s, "message-back with two attachments")
}

func binaryV5(s *framework.Suite) {
	Describe("binary", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "An event or ack carrying binary uses type 5 or 6. Each binary
			// value is replaced by {"_placeholder":true,"num":N} ... in
			// depth-first order."
			s.It("SIO-BIN-01", "sends binary arguments as a BINARY_EVENT with placeholders numbered in order", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`452-["message",ph0,ph1]+01 02 03+04 05 06 → 452-["message-back",ph0,ph1]; 452-["message",{"a":ph0},ph1] → 452-["message-back",{"a":ph0},ph1]`)
				r := binaryEcho(ctx, e, ss)
				// A flat list numbers alike in any traversal; a binary value
				// nested before a shallower one tells depth-first (0 for the
				// nested one) from level order.
				sendText(ctx, ss, `52-["message",{"a":`+ph0+`},`+ph1+`]`, bin1, bin2)
				nested := nextRaw(ctx, e, ss, "message-back with a nested attachment")
				e.Observe("%q, then %q", r.Raw, nested.Raw)
				Expect(r.Raw).To(Equal(`52-["message-back",` + ph0 + `,` + ph1 + `]`))
				Expect(nested.Raw).To(Equal(`52-["message-back",{"a":`+ph0+`},`+ph1+`]`), "placeholders numbered in depth-first order")
			}, tr)

			// "The header gives the attachment count N-, and exactly N
			// binary EIO messages follow, in num order."
			s.It("SIO-BIN-02", "follows a binary header with exactly the announced attachments in placeholder order", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("two attachments, in placeholder order: the placeholders resolve to 01 02 03 then 04 05 06; nothing more")
				r := binaryEcho(ctx, e, ss)
				e.Observe("%s", r.Packet)
				Expect(r.Packet.Type).To(Equal(sio.BinaryEvent))
				Expect(r.Packet.Binary).To(HaveLen(2), "exactly the announced attachments")
				// The numbering itself is SIO-BIN-01's: whatever numbers the
				// header holds, attachment N must be the value of
				// placeholder N.
				args, err := r.Packet.Args()
				Expect(err).NotTo(HaveOccurred())
				Expect(args).To(Equal([]any{bin1, bin2}), "attachment N is the value of placeholder N")
				expectAlive(ctx, e, ss, "after the binary echo (no extra attachment)")
			}, tr)

			// "Attachments follow the header directly ... Node: a text
			// packet during reassembly → close."
			s.It("SIO-BIN-03", "closes the session when a text packet arrives while attachments are pending", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`451-["message",ph0] then 42["message","x"] → close`)
				sendText(ctx, ss, `51-["message",`+ph0+`]`)
				sendBad(ctx, e, ss, `2["message","x"]`)
				expectClosed(ctx, e, ss, "text packet during reassembly")
			}, tr)

			// "A binary EIO message with no binary header pending → close."
			s.It("SIO-BIN-04", "closes the session on a binary message with no binary header pending", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("a stray binary message 01 02 03 → close")
				if err := ss.SendEIO(ctx, engineio.BinaryMessage(bin1)); err != nil {
					e.Rec.Note("send failed: " + err.Error())
				}
				expectClosed(ctx, e, ss, "stray attachment")
			}, tr)

			// "A placeholder whose num is not an integer in [0, N) → close."
			s.It("SIO-BIN-05", "closes the session on a placeholder index outside the attachment count", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`451-["message",{"_placeholder":true,"num":5}] + 1 attachment → close`)
				sendBad(ctx, e, ss, `51-["message",{"_placeholder":true,"num":5}]`, bin1)
				expectClosed(ctx, e, ss, "placeholder out of range")
			}, tr)

			// "50-[...] (zero attachments) is accepted and delivered at
			// once." (Errata 3: socket.io-parser 4.2.7 rejects it.)
			s.It("SIO-BIN-06", "delivers a BINARY_EVENT with zero attachments at once", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`450-["message","z"] → message-back "z"`)
				sendBad(ctx, e, ss, `50-["message","z"]`)
				p := next(ctx, e, ss, "message-back for a zero-attachment BINARY_EVENT")
				e.Observe("%s", p)
				expectEvent(p, "/", "message-back", "z")
			}, tr)

			// "socket.io-parser ≥ 4.2.6 rejects more than 10 attachments per
			// packet."
			s.It("SIO-BIN-07", "closes the session on a binary packet announcing more than ten attachments", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				var phs []string
				var bins [][]byte
				for i := range 11 {
					phs = append(phs, fmt.Sprintf(`{"_placeholder":true,"num":%d}`, i))
					bins = append(bins, []byte{byte(i)})
				}
				e.Expect("4511-[...11 placeholders] + 11 attachments → close")
				sendBad(ctx, e, ss, `511-["message",`+strings.Join(phs, ",")+`]`, bins...)
				expectClosed(ctx, e, ss, "11 attachments")
			}, tr)

			// "A malformed attachment header (5-, 5x-, a negative count, a
			// missing -) → close."
			s.It("SIO-BIN-08", "closes the session on a malformed attachment count", func(ctx context.Context, e *framework.Env) {
				cases := []string{`5-["message"]`, `5x-["message"]`, `5-1-["message"]`, `51["message",` + ph0 + `]`}
				e.Expect("each of 4%q → close", cases)
				for _, c := range cases {
					By(c)
					ss := open(ctx, e, tr)
					join(ctx, e, ss, "/", nil)
					sendBad(ctx, e, ss, c)
					expectClosed(ctx, e, ss, "attachment header 4"+c)
				}
			}, tr)

			// "Decoders accept the placeholder keys in any order."
			s.It("SIO-BIN-09", "accepts placeholders whose keys come in the other order", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`451-["message",{"num":0,"_placeholder":true}] + 01 02 03 → message-back with the attachment`)
				sendText(ctx, ss, `51-["message",{"num":0,"_placeholder":true}]`, bin1)
				p := next(ctx, e, ss, "message-back")
				e.Observe("%s", p)
				Expect(p.Type).To(Equal(sio.BinaryEvent))
				Expect(p.Binary).To(Equal([][]byte{bin1}))
			}, tr)

			// "Over polling, attachments are b<base64> EIO packets ... Over
			// WS, they are binary frames."
			s.It("SIO-BIN-10", "sends attachments as binary Engine.IO messages of the transport", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				r := binaryEcho(ctx, e, ss)
				Expect(r.Packet.Binary).To(HaveLen(2))
				var got []string
				for _, ev := range e.Rec.Events() {
					if ev.Dir == framework.DirS2C && ev.Kind == framework.KindHTTPResponse && (strings.HasPrefix(string(ev.Data), "b") || strings.Contains(string(ev.Data), "\x1eb")) {
						got = append(got, "polling body with b<base64>: "+fmt.Sprintf("%q", ev.Data))
					}
					if ev.Dir == framework.DirS2C && ev.Kind == framework.KindWSFrame && strings.HasPrefix(ev.Summary, "binary frame") {
						got = append(got, ev.Summary)
					}
				}
				e.Observe("%v", got)
				if tr == framework.Polling {
					e.Expect("the attachments as b<base64> packets in a polling body")
					Expect(got).NotTo(BeEmpty(), "no b<base64> packet in any polling response")
				} else {
					e.Expect("two binary WebSocket frames")
					Expect(got).To(HaveLen(2))
				}
			}, tr)

			// "Node's encoder upgrades an EVENT or ACK that contains binary
			// to type 5 or 6 automatically."
			s.It("SIO-BIN-11", "promotes an application emit with binary arguments to a BINARY_EVENT", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				e.Expect(`ext:emit-back ["b"],<01 02 03> → 451-["b",ph0] + 01 02 03`)
				id := emitExt(ctx, ss, "ext:emit-back", []any{"b"}, bin1)
				r := nextRaw(ctx, e, ss, "the emitted binary event")
				e.Observe("%q %s", r.Raw, r.Packet)
				Expect(r.Raw).To(Equal(`51-["b",` + ph0 + `]`))
				Expect(r.Packet.Binary).To(Equal([][]byte{bin1}))
				expectAck(next(ctx, e, ss, "ext:emit-back ack"), "/", id)
			}, tr, extended)

			// "A placeholder-shaped object inside a plain type-2 EVENT is not
			// substituted."
			s.It("SIO-BIN-12", "treats a placeholder-shaped object in a plain EVENT as an ordinary object", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`42["message",ph0] → 42["message-back",ph0]`)
				sendText(ctx, ss, `2["message",`+ph0+`]`)
				r := nextRaw(ctx, e, ss, "message-back")
				e.Observe("%q", r.Raw)
				Expect(r.Raw).To(Equal(`2["message-back",` + ph0 + `]`))
			}, tr)

			// "If the ack arguments contain binary, send a BINARY_ACK with
			// placeholders."
			s.It("SIO-ACK-03", "acknowledges with a BINARY_ACK when the ack arguments hold binary", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`452-789["message-with-ack",ph0,ph1]+2 attachments → 462-789[ph0,ph1] + 01 02 03 + 04 05 06`)
				sendText(ctx, ss, `52-789["message-with-ack",`+ph0+`,`+ph1+`]`, bin1, bin2)
				r := nextRaw(ctx, e, ss, "BINARY_ACK 789")
				e.Observe("%q %s", r.Raw, r.Packet)
				Expect(r.Raw).To(Equal(`62-789[` + ph0 + `,` + ph1 + `]`))
				Expect(r.Packet.Binary).To(Equal([][]byte{bin1, bin2}))
			}, tr)

			// Extended: a BINARY_ACK from the client reaches the server's
			// callback with its binary.
			s.It("SIO-ACK-03", "delivers a client's BINARY_ACK with its attachments to the server's callback", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				emit(ctx, ss, "/", "ext:server-ack", "qbin")
				p := next(ctx, e, ss, "the server's EVENT with an ack id")
				Expect(p.HasID).To(BeTrue())
				e.Expect(`461-N[ph0] + 01 02 03 → 451-["ext:server-ack-result",ph0] + 01 02 03`)
				sendText(ctx, ss, fmt.Sprintf(`61-%d[%s]`, p.ID, ph0), bin1)
				r := next(ctx, e, ss, "ext:server-ack-result")
				e.Observe("%s", r)
				Expect(r.Type).To(Equal(sio.BinaryEvent))
				Expect(eventName(r)).To(Equal("ext:server-ack-result"))
				Expect(r.Binary).To(Equal([][]byte{bin1}))
			}, tr, extended)
		})
	})
}
