package client

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// declareWebSocket declares the WebSocket framing specs in all four
// suites: one WebSocket message is one packet, and a 0x1E inside a text
// frame splits nothing, in either direction (EIO-WS-02); WebSocket control
// pings and pongs are not the Engine.IO heartbeat (EIO-WS-07): the client
// times out by the Engine.IO heartbeat however many control frames flow,
// and its heartbeat packets are text frames.
func declareWebSocket(s *framework.ClientSuite) {
	v3 := isV3(s.Proto())
	sio := s.Proto().IsSocketIO()

	s.It("EIO-WS-02", "a text frame from the server holding 0x1E is one packet to the client: it is not split into two", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		within := e.Timing.Reply("report").Max
		if sio {
			wsRSInSIO(ctx, e, p, within)
			return
		}
		// Split at 0x1E, the frame would read as two packets "4ws02-a" and
		// "4ws02-b".
		data := "ws02-a\x1e4ws02-b"
		e.Expect("the server's one text frame %q is one message: the client surfaces %q and echoes it as the one frame %q", "4"+data, data, "4"+data)
		if err := p.ToClient(data); err != nil {
			g.Fail(framework.HarnessPrefix + err.Error())
		}
		ok := p.Reported(ctx, data, within)
		got := surfaced(e)
		e.Observe("the client surfaced %q", got)
		if !ok {
			if containsString(got, "ws02-a") || containsString(got, "ws02-b") {
				g.Fail(fmt.Sprintf("the client split the server's text frame at 0x1E into two messages: it surfaced %q", got))
			}
			g.Fail(fmt.Sprintf("the client did not surface the server's text frame as one message within %v", within.Round(time.Millisecond)))
		}
		// The echo: one frame, exactly the packet.
		for {
			d, r, err := nextData(ctx, p, within)
			if err != nil {
				g.Fail(fmt.Sprintf("the client's echo did not arrive within %v: %v", within.Round(time.Millisecond), err))
			}
			if !strings.HasPrefix(d, "ws02-") {
				continue
			}
			e.Observe("the client echoed %q on %s", d, r.Transport)
			if d != data {
				g.Fail(fmt.Sprintf("the client echoed %q, not %q: the message was split", d, data))
			}
			break
		}
		if !equalStrings(filterPrefix(got, "ws02-"), []string{data}) {
			g.Fail(fmt.Sprintf("the client surfaced %q, want exactly %q", got, data))
		}
		wsFramesOnePacket(e, "4"+data)
	}, framework.Case("ws-rs-in"), framework.WebSocket)

	s.It("EIO-WS-02", "the client sends one packet per WebSocket message: data holding 0x1E goes as one frame, and messages sent at once are never joined in one frame", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		within := e.Timing.Reply("the client's message").Max
		data := "ws02-c\x1e4ws02-d"
		e.Expect("the client's message %q arrives as one message in one frame; three messages sent at once arrive as three frames of one packet each", data)
		p.ClientSends(ctx, data, 1)
		d, r, err := nextData(ctx, p, within)
		if err != nil {
			g.Fail(fmt.Sprintf("the client's message did not arrive within %v: %v", within.Round(time.Millisecond), err))
		}
		e.Observe("the client's first message arrived as %q on %s", d, r.Transport)
		if d != data {
			g.Fail(fmt.Sprintf("the client's message arrived as %q, not %q: it was split", d, data))
		}
		const n = 3
		p.ClientSends(ctx, "ws02-e", n)
		for i := range n {
			d, _, err := nextData(ctx, p, within)
			if err != nil {
				g.Fail(fmt.Sprintf("the client's message %d of %d sent at once did not arrive within %v: %v", i+1, n, within.Round(time.Millisecond), err))
			}
			if d != "ws02-e" {
				g.Fail(fmt.Sprintf("the client's message %d of %d sent at once arrived as %q", i+1, n, d))
			}
		}
		if !sio {
			wsFramesOnePacket(e, "4"+data)
		}
		// In Socket.IO data 0x1E travels JSON-escaped, so a raw 0x1E in a
		// text frame of the client can only be a separator joining packets.
		var joined []string
		frames := 0
		for _, w := range clientWire(e) {
			if w.Transport != "websocket" || w.Packet.Binary {
				continue
			}
			frames++
			if w.Err != nil {
				g.Fail("the client sent a frame that is not one packet: " + w.String())
			}
			if bytes.IndexByte(w.Raw, engineio.RecordSeparator) >= 0 && (sio || !bytes.Equal(w.Raw, []byte("4"+data))) {
				joined = append(joined, fmt.Sprintf("%q", trim(w.Raw)))
			}
		}
		e.Observe("the client sent %d text frames on the WebSocket", frames)
		if len(joined) > 0 {
			g.Fail(fmt.Sprintf("the client joined packets in one frame with 0x1E: %s", strings.Join(joined, ", ")))
		}
	}, framework.Case("ws-rs-out"), framework.WebSocket)

	if v3 {
		declareWSControlV3(s)
		return
	}

	s.It("EIO-WS-07", "WebSocket control pings are not the heartbeat: without Engine.IO pings the client times out pingInterval+pingTimeout after the handshake although control pings keep coming", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, &framework.CaseOptions{Server: scripted.Options{NoPings: true}})
		budget := e.Timing.PingInterval + e.Timing.PingTimeout
		w := e.Timing.Around(budget, "pingInterval+pingTimeout")
		e.Budget(w)
		e.Expect("the server sends no Engine.IO ping, only a WebSocket control ping every pingInterval/3; the client closes the session (ping timeout) %v..%v after the open packet", w.Min.Round(time.Millisecond), w.Max.Round(time.Millisecond))
		p := e.Open(ctx)
		ref := p.SS.Handshake().Finished
		wsControlTimeout(ctx, e, p, sio, ref, w, "the open packet", e.Timing.Scaled(e.Timing.PingInterval)/3, false)
	}, framework.Case("ws-control-ping-timeout"), framework.WebSocket)

	s.It("EIO-WS-07", "the client answers Engine.IO pings with Engine.IO pongs (text frame 3) on WebSocket, not with control pongs, while control pings flow too", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, hbLongTimeout(e))
		rw := e.Timing.Reply("pong")
		e.Budget(rw)
		e.Expect("each of the first %d Engine.IO pings answered by a text frame %q within %v; the server also sends control pings between them", hbPings, "3", rw.Max.Round(time.Millisecond))
		p := e.Open(ctx)
		every := e.Timing.Scaled(e.Timing.PingInterval) / 3
		next := time.Now()
		giveUp := e.Timing.Scaled(e.Timing.PingTimeout) + rw.Max
		within := time.Duration(hbPings)*(e.Timing.Scaled(e.Timing.PingInterval)+rw.Max) + giveUp
		var pairs []hbPair
		sent := 0
		lcUntil(ctx, e, within, func() bool {
			if time.Now().After(next) {
				if p.SS.ControlPing([]byte(fmt.Sprintf("ws07-%d", sent))) == nil {
					sent++
				}
				next = time.Now().Add(every)
			}
			pairs = hbPairs(e.Rec.Events())
			if len(pairs) > hbPings {
				pairs = pairs[:hbPings]
			}
			select {
			case <-p.SS.Done():
				return true
			default:
			}
			now := e.Rec.Since()
			for _, pp := range pairs {
				if pp.pong < 0 && now-pp.ping > giveUp {
					return true
				}
			}
			return len(pairs) == hbPings && hbAnswered(pairs) == hbPings
		})
		cpongs := wsControlPongs(e)
		e.Observe("the server sent %d control pings; the client answered %d with control pongs", wsControlPings(e), cpongs)
		for i, pp := range pairs {
			if pp.pong < 0 {
				e.Observe("Engine.IO ping %d got no Engine.IO pong", i+1)
				continue
			}
			e.Observe("Engine.IO ping %d: the client's pong came %v after it", i+1, (pp.pong - pp.ping).Round(time.Millisecond))
		}
		for i, pp := range pairs {
			if pp.pong < 0 {
				g.Fail(fmt.Sprintf("Engine.IO ping %d got no Engine.IO pong (text frame 3) within %v (the client sent %d control pongs)", i+1, giveUp.Round(time.Millisecond), cpongs))
			}
			if d := pp.pong - pp.ping; !e.InWindow(rw, d) {
				g.Fail(fmt.Sprintf("Engine.IO ping %d was answered %v after it, beyond %v", i+1, d.Round(time.Millisecond), rw.Max.Round(time.Millisecond)))
			}
		}
		if len(pairs) < hbPings {
			g.Fail(fmt.Sprintf("only %d of %d Engine.IO pings came and were answered; the session: %q", hbAnswered(pairs), hbPings, p.SS.Reason()))
		}
		// The pongs are text frames "3" on the WebSocket.
		for _, wp := range clientWire(e) {
			if wp.Err == nil && wp.Packet.Type == engineio.Pong && !wp.Probe && (wp.Transport != "websocket" || wp.Packet.Binary) {
				g.Fail("the client sent a pong that is not a text frame on the WebSocket: " + wp.String())
			}
		}
	}, framework.Case("ws-control-engine-pong"), framework.WebSocket)
}

