package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// This file holds the Socket.IO client specs that the other Socket.IO
// files leave out: reserved event names in both directions (SIO-EVT-03,
// v5) and Socket.IO v4 over Engine.IO v3 (SIO4-01).

// sioxReserved is the reserved event name the SIO-EVT-03 specs use (the
// catalogue's example; Node's list is socketio.IsReservedEvent's).
const sioxReserved = "disconnect"

// sioxClientClosed are the scripted server's reasons for a session that
// the client ended itself.
var sioxClientClosed = []string{"client close packet", "transport closed by the client"}

// sioxEnded waits up to within for the session to end and returns its
// reason ("" when it is still open).
func sioxEnded(ctx context.Context, ss *scripted.Session, within time.Duration) string {
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-ss.Done():
		return ss.Reason()
	case <-t.C:
	case <-ctx.Done():
	}
	return ""
}

// sioxReservedOnWire returns the client packets in rs that are an EVENT
// named name: decoded ones (a lenient decoder) and undecodable messages
// whose text is an EVENT led by that name (the harness's decoder refuses
// reserved names, as Node's does).
func sioxReservedOnWire(rs []scripted.SIOReceived, name string) []string {
	var out []string
	for _, r := range rs {
		if siocUndecodable(r) {
			raw := string(r.Raw.Packet.Data)
			if strings.HasPrefix(raw, "2") && strings.Contains(raw, `["`+name+`"`) {
				out = append(out, fmt.Sprintf("%q", raw))
			}
			continue
		}
		if siocEventNamed(name)(r.Packet) {
			out = append(out, r.Packet.String())
		}
	}
	return out
}

func declareSIOExtra(s *framework.ClientSuite) {
	switch s.Proto() {
	case framework.SIO5:
		declareSIOReserved(s)
	case framework.SIO4:
		declareSIO4Engine(s)
	}
}

