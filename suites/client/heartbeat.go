package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// hbPings is how many server pings (v4) or client pings (v3) a heartbeat
// spec judges.
const hbPings = 3

// declareHeartbeat declares the heartbeat specs: in v4 (eio4, sio5) the
// client answers every ping with an empty pong, promptly, and closes by
// itself pingInterval+pingTimeout after the last ping (only pings reset
// that deadline); in v3 (eio3, sio4) the client pings every pingInterval.
func declareHeartbeat(s *framework.ClientSuite) {
	if s.Proto().EIO() == 3 {
		declareHeartbeatV3(s)
		return
	}
	sio := s.Proto().IsSocketIO()
	for _, tr := range []framework.Transport{framework.Polling, framework.WebSocket} {
		s.It("EIO-HB-02", "the client answers every ping with a pong, promptly, on "+string(tr), func(ctx context.Context, e *framework.ClientEnv) {
			e.Start(ctx, hbLongTimeout(e))
			w := e.Timing.Reply("pong")
			e.Budget(w)
			e.Expect("each of the first %d pings answered by a pong within %v", hbPings, w.Max.Round(time.Millisecond))
			p := e.Open(ctx)
			pairs := hbCollect(ctx, e, p.SS, w)
			for i, pp := range pairs {
				if pp.pong < 0 {
					e.Observe("ping %d (sent at %v) got no pong", i+1, pp.ping.Round(time.Millisecond))
					continue
				}
				e.Observe("ping %d: the client sent its pong %v after it", i+1, (pp.pong - pp.ping).Round(time.Millisecond))
			}
			for i, pp := range pairs {
				if pp.pong < 0 {
					g.Fail(fmt.Sprintf("ping %d got no pong within %v", i+1, w.Max.Round(time.Millisecond)))
				}
				if d := pp.pong - pp.ping; !e.InWindow(w, d) {
					g.Fail(fmt.Sprintf("ping %d was answered %v after it, beyond %v", i+1, d.Round(time.Millisecond), w.Max.Round(time.Millisecond)))
				}
			}
			if len(pairs) < hbPings {
				g.Fail(fmt.Sprintf("only %d of %d pings came and were answered; the session: %q", hbAnswered(pairs), hbPings, p.SS.Reason()))
			}
		}, framework.Case("heartbeat-pong-"+string(tr)), tr)
	}

	s.It("EIO-HB-07", "the client's pongs carry no data", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("every pong the client sends is exactly %q", "3")
		e.Start(ctx, hbLongTimeout(e))
		p := e.Open(ctx)
		pairs := hbCollect(ctx, e, p.SS, e.Timing.Reply("pong"))
		if hbAnswered(pairs) == 0 {
			g.Fail("the client sent no pong, so no pong could be checked")
		}
		for _, ev := range e.Rec.Events() {
			if hbIsPong(ev) {
				e.Observe("pong %q", ev.Summary)
				if ev.Summary != "3" {
					g.Fail(fmt.Sprintf("the client sent the pong %q with data", ev.Summary))
				}
			}
		}
	}, framework.Case("heartbeat-pong-empty"))

	s.It("EIO-HB-04", "a client that gets no ping closes the session pingInterval+pingTimeout after the last one, not after pingTimeout alone", func(ctx context.Context, e *framework.ClientEnv) {
		hbSilent(ctx, e, sio, false)
	}, framework.Case("heartbeat-no-pings"))

	s.It("EIO-HB-09", "only a ping resets the client's heartbeat deadline: messages without pings still end in a ping timeout", func(ctx context.Context, e *framework.ClientEnv) {
		hbSilent(ctx, e, sio, true)
	}, framework.Case("heartbeat-messages-no-pings"))
}