// declareWSControlV3 declares EIO-WS-07 for v3 (eio3, sio4), where the
// client pings: control pongs from the server do not answer its pings, and
// its pings are text frames.
func declareWSControlV3(s *framework.ClientSuite) {
	sio := s.Proto().IsSocketIO()
	s.It("EIO-WS-07", "in v3 WebSocket control frames are not the heartbeat: a client whose pings get only control pongs and pings times out pingTimeout after its first ping", func(ctx context.Context, e *framework.ClientEnv) {
		// v3 NoPings: the server answers no ping and has no ping timeout.
		e.Start(ctx, &framework.CaseOptions{Server: scripted.Options{NoPings: true}})
		w := e.Timing.Around(e.Timing.PingTimeout, "pingTimeout")
		e.Budget(w)
		e.Expect("the client's pings (text frames 2) get no Engine.IO pong, only WebSocket control pongs and pings every pingInterval/3; the client closes the session (ping timeout) %v..%v after its first ping", w.Min.Round(time.Millisecond), w.Max.Round(time.Millisecond))
		p := e.Open(ctx)
		every := e.Timing.Scaled(e.Timing.PingInterval) / 3
		within := e.Timing.Scaled(e.Timing.PingInterval) + e.Timing.Reply("ping").Max
		var ping time.Duration
		next := time.Now()
		if !lcUntil(ctx, e, within, func() bool {
			if time.Now().After(next) {
				_ = p.SS.ControlPong([]byte("ws07"))
				_ = p.SS.ControlPing([]byte("ws07"))
				next = time.Now().Add(every)
			}
			for _, ev := range e.Rec.Events() {
				if ev.Dir == framework.DirC2S && ev.Kind == framework.KindEIOPacket && strings.HasPrefix(ev.Summary, "2") && ev.Summary != "2probe" {
					ping = ev.At
					return true
				}
			}
			return false
		}) {
			g.Fail(fmt.Sprintf("the client sent no Engine.IO ping (text frame 2) within %v of the handshake (control pongs it sent: %d)", within.Round(time.Millisecond), wsControlPongs(e)))
		}
		ref := lcWall(e)(ping)
		e.Observe("the client sent its first ping %v after the handshake response", ref.Sub(p.SS.Handshake().Finished).Round(time.Millisecond))
		wsControlTimeout(ctx, e, p, sio, ref, w, "its first ping", every, true)
	}, framework.Case("ws-control-ping-timeout"), framework.WebSocket)
}

