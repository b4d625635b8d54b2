package socketio

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

func encodingV5(s *framework.Suite) {
	Describe("encoding", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "Every Socket.IO packet is the payload of exactly one EIO
			// message packet."
			s.It("SIO-ENC-01", "sends each Socket.IO packet as exactly one Engine.IO message", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				sendText(ctx, ss, "0")
				e.Expect("CONNECT reply and auth event arrive as two Engine.IO messages, each one whole Socket.IO packet")
				a := nextRaw(ctx, e, ss, "CONNECT reply")
				b := nextRaw(ctx, e, ss, "auth event")
				e.Observe("%q, %q", a.Raw, b.Raw)
				for _, r := range []Received{a, b} {
					p, err := sio.Decode([]byte(r.Raw))
					Expect(err).NotTo(HaveOccurred(), "message %q must be one whole packet", r.Raw)
					Expect(p.Equal(r.Packet)).To(BeTrue())
				}
				Expect(a.Packet.Type).To(Equal(sio.Connect))
				Expect(b.Packet.Type).To(Equal(sio.Event))
			}, tr)

			// "String form: type digit; ...; then, if the namespace is not /,
			// the namespace followed by ,; then an optional ack id ...; then
			// an optional compact JSON payload."
			s.It("SIO-ENC-02", "writes the namespace followed by a comma before the payload of a custom namespace's packets", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				sendText(ctx, ss, "0/custom,")
				a := nextRaw(ctx, e, ss, "CONNECT reply")
				b := nextRaw(ctx, e, ss, "auth event")
				e.Expect(`0/custom,{"sid":"..."} and 2/custom,["auth",{}]`)
				e.Observe("%q, %q", a.Raw, b.Raw)
				Expect(a.Raw).To(MatchRegexp(`^0/custom,\{"sid":"[^"]+"\}$`))
				Expect(b.Raw).To(Equal(`2/custom,["auth",{}]`))
			}, tr)

			// The same order for an ACK: namespace, comma, ack id, JSON.
			// The official contract gives /custom no event with an ack;
			// the extended ext:watch on /custom acks with no arguments.
			s.It("SIO-ENC-02", "writes the ack id after the namespace and its comma in a custom namespace's ACK", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				join(ctx, e, ss, "/custom", nil)
				id := ss.AckID()
				e.Expect(`42/custom,%d["ext:watch"] → exactly 43/custom,%d[]`, id, id)
				sendText(ctx, ss, fmt.Sprintf(`2/custom,%d["ext:watch"]`, id))
				r := nextRaw(ctx, e, ss, "ACK of ext:watch in /custom")
				e.Observe("%q", r.Raw)
				Expect(r.Raw).To(Equal(fmt.Sprintf(`3/custom,%d[]`, id)))
			}, tr, extended)

			// "Encoders leave out the namespace /. Decoders accept / spelled
			// out, and a namespace ended by end-of-string with no comma."
			s.It("SIO-ENC-03", "leaves the main namespace out and accepts it spelled out", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				e.Expect(`40/, → 40{"sid"...} (no "/,"); 42/,["message","x"] → 42["message-back","x"]`)
				sendText(ctx, ss, "0/,")
				a := nextRaw(ctx, e, ss, "CONNECT reply")
				nextRaw(ctx, e, ss, "auth event")
				sendText(ctx, ss, `2/,["message","x"]`)
				b := nextRaw(ctx, e, ss, "message-back")
				e.Observe("%q, %q", a.Raw, b.Raw)
				Expect(a.Raw).To(HavePrefix(`0{"sid":`))
				Expect(b.Raw).To(Equal(`2["message-back","x"]`))
			}, tr)

			// A rejoin after "41/custom" would not show that the
			// DISCONNECT was read: a server that ignores it and takes a
			// second CONNECT passes too. An EVENT for the namespace left
			// must close the session (SIO-NSP-05), so that shows it.
			s.It("SIO-ENC-03", "accepts a namespace ended by the end of the packet without a comma", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				e.Expect(`40/custom → 40/custom,{"sid"...}; 41/custom leaves it, so that 42/custom,["message","x"] then closes the session`)
				sendText(ctx, ss, "0/custom")
				joined(ctx, e, ss, "/custom")
				e.Observe("40/custom was read as a CONNECT to /custom")
				sendText(ctx, ss, "1/custom")
				barrier(ctx, e, ss)
				sendBad(ctx, e, ss, `2/custom,["message","siospec-left"]`)
				expectEndedWithout(ctx, e, ss, "an EVENT on /custom after 41/custom (41/custom must have been read as leaving /custom)")
			}, tr)

			// "A namespace starts with / and cannot contain ,; there is no
			// escaping."
			s.It("SIO-ENC-04", "ends the namespace at the first comma", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`40/cus,tom, → never a CONNECT reply for "/cus,tom" (Node: payload "tom," is invalid → close)`)
				sendBad(ctx, e, ss, "0/cus,tom,")
				cctx, cancel := context.WithTimeout(ctx, closeWindow(e).Max)
				defer cancel()
				p, err := ss.Next(cctx)
				if err == nil {
					e.Observe("%s", p)
					Expect(p.Type).NotTo(Equal(sio.Connect), "a namespace cannot contain a comma")
					Expect(p.Namespace()).NotTo(Equal("/cus,tom"))
					return
				}
				e.Observe("%v", err)
				Expect(ss.Ended()).NotTo(BeNil(), "the server must close or refuse, not stay silent")
			}, tr)

			// "The ack id is the run of ASCII digits right after the
			// namespace comma (or after the type). The JSON starts at the
			// first non-digit."
			s.It("SIO-ENC-05", "reads the ack id as the digit run before the JSON", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`4212["message-with-ack",3] → 4312[3]`)
				sendText(ctx, ss, `212["message-with-ack",3]`)
				r := nextRaw(ctx, e, ss, "ACK 12")
				e.Observe("%q", r.Raw)
				Expect(r.Raw).To(Equal(`312[3]`))
			}, tr)

			// "Invalid JSON in the payload → the connection is closed."
			// An ACK too: a server that reads an ACK's arguments only when
			// a callback waits for its id never sees the bad JSON of a
			// stray one.
			s.It("SIO-ENC-06", "closes the session on an EVENT or an ACK whose payload is not valid JSON", func(ctx context.Context, e *framework.Env) {
				cases := []string{`2["message"`, `2["message",]`, `2[message]`, `31[1,]`}
				e.Expect("each of 4%q → close", cases)
				for _, c := range cases {
					By(c)
					ss := open(ctx, e, tr)
					join(ctx, e, ss, "/", nil)
					sendBad(ctx, e, ss, c)
					expectClosed(ctx, e, ss, "invalid JSON 4"+c)
				}
			}, tr)

			// "A type digit outside 0–6, or a non-digit type, → close."
			s.It("SIO-ENC-07", "closes the session on an unknown packet type", func(ctx context.Context, e *framework.Env) {
				cases := []string{`abc`, `7[]`, `9`}
				e.Expect("each of 4%q after joining / → close", cases)
				for _, c := range cases {
					By(c)
					ss := open(ctx, e, tr)
					join(ctx, e, ss, "/", nil)
					sendBad(ctx, e, ss, c)
					expectClosed(ctx, e, ss, "unknown type 4"+c)
				}
			}, tr)

			// "Node writes JSON like JSON.stringify: no whitespace, object
			// keys in insertion order ... The suite compares exact strings."
			s.It("SIO-ENC-08", "writes compact JSON with object keys in their original order", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`42["message",1,"2",{"3":[true]}] → exactly 42["message-back",1,"2",{"3":[true]}]; 42[ "message" , {"b":1, "a":"é"} ] → exactly 42["message-back",{"b":1,"a":"é"}]`)
				sendText(ctx, ss, `2["message",1,"2",{"3":[true]}]`)
				a := nextRaw(ctx, e, ss, "message-back")
				sendText(ctx, ss, `2[ "message" , {"b":1, "a":"\u00e9"} ]`)
				b := nextRaw(ctx, e, ss, "message-back")
				e.Observe("%q, %q", a.Raw, b.Raw)
				Expect(a.Raw).To(Equal(`2["message-back",1,"2",{"3":[true]}]`))
				Expect(b.Raw).To(Equal(`2["message-back",{"b":1,"a":"é"}]`))
			}, tr)

			s.It("SIO-ENC-08", "writes an ACK payload byte for byte as JSON.stringify does", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`42456["message-with-ack",1,"2",{"3":[false]}] → exactly 43456[1,"2",{"3":[false]}]`)
				sendText(ctx, ss, `2456["message-with-ack",1,"2",{"3":[false]}]`)
				r := nextRaw(ctx, e, ss, "ACK 456")
				e.Observe("%q", r.Raw)
				Expect(r.Raw).To(Equal(`3456[1,"2",{"3":[false]}]`))
			}, tr)

			// "Payload checks by type in Node's decoder ... Failing a check
			// → close."
			s.It("SIO-ENC-09", "closes the session on an ACK or CONNECT_ERROR payload of the wrong shape", func(ctx context.Context, e *framework.Env) {
				cases := []string{`31{}`, `31"x"`, `31true`, `4[1]`}
				e.Expect("each of 4%q after joining / → close", cases)
				for _, c := range cases {
					By(c)
					ss := open(ctx, e, tr)
					join(ctx, e, ss, "/", nil)
					sendBad(ctx, e, ss, c)
					expectClosed(ctx, e, ss, "payload shape 4"+c)
				}
			}, tr)

			// "42 with no payload at all is accepted silently by Node."
			s.It("SIO-ENC-10", "tolerates an EVENT without payload as Node does", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("42 → nothing; the session keeps working")
				sendText(ctx, ss, "2")
				expectAlive(ctx, e, ss, "after 42 without payload")
			}, tr)

			// "Ack ids and attachment counts are read as JavaScript numbers
			// (safe up to 2^53)."
			s.It("SIO-ENC-11", "echoes the largest safe JavaScript integer as an ack id unchanged", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect(`429007199254740991["message-with-ack"] → 439007199254740991[]`)
				sendText(ctx, ss, `29007199254740991["message-with-ack"]`)
				r := nextRaw(ctx, e, ss, "ACK 2^53-1")
				e.Observe("%q", r.Raw)
				Expect(r.Raw).To(Equal(`39007199254740991[]`))
			}, tr)
		})
	})
}

