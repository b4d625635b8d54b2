package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// This file holds the Socket.IO Manager specs: reconnection after a close
// the client did not cause (and none after one it did), the backoff, giving
// up, a new handshake per reconnection, rejoining namespaces, emits
// buffered while disconnected, ack timeouts, and connection state recovery
// (prefix rc).

// rcWithin is how long a client with reconnectionDelay 100 ms and
// reconnectionDelayMax 200 ms (siocOptions) has to open its next session
// after a close it did not cause: the delay with full jitter (300 ms,
// scaled) plus siocWait for the handshake of a running process.
func rcWithin(e *framework.ClientEnv) time.Duration {
	return siocScaled(e, 300*time.Millisecond) + siocWait(e, "reconnection")
}

// rcNextSession waits for the client's next Engine.IO session and returns
// its Socket.IO layer, failing the spec when none opens within within.
func rcNextSession(ctx context.Context, e *framework.ClientEnv, within time.Duration, why string) *scripted.SIO {
	g.GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	ss, err := e.Server.NextSession(cctx)
	if err != nil {
		e.Observe("no new Engine.IO session within %v after %s", within.Round(time.Millisecond), why)
		g.Fail(fmt.Sprintf("the client did not reconnect within %v after %s", within.Round(time.Millisecond), why))
	}
	e.Rec.Note("the client opened session " + ss.ID() + " on " + ss.Transport())
	return scripted.NewSIO(ss, e.SIOVersion())
}

// rcNoSession watches for d and fails the spec when the client opens a
// session meanwhile (a reconnection it must not make).
func rcNoSession(ctx context.Context, e *framework.ClientEnv, d time.Duration, why string) {
	g.GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ss, err := e.Server.NextSession(cctx)
	if err == nil {
		e.Observe("the client opened session %s after %s", ss.ID(), why)
		g.Fail(fmt.Sprintf("the client reconnected after %s", why))
	}
}

// rcAlive is the positive end of a "no reconnection" window: the testee
// process still runs (it neither crashed nor exited) and it made no
// handshake beyond the first.
func rcAlive(e *framework.ClientEnv) {
	g.GinkgoHelper()
	select {
	case <-e.Testee.Exited():
		g.Fail("the client process exited during the observation window")
	default:
	}
	n := 0
	for _, rq := range e.Server.Requests() {
		if rq.SID == "" {
			n++
		}
	}
	e.Observe("handshakes in the whole case: %d", n)
	Expect(n).To(Equal(1), "the client made a handshake besides its first one")
}

// rcSessionEnd waits for ss to end and returns its reason ("" when it is
// still open after within).
func rcSessionEnd(ctx context.Context, ss *scripted.Session, within time.Duration) string {
	if !lcDone(ctx, ss, within) {
		return ""
	}
	return ss.Reason()
}

// rcClientEnded reports whether a session end reason is the client's own
// close (a close packet, or its WebSocket closed).
func rcClientEnded(reason string) bool {
	return reason == "client close packet" || reason == "transport closed by the client"
}

// rcAwaitNth waits until the testee has made n reports of kind ev that
// match accepts and returns the n-th.
func rcAwaitNth(ctx context.Context, e *framework.ClientEnv, ev string, n int, match func(testee.Report) bool, within time.Duration) (testee.Report, bool) {
	var got testee.Report
	ok := lcUntil(ctx, e, within, func() bool {
		k := 0
		for _, r := range e.Reported(ev) {
			if match == nil || match(r) {
				k++
				if k == n {
					got = r
					return true
				}
			}
		}
		return false
	})
	return got, ok
}

func rcMain(r testee.Report) bool { return r.Str("nsp") == "/" || r.Str("nsp") == "" }

// rcConnectMain answers the CONNECT of / on c (v4: the server's 40) and
// waits for the n-th connect report of /.
func rcConnectMain(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO, n int) {
	g.GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, siocWait(e, "CONNECT"))
	defer cancel()
	_, skipped, err := c.Accept(cctx, "/")
	Expect(err).NotTo(HaveOccurred(), "the client sent no CONNECT for / on session %s (before: %s)", c.Session().ID(), siocList(skipped))
	_, ok := rcAwaitNth(ctx, e, "connect", n, rcMain, siocWait(e, "connect"))
	Expect(ok).To(BeTrue(), "the client did not report connect #%d for /", n)
}

