package client

import (
	"context"

	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/testee"
)

// siocAckOf matches an ACK or BINARY_ACK with id in nsp.
func siocAckOf(nsp string, id uint64) func(socketio.Packet) bool {
	return func(p socketio.Packet) bool {
		return (p.Type == socketio.Ack || p.Type == socketio.BinaryAck) && p.HasID && p.ID == id && p.Namespace() == nsp
	}
}

func declareAcks(s *framework.ClientSuite) {
	if !s.Proto().IsSocketIO() {
		return
	}

	// "The receiver of an EVENT or BINARY_EVENT that carries an id answers
	// once with an ACK (or BINARY_ACK) carrying the same id and namespace."
	s.It("SIO-ACK-01", "acknowledges a server event once, with the same id and namespace", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`42500["s3-ackme","m"] and 42/admin,500["s3-ackme","a"]: one 43500["m"] and one 43/admin,500["a"], nothing more by the end of a command round trip`)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocJoin(ctx, e, c, "/admin", nil)
		siocEvent(c, "/", 500, "s3-ackme", "m")
		siocEvent(c, "/admin", 500, "s3-ackme", "a")
		want := map[string]string{"/": "m", "/admin": "a"}
		for _, r := range siocCollect(ctx, e, c, "the ACKs 500 on / and /admin", 2, func(p socketio.Packet) bool {
			return siocAckOf("/", 500)(p) || siocAckOf("/admin", 500)(p)
		}) {
			e.Observe("the client sent %s", r.Packet)
			a, err := siocPayload(r.Packet)
			Expect(err).NotTo(HaveOccurred())
			nsp := r.Packet.Namespace()
			Expect(want).To(HaveKey(nsp), "a second ack 500 on %s", nsp)
			Expect(a).To(Equal([]any{want[nsp]}), "the ack on %s answers another event", nsp)
			delete(want, nsp)
		}
		siocSync(ctx, e, c, "/")
		for _, r := range siocDrain(c) {
			Expect(r.Packet.Type == socketio.Ack && r.Packet.HasID && r.Packet.ID == 500).To(BeFalse(), "the client acknowledged an event twice: %s", r.Packet)
		}
	}, framework.Case("ack-server-event"))

	// "The ACK payload is a JSON array, possibly empty ([])."
	s.It("SIO-ACK-02", "writes an ack payload as a JSON array, empty when there are no arguments", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`42501["s3-none"] → 43501[]; 42502["s3-some","x",{"y":2}] → 43502["x",{"y":2}]`)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocEvent(c, "/", 501, "s3-none")
		siocEvent(c, "/", 502, "s3-some", "x", map[string]any{"y": 2})
		wants := map[uint64][]any{501: {}, 502: {"x", map[string]any{"y": 2.0}}}
		for _, r := range siocCollect(ctx, e, c, "the ACKs 501 and 502", 2, func(p socketio.Packet) bool {
			return siocAckOf("/", 501)(p) || siocAckOf("/", 502)(p)
		}) {
			want := wants[r.Packet.ID]
			e.Observe("the client sent %q", r.Raw.Packet.Data)
			a, err := siocPayload(r.Packet)
			Expect(err).NotTo(HaveOccurred(), "the ack payload is not a JSON array: %q", r.Packet.Data)
			Expect(a).NotTo(BeNil(), "the ack has no payload array")
			Expect(a).To(Equal(want))
		}
	}, framework.Case("ack-payload"))

	// "If the ack arguments contain binary, send a BINARY_ACK with
	// placeholders."
	s.It("SIO-ACK-03", "acknowledges with a BINARY_ACK with placeholders when the ack arguments hold binary", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`451-503["s3-bin",<placeholder 0>,"t"] + [1 2 3], echoed as ack: 61-503[{"_placeholder":true,"num":0},"t"] + [1 2 3]`)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocEvent(c, "/", 503, "s3-bin", []byte{1, 2, 3}, "t")
		r, _ := siocUntil(ctx, e, c, "the ack 503", siocAckOf("/", 503))
		e.Observe("the client sent %s", r.Packet)
		Expect(r.Packet.Type).To(Equal(socketio.BinaryAck), "binary ack arguments not sent as BINARY_ACK")
		Expect(r.Packet.Attachments).To(Equal(1))
		a, err := siocPayload(r.Packet)
		Expect(err).NotTo(HaveOccurred())
		Expect(a).To(Equal([]any{map[string]any{"_placeholder": true, "num": 0.0}, "t"}))
		Expect(r.Packet.Binary).To(Equal([][]byte{{1, 2, 3}}))
	}, framework.Case("ack-binary"))

	// "Id 0 is valid; the JS client's first id is 0. Never test the id for
	// truthiness."
	s.It("SIO-ACK-04", "treats ack id 0 as an id in both directions", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`420["s3-zero","z"] → 430["z"]; the client's first emit with ack answered with its own id (0 for a client counting from 0) is surfaced as its ack`)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocEvent(c, "/", 0, "s3-zero", "z")
		r, _ := siocUntil(ctx, e, c, "the ACK 0", siocAckOf("/", 0))
		e.Observe("the client sent %q", r.Raw.Packet.Data)
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-zero-back", "args": []any{}, "ack": true, "tag": "s3zero"})
		ev, _ := siocUntil(ctx, e, c, "the event s3-zero-back", siocEventNamed("s3-zero-back"))
		Expect(ev.Packet.HasID).To(BeTrue(), "an emit with ack carries no ack id")
		e.Observe("the client's first emit with ack: %q", ev.Raw.Packet.Data)
		p, err := socketio.NewAck("/", ev.Packet.ID, "zero-ok")
		Expect(err).NotTo(HaveOccurred())
		Expect(c.Send(p)).To(Succeed())
		rep, ok := e.Await(ctx, "ack", func(r testee.Report) bool { return r.Str("tag") == "s3zero" }, siocWait(e, "ack"))
		Expect(ok).To(BeTrue(), "the client did not surface the ack with id %d", ev.Packet.ID)
		Expect(siocReportArgs(rep)).To(Equal([]any{"zero-ok"}))
	}, framework.Case("ack-id-zero"))
}
