package engineio

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

func packetV4(s *framework.Suite) {
	Describe("packets", func() {
		s.PerTransport(all, func(tr framework.Transport) {
			s.It("EIO-PKT-01", "sends only packets made of a type digit 0-6 and optional data", func(ctx context.Context, e *framework.Env) {
				c := open(ctx, e, tr)
				Expect(c.Send(ctx, msg("one"), msg("two"))).To(Succeed())
				e.Expect("every packet up to the first ping decodes with a known type")
				var got []engineio.Packet
				for len(got) < 8 {
					p, err := c.Next(ctx)
					Expect(err).NotTo(HaveOccurred(), "a packet that does not decode is a violation")
					got = append(got, p)
					Expect(p.Type.Valid()).To(BeTrue(), "type of %v", p)
					if p.Type == engineio.Ping {
						break
					}
				}
				e.Observe("%v", got)
			}, tr)

			s.It("EIO-PKT-02", "keeps UTF-8 text byte for byte", func(ctx context.Context, e *framework.Env) {
				c := open(ctx, e, tr)
				const text = "€ 😀 ü ✓ 日本"
				Expect(c.Send(ctx, msg(text))).To(Succeed())
				p := nextMessage(ctx, c)
				e.Expect("echo %q", text)
				e.Observe("%v", p)
				Expect(p.Binary).To(BeFalse())
				Expect(string(p.Data)).To(Equal(text))
			}, tr)
		})

		unknownTypeEnds(s)

		s.It("EIO-PKT-04", "never sends open, pong or upgrade packets on an established session", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, framework.WebSocket)
			Expect(c.Send(ctx, msg("a"), pkt(engineio.Pong, ""), msg("b"))).To(Succeed())
			var got []engineio.Packet
			pings := 0
			for pings < 2 {
				p, err := c.Next(ctx)
				Expect(err).NotTo(HaveOccurred())
				got = append(got, p)
				Expect(p.Type).To(BeElementOf(engineio.Message, engineio.Ping, engineio.Noop), "packet %v sent in the wrong direction", p)
				if p.Type == engineio.Ping {
					pings++
					Expect(c.Send(ctx, pkt(engineio.Pong, ""))).To(Succeed())
				}
			}
			e.Observe("%v", got)
		}, framework.WebSocket)

		s.It("EIO-PKT-05", "ignores open, upgrade and noop packets from the client on an established WebSocket", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, framework.WebSocket)
			Expect(c.Send(ctx, pkt(engineio.Noop, ""), pkt(engineio.Open, ""), pkt(engineio.Upgrade, ""), msg("still-here"))).To(Succeed())
			p := nextMessage(ctx, c)
			e.Expect(`"6", "0", "5" are ignored; then "4still-here" is echoed`)
			e.Observe("%v", p)
			Expect(p).To(Equal(msg("still-here")))
		}, framework.WebSocket)

		s.It("EIO-PKT-06", "echoes an empty message as 4", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, framework.WebSocket)
			Expect(c.Send(ctx, msg(""))).To(Succeed())
			p := nextMessage(ctx, c)
			e.Observe("%v", p)
			Expect(p).To(Equal(msg("")))
		}, framework.WebSocket)
	})
}

// unknownTypeEnds declares EIO-PKT-03 for the suite's revision in each
// transport state: a packet whose type digit is unknown ends the session.
// On v3 polling the packet is framed with its length prefix, so that the
// type, not the framing (EIO3-10), is what is wrong.
func unknownTypeEnds(s *framework.Suite) {
	s.PerTransport(all, func(tr framework.Transport) {
		s.It("EIO-PKT-03", "ends the session when a packet has an unknown type digit", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			bad := engineio.TextPacket(engineio.PacketType(9), "hello")
			if p := c.Poll(); p != nil && c.WS() == nil {
				body := e.C.EncodePayload(bad)
				e.Expect(`after a POST %q, the session is gone`, body)
				r, err := p.PostRaw(ctx, body, nil)
				if err == nil {
					e.Observe("POST → %d %q (not judged)", r.Status, r.Body)
				}
			} else {
				e.Expect(`after a text frame "9hello", the session is gone`)
				Expect(c.WS().SendText("9hello")).To(Succeed())
			}
			expectEnded(ctx, e, c, "session must end on a parse error")
		}, tr)
	})
}
