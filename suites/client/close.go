package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// declareClose declares the close and transport-error specs: the
// client's own close on polling (a POSTed 1, and a clean close stays
// clean) and on WebSocket (the WebSocket closed), a close packet from the
// server followed by a message in the same payload, and a polling answer
// of 400 (the sid forgotten) as a transport error.
func declareClose(s *framework.ClientSuite) {
	sio := s.Proto().IsSocketIO()

	s.It("EIO-CLOSE-01", "on polling the client closes by POSTing a close packet, and its close stays clean", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("after the close command the client POSTs 1 (the server sees %q) within the reply budget, and the testee reports a clean close (no transport error, no error report)", "client close packet")
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		lcRoundTrip(ctx, p, "before-close")
		p.MustCommand(ctx, map[string]any{"cmd": "close"})
		w := e.Timing.Reply("client close")
		e.Budget(w)
		if !lcDone(ctx, p.SS, w.Max) {
			e.Observe("the server's session %s was still open %v after the close command: no close packet came", p.SS.ID(), w.Max.Round(time.Millisecond))
			g.Fail("the client closed without POSTing a close packet (1)")
		}
		e.Observe("the server's session ended: %s", p.SS.Reason())
		if p.SS.Reason() != "client close packet" {
			g.Fail(fmt.Sprintf("the session ended with %q, not by the client's close packet", p.SS.Reason()))
		}
		// The testee's complete output: stop it, then read every report.
		e.Testee.Stop()
		if r, ok := lcCloseReport(e, sio); ok {
			e.Observe("the testee reported %s", r.Raw)
			if lcIsErrorReason(r) {
				g.Fail("the client's own close surfaced as a transport error: " + r.Raw)
			}
		} else {
			e.Observe("the testee reported no close")
		}
		for _, r := range e.Reported("error") {
			g.Fail("the client's own close surfaced an error report: " + r.Raw)
		}
	}, framework.Case("close-polling"), framework.Polling)

	s.It("EIO-CLOSE-02", "on WebSocket the client closes by closing the WebSocket", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("after the close command the client closes its WebSocket (no close packet 1 before it) within the reply budget")
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		lcRoundTrip(ctx, p, "before-close")
		p.MustCommand(ctx, map[string]any{"cmd": "close"})
		w := e.Timing.Reply("client close")
		e.Budget(w)
		if !lcDone(ctx, p.SS, w.Max) {
			e.Observe("the server's session %s was still open %v after the close command", p.SS.ID(), w.Max.Round(time.Millisecond))
			g.Fail("the client did not close its WebSocket")
		}
		e.Observe("the server's session ended: %s", p.SS.Reason())
		if p.SS.Reason() != "transport closed by the client" {
			g.Fail(fmt.Sprintf("the session ended with %q, not by the client closing its WebSocket", p.SS.Reason()))
		}
	}, framework.Case("close-websocket"), framework.WebSocket)

	s.It("EIO-CLOSE-05", "a close packet from the server ends the client's session and a message after it in the same payload is ignored", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("after a polling payload [1, message] the client surfaces a close, never surfaces the message and sends no further request with that sid")
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		lcRoundTrip(ctx, p, "before-close")
		const after = "after-close"
		msg := engineio.TextPacket(engineio.Message, after)
		if p.SIO != nil {
			pkt, err := socketio.NewEvent("/", framework.PeerEvent, after)
			if err != nil {
				g.Fail(framework.HarnessPrefix + err.Error())
			}
			b, err := socketio.AppendPacket(nil, pkt)
			if err != nil {
				g.Fail(framework.HarnessPrefix + err.Error())
			}
			msg = engineio.Packet{Type: engineio.Message, Data: b}
		}
		e.Step("send one payload: close packet, then a message")
		sent := time.Now()
		if err := p.SS.Send(engineio.Packet{Type: engineio.Close}, msg); err != nil {
			g.Fail(framework.HarnessPrefix + "send: " + err.Error())
		}
		w := e.Timing.Reply("close surfaced")
		e.Budget(w)
		r, ok := lcAwaitClose(ctx, e, sio, w.Max)
		if !ok {
			g.Fail(fmt.Sprintf("the client surfaced no close within %v of the payload [1, message]", w.Max.Round(time.Millisecond)))
		}
		e.Observe("the testee reported %s", r.Raw)
		if sio {
			// A reconnection is the observation that must come next.
			ns := e.Session(ctx, 0)
			e.Observe("the client reconnected with a new session %s", ns.ID())
		} else {
			e.Testee.Stop()
		}
		if p.Reported(ctx, after, time.Millisecond) {
			g.Fail("the client surfaced the message that followed the close packet in the same payload")
		}
		lcPollsAfter(e, p.SS.ID(), sent)
	}, framework.Case("close-server-payload"), framework.Polling)

	s.It("EIO-CLOSE-08", "a non-200 polling response ends the client's session as a transport error", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("after its pending GET is answered 400 (sid unknown) the client closes the session as a transport error and stops polling with that sid%s", map[bool]string{true: ", then reconnects with a new handshake", false: ""}[sio])
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		lcRoundTrip(ctx, p, "before-forget")
		e.Step("forget the sid: the pending GET and every later request get 400")
		forgot := time.Now()
		p.SS.Forget()
		w := e.Timing.Reply("transport error surfaced")
		e.Budget(w)
		r, ok := lcAwaitClose(ctx, e, sio, w.Max)
		if !ok {
			g.Fail(fmt.Sprintf("the client surfaced no close within %v of the 400", w.Max.Round(time.Millisecond)))
		}
		e.Observe("the testee reported %s", r.Raw)
		if sio {
			ns := e.Session(ctx, 0)
			e.Observe("the client reconnected with a new session %s", ns.ID())
		} else {
			e.Testee.Stop()
		}
		if r.Str("reason") != "transport error" {
			g.Fail(fmt.Sprintf("the client closed with reason %q, not %q", r.Str("reason"), "transport error"))
		}
		lcPollsAfter(e, p.SS.ID(), forgot)
	}, framework.Case("close-sid-forgotten"), framework.Polling)

	s.It("EIO-ERR-06", "the client surfaces a failed poll as an error of the transport and recovers", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("after a 400 on its pending GET the testee reports a close with reason %q whose description (or an error report) names the poll (xhr poll error)%s", "transport error", map[bool]string{true: ", and the client reconnects", false: ""}[sio])
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		lcRoundTrip(ctx, p, "before-forget")
		p.SS.Forget()
		w := e.Timing.Reply("transport error surfaced")
		e.Budget(w)
		r, ok := lcAwaitClose(ctx, e, sio, w.Max)
		if !ok {
			g.Fail(fmt.Sprintf("the client surfaced no close within %v of the 400", w.Max.Round(time.Millisecond)))
		}
		e.Observe("the testee reported %s", r.Raw)
		if sio {
			_, ns := e.Connect(ctx)
			e.Observe("the client recovered: new session %s, main namespace connected again", ns.ID())
		} else {
			e.Testee.Stop()
		}
		if r.Str("reason") != "transport error" {
			g.Fail(fmt.Sprintf("the failed poll surfaced with reason %q, not %q", r.Str("reason"), "transport error"))
		}
		if lcMentionsPoll(r.Str("description")) {
			return
		}
		for _, er := range e.Reported("error") {
			if lcMentionsPoll(er.Str("message")) {
				return
			}
		}
		if sio && e.Proto == framework.SIO4 {
			// socket.io-client 2.x passes no details to disconnect; the
			// manager's error report carries the engine's error.
			g.Fail("no report names the failed poll (neither the disconnect nor an error report mentions xhr poll error)")
		}
		g.Fail(fmt.Sprintf("the close does not name the failed poll: description %q", r.Str("description")))
	}, framework.Case("error-poll-400"), framework.Polling)
}

