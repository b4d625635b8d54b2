package socketio

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	eiosuite "github.com/siospec/siospec/suites/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// eioLayerV5 declares the Engine.IO-level checks of the official SIO v5
// suite (TS-S5-01..16): the Engine.IO requirements as a Socket.IO server
// shows them under its own path, through the one implementation that the
// Engine.IO suites use (suites/engineio's exported declarers), before any
// namespace is joined where the rule allows it (so that every spec ends
// well within the fixture's connectTimeout). s carries proto:SIO5.
func eioLayerV5(s *framework.Suite) {
	Describe("Engine.IO layer", func() {
		eiosuite.OpenPacket(s)
		eiosuite.ServerHeartbeat(s)
		eiosuite.EIORequired(s)
		eiosuite.TransportRequired(s)
		eiosuite.HandshakeMethod(s)
		eiosuite.WebSocketEIORequired(s)
		eiosuite.WebSocketTransportRequired(s)
		eiosuite.CloseOnPolling(s)
		eiosuite.CloseOnWebSocket(s)
		eiosuite.UpgradeMoves(s, sioAlive)
	})
}

// sioAlive shows that a Socket.IO v5 session carries messages: a Socket.IO
// server echoes no Engine.IO message, but it answers a CONNECT to "/" with
// {"sid":...} followed by an auth event (the first round) and, once joined, a "message" event with
// "message-back" and the same arguments (the fixture contract, FX-SIO5).
var sioAlive = &eiosuite.Options{
	Answer: `a CONNECT to "/" answered with 0{"sid":...} and 2["auth",{}], later a "message" event with "message-back"`,
	Alive: func(ctx context.Context, e *framework.Env, c framework.Conn, round int) string {
		GinkgoHelper()
		if round == 0 {
			Expect(c.Send(ctx, engineio.TextPacket(engineio.Message, "0"))).To(Succeed(), "CONNECT to /")
			p := nextNonHeartbeat(ctx, e, c)
			Expect(p.Type).To(Equal(engineio.Message), "the CONNECT reply")
			Expect(string(p.Data)).To(HavePrefix(`0{"sid":`), "the CONNECT reply")
			// On "/" the fixture emits auth with the CONNECT payload
			// right after the reply.
			a := nextNonHeartbeat(ctx, e, c)
			Expect(string(a.Data)).To(Equal(`2["auth",{}]`), "the auth event after the CONNECT reply")
			return "CONNECT reply " + p.String() + ", then " + a.String()
		}
		arg := fmt.Sprintf("alive-%d", round)
		Expect(c.Send(ctx, engineio.TextPacket(engineio.Message, fmt.Sprintf(`2["message",%q]`, arg)))).To(Succeed(), "EVENT message")
		p := nextNonHeartbeat(ctx, e, c)
		Expect(p.Type).To(Equal(engineio.Message), "the message-back EVENT")
		Expect(string(p.Data)).To(Equal(fmt.Sprintf(`2["message-back",%q]`, arg)), "the message-back EVENT")
		return "message-back " + p.String()
	},
}

// nextNonHeartbeat returns the next packet that is not a ping (answered)
// or a noop.
func nextNonHeartbeat(ctx context.Context, e *framework.Env, c framework.Conn) engineio.Packet {
	GinkgoHelper()
	w := replyWindow(e)
	cctx, cancel := context.WithTimeout(ctx, w.Max)
	defer cancel()
	for {
		p, err := c.Next(cctx)
		Expect(err).NotTo(HaveOccurred(), "a packet within %s", w)
		switch p.Type {
		case engineio.Ping:
			_ = c.Send(ctx, engineio.TextPacket(engineio.Pong, ""))
		case engineio.Noop:
		default:
			return p
		}
	}
}