// rcHandshakes returns the handshake requests (no sid) so far.
func rcHandshakes(e *framework.ClientEnv) []scripted.Request {
	var out []scripted.Request
	for _, rq := range e.Server.Requests() {
		if rq.SID == "" {
			out = append(out, rq)
		}
	}
	return out
}

// rcRefusingServer returns server options under which every handshake is
// refused with 400 (the server speaks the other Engine.IO revision), so
// that every attempt of the client fails on the wire where it can be
// timed.
func rcRefusingServer(e *framework.ClientEnv) scripted.Options {
	if e.Proto.EIO() == 4 {
		return scripted.Options{EIO: 3}
	}
	return scripted.Options{EIO: 4}
}

func declareReconnect(s *framework.ClientSuite) {
	if !s.Proto().IsSocketIO() {
		return
	}
	v5 := s.Proto() == framework.SIO5

	// NODE-RECON-01, closes the client did not cause.
	involuntary := []struct {
		name, what string
		cause      func(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO) time.Duration
	}{
		{"reconnect-transport-close", "the server aborts the transport without a close packet", func(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO) time.Duration {
			c.Session().CloseTransport()
			return 0
		}},
		{"reconnect-server-restart", "the server stops listening and comes back on the same port 300 ms later", func(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO) time.Duration {
			Expect(e.Server.Stop()).To(Succeed())
			down := siocScaled(e, 300*time.Millisecond)
			t := time.NewTimer(down) // the length of the outage, part of the scenario
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			Expect(e.Server.Restart(ctx)).To(Succeed(), framework.HarnessPrefix+"restart the scripted server")
			return 0
		}},
		{"reconnect-ping-timeout", "the server's heartbeat stops (v4: no more pings; v3: pings unanswered)", func(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO) time.Duration {
			c.Session().StopPings()
			return e.Timing.PingInterval + e.Timing.PingTimeout
		}},
	}
	for _, tc := range involuntary {
		s.It("NODE-RECON-01", "reconnects when "+tc.what, func(ctx context.Context, e *framework.ClientEnv) {
			e.Expect("after %s: a new Engine.IO session and a CONNECT to / within the reconnection budget (reconnectionDelay 100 ms, max 200 ms), and a working round trip on it", tc.what)
			e.Start(ctx, &framework.CaseOptions{Client: siocOptions(nil)})
			c, _ := e.Connect(ctx)
			_, ok := e.Await(ctx, "connect", rcMain, siocWait(e, "connect"))
			Expect(ok).To(BeTrue(), "the client did not report connect for /")
			old := c.Session()
			extra := tc.cause(ctx, e, c)
			c2 := rcNextSession(ctx, e, rcWithin(e)+extra+e.Timing.Grace(extra), tc.what)
			reason := old.Reason()
			e.Observe("the first session %s ended: %q; the client opened session %s", old.ID(), reason, c2.Session().ID())
			if tc.name == "reconnect-ping-timeout" {
				Expect(rcClientEnded(reason)).To(BeTrue(), "the first session did not end by the client's own close (%q): its heartbeat did not detect the silent server", reason)
			}
			rcConnectMain(ctx, e, c2, 2)
			p := &framework.Peer{E: e, SS: c2.Session(), SIO: c2}
			lcRoundTrip(ctx, p, "after-reconnect")
		}, framework.Case(tc.name), framework.ClientOption("reconnectionDelay"))
	}

	// NODE-RECON-01, closes the client caused or the server meant.
	voluntary := []struct {
		name, what string
		cause      func(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO)
	}{
		{"no-reconnect-client-disconnect", "its own disconnect of its only namespace", func(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO) {
			siocCommand(ctx, e, c, "/", map[string]any{"cmd": "disconnect", "nsp": "/"})
		}},
		{"no-reconnect-client-close", "its own close of the Manager", func(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO) {
			siocCommand(ctx, e, c, "/", map[string]any{"cmd": "close"})
		}},
		{"no-reconnect-server-disconnect", "the server's DISCONNECT of its only namespace", func(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO) {
			Expect(c.Send(socketio.NewDisconnect("/"))).To(Succeed())
		}},
	}
	for _, tc := range voluntary {
		s.It("NODE-RECON-01", "does not reconnect after "+tc.what, func(ctx context.Context, e *framework.ClientEnv) {
			w := rcWithin(e) + siocWait(e, "close")
			e.Expect("after %s: the client ends its Engine.IO session and opens no new one for %v (reconnectionDelay 100 ms, max 200 ms: several attempts' worth), while its process keeps running", tc.what, w.Round(time.Millisecond))
			e.Start(ctx, &framework.CaseOptions{Client: siocOptions(nil)})
			c, _ := e.Connect(ctx)
			_, ok := e.Await(ctx, "connect", rcMain, siocWait(e, "connect"))
			Expect(ok).To(BeTrue(), "the client did not report connect for /")
			tc.cause(ctx, e, c)
			r, ok := e.Await(ctx, "disconnect", rcMain, siocWait(e, "disconnect"))
			Expect(ok).To(BeTrue(), "the client reported no disconnect for / after %s", tc.what)
			e.Observe("the client reported %s", r.Raw)
			reason := rcSessionEnd(ctx, c.Session(), siocWait(e, "close"))
			e.Observe("the Engine.IO session ended: %q", reason)
			rcNoSession(ctx, e, w, tc.what)
			rcAlive(e)
		}, framework.Case(tc.name), framework.ClientOption("reconnectionDelay"))
	}

	s.It("NODE-RECON-01", "does not reconnect after a CONNECT_ERROR for its only namespace", func(ctx context.Context, e *framework.ClientEnv) {
		w := rcWithin(e) + siocWait(e, "close")
		e.Expect("CONNECT / answered with CONNECT_ERROR: connect_error reported and no new Engine.IO session for %v, while the process keeps running", w.Round(time.Millisecond))
		c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: siocOptions(nil)}, map[string]siocReply{"/": func(socketio.Packet) error { return nil }})
		var p socketio.Packet
		if v5 {
			var err error
			p, err = socketio.NewConnectError("/", "s4 refused", nil)
			Expect(err).NotTo(HaveOccurred())
		} else {
			p = socketio.Packet{Type: socketio.ConnectError, Nsp: "/", Data: []byte(`"s4 refused"`)}
		}
		Expect(c.Send(p)).To(Succeed())
		r, ok := e.Await(ctx, "connect_error", nil, siocWait(e, "connect_error"))
		Expect(ok).To(BeTrue(), "the client reported no connect_error after CONNECT_ERROR")
		e.Observe("the client reported %s", r.Raw)
		rcNoSession(ctx, e, w, "a CONNECT_ERROR")
		e.Observe("the first session: %q", c.Session().Reason())
		rcAlive(e)
	}, framework.Case("no-reconnect-connect-error"))

	// NODE-RECON-02: the backoff, measured on refused handshakes.
	s.It("NODE-RECON-02", "waits reconnectionDelay×2^n between attempts, jittered by randomizationFactor and capped at reconnectionDelayMax", func(ctx context.Context, e *framework.ClientEnv) {
		const delay, maxDelay, factor, attempts = 200, 800, 0.5, 5
		e.Expect("every handshake refused (400): %d attempts after the first, the gap before attempt n (from the refusal to the next handshake) in [min(d·(1−f), max), min(d·(1+f), max)] with d = %d ms·2^(n−1), f = %g, max = %d ms (less %v, plus grace)", attempts, delay, factor, maxDelay, rcEarly)
		e.Start(ctx, &framework.CaseOptions{Server: rcRefusingServer(e), Client: map[string]any{
			"reconnectionDelay": delay, "reconnectionDelayMax": maxDelay, "randomizationFactor": factor, "reconnectionAttempts": attempts}})
		total := time.Duration(0)
		for n := range attempts {
			_, hi := rcBand(delay, maxDelay, factor, n)
			total += hi
		}
		within := e.HandshakeBudget() + siocScaled(e, total) + e.Timing.Grace(total)
		ok := lcUntil(ctx, e, within, func() bool {
			hs := rcHandshakes(e)
			return len(hs) > attempts && !hs[attempts].Finished.IsZero()
		})
		hs := rcHandshakes(e)
		Expect(ok).To(BeTrue(), "the client made %d handshakes within %v, want %d (1 + reconnectionAttempts)", len(hs), within.Round(time.Millisecond), attempts+1)
		var gaps []string
		var bad []string
		for n := range attempts {
			gap := hs[n+1].Started.Sub(hs[n].Finished)
			lo, hi := rcBand(delay, maxDelay, factor, n)
			gaps = append(gaps, fmt.Sprintf("#%d %v in [%v, %v]", n+1, gap.Round(time.Millisecond), lo, hi))
			if gap < lo-rcEarly || gap > siocScaled(e, hi)+e.Timing.Grace(hi) {
				bad = append(bad, fmt.Sprintf("attempt %d came %v after the refusal, outside %v..%v (+grace %v)", n+1, gap.Round(time.Millisecond), lo, hi, e.Timing.Grace(hi)))
			}
		}
		e.Observe("gaps before each reconnection attempt: %s", strings.Join(gaps, "; "))
		e.Measured("attempt gaps", hs[attempts].Started.Sub(hs[0].Finished))
		Expect(bad).To(BeEmpty(), "the reconnection delays do not follow the backoff")
	}, framework.Case("reconnect-backoff"), framework.Polling, framework.ClientOption("randomizationFactor"))

	// NODE-RECON-03: giving up.
	s.It("NODE-RECON-03", "gives up after reconnectionAttempts failed attempts and makes no further attempt", func(ctx context.Context, e *framework.ClientEnv) {
		const attempts = 2
		w := rcWithin(e)
		e.Expect("every handshake refused (400), reconnectionAttempts %d: %d handshakes, reconnect_failed reported, and no handshake for %v after it", attempts, attempts+1, w.Round(time.Millisecond))
		e.Start(ctx, &framework.CaseOptions{Server: rcRefusingServer(e), Client: siocOptions(map[string]any{"reconnectionAttempts": attempts})})
		within := e.HandshakeBudget() + rcWithin(e)*attempts
		ok := lcUntil(ctx, e, within, func() bool {
			return len(rcHandshakes(e)) > attempts && len(e.Reported("reconnect_failed")) > 0
		})
		n := len(rcHandshakes(e))
		e.Observe("handshakes: %d; reconnect_failed reported: %v", n, len(e.Reported("reconnect_failed")) > 0)
		Expect(n).To(BeNumerically(">", attempts), "the client made only %d handshakes, want %d (1 + reconnectionAttempts)", n, attempts+1)
		Expect(ok).To(BeTrue(), "the client reported no reconnect_failed within %v", within.Round(time.Millisecond))
		lcUntil(ctx, e, w, func() bool { return len(rcHandshakes(e)) > attempts+1 })
		n = len(rcHandshakes(e))
		e.Observe("handshakes %v after reconnect_failed: %d", w.Round(time.Millisecond), n)
		Expect(n).To(Equal(attempts+1), "the client made %d handshakes, want %d: it did not give up after reconnectionAttempts", n, attempts+1)
		select {
		case <-e.Testee.Exited():
			g.Fail("the client process exited after giving up")
		default:
		}
	}, framework.Case("reconnect-give-up"), framework.Polling, framework.ClientOption("reconnectionAttempts"))

	// NODE-RECON-04: a new handshake per reconnection.
	s.It("NODE-RECON-04", "opens each reconnection with a new handshake and a new session, never reusing the old sid", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("two transport closes in a row: each followed by a handshake (no sid) opening a session with a new sid; no request carries a closed session's sid after the reconnection")
		e.Start(ctx, &framework.CaseOptions{Client: siocOptions(nil)})
		c, _ := e.Connect(ctx)
		_, ok := e.Await(ctx, "connect", rcMain, siocWait(e, "connect"))
		Expect(ok).To(BeTrue(), "the client did not report connect for /")
		sids := []string{c.Session().ID()}
		for i := range 2 {
			c.Session().CloseTransport()
			c = rcNextSession(ctx, e, rcWithin(e), "a transport close")
			rcConnectMain(ctx, e, c, i+2)
			hs := c.Session().Handshake()
			e.Observe("reconnection %d: handshake %s %s", i+1, hs.Method, hs.URL)
			Expect(hs.SID).To(BeEmpty(), "the reconnection's first request carries a sid")
			Expect(sids).NotTo(ContainElement(c.Session().ID()), framework.HarnessPrefix+"the server reused a sid")
			sids = append(sids, c.Session().ID())
		}
		siocSync(ctx, e, c, "/")
		last := c.Session().Handshake().Started
		for _, rq := range e.Server.Requests() {
			for _, old := range sids[:len(sids)-1] {
				Expect(rq.SID == old && rq.Started.After(last)).To(BeFalse(), "the client sent %s %s with the closed session's sid after reconnecting", rq.Method, rq.URL)
			}
		}
	}, framework.Case("reconnect-new-handshake"))

	// SIO-CONN-15: every joined namespace again.
	s.It("SIO-CONN-15", "sends CONNECT again for every namespace it had joined after reconnecting", func(ctx context.Context, e *framework.ClientEnv) {
		want := []string{"/", "/admin", "/chat"}
		if !v5 {
			want = []string{"/admin", "/chat"} // v4 joins / through the server's 40
		}
		e.Expect("with /, /admin and /chat joined, a transport close: on the new session a CONNECT for each of %v", want)
		c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: siocOptions(nil)}, map[string]siocReply{"/": nil})
		siocJoin(ctx, e, c, "/admin", nil)
		siocJoin(ctx, e, c, "/chat", nil)
		c.Session().CloseTransport()
		c2 := rcNextSession(ctx, e, rcWithin(e), "a transport close")
		if !v5 {
			Expect(siocAcceptReply(e, c2, "/")).To(Succeed())
		}
		seen := map[string]bool{}
		for len(seen) < len(want) {
			r, _ := siocUntil(ctx, e, c2, fmt.Sprintf("the CONNECTs of %v (seen %d)", want, len(seen)), func(p socketio.Packet) bool {
				return p.Type == socketio.Connect && !seen[p.Namespace()]
			})
			e.Observe("on the new session: %s", r.Packet)
			seen[r.Packet.Namespace()] = true
			Expect(siocAcceptReply(e, c2, r.Packet.Namespace())).To(Succeed())
		}
		for _, n := range want {
			Expect(seen).To(HaveKey(n), "no CONNECT for %s after the reconnection", n)
		}
	}, framework.Case("reconnect-namespaces"))

	// NODE-BUF-01: emits while disconnected.
	s.It("NODE-BUF-01", "sends the emits made while disconnected in order after the next CONNECT reply, none before it", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("a transport close; on the new session /sync is accepted and / held; three emits on / (commanded on /sync) are not sent before the CONNECT reply of /, and come in order after it")
		c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: siocOptions(map[string]any{"namespaces": []string{"/", "/sync"}})}, map[string]siocReply{"/": nil, "/sync": nil})
		_, ok := rcAwaitNth(ctx, e, "connect", 2, nil, siocWait(e, "connect"))
		Expect(ok).To(BeTrue(), "the client did not report connect for / and /sync")
		c.Session().CloseTransport()
		c2 := rcNextSession(ctx, e, rcWithin(e), "a transport close")
		_, before := siocUntil(ctx, e, c2, "the CONNECT of /sync", func(p socketio.Packet) bool {
			return p.Type == socketio.Connect && p.Namespace() == "/sync"
		})
		Expect(siocAcceptReply(e, c2, "/sync")).To(Succeed())
		_, ok = rcAwaitNth(ctx, e, "connect", 2, func(r testee.Report) bool { return r.Str("nsp") == "/sync" }, siocWait(e, "connect"))
		Expect(ok).To(BeTrue(), "the client did not report connect for /sync after reconnecting")
		for i := 1; i <= 3; i++ {
			siocCommand(ctx, e, c2, "/sync", map[string]any{"cmd": "emit", "nsp": "/", "event": "s4-buffered", "args": []any{i}})
		}
		before = append(before, siocDrain(c2)...)
		e.Observe("before the CONNECT reply of / the client sent: %s", siocList(before))
		for _, b := range before {
			n, _ := b.Packet.EventName()
			Expect(n == "s4-buffered").To(BeFalse(), "the client sent %s before its CONNECT to / was answered", b.Packet)
		}
		Expect(siocAcceptReply(e, c2, "/")).To(Succeed())
		var got []string
		for len(got) < 3 {
			r, _ := siocUntil(ctx, e, c2, fmt.Sprintf("the buffered emits (got %d of 3)", len(got)), func(p socketio.Packet) bool {
				n, _ := p.EventName()
				return n == "s4-buffered"
			})
			got = append(got, string(r.Packet.Data))
			Expect(r.Packet.Namespace()).To(Equal("/"))
		}
		e.Observe("after the reply: %s", strings.Join(got, " "))
		Expect(got).To(Equal([]string{`["s4-buffered",1]`, `["s4-buffered",2]`, `["s4-buffered",3]`}), "the buffered emits did not come in order")
	}, framework.Case("buffer-while-disconnected"))

	if v5 {
		// NODE-ACK-01: an ack timeout.
		s.It("NODE-ACK-01", "fails an emit whose ack does not come within its timeout, and ignores the ack that comes later", func(ctx context.Context, e *framework.ClientEnv) {
			timeout := e.Timing.PingInterval + e.Timing.PingTimeout
			w := e.Timing.Around(timeout, "ack timeout")
			w.Max += siocScaled(e, 200*time.Millisecond) // a testee's report
			e.Expect("emit with ack and timeout %v, never acked: ack_error about %v after the emit (the testee's done report; window %v); the ack sent after that is not surfaced (a round trip follows)", timeout, timeout, w)
			c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
			done := rcEmitTagged(ctx, e, c, "timed", map[string]any{"cmd": "emit", "nsp": "/", "event": "s4-timed", "args": []any{"x"}, "ack": true, "timeout": timeout.Milliseconds()})
			ev, _ := siocUntil(ctx, e, c, "the timed EVENT", func(p socketio.Packet) bool {
				n, _ := p.EventName()
				return n == "s4-timed"
			})
			Expect(ev.Packet.HasID).To(BeTrue(), "the emit with ack carries no ack id: %s", ev.Packet)
			r, ok := e.Await(ctx, "ack_error", func(r testee.Report) bool { return r.Str("tag") == "timed" }, w.Max+siocWait(e, "ack_error"))
			Expect(ok).To(BeTrue(), "the client reported no ack_error for the unacknowledged emit")
			if a, early := rcReported(e, "ack", "timed"); early {
				g.Fail("the client reported an ack for an emit nobody acknowledged: " + a.Raw)
			}
			// The library's timer starts at the emit (the done report);
			// the EVENT may reach the server later (a POST in flight, an
			// upgrade pausing polling).
			d := r.At.Sub(done.At)
			e.Measured("ack_error after the emit", d)
			e.Observe("the client reported %s %v after the emit (done reported), %v after its EVENT reached the server", r.Raw, d.Round(time.Millisecond), r.At.Sub(ev.At).Round(time.Millisecond))
			Expect(e.InWindow(w, d)).To(BeTrue(), "the ack timeout fired after %v, not about %v", d.Round(time.Millisecond), timeout)
			ack, err := socketio.NewPacket(socketio.Ack, "/", []any{"late"})
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Send(ack.WithID(ev.Packet.ID))).To(Succeed())
			siocSync(ctx, e, c, "/")
			a, late := rcReported(e, "ack", "timed")
			Expect(late).To(BeFalse(), "the client surfaced the ack that came after the timeout: %s", a.Raw)
		}, framework.Case("ack-timeout"), framework.ClientOption("ackTimeout"))

		// NODE-ACK-03: pending timed acks fail on disconnect.
		s.It("NODE-ACK-03", "fails a pending emit with an ack timeout when the socket disconnects, before the timeout", func(ctx context.Context, e *framework.ClientEnv) {
			timeout := siocScaled(e, 20*time.Second)
			e.Expect("emit with ack and timeout %v, then the transport closed: ack_error reported within %v of the close", timeout, siocWait(e, "ack_error"))
			c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: map[string]any{"reconnection": false}}, map[string]siocReply{"/": nil})
			rcEmitTagged(ctx, e, c, "pending", map[string]any{"cmd": "emit", "nsp": "/", "event": "s4-pending", "args": []any{}, "ack": true, "timeout": timeout.Milliseconds()})
			siocUntil(ctx, e, c, "the pending EVENT", func(p socketio.Packet) bool {
				n, _ := p.EventName()
				return n == "s4-pending"
			})
			closed := time.Now()
			c.Session().CloseTransport()
			_, ok := e.Await(ctx, "disconnect", rcMain, siocWait(e, "disconnect"))
			Expect(ok).To(BeTrue(), "the client reported no disconnect after the transport close")
			r, ok := e.Await(ctx, "ack_error", func(r testee.Report) bool { return r.Str("tag") == "pending" }, siocWait(e, "ack_error"))
			Expect(ok).To(BeTrue(), "the pending ack did not fail when the socket disconnected")
			e.Observe("the client reported %s %v after the close", r.Raw, r.At.Sub(closed).Round(time.Millisecond))
		}, framework.Case("ack-fail-on-disconnect"), framework.ClientOption("reconnection"))

		// NODE-CSR-03: pid and offset on reconnection.
		s.It("NODE-CSR-03", "sends the pid it was given and the offset of the last event it processed in its CONNECT after reconnecting", func(ctx context.Context, e *framework.ClientEnv) {
			e.Expect("CONNECT reply {\"sid\",\"pid\":\"s4-pid\"}, events carrying offsets off-1 then off-2 as last argument, a transport close: the new CONNECT / carries pid s4-pid and offset off-2")
			c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: siocOptions(nil)}, map[string]siocReply{"/": func(socketio.Packet) error { return nil }})
			p, err := socketio.NewPacket(socketio.Connect, "/", socketio.Object{{Key: "sid", Value: "s4-sid"}, {Key: "pid", Value: "s4-pid"}})
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Send(p)).To(Succeed())
			_, ok := e.Await(ctx, "connect", rcMain, siocWait(e, "connect"))
			Expect(ok).To(BeTrue(), "the client did not report connect for /")
			siocEvent(c, "/", -1, framework.PeerEvent, "first", "off-1")
			siocEvent(c, "/", -1, framework.PeerEvent, "second", "off-2")
			_, ok = siocAwaitEvent(ctx, e, "/", framework.PeerEvent, "second")
			Expect(ok).To(BeTrue(), "the client did not surface the events")
			c.Session().CloseTransport()
			c2 := rcNextSession(ctx, e, rcWithin(e), "a transport close")
			r, _ := siocUntil(ctx, e, c2, "the CONNECT to / after reconnecting", func(p socketio.Packet) bool {
				return p.Type == socketio.Connect && p.Namespace() == "/"
			})
			e.Observe("the client sent %s", r.Packet)
			var got map[string]any
			Expect(json.Unmarshal(r.Packet.Data, &got)).To(Succeed(), "the CONNECT carries no JSON object (%q)", r.Packet.Data)
			Expect(got).To(HaveKeyWithValue("pid", "s4-pid"), "the CONNECT does not carry the pid")
			Expect(got).To(HaveKeyWithValue("offset", "off-2"), "the CONNECT does not carry the offset of the last event")
		}, framework.Case("recovery-pid-offset"))
	}
}