// lcMentionsPoll reports whether a message names a failed poll.
func lcMentionsPoll(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "poll")
}

// lcRoundTrip proves the session works: data to the client (surfaced by
// the testee) and data from it (received by the server).
func lcRoundTrip(ctx context.Context, p *framework.Peer, tag string) {
	g.GinkgoHelper()
	e := p.E
	w := e.Timing.Reply("round trip")
	if err := p.ToClient(tag + "-down"); err != nil {
		g.Fail(framework.HarnessPrefix + "send: " + err.Error())
	}
	if !p.Reported(ctx, tag+"-down", w.Max) {
		g.Fail(fmt.Sprintf("the client did not surface %q within %v", tag+"-down", w.Max.Round(time.Millisecond)))
	}
	p.ClientSends(ctx, tag+"-up", 1)
	if _, ok := lcRecvData(ctx, p, tag+"-up", w.Max); !ok {
		g.Fail(fmt.Sprintf("the server did not receive %q from the client within %v", tag+"-up", w.Max.Round(time.Millisecond)))
	}
}

// lcRecvData waits for Peer data want from the client and returns the
// transport it came on.
func lcRecvData(ctx context.Context, p *framework.Peer, want string, within time.Duration) (string, bool) {
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		var r scripted.Received
		if p.SIO != nil {
			sr, err := p.SIO.Recv(cctx)
			var de *socketio.DecodeError
			if errors.As(err, &de) {
				continue
			}
			if err != nil {
				return "", false
			}
			r = sr.Raw
		} else {
			rr, err := p.SS.Recv(cctx)
			if err != nil {
				return "", false
			}
			r = rr
		}
		if d, ok := p.Data(r); ok && d == want {
			return r.Transport, true
		}
	}
}