// declareHeartbeatV3 declares the v3 heartbeat specs (the client pings).
func declareHeartbeatV3(s *framework.ClientSuite) {
	s.It("EIO3-02", "in v3 the client pings every pingInterval", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, nil)
		w := e.Timing.Around(e.Timing.PingInterval, "pingInterval")
		e.Expect("the client's first %d pings come one pingInterval apart (the first one pingInterval after the client read the open packet, i.e. first used its sid)", hbPings)
		e.Budget(w)
		p := e.Open(ctx)
		wall := lcWall(e)
		within := time.Duration(hbPings+1) * w.Max
		var pings []time.Duration
		lcUntil(ctx, e, within, func() bool {
			pings = pings[:0]
			for _, ev := range e.Rec.Events() {
				if ev.Dir == framework.DirC2S && ev.Kind == framework.KindEIOPacket && strings.HasPrefix(ev.Summary, "2") && ev.Summary != "2probe" {
					pings = append(pings, ev.At)
				}
			}
			return len(pings) >= hbPings
		})
		// The client starts its ping timer when it has read the open
		// packet; its first request with the sid shows when that was.
		prev := hbFirstUse(ctx, e, p.SS)
		if len(pings) == 0 {
			g.Fail(fmt.Sprintf("the client sent no ping within %v of the handshake", within.Round(time.Millisecond)))
		}
		for i, at := range pings {
			t := wall(at)
			d := t.Sub(prev)
			what := "its first request with the sid"
			if i > 0 {
				what = fmt.Sprintf("ping %d", i)
			}
			e.Observe("ping %d came %v after %s", i+1, d.Round(time.Millisecond), what)
			if !e.InWindow(w, d) {
				g.Fail(fmt.Sprintf("ping %d came %v after %s, outside %v", i+1, d.Round(time.Millisecond), what, w))
			}
			prev = t
		}
		if len(pings) < hbPings {
			g.Fail(fmt.Sprintf("the client sent only %d pings within %v (session: %q)", len(pings), within.Round(time.Millisecond), p.SS.Reason()))
		}
	}, framework.Case("heartbeat-client-pings"))

	s.It("EIO3-02", "in v3 a client whose ping gets no pong closes the session pingTimeout after that ping", func(ctx context.Context, e *framework.ClientEnv) {
		hbSilentRun(ctx, e, s.Proto().IsSocketIO(), false, true)
	}, framework.Case("heartbeat-no-pongs"))
}

// hbPair is a server ping and the client's pong (transcript times; pong
// -1 when none came).
type hbPair struct{ ping, pong time.Duration }

func hbAnswered(pairs []hbPair) int {
	n := 0
	for _, p := range pairs {
		if p.pong >= 0 {
			n++
		}
	}
	return n
}

// hbIsPong reports whether ev is a pong from the client (the probe
// excepted, which only the server sends).
func hbIsPong(ev framework.TranscriptEvent) bool {
	return ev.Dir == framework.DirC2S && ev.Kind == framework.KindEIOPacket && strings.HasPrefix(ev.Summary, "3") && ev.Summary != "3probe"
}

// hbPairs matches the server's pings with the client's pongs in order.
func hbPairs(evs []framework.TranscriptEvent) []hbPair {
	var out []hbPair
	next := 0
	for _, ev := range evs {
		switch {
		case ev.Dir == framework.DirS2C && ev.Kind == framework.KindEIOPacket && ev.Summary == "2":
			out = append(out, hbPair{ping: ev.At, pong: -1})
		case hbIsPong(ev) && next < len(out):
			out[next].pong = ev.At
			next++
		}
	}
	return out
}

// hbCollect waits until hbPings pings were each answered within w, one
// was answered late (its delay is then known), one stayed unanswered up
// to the advertised pingTimeout plus w, or the session ended.
func hbCollect(ctx context.Context, e *framework.ClientEnv, ss *scripted.Session, w framework.Window) []hbPair {
	giveUp := e.Timing.PingTimeout + w.Max
	within := time.Duration(hbPings)*(e.Timing.PingInterval+w.Max) + giveUp
	var pairs []hbPair
	lcUntil(ctx, e, within, func() bool {
		pairs = hbPairs(e.Rec.Events())
		if len(pairs) > hbPings {
			pairs = pairs[:hbPings]
		}
		select {
		case <-ss.Done():
			return true
		default:
		}
		now := e.Rec.Since()
		for _, pp := range pairs {
			if pp.pong < 0 && now-pp.ping > giveUp {
				return true
			}
			if pp.pong >= 0 && pp.pong-pp.ping > w.Max {
				return true
			}
		}
		return len(pairs) == hbPings && hbAnswered(pairs) == hbPings
	})
	return pairs
}