// rcEarly is how much shorter than its band a reconnection gap may be
// measured (timer granularity; the measured gap includes the refusal's
// trip, so it is never really shorter).
const rcEarly = 20 * time.Millisecond

// rcBand returns the jitter band of the delay before reconnection attempt
// n+1 (n from 0): d = delay·2^n, [d·(1−f), d·(1+f)], each capped at max.
func rcBand(delay, maxDelay int, f float64, n int) (lo, hi time.Duration) {
	d := float64(delay) * float64(int(1)<<n)
	l, h := min(d*(1-f), float64(maxDelay)), min(d*(1+f), float64(maxDelay))
	return time.Duration(l) * time.Millisecond, time.Duration(h) * time.Millisecond
}

// rcReported returns the first report of kind ev with the given tag.
func rcReported(e *framework.ClientEnv, ev, tag string) (testee.Report, bool) {
	for _, r := range e.Reported(ev) {
		if r.Str("tag") == tag {
			return r, true
		}
	}
	return testee.Report{}, false
}

// rcEmitTagged sends a contract command on / with the given tag (the
// testee copies it into ack and ack_error) and waits for its ack and its
// done report, which it returns (the testee reports done right after the
// library call, so its time is when the library took the emit).
func rcEmitTagged(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO, tag string, cmd map[string]any) testee.Report {
	g.GinkgoHelper()
	m := map[string]any{"tag": tag}
	for k, v := range cmd {
		m[k] = v
	}
	within := siocWait(e, "command")
	e.Rec.Note(fmt.Sprintf("command on /: %v", m))
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	Expect(c.Command(cctx, "/", m)).To(Succeed(), "the client did not carry out the contract command %v", m)
	r, ok := e.Await(ctx, "done", func(r testee.Report) bool { return r.Str("tag") == tag }, within)
	Expect(ok).To(BeTrue(), "the testee did not report done for command %v", m)
	return r
}