// wsRSInSIO is EIO-WS-02 server to client on the Socket.IO suites. JSON
// escapes 0x1E, so no valid Socket.IO packet holds a raw one: the server
// sends two event packets joined by 0x1E in one text frame. That frame is
// one Engine.IO message whose data is not a valid Socket.IO packet; a
// client that splits frames at 0x1E surfaces the two events instead.
func wsRSInSIO(ctx context.Context, e *framework.ClientEnv, p *framework.Peer, within time.Duration) {
	g.GinkgoHelper()
	ev := func(d string) string { return `2["` + framework.PeerEvent + `","` + d + `"]` }
	frame := "4" + ev("ws02-a") + "\x1e4" + ev("ws02-b")
	e.Expect("the server's one text frame %q is one (invalid) packet to the client: it surfaces neither ws02-a nor ws02-b; it drops the frame or closes with a parse error", frame)
	if err := p.SS.SendRaw([]byte(frame), false); err != nil {
		g.Fail(framework.HarnessPrefix + err.Error())
	}
	// Wait for a positive outcome: the client ends the session or
	// disconnects, or the next event after the frame comes through.
	if err := p.ToClient("ws02-after"); err != nil {
		e.Observe("the session ended before the next event could be sent: %v", err)
	}
	var how string
	lcUntil(ctx, e, within, func() bool {
		select {
		case <-p.SS.Done():
			how = "the session ended: " + p.SS.Reason()
			return true
		default:
		}
		if r, ok := lcCloseReport(e, true); ok {
			how = "the client disconnected: " + r.Raw
			return true
		}
		if containsString(surfaced(e), "ws02-after") {
			how = "the client surfaced the next event ws02-after"
			return true
		}
		return false
	})
	got := surfaced(e)
	e.Observe("the client surfaced %q; %s", got, how)
	if containsString(got, "ws02-a") || containsString(got, "ws02-b") {
		g.Fail(fmt.Sprintf("the client split the server's text frame at 0x1E into packets: it surfaced %q", got))
	}
	if how == "" {
		g.Fail(fmt.Sprintf("within %v of the frame the client neither ended the session nor surfaced the next event", within.Round(time.Millisecond)))
	}
}

