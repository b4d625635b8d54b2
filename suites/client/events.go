package client

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// siocPayload decodes a packet's JSON payload (placeholders left as they
// are) into encoding/json's generic form.
func siocPayload(p socketio.Packet) ([]any, error) {
	var a []any
	err := json.Unmarshal(p.Data, &a)
	return a, err
}

// siocReportArgs decodes the args of an event or ack report.
func siocReportArgs(r testee.Report) []any {
	var a []any
	if err := r.Decode("args", &a); err != nil {
		return nil
	}
	return a
}

// siocEventNamed matches an EVENT or BINARY_EVENT named name.
func siocEventNamed(name string) func(socketio.Packet) bool {
	return func(p socketio.Packet) bool {
		n, err := p.EventName()
		return (p.Type == socketio.Event || p.Type == socketio.BinaryEvent) && err == nil && n == name
	}
}

// siocBurst sends the contract commands cmds on nsp back to back, each
// with an ack id from first on, without waiting between them; it returns
// the ids.
func siocBurst(c *scripted.SIO, nsp string, first uint64, cmds []map[string]any) []uint64 {
	ids := make([]uint64, len(cmds))
	for i, cmd := range cmds {
		p, err := socketio.NewEvent(nsp, "siospec", cmd)
		Expect(err).NotTo(HaveOccurred())
		ids[i] = first + uint64(i)
		Expect(c.Send(p.WithID(ids[i]))).To(Succeed())
	}
	return ids
}

// siocAckText matches the v5 text form of a client packet with an ack id:
// type, optional attachments, optional namespace and comma, the id digits
// right before the JSON.
var siocAckText = regexp.MustCompile(`^[0-6](\d+-)?(/[^,]*,)?\d+[\[{"]`)