func errorsV5(s *framework.Suite) {
	Describe("invalid input", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "Any Socket.IO decode or validation failure closes the EIO
			// connection."
			s.It("SIO-ERR-01", "closes the session when the first packet does not decode", func(ctx context.Context, e *framework.Env) {
				opened := e.Rec.Since()
				ss := open(ctx, e, tr)
				e.Expect("4abc before any CONNECT → close, before connectTimeout could end the session")
				sendBad(ctx, e, ss, "abc")
				expectClosedBeforeConnectTimeout(ctx, e, ss, opened, "undecodable first packet")
			}, tr)

			// "A v5 CONNECT_ERROR payload is an object {message, data?}."
			s.It("SIO-ERR-03", "sends CONNECT_ERROR payloads as an object with a string message and at most data besides", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				sendText(ctx, ss, "0/random,")
				p := next(ctx, e, ss, "CONNECT_ERROR for /random")
				e.Expect(`{"message":"<string>"} with no key but message and data`)
				e.Observe("%s", p)
				Expect(p.Type).To(Equal(sio.ConnectError))
				var m map[string]any
				Expect(p.Unmarshal(&m)).To(Succeed(), "payload must be a JSON object")
				Expect(m).To(HaveKeyWithValue("message", BeAssignableToTypeOf("")))
				for k := range m {
					Expect(k).To(BeElementOf("message", "data"))
				}
			}, tr)

			// "An empty EIO message (4) sent to a Socket.IO server is a
			// decode error → close."
			s.It("SIO-ERR-04", "closes the session on an empty Engine.IO message", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("4 (empty message) → close")
				if err := ss.SendEIO(ctx, engineio.TextPacket(engineio.Message, "")); err != nil {
					e.Rec.Note("send failed: " + err.Error())
				}
				expectClosed(ctx, e, ss, "empty message")
			}, tr)
		})
	})
}