// declareSIOReserved declares SIO-EVT-03 for v5 clients. The row binds
// both sides; for a client it means two things, one spec each: an EVENT
// with a reserved name from the server is an invalid packet (not surfaced
// as an event; Node's client drops the connection with "parse error"),
// and the client never writes one (Node's emit throws). Socket.IO v4
// (socket.io-client 2.x) had no such rule: its emit of "disconnect" fires
// the local listeners, so the specs are v5 only, as the row is.
func declareSIOReserved(s *framework.ClientSuite) {
	s.It("SIO-EVT-03", "refuses an event with a reserved name from the server: not surfaced as an event, and the client closes the connection", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect(`42[%q,"s3-reserved"] from the server: the client closes the Engine.IO session itself (close packet or transport close) within %v, reports disconnect for /, and surfaces no event named %q`,
			sioxReserved, siocWait(e, "close").Round(time.Millisecond), sioxReserved)
		c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: map[string]any{"reconnection": false}}, map[string]siocReply{"/": nil})
		siocEvent(c, "/", -1, sioxReserved, "s3-reserved")
		reason := sioxEnded(ctx, c.Session(), siocWait(e, "close"))
		// The testee writes an event report before the disconnect that
		// follows the close, so once the disconnect is read every report of
		// the reserved event is too.
		d, disconnected := e.Await(ctx, "disconnect", func(r testee.Report) bool { return r.Str("nsp") == "/" }, siocWait(e, "disconnect"))
		for _, r := range e.Reported("event") {
			Expect(r.Str("event")).NotTo(Equal(sioxReserved), "the client surfaced the reserved event %q as an event: %s", sioxReserved, r.Raw)
		}
		if reason == "" {
			e.Observe("the session was still open %v after the reserved event (disconnect reported: %v %s)", siocWait(e, "close").Round(time.Millisecond), disconnected, d.Raw)
			g.Fail(fmt.Sprintf("the client kept the connection after the server's EVENT named %q (an invalid packet)", sioxReserved))
		}
		e.Observe("the session ended: %q; the client reported %s", reason, d.Raw)
		Expect(reason).To(BeElementOf(sioxClientClosed), "the session ended, but not by the client")
		Expect(disconnected).To(BeTrue(), "the client closed the session but reported no disconnect for /")
	}, framework.Case("reserved-event-in"), framework.ClientOption("reconnection"))

	s.It("SIO-EVT-03", "refuses to emit an event with a reserved name: nothing goes on the wire and the refusal is reported", func(ctx context.Context, e *framework.ClientEnv) {
		const tag = "s3-reserved-out"
		e.Expect(`the emit command for the event %q: no EVENT named %q from the client; the testee reports unsupported or error for the command instead of done`, sioxReserved, sioxReserved)
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		cmd := map[string]any{"cmd": "emit", "event": sioxReserved, "args": []any{"s3-reserved"}, "tag": tag}
		e.Rec.Note(fmt.Sprintf("command on /: %v", cmd))
		cctx, cancel := context.WithTimeout(ctx, siocWait(e, "command"))
		cmdErr := c.Command(cctx, "/", cmd)
		cancel()
		// The outcome: done, unsupported or error for the command (a
		// library that throws may take the testee down: an error report
		// without the tag).
		wctx, wcancel := context.WithTimeout(ctx, siocWait(e, "report"))
		r, repErr := e.Testee.Await(wctx, func(r testee.Report) bool {
			switch r.Ev {
			case "done", "unsupported":
				return r.Str("tag") == tag
			case "error":
				return r.Str("tag") == tag || r.Str("tag") == ""
			}
			return false
		})
		wcancel()
		// Every packet the client wrote before that report is in: a command
		// round trip while the testee runs, else the end of its session.
		crashed := repErr == nil && r.Ev == "error" && r.Str("tag") == ""
		if crashed {
			t := time.NewTimer(siocWait(e, "exit"))
			select {
			case <-e.Testee.Exited():
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		select {
		case <-e.Testee.Exited():
			e.Rec.Note("the testee exited; waiting for the end of its session")
			sioxEnded(ctx, c.Session(), siocWait(e, "close"))
		default:
			siocSync(ctx, e, c, "/")
		}
		sent := siocDrain(c)
		e.Observe("command ack: %v; the testee reported %s; the client sent meanwhile: %s", cmdErr, r.Raw, siocList(sent))
		bad := sioxReservedOnWire(sent, sioxReserved)
		Expect(bad).To(BeEmpty(), "the client emitted an event with the reserved name %q", sioxReserved)
		Expect(repErr).NotTo(HaveOccurred(), "the testee reported neither done, unsupported nor error for the emit command")
		Expect(r.Ev).To(BeElementOf("unsupported", "error"), "the testee reported done for an emit of the reserved name %q: the library neither refused nor sent it", sioxReserved)
	}, framework.Case("reserved-event-out"))
}

// declareSIO4Engine declares SIO4-01: a v4 client's whole Socket.IO
// session runs on Engine.IO v3, EIO=3 on every request and v3 framing on
// every POST and frame, binary attachments included (the Engine.IO
// specs of the sio4 suite judge each part on plain messages).
func declareSIO4Engine(s *framework.ClientSuite) {
	for _, v := range []struct {
		text string
		deco []any
	}{
		{"", []any{framework.Case("sio4-engine")}},
		{" on polling alone", []any{framework.Case("sio4-engine-polling"), framework.Polling}},
	} {
		sio4Engine(s, v.text, v.deco)
	}
}

func sio4Engine(s *framework.ClientSuite, text string, deco []any) {
	s.It("SIO4-01", "runs its Socket.IO v4 session on Engine.IO v3"+text+": EIO=3 on every request and v3 framing for every packet, binary attachments included", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("every request (handshake, GET, POST, WebSocket upgrade) carries EIO=3 only; every POST body and WebSocket frame decodes strictly as Engine.IO v3; binary emits before and after the upgrade and a binary event from the server travel intact")
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		emit := func(n int) {
			g.GinkgoHelper()
			name := fmt.Sprintf("s3-v3-%d", n)
			siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "event": name, "args": []any{"t", siocBin([]byte{byte(n), 0xFF, 0})}})
			r, _ := siocUntil(ctx, e, c, "the event "+name, siocEventNamed(name))
			e.Observe("the client sent %s on %s", r.Packet, r.Raw.Transport)
			Expect(r.Packet.Binary).To(Equal([][]byte{{byte(n), 0xFF, 0}}), "the attachment of %s did not arrive intact", name)
		}
		emit(1)
		if strings.Contains(e.Transports, "websocket") {
			deadline := time.Now().Add(e.Timing.Reply("upgrade").Max)
			for c.Session().Transport() != "websocket" && time.Now().Before(deadline) && ctx.Err() == nil {
				siocSync(ctx, e, c, "/")
			}
			e.Observe("the session is on %s", c.Session().Transport())
		}
		emit(2)
		siocEvent(c, "/", -1, "s3-v3-in", []byte{7, 0, 0xFE}, "u")
		rep, ok := siocAwaitEvent(ctx, e, "/", "s3-v3-in", nil)
		Expect(ok).To(BeTrue(), "the client did not surface the server's binary event")
		Expect(siocReportArgs(rep)).To(Equal(siocGeneric([]any{siocBin([]byte{7, 0, 0xFE}), "u"})))
		reqs := e.Server.Requests()
		var bad []string
		for i, r := range reqs {
			if got := r.Query["EIO"]; len(got) != 1 || got[0] != "3" {
				bad = append(bad, fmt.Sprintf("request %d (%s) carried EIO=%q", i+1, hsDescribe(r), got))
			}
		}
		wire := clientWire(e)
		e.Observe("the client made %d requests (%s) and sent %s", len(reqs), hsKinds(reqs), wireCounts(wire))
		if len(bad) > 0 {
			e.Observe("%s", strings.Join(bad, "\n"))
			g.Fail(fmt.Sprintf("%d of %d requests did not carry EIO=3: %s", len(bad), len(reqs), bad[0]))
		}
		for _, w := range wire {
			Expect(w.Err).NotTo(HaveOccurred(), "not Engine.IO v3 framing: %s", w)
		}
	}, deco...)
}