func declareEvents(s *framework.ClientSuite) {
	if !s.Proto().IsSocketIO() {
		return
	}

	// "An EVENT payload is a non-empty JSON array: element 0 is the event
	// name, the rest are arguments."
	s.It("SIO-EVT-01", "writes every event as a non-empty array led by its name and reads one that holds the name alone", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`emit s3-none (no arguments) → 2["s3-none"]; emit s3-two(1,"x") → 2["s3-two",1,"x"]; 2["s3-bare"] from the server surfaced with no arguments`)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-none", "args": []any{}})
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-two", "args": []any{1, "x"}})
		wants := map[string][]any{"s3-none": {"s3-none"}, "s3-two": {"s3-two", 1.0, "x"}}
		for _, r := range siocCollect(ctx, e, c, "the events s3-none and s3-two", 2, func(p socketio.Packet) bool {
			return siocEventNamed("s3-none")(p) || siocEventNamed("s3-two")(p)
		}) {
			name, _ := r.Packet.EventName()
			want := wants[name]
			e.Observe("the client sent %s", r.Packet)
			a, err := siocPayload(r.Packet)
			Expect(err).NotTo(HaveOccurred(), "the EVENT payload is not a JSON array: %q", r.Packet.Data)
			Expect(a).To(Equal(want))
		}
		siocEvent(c, "/", -1, "s3-bare")
		r, ok := siocAwaitEvent(ctx, e, "/", "s3-bare", nil)
		Expect(ok).To(BeTrue(), `the client did not surface 42["s3-bare"]`)
		Expect(siocReportArgs(r)).To(BeEmpty())
	}, framework.Case("event-shape"))

	// "Arguments are any JSON values (null, nested objects and arrays) and
	// keep their order."
	s.It("SIO-EVT-05", "keeps event arguments of every JSON type and their order in both directions", func(ctx context.Context, e *framework.ClientEnv) {
		args := []any{
			map[string]any{"a": map[string]any{"b": []any{1, map[string]any{"c": nil}}}, "é": "ü"},
			0, -1.5, 12345678901234, 1e21, nil, true, false, "é✓ 😀 \u2028 \"q\"", []any{}, map[string]any{}, "",
		}
		want := siocGeneric(args)
		e.Expect("the server's event s3-args%s surfaced with the same arguments in order, and the client's emit of them written the same", siocJSON(args))
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocEvent(c, "/", -1, "s3-args", args...)
		r, ok := siocAwaitEvent(ctx, e, "/", "s3-args", nil)
		Expect(ok).To(BeTrue(), "the client did not surface the event s3-args")
		e.Observe("the client reported %s", r.Raw)
		Expect(siocReportArgs(r)).To(Equal(want), "the arguments surfaced differ from those sent")
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-args-back", "args": args})
		p, _ := siocUntil(ctx, e, c, "the event s3-args-back", siocEventNamed("s3-args-back"))
		e.Observe("the client sent %s", p.Packet)
		a, err := siocPayload(p.Packet)
		Expect(err).NotTo(HaveOccurred())
		Expect(a[1:]).To(Equal(want), "the arguments the client emitted differ from those it was given")
	}, framework.Case("event-args"))

	// "Packets within one connection are delivered in send order."
	s.It("SIO-EVT-06", "keeps the order of events in both directions", func(ctx context.Context, e *framework.ClientEnv) {
		const n = 12
		e.Expect("%d server events s3-seq(i) sent back to back surfaced in order; %d emit commands sent back to back emitted in order", n, n)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		for i := range n {
			siocEvent(c, "/", -1, "s3-seq", i)
		}
		_, ok := e.Await(ctx, "event", func(r testee.Report) bool { return siocEventMatch(r, "/", "s3-seq", n-1) }, siocWait(e, "events"))
		Expect(ok).To(BeTrue(), "the client did not surface the last event s3-seq(%d)", n-1)
		var order []any
		for _, r := range e.Reported("event") {
			if r.Str("event") == "s3-seq" {
				order = append(order, siocReportArgs(r)[0])
			}
		}
		e.Observe("surfaced in the order %v", order)
		want := make([]any, n)
		for i := range want {
			want[i] = float64(i)
		}
		Expect(order).To(Equal(want), "the client surfaced the server's events out of order")
		cmds := make([]map[string]any, n)
		for i := range cmds {
			cmds[i] = map[string]any{"cmd": "emit", "event": "s3-seq-back", "args": []any{i}}
		}
		siocBurst(c, "/", 1000, cmds)
		var sent []any
		for len(sent) < n {
			r, _ := siocUntil(ctx, e, c, "the events s3-seq-back", siocEventNamed("s3-seq-back"))
			a, err := siocPayload(r.Packet)
			Expect(err).NotTo(HaveOccurred())
			sent = append(sent, a[1])
		}
		e.Observe("the client emitted in the order %v", sent)
		Expect(sent).To(Equal(want), "the client emitted out of order")
	}, framework.Case("event-order"))

	// "A Socket.IO packet travels as the payload of one Engine.IO message;
	// attachments follow as binary messages."
	s.It("SIO-ENC-01", "sends each Socket.IO packet in one Engine.IO message and reads packets that share a polling payload", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("three emits sent back to back and a binary emit: each packet decodes from one message, attachments as binary messages; three server events queued together all surfaced")
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocBurst(c, "/", 1100, []map[string]any{
			{"cmd": "emit", "event": "s3-m1", "args": []any{"a"}},
			{"cmd": "emit", "event": "s3-m2", "args": []any{map[string]any{"_bin": "AQID"}}},
			{"cmd": "emit", "event": "s3-m3", "args": []any{"c"}},
		})
		for _, r := range siocCollect(ctx, e, c, "the events s3-m1, s3-m2 and s3-m3", 3, func(p socketio.Packet) bool {
			n, _ := p.EventName()
			return strings.HasPrefix(n, "s3-m")
		}) {
			e.Observe("%s (last message %s)", r.Packet, r.Raw.Packet)
			if name, _ := r.Packet.EventName(); name == "s3-m2" {
				Expect(r.Raw.Packet.Binary).To(BeTrue(), "the attachment did not travel as a binary message")
				Expect(r.Packet.Binary).To(Equal([][]byte{{1, 2, 3}}))
			}
		}
		for _, x := range []string{"x1", "x2", "x3"} {
			siocEvent(c, "/", -1, "s3-batch", x)
		}
		for _, x := range []string{"x1", "x2", "x3"} {
			_, ok := siocAwaitEvent(ctx, e, "/", "s3-batch", x)
			Expect(ok).To(BeTrue(), "the client did not surface s3-batch(%s) of three events queued together", x)
		}
	}, framework.Case("encode-messages"))

	// "String form: type, attachments-, namespace comma, ack id, JSON."
	s.It("SIO-ENC-02", "writes packets in the string form: type, namespace and comma, ack id, JSON", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`emit with ack on /admin → 2/admin,<id>["s3-form",1]; the harness's 2/admin,5["s3-in"] is answered 3/admin,5[...]`)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocJoin(ctx, e, c, "/admin", nil)
		siocCommand(ctx, e, c, "/admin", map[string]any{"cmd": "emit", "nsp": "/admin", "event": "s3-form", "args": []any{1}, "ack": true})
		r, _ := siocUntil(ctx, e, c, "the event s3-form", siocEventNamed("s3-form"))
		raw := string(r.Raw.Packet.Data)
		e.Observe("the client wrote %q", raw)
		Expect(raw).To(MatchRegexp(`^2/admin,\d+\["s3-form",1\]$`), "not the string form type, namespace, comma, ack id, JSON")
		siocEvent(c, "/admin", 5, "s3-in")
		r, _ = siocUntil(ctx, e, c, "the ACK 5 on /admin", func(p socketio.Packet) bool { return p.Type == socketio.Ack && p.HasID && p.ID == 5 })
		raw = string(r.Raw.Packet.Data)
		e.Observe("and %q", raw)
		Expect(raw).To(MatchRegexp(`^3/admin,5\[.*\]$`))
	}, framework.Case("encode-string-form"))

	// "The main namespace is omitted by encoders; decoders accept it
	// spelled out or without a comma at the end."
	s.It("SIO-ENC-03", "leaves the main namespace out of what it writes and reads it spelled out, and a namespace without a trailing comma", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`emit on / → 2[...] (no "/,"); 2/,["siospec-data","spelled"] surfaced on /; 1/admin (no comma) ends /admin`)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-main", "args": []any{"m"}})
		r, _ := siocUntil(ctx, e, c, "the event s3-main", siocEventNamed("s3-main"))
		e.Observe("the client wrote %q", r.Raw.Packet.Data)
		Expect(string(r.Raw.Packet.Data)).To(HavePrefix(`2[`), "the main namespace is written out")
		Expect(c.Session().Send(engineio.Packet{Type: engineio.Message, Data: []byte(`2/,["` + framework.PeerEvent + `","spelled"]`)})).To(Succeed())
		_, ok := siocAwaitEvent(ctx, e, "/", framework.PeerEvent, "spelled")
		Expect(ok).To(BeTrue(), `the client did not surface 42/,[...] on the main namespace`)
		siocJoin(ctx, e, c, "/admin", nil)
		Expect(c.Session().Send(engineio.Packet{Type: engineio.Message, Data: []byte(`1/admin`)})).To(Succeed())
		d, ok := e.Await(ctx, "disconnect", func(r testee.Report) bool { return r.Str("nsp") == "/admin" }, siocWait(e, "disconnect"))
		Expect(ok).To(BeTrue(), "the client did not read 41/admin (no trailing comma) as the DISCONNECT of /admin")
		e.Observe("the client reported %s", d.Raw)
	}, framework.Case("encode-main-namespace"))

	// "Namespaces begin with / and contain no comma."
	s.It("SIO-ENC-04", "writes a namespace with unusual characters exactly, leading slash and no comma, and routes packets by it", func(ctx context.Context, e *framework.ClientEnv) {
		const nsp = "/s3-ns.é_1~x"
		e.Expect("connect %s: CONNECT naming exactly %s; an event sent to it surfaced on it", nsp, nsp)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		p := siocJoin(ctx, e, c, nsp, nil)
		e.Observe("the client sent %s", p)
		Expect(p.Namespace()).To(Equal(nsp))
		siocEvent(c, nsp, -1, framework.PeerEvent, "odd")
		_, ok := siocAwaitEvent(ctx, e, nsp, framework.PeerEvent, "odd")
		Expect(ok).To(BeTrue(), "the client did not surface an event on %s", nsp)
	}, framework.Case("encode-namespace-name"))

	// "The ack id is the digit run before the JSON."
	s.It("SIO-ENC-05", "reads the ack id as the digit run before the JSON and writes its own ids the same way", func(ctx context.Context, e *framework.ClientEnv) {
		ids := []uint64{7, 1234567, 4294967296, socketio.MaxAckID}
		e.Expect("server events with ids %v each acked with the same id; the client's emit with ack has its id digits right before the JSON", ids)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		for _, id := range ids {
			siocEvent(c, "/", int64(id), "s3-id", fmt.Sprint(id))
		}
		left := map[uint64]bool{}
		for _, id := range ids {
			left[id] = true
		}
		for _, r := range siocCollect(ctx, e, c, fmt.Sprintf("the ACKs %v", ids), len(ids), func(p socketio.Packet) bool {
			return p.Type == socketio.Ack && p.HasID && left[p.ID]
		}) {
			e.Observe("acked %q", r.Raw.Packet.Data)
			delete(left, r.Packet.ID)
		}
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-id-back", "args": []any{}, "ack": true})
		r, _ := siocUntil(ctx, e, c, "the event s3-id-back", siocEventNamed("s3-id-back"))
		e.Observe("the client wrote %q", r.Raw.Packet.Data)
		Expect(r.Packet.HasID).To(BeTrue(), "an emit with ack carries no ack id")
		Expect(string(r.Raw.Packet.Data)).To(MatchRegexp(siocAckText.String()))
	}, framework.Case("encode-ack-id"))
}