// lcDone waits at most within for the session to end.
func lcDone(ctx context.Context, ss *scripted.Session, within time.Duration) bool {
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case <-ss.Done():
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	select {
	case <-ss.Done():
		return true
	default:
		return false
	}
}

// lcCloseReport returns the first report of the Engine.IO session's close
// (eio: close) or of the main namespace's disconnect (sio).
func lcCloseReport(e *framework.ClientEnv, sio bool) (testee.Report, bool) {
	ev := "close"
	if sio {
		ev = "disconnect"
	}
	for _, r := range e.Reported(ev) {
		if !sio || r.Str("nsp") == "" || r.Str("nsp") == "/" {
			return r, true
		}
	}
	return testee.Report{}, false
}

// lcAwaitClose waits for the close (eio) or disconnect of / (sio) report.
func lcAwaitClose(ctx context.Context, e *framework.ClientEnv, sio bool, within time.Duration) (testee.Report, bool) {
	ev := "close"
	if sio {
		ev = "disconnect"
	}
	return e.Await(ctx, ev, func(r testee.Report) bool {
		return !sio || r.Str("nsp") == "" || r.Str("nsp") == "/"
	}, within)
}

// lcIsErrorReason reports whether a close report names an error.
func lcIsErrorReason(r testee.Report) bool {
	s := strings.ToLower(r.Str("reason") + " " + r.Str("description"))
	return strings.Contains(s, "error") || strings.Contains(s, "ping timeout")
}

// lcPollsAfter fails the spec when the client, after the response to
// sid answered after since (the one that ended its session), started
// another GET with sid, or a POST carrying more than a close packet.
func lcPollsAfter(e *framework.ClientEnv, sid string, since time.Time) {
	g.GinkgoHelper()
	var end time.Time
	for _, rq := range e.Server.Requests() {
		if rq.SID == sid && !rq.Upgrade && rq.Method == http.MethodGet && rq.Finished.After(since) && (end.IsZero() || rq.Finished.Before(end)) {
			end = rq.Finished
		}
	}
	if end.IsZero() {
		g.Fail(framework.HarnessPrefix + "no polling GET of session " + sid + " was answered after the server's move")
	}
	for _, rq := range e.Server.Requests() {
		if rq.SID != sid || !rq.Started.After(end) {
			continue
		}
		closeOnly := rq.Method == http.MethodPost && (string(rq.Body) == "1" || string(rq.Body) == "1:1")
		e.Observe("%v after that response the client sent %s %s %q", rq.Started.Sub(end).Round(time.Millisecond), rq.Method, rq.URL, lcCut(rq.Body))
		if !closeOnly {
			g.Fail(fmt.Sprintf("the client kept using the ended session: %s %s after the response that ended it", rq.Method, rq.URL))
		}
	}
}

func lcCut(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "..."
	}
	return string(b)
}

// lcUntil waits until cond holds, re-checking on every transcript event
// and testee report, or every tick; it gives up after within.
func lcUntil(ctx context.Context, e *framework.ClientEnv, within time.Duration, cond func() bool) bool {
	t := time.NewTimer(within)
	defer t.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		rc, tc := e.Rec.Changed(), e.Testee.Changed()
		if cond() {
			return true
		}
		select {
		case <-rc:
		case <-tc:
		case <-tick.C:
		case <-t.C:
			return cond()
		case <-ctx.Done():
			return false
		}
	}
}

// lcWall returns a function from transcript times to wall-clock times.
func lcWall(e *framework.ClientEnv) func(time.Duration) time.Time {
	start := time.Now().Add(-e.Rec.Since())
	return func(d time.Duration) time.Time { return start.Add(d) }
}

// lcCalm gives a case whose subject is not the heartbeat a slower one
// (pingInterval ×4, pingTimeout ×5 of the run's advertised heartbeat), so
// that a client slowed down by a loaded machine is not dropped by the
// scripted server's ping timeout in the middle of an upgrade or close
// check. Reply budgets stay capped at one second.
func lcCalm(e *framework.ClientEnv, o *framework.CaseOptions) *framework.CaseOptions {
	if o == nil {
		o = &framework.CaseOptions{}
	}
	if o.Server.PingInterval == 0 {
		o.Server.PingInterval = 4 * e.Timing.PingInterval
	}
	if o.Server.PingTimeout == 0 {
		o.Server.PingTimeout = 5 * e.Timing.PingTimeout
	}
	return o
}