// hbSilent runs EIO-HB-04 (withMessages false) and EIO-HB-09 (true): the
// server stops pinging right after the handshake (with messages, it keeps
// sending data) and the client must close by itself
// pingInterval+pingTimeout after the handshake (its last heartbeat).
func hbSilent(ctx context.Context, e *framework.ClientEnv, sio, withMessages bool) {
	hbSilentRun(ctx, e, sio, withMessages, false)
}

// hbSilentRun is hbSilent; with v3 the server stops answering the
// client's pings, and the client must close pingTimeout after its first
// unanswered ping.
func hbSilentRun(ctx context.Context, e *framework.ClientEnv, sio, withMessages, v3 bool) {
	g.GinkgoHelper()
	e.Start(ctx, nil)
	budget, what := e.Timing.PingInterval+e.Timing.PingTimeout, "pingInterval+pingTimeout"
	last := "the last ping it got (here: the open packet, read when the client first uses its sid)"
	if v3 {
		budget, what = e.Timing.PingTimeout, "pingTimeout"
		last = "its first ping, which the server leaves unanswered"
	}
	w := e.Timing.Around(budget, what)
	e.Budget(w)
	e.Expect("the client closes the session (ping timeout) %v..%v after %s%s%s",
		w.Min.Round(time.Millisecond), w.Max.Round(time.Millisecond), last,
		map[bool]string{true: ", although the server keeps sending messages", false: ""}[withMessages],
		map[bool]string{true: "; then it reconnects", false: ""}[sio])
	ss := e.Session(ctx, 0)
	ss.StopPings()
	e.Step("pings stopped for session " + ss.ID())
	var p *framework.Peer
	if sio {
		c := scripted.NewSIO(ss, e.SIOVersion())
		cctx, cancel := context.WithTimeout(ctx, e.Timing.Reply("CONNECT").Max)
		_, _, err := c.Accept(cctx, "/")
		cancel()
		if err != nil {
			g.Fail(fmt.Sprintf("the client did not connect to the main namespace: %v", err))
		}
		p = &framework.Peer{E: e, SS: ss, SIO: c}
	} else {
		p = &framework.Peer{E: e, SS: ss}
	}
	wall := lcWall(e)
	// The client's deadline starts when it has read the open packet, which
	// a loaded client may do well after the server sent it: its first
	// request with the sid (the next poll, the upgrade, a POST) shows when.
	ref := hbFirstUse(ctx, e, ss)
	for _, pp := range hbPairs(e.Rec.Events()) {
		t := wall(pp.ping)
		if pp.pong >= 0 {
			t = wall(pp.pong)
		}
		if t.After(ref) {
			ref = t
		}
	}
	e.Observe("the client first used its sid %v after the handshake response", ref.Sub(ss.Handshake().Finished).Round(time.Millisecond))
	if v3 {
		within := e.Timing.PingInterval + e.Timing.Reply("ping").Max
		var ping time.Duration
		if !lcUntil(ctx, e, within, func() bool {
			for _, ev := range e.Rec.Events() {
				if ev.Dir == framework.DirC2S && ev.Kind == framework.KindEIOPacket && strings.HasPrefix(ev.Summary, "2") && ev.Summary != "2probe" {
					ping = ev.At
					return true
				}
			}
			return false
		}) {
			g.Fail(fmt.Sprintf("the client sent no ping within %v of using its sid", within.Round(time.Millisecond)))
		}
		ref = wall(ping)
		e.Observe("the client sent its first ping %v after the handshake response; the server did not answer it", ref.Sub(ss.Handshake().Finished).Round(time.Millisecond))
	}
	// Wait past the window (up to twice its end) so that a late close is
	// measured and shown, not mistaken for none.
	deadline := ref.Add(2 * w.Max)
	var (
		wireAt time.Time
		wire   string
		rep    testee.Report
		gotRep bool
		sent   int
	)
	nextMsg := time.Now()
	lcUntil(ctx, e, time.Until(deadline), func() bool {
		if withMessages && time.Now().After(nextMsg) && wireAt.IsZero() && !gotRep {
			sent++
			_ = p.ToClient(fmt.Sprintf("keepalive-%d", sent))
			nextMsg = time.Now().Add(e.Timing.PingInterval / 4)
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
	// The wire first: the server's record of the client's own close; the
	// testee's report when the wire shows none.
	closeAt, how := wireAt, "the server saw "+wire
	if closeAt.IsZero() && gotRep {
		closeAt, how = rep.At, "the testee reported it (the wire showed no close)"
	}
	if withMessages {
		e.Observe("the server sent %d messages and no ping after the handshake", sent)
	}
	if closeAt.IsZero() {
		e.Observe("the client did not close within %v of its last ping (session: %q)", (2 * w.Max).Round(time.Millisecond), ss.Reason())
		g.Fail(fmt.Sprintf("the client did not detect the silent heartbeat (%s) within %v", what, (2 * w.Max).Round(time.Millisecond)))
	}
	d := closeAt.Sub(ref)
	e.Measured("the client closed ("+how+")", d)
	e.Observe("the client closed %v after the last ping: %s", d.Round(time.Millisecond), how)
	if gotRep {
		e.Observe("the testee reported %s", rep.Raw)
	}
	if !e.InWindow(w, d) {
		if d < w.Min && !v3 {
			g.Fail(fmt.Sprintf("the client closed %v after the last ping, before pingInterval+pingTimeout (%v): it does not wait for the next ping", d.Round(time.Millisecond), budget))
		}
		g.Fail(fmt.Sprintf("the client closed %v after the last ping, outside %v", d.Round(time.Millisecond), w))
	}
	if gotRep && rep.Str("reason") != "ping timeout" {
		g.Fail(fmt.Sprintf("the client closed with reason %q, not %q", rep.Str("reason"), "ping timeout"))
	}
	if sio {
		ns := e.Session(ctx, 0)
		e.Observe("the client reconnected with a new session %s", ns.ID())
	}
}

// hbEndedAt returns when the server recorded the end of ss (its note),
// or now.
func hbEndedAt(e *framework.ClientEnv, ss *scripted.Session, wall func(time.Duration) time.Time) time.Time {
	want := "session " + ss.ID() + " ended"
	for _, ev := range e.Rec.Events() {
		if ev.Kind == framework.KindNote && strings.HasPrefix(ev.Summary, want) {
			return wall(ev.At)
		}
	}
	return time.Now()
}

// hbFirstUse returns when the server received the client's first request
// carrying ss's sid (waiting up to the reply budget; the handshake's end
// when none comes).
func hbFirstUse(ctx context.Context, e *framework.ClientEnv, ss *scripted.Session) time.Time {
	var first time.Time
	lcUntil(ctx, e, e.Timing.Reply("first request").Max, func() bool {
		for _, rq := range e.Server.Requests() {
			if rq.SID == ss.ID() && (first.IsZero() || rq.Started.Before(first)) {
				first = rq.Started
			}
		}
		return !first.IsZero()
	})
	if first.IsZero() {
		return ss.Handshake().Finished
	}
	return first
}

// hbLongTimeout advertises pingTimeout ×5 for the pong specs: the
// scripted server then drops a session only well after the reply budget
// the spec judges the pong against, so a late pong is measured and
// reported rather than cut off by the server's own ping timeout.
func hbLongTimeout(e *framework.ClientEnv) *framework.CaseOptions {
	return &framework.CaseOptions{Server: scripted.Options{PingTimeout: 5 * e.Timing.PingTimeout}}
}
