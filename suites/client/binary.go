package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

// siocBin is the contract's JSON form of binary data.
func siocBin(b []byte) map[string]any {
	return map[string]any{"_bin": base64.StdEncoding.EncodeToString(b)}
}

// siocPlaceholder is the generic form of placeholder num n.
func siocPlaceholder(n int) map[string]any {
	return map[string]any{"_placeholder": true, "num": float64(n)}
}

func declareBinary(s *framework.ClientSuite) {
	if !s.Proto().IsSocketIO() {
		return
	}
	v5 := s.Proto() == framework.SIO5

	// "An event or ack carrying binary uses type 5 or 6. Each binary value
	// is replaced by {"_placeholder":true,"num":N}, where N is its 0-based
	// index in depth-first order of appearance."
	s.It("SIO-BIN-01", "sends binary event arguments as numbered placeholders in a BINARY_EVENT and reads them back", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`emit s3-bin([1 2 3], {"k":[4 5 6]}, "t") → 52-["s3-bin",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}},"t"] + 2 attachments; the same event from the server surfaced with the bytes in place`)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-bin", "args": []any{siocBin([]byte{1, 2, 3}), map[string]any{"k": siocBin([]byte{4, 5, 6})}, "t"}})
		r, _ := siocUntil(ctx, e, c, "the event s3-bin", siocEventNamed("s3-bin"))
		e.Observe("the client sent %s", r.Packet)
		Expect(r.Packet.Type).To(Equal(socketio.BinaryEvent), "an event with binary arguments is not a BINARY_EVENT")
		a, err := siocPayload(r.Packet)
		Expect(err).NotTo(HaveOccurred())
		Expect(a).To(Equal([]any{"s3-bin", siocPlaceholder(0), map[string]any{"k": siocPlaceholder(1)}, "t"}), "placeholders not numbered depth-first")
		Expect(r.Packet.Binary).To(Equal([][]byte{{1, 2, 3}, {4, 5, 6}}))
		siocEvent(c, "/", -1, "s3-bin-in", []byte{1, 2, 3}, map[string]any{"k": []byte{4, 5, 6}}, "t")
		rep, ok := siocAwaitEvent(ctx, e, "/", "s3-bin-in", nil)
		Expect(ok).To(BeTrue(), "the client did not surface the server's BINARY_EVENT")
		Expect(siocReportArgs(rep)).To(Equal(siocGeneric([]any{siocBin([]byte{1, 2, 3}), map[string]any{"k": siocBin([]byte{4, 5, 6})}, "t"})))
	}, framework.Case("binary-event"))

	// "The header gives the attachment count N-, and exactly N binary EIO
	// messages follow, in num order."
	s.It("SIO-BIN-02", "announces its attachment count and sends exactly that many attachments in order, and reads three of them in order", func(ctx context.Context, e *framework.ClientEnv) {
		atts := [][]byte{{9}, bytes.Repeat([]byte{0xAB}, 300), {0, 1, 2, 3, 4}}
		e.Expect("emit with three binary arguments of 1, 300 and 5 bytes → 53-... followed by exactly those three attachments, then a packet that decodes; the same from the server surfaced in place")
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		args := []any{siocBin(atts[0]), siocBin(atts[1]), siocBin(atts[2])}
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-three", "args": args})
		r, _ := siocUntil(ctx, e, c, "the event s3-three", siocEventNamed("s3-three"))
		e.Observe("the client sent %s", r.Packet)
		Expect(r.Packet.Attachments).To(Equal(3))
		Expect(r.Packet.Binary).To(Equal(atts), "the attachments are not the arguments in order")
		siocSync(ctx, e, c, "/")
		siocDrain(c)
		siocEvent(c, "/", -1, "s3-three-in", atts[0], atts[1], atts[2])
		rep, ok := siocAwaitEvent(ctx, e, "/", "s3-three-in", nil)
		Expect(ok).To(BeTrue(), "the client did not surface the server's three-attachment event")
		Expect(siocReportArgs(rep)).To(Equal(siocGeneric(args)))
	}, framework.Case("binary-attachments"))

	// "Attachments follow the header directly; no other packet comes in
	// between."
	s.It("SIO-BIN-03", "sends a binary packet's attachments right after its header, with other packets in flight", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("four emit commands back to back (binary, text, binary, text): every header followed by its attachments, every packet decodes")
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocBurst(c, "/", 1200, []map[string]any{
			{"cmd": "emit", "event": "s3-b1", "args": []any{siocBin([]byte{1}), siocBin([]byte{2})}},
			{"cmd": "emit", "event": "s3-t1", "args": []any{"x"}},
			{"cmd": "emit", "event": "s3-b2", "args": []any{siocBin([]byte{3})}},
			{"cmd": "emit", "event": "s3-t2", "args": []any{"y"}},
		})
		var got []string
		for len(got) < 8 {
			r, _ := siocUntil(ctx, e, c, "the four events and four acks", func(p socketio.Packet) bool {
				n, _ := p.EventName()
				return strings.HasPrefix(n, "s3-") || ((p.Type == socketio.Ack || p.Type == socketio.BinaryAck) && p.ID >= 1200 && p.ID < 1204)
			})
			got = append(got, r.Packet.String())
		}
		e.Observe("the client sent %v", got)
	}, framework.Case("binary-interleave"))

	// "Decoders accept the placeholder keys in any order."
	s.It("SIO-BIN-09", "reads placeholders whose num comes before _placeholder", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`52-["s3-rev",{"num":0,"_placeholder":true},{"num":1,"_placeholder":true}] + [1 2] + [3]: surfaced with both binaries in place`)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		p := socketio.Packet{Type: socketio.BinaryEvent, Nsp: "/", Attachments: 2,
			Data:   []byte(`["s3-rev",{"num":0,"_placeholder":true},{"num":1,"_placeholder":true}]`),
			Binary: [][]byte{{1, 2}, {3}}}
		Expect(c.Send(p)).To(Succeed())
		rep, ok := siocAwaitEvent(ctx, e, "/", "s3-rev", nil)
		Expect(ok).To(BeTrue(), "the client did not surface a BINARY_EVENT whose placeholder keys come num first")
		e.Observe("the client reported %s", rep.Raw)
		Expect(siocReportArgs(rep)).To(Equal(siocGeneric([]any{siocBin([]byte{1, 2}), siocBin([]byte{3})})))
	}, framework.Case("binary-placeholder-order"))

	// "Over polling, attachments are b<base64> EIO packets ... Over WS,
	// they are binary frames." (Engine.IO v3 polling may carry them in an
	// XHR2 binary payload instead, so the polling form is judged in v5.)
	if v5 {
		s.It("SIO-BIN-10", "sends attachments on polling as base64 packets and reads them", func(ctx context.Context, e *framework.ClientEnv) {
			att := []byte{0, 0xFF, 0x10, 'b', '4'}
			rec := "b" + base64.StdEncoding.EncodeToString(att)
			e.Expect("emit s3-poll([00 ff 10 62 34]) on polling → a POST body holding the record %q; the server's binary event surfaced", rec)
			c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
			siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-poll", "args": []any{siocBin(att)}})
			r, _ := siocUntil(ctx, e, c, "the event s3-poll", siocEventNamed("s3-poll"))
			Expect(r.Packet.Binary).To(Equal([][]byte{att}))
			found := false
			for _, q := range e.Server.Requests() {
				if q.Method == "POST" && strings.Contains("\x1e"+string(q.Body)+"\x1e", "\x1e"+rec+"\x1e") {
					found = true
					e.Observe("POST body %q", q.Body)
				}
			}
			Expect(found).To(BeTrue(), "no POST body holds the attachment as the base64 record %q", rec)
			siocEvent(c, "/", -1, "s3-poll-in", att)
			rep, ok := siocAwaitEvent(ctx, e, "/", "s3-poll-in", nil)
			Expect(ok).To(BeTrue(), "the client did not surface a binary event on polling")
			Expect(siocReportArgs(rep)).To(Equal(siocGeneric([]any{siocBin(att)})))
		}, framework.Case("binary-polling"), framework.Polling)
	}
	s.It("SIO-BIN-10", "sends attachments on WebSocket as binary frames and reads them", func(ctx context.Context, e *framework.ClientEnv) {
		att := []byte{0, 0xFF, 0x10, 'b', '4'}
		e.Expect("emit s3-ws([00 ff 10 62 34]) on WebSocket → the attachment in a binary frame; the server's binary event surfaced")
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": "s3-ws", "args": []any{siocBin(att)}})
		r, _ := siocUntil(ctx, e, c, "the event s3-ws", siocEventNamed("s3-ws"))
		e.Observe("the attachment came as %s on %s", r.Raw.Packet, r.Raw.Transport)
		Expect(r.Raw.Transport).To(Equal("websocket"))
		Expect(r.Packet.Binary).To(Equal([][]byte{att}))
		// Judge the frame itself, not the decoded packet: a b<base64> text
		// frame decodes to the same binary message.
		// v3 frames carry the message type byte 0x04 first (EIO3-07).
		want := att
		if e.Proto.EIO() == 3 {
			want = append([]byte{4}, att...)
		}
		var frames []string
		binaryFrame := false
		for _, ev := range e.Rec.Events() {
			if ev.Dir != framework.DirC2S || ev.Kind != framework.KindWSFrame {
				continue
			}
			if bytes.Equal(ev.Data, want) && strings.HasPrefix(ev.Summary, "binary frame") {
				binaryFrame = true
			}
			if bytes.Contains(ev.Data, []byte(base64.StdEncoding.EncodeToString(att))) {
				frames = append(frames, ev.Summary+" "+strconv.Quote(string(ev.Data)))
			}
		}
		if len(frames) > 0 {
			e.Observe("frames carrying the attachment as base64 text: %v", frames)
		}
		Expect(binaryFrame).To(BeTrue(), "no binary WebSocket frame from the client holds exactly the attachment bytes")
		siocEvent(c, "/", -1, "s3-ws-in", att)
		rep, ok := siocAwaitEvent(ctx, e, "/", "s3-ws-in", nil)
		Expect(ok).To(BeTrue(), "the client did not surface a binary event on WebSocket")
		Expect(siocReportArgs(rep)).To(Equal(siocGeneric([]any{siocBin(att)})))
	}, framework.Case("binary-websocket"), framework.WebSocket)
}
