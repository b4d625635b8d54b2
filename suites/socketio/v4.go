package socketio

import (
	"context"
	"encoding/json"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

// v4Specs declares the Socket.IO v4 (socket.io 2.x over Engine.IO v3)
// specs; s carries proto:SIO4.
func v4Specs(s *framework.Suite) {
	Describe("disconnect", func() { engineCloseDisconnects(s, sio.V4) })
	s.PerTransport(both, func(tr framework.Transport) {
		// "It runs on EIO v3 (EIO=3)."
		s.It("SIO4-01", "serves Socket.IO v4 on an Engine.IO v3 session", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			e.Expect("EIO=3 handshake opens a session; / is joined and message is echoed")
			hs := ss.Conn().Handshake()
			e.Observe("open %s", hs.Raw)
			Expect(hs.Open.SID).NotTo(BeEmpty())
			joinMain4(ctx, e, ss)
			expectAlive(ctx, e, ss, "Socket.IO traffic over EIO=3")
		}, tr)

		// "Implicit main namespace: right after the EIO open, the server
		// sends 40 for / without waiting for a client CONNECT."
		s.It("SIO4-02", "joins the main namespace on its own right after the Engine.IO open", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			e.Expect("without any client packet: 40, then the auth event")
			r := nextRaw(ctx, e, ss, "implicit CONNECT for /")
			e.Observe("%q", r.Raw)
			Expect(r.Packet.Type).To(Equal(sio.Connect))
			Expect(r.Packet.Namespace()).To(Equal("/"))
		}, tr)

		// "CONNECT carries no JSON payload. Credentials ride in a query
		// string appended to the namespace ... Node turns that query into
		// handshake.auth."
		s.It("SIO4-03", "hands the namespace query of a CONNECT to the application", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			e.Expect(`40/custom?token=abc, → 40/custom, then 42/custom,["auth",{"token":"abc"}]`)
			sendText(ctx, ss, "0/custom?token=abc,")
			r := nextRaw(ctx, e, ss, "CONNECT reply for /custom")
			a := nextRaw(ctx, e, ss, "auth event in /custom")
			e.Observe("%q, %q", r.Raw, a.Raw)
			Expect(r.Packet.Type).To(Equal(sio.Connect))
			Expect(eventName(a.Packet)).To(Equal("auth"))
			Expect(a.Packet.Namespace()).To(Equal("/custom"))
			var args []any
			Expect(json.Unmarshal(a.Packet.Data, &args)).To(Succeed())
			Expect(args).To(HaveLen(2))
			Expect(args[1]).To(HaveKeyWithValue("token", "abc"))
		}, tr)

		// "The CONNECT reply has no sid (40, 40/admin,)."
		s.It("SIO4-04", "answers CONNECTs without a payload", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			main := nextRaw(ctx, e, ss, "implicit CONNECT for /")
			nextRaw(ctx, e, ss, "auth event")
			sendText(ctx, ss, "0/custom,")
			custom := nextRaw(ctx, e, ss, "CONNECT reply for /custom")
			e.Expect(`"0" and "0/custom," exactly`)
			e.Observe("%q, %q", main.Raw, custom.Raw)
			Expect(main.Raw).To(Equal("0"))
			Expect(custom.Raw).To(Equal("0/custom,"))
		}, tr)

		// "The socket id is the EIO sid for /."
		s.It("SIO4-04", "uses the Engine.IO sid as the socket id of the main namespace", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			requireExtended(ctx, e, ss)
			id := emitExt(ctx, ss, "ext:info")
			p := next(ctx, e, ss, "ext:info ack")
			expectAck(p, "/", id)
			var info []struct {
				ID     string `json:"id"`
				EIOSid string `json:"eioSid"`
				Proto  int    `json:"eioProtocol"`
			}
			Expect(json.Unmarshal(p.Data, &info)).To(Succeed())
			Expect(info).To(HaveLen(1))
			e.Expect("id == eioSid == %q, eioProtocol 3", ss.SID())
			e.Observe("%s", p.Data)
			Expect(info[0].ID).To(Equal(ss.SID()))
			Expect(info[0].Proto).To(Equal(3))
		}, tr, extended)

		// "Type 4 is named ERROR. Its payload is usually a JSON string."
		s.It("SIO4-05", "refuses an unknown namespace with an ERROR packet whose payload is a JSON string", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			e.Expect(`40/random, → 44/random,"Invalid namespace"`)
			sendText(ctx, ss, "0/random,")
			r := nextRaw(ctx, e, ss, "ERROR for /random")
			e.Observe("%q", r.Raw)
			Expect(r.Raw).To(Equal(`4/random,"Invalid namespace"`))
			expectAlive(ctx, e, ss, "after the ERROR")
		}, tr)

		s.It("SIO4-05", "sends a middleware refusal as ERROR carrying err.data or else err.message", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			requireExtended(ctx, e, ss)
			e.Expect(`40/ext-refuse?data=x, → 44/ext-refuse,"x"; 40/ext-refuse, → 44/ext-refuse,"refused"`)
			sendText(ctx, ss, "0/ext-refuse?data=x,")
			a := nextRaw(ctx, e, ss, "ERROR with data")
			sendText(ctx, ss, "0/ext-refuse,")
			b := nextRaw(ctx, e, ss, "ERROR without data")
			e.Observe("%q, %q", a.Raw, b.Raw)
			Expect(a.Raw).To(Equal(`4/ext-refuse,"x"`))
			Expect(b.Raw).To(Equal(`4/ext-refuse,"refused"`))
		}, tr, extended)

		// "BINARY_ACK exists in v4."
		s.It("SIO4-07", "acknowledges with a BINARY_ACK when the ack arguments hold binary", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			e.Expect(`452-789["message-with-ack",ph0,ph1]+2 attachments → 462-789[ph0,ph1] + 01 02 03 + 04 05 06`)
			sendText(ctx, ss, `52-789["message-with-ack",`+ph0+`,`+ph1+`]`, bin1, bin2)
			r := nextRaw(ctx, e, ss, "BINARY_ACK 789")
			e.Observe("%q %s", r.Raw, r.Packet)
			Expect(r.Raw).To(Equal(`62-789[` + ph0 + `,` + ph1 + `]`))
			Expect(r.Packet.Binary).To(Equal([][]byte{bin1, bin2}))
		}, tr)

		// The v5 behaviours that hold in v4 unchanged.
		s.It("SIO-EVT-05", "delivers event arguments of any JSON type in their order", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			e.Expect(`42["message",1,"2",{"3":[true]}] → exactly 42["message-back",1,"2",{"3":[true]}]`)
			sendText(ctx, ss, `2["message",1,"2",{"3":[true]}]`)
			r := nextRaw(ctx, e, ss, "message-back")
			e.Observe("%q", r.Raw)
			Expect(r.Raw).To(Equal(`2["message-back",1,"2",{"3":[true]}]`))
		}, tr)

		s.It("SIO-ACK-01", "acknowledges an EVENT with an id exactly once with that id", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			e.Expect(`42456["message-with-ack",1,"2",{"3":[false]}] → 43456[1,"2",{"3":[false]}]`)
			sendText(ctx, ss, `2456["message-with-ack",1,"2",{"3":[false]}]`)
			r := nextRaw(ctx, e, ss, "ACK 456")
			e.Observe("%q", r.Raw)
			Expect(r.Raw).To(Equal(`3456[1,"2",{"3":[false]}]`))
			expectAlive(ctx, e, ss, "after the ack (no duplicate ack)")
		}, tr)

		s.It("SIO-BIN-02", "follows a binary header with exactly the announced attachments in placeholder order", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			e.Expect(`452-["message-back",ph0,ph1] + 01 02 03 + 04 05 06`)
			r := binaryEcho(ctx, e, ss)
			e.Observe("%q %s", r.Raw, r.Packet)
			Expect(r.Raw).To(Equal(`52-["message-back",` + ph0 + `,` + ph1 + `]`))
			Expect(r.Packet.Binary).To(Equal([][]byte{bin1, bin2}))
		}, tr)

		// "DISCONNECT 1 or 1/nsp, ends that namespace." socket.io 2.x
		// ignores packets for a namespace the client has no socket in and
		// replaces the socket on a redundant CONNECT (SIO4-06), and the
		// official contract gives /custom no handler: on the wire a server
		// that ignores 41/custom, looks the same as one that ends the
		// namespace. The extended contract shows the end: a watcher of
		// /custom (ext:watch) is told of the socket's disconnect, for the
		// reason "client namespace disconnect".
		s.It("SIO-DISC-01", "ends a custom namespace on DISCONNECT, as a watcher of that namespace is told, while the main namespace stays joined", func(ctx context.Context, e *framework.Env) {
			a := open4(ctx, e, framework.WebSocket)
			joinMain4(ctx, e, a)
			requireExtended(ctx, e, a)
			join(ctx, e, a, "/custom", nil)
			watch(ctx, e, a, "/")
			watch(ctx, e, a, "/custom")

			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			join(ctx, e, ss, "/custom", nil)
			id := "/custom#" + ss.SID() // SIO4-04
			e.Expect(`41/custom, → no reply; / still answers; watcher A gets ext:disconnected {"id":%q,"nsp":"/custom","reason":"client namespace disconnect"}`, id)
			sendText(ctx, ss, "1/custom,")
			expectAlive(ctx, e, ss, "after leaving /custom")
			e.Observe(`after 41/custom, the next packet was the message-back on "/": no reply to the DISCONNECT, "/" still joined`)
			got := awaitDisconnected(ctx, e, a, map[string]string{"/custom": id})
			e.Observe("watcher A was told that %s disconnected, reason %q", id, got["/custom"])
			Expect(got["/custom"]).To(Equal("client namespace disconnect"), "the /custom socket must end because of the client's DISCONNECT")
		}, tr, extended)

		// "Any Socket.IO decode or validation failure closes the EIO
		// connection."
		s.It("SIO-ERR-01", "closes the session on an EVENT whose payload fails validation", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			e.Expect("42{} → close")
			sendBad(ctx, e, ss, "2{}")
			expectClosed(ctx, e, ss, "invalid EVENT payload")
		}, tr)

		// "A type digit outside 0–6, or a non-digit type, → close."
		s.It("SIO-ENC-07", "closes the session on an unknown packet type", func(ctx context.Context, e *framework.Env) {
			ss := open4(ctx, e, tr)
			joinMain4(ctx, e, ss)
			e.Expect("4abc → close")
			sendBad(ctx, e, ss, "abc")
			expectClosed(ctx, e, ss, "unknown packet type")
		}, tr)
	})
}