// wsFramesOnePacket fails the spec when the client's text frames that
// carry part of want's data are not exactly want (one frame, one packet).
func wsFramesOnePacket(e *framework.ClientEnv, want string) {
	g.GinkgoHelper()
	for _, w := range clientWire(e) {
		if w.Transport != "websocket" || w.Packet.Binary || !bytes.Contains(w.Raw, []byte("ws02-")) {
			continue
		}
		if s := string(w.Raw); s != want && strings.Contains(want, s[min(len(s), 1):]) {
			e.Observe("the client sent the frame %q", s)
			g.Fail(fmt.Sprintf("the client sent the frame %q: part of the message %q, split", s, want))
		}
	}
}

// wsControlPings counts the server's WebSocket control pings.
func wsControlPings(e *framework.ClientEnv) int {
	n := 0
	for _, ev := range e.Rec.Events() {
		if ev.Kind == framework.KindWSControl && ev.Dir == framework.DirS2C && strings.HasPrefix(ev.Summary, "ping") {
			n++
		}
	}
	return n
}

// wsControlPongs counts the client's WebSocket control pongs.
func wsControlPongs(e *framework.ClientEnv) int {
	n := 0
	for _, ev := range e.Rec.Events() {
		if ev.Kind == framework.KindWSControl && ev.Dir == framework.DirC2S && strings.HasPrefix(ev.Summary, "pong") {
			n++
		}
	}
	return n
}

// wsControlTimeout keeps sending control frames every `every` (control
// pings; with pongs also unsolicited control pongs) and judges that the
// client closes its session within w after ref (last, what ref is), by
// the wire first (its close packet or its closing of the WebSocket), then
// by its report. It waits up to twice w's end so that a late close is
// measured and shown.
func wsControlTimeout(ctx context.Context, e *framework.ClientEnv, p *framework.Peer, sio bool, ref time.Time, w framework.Window, last string, every time.Duration, pongs bool) {
	g.GinkgoHelper()
	ss := p.SS
	wall := lcWall(e)
	deadline := ref.Add(2 * w.Max)
	var (
		wireAt time.Time
		wire   string
		rep    testee.Report
		gotRep bool
		sent   int
	)
	next := time.Now()
	lcUntil(ctx, e, time.Until(deadline), func() bool {
		if wireAt.IsZero() && !gotRep && time.Now().After(next) {
			if pongs {
				_ = ss.ControlPong([]byte("ws07"))
			}
			if ss.ControlPing([]byte(fmt.Sprintf("ws07-%d", sent))) == nil {
				sent++
			}
			next = time.Now().Add(every)
		}
		if wireAt.IsZero() {
			select {
			case <-ss.Done():
				if r := ss.Reason(); r == "client close packet" || r == "transport closed by the client" {
					wireAt, wire = hbEndedAt(e, ss, wall), r
				}
			default:
			}
		}
		if !gotRep {
			rep, gotRep = lcCloseReport(e, sio)
		}
		return !wireAt.IsZero() && gotRep
	})
	e.Observe("the server sent %d control pings and no Engine.IO heartbeat; the client answered %d with control pongs", wsControlPings(e), wsControlPongs(e))
	closeAt, how := wireAt, "the server saw "+wire
	if closeAt.IsZero() && gotRep {
		closeAt, how = rep.At, "the testee reported it (the wire showed no close)"
	}
	if closeAt.IsZero() {
		e.Observe("the client did not close within %v of %s (session: %q)", (2 * w.Max).Round(time.Millisecond), last, ss.Reason())
		g.Fail(fmt.Sprintf("the client did not time out by the Engine.IO heartbeat within %v of %s while WebSocket control frames flowed: it takes them for the heartbeat", (2 * w.Max).Round(time.Millisecond), last))
	}
	d := closeAt.Sub(ref)
	e.Measured("the client closed ("+how+")", d)
	e.Observe("the client closed %v after %s: %s", d.Round(time.Millisecond), last, how)
	if gotRep {
		e.Observe("the testee reported %s", rep.Raw)
	}
	if !e.InWindow(w, d) {
		g.Fail(fmt.Sprintf("the client closed %v after %s, outside %v", d.Round(time.Millisecond), last, w))
	}
	if gotRep && rep.Str("reason") != "ping timeout" {
		g.Fail(fmt.Sprintf("the client closed with reason %q, not %q", rep.Str("reason"), "ping timeout"))
	}
}

// filterPrefix returns the strings of ss that start with prefix.
func filterPrefix(ss []string, prefix string) []string {
	var out []string
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}
