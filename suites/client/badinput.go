package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// This file holds the bad-server-input specs (prefix bad): garbage, an
// unknown packet type and a truncated binary packet from the server. The
// client either ignores the input (the session keeps working) or closes
// its session cleanly (and, on the Socket.IO suites, reconnects); it never
// crashes and never hangs.

// badCrashed fails the spec when the testee process has exited or reported
// a crash of its own.
func badCrashed(e *framework.ClientEnv, after string) {
	g.GinkgoHelper()
	select {
	case <-e.Testee.Exited():
		x := e.Testee.Stop()
		e.Observe("the client process ended after %s: code %d, signal %q", after, x.Code, x.Signal)
		g.Fail("the client process ended after " + after + " (crash)")
	default:
	}
	for _, r := range e.Reported("error") {
		if strings.Contains(r.Str("message"), "testee crashed") {
			g.Fail("the client crashed after " + after + ": " + r.Raw)
		}
	}
}

// badSurvives judges the client after bad input on p's session: either the
// session goes on (data sent to the client after the bad input is
// surfaced, and data from the client arrives), or the client ends the
// session because of the input: on the wire (its close packet or its
// WebSocket closed) or in its reports (close, or disconnect of /, for a
// reason other than a ping timeout: a client that only notices through its
// heartbeat has hung on the input). Then, on the Socket.IO suites, it
// reconnects and works on the new session; on the Engine.IO suites, whose
// testees do not reconnect, the testee still runs and ends promptly when
// its stdin closes. Anything else fails: the process ended, or neither
// happened within the budget.
func badSurvives(ctx context.Context, p *framework.Peer, what string) {
	g.GinkgoHelper()
	e := p.E
	w := e.Timing.Reply("act on bad input")
	within := w.Max + siocScaled(e, time.Second)
	e.Budget(w)
	if err := p.ToClient("bad-after"); err != nil && p.SS.Reason() == "" {
		g.Fail(framework.HarnessPrefix + "send: " + err.Error())
	}
	ev := "message"
	if p.SIO != nil {
		ev = "event"
	}
	surfaced := func() bool {
		for _, r := range e.Reported(ev) {
			if strings.Contains(r.Raw, "bad-after") {
				return true
			}
		}
		return false
	}
	closeReport := func() (testee.Report, bool) { return lcCloseReport(e, p.SIO != nil) }
	wireClosed := func() bool { return rcClientEnded(p.SS.Reason()) }
	lcUntil(ctx, e, within, func() bool {
		select {
		case <-e.Testee.Exited():
			return true
		default:
		}
		_, closed := closeReport()
		return surfaced() || closed || wireClosed()
	})
	badCrashed(e, what)
	cr, reported := closeReport()
	switch {
	case surfaced():
		e.Observe("the client kept its session after %s and surfaced the next message", what)
		p.ClientSends(ctx, "bad-up", 1)
		if _, ok := lcRecvData(ctx, p, "bad-up", w.Max); !ok {
			g.Fail(fmt.Sprintf("after %s the client surfaced data but sent nothing within %v: its session hangs", what, w.Max.Round(time.Millisecond)))
		}
		return
	case !reported && !wireClosed():
		e.Observe("after %s the client neither surfaced the next message nor ended its session within %v (server side: %q)", what, within.Round(time.Millisecond), p.SS.Reason())
		g.Fail(fmt.Sprintf("the client hangs after %s: neither closed its session nor went on within %v", what, within.Round(time.Millisecond)))
	}
	if reported {
		e.Observe("the testee reported %s", cr.Raw)
		Expect(strings.Contains(cr.Str("reason"), "ping timeout")).To(BeFalse(), "the client ended its session only through its heartbeat (a ping timeout) after %s: it hung on the input", what)
	}
	if wireClosed() {
		e.Observe("the client closed the session on the wire after %s: %q", what, p.SS.Reason())
	} else {
		e.Observe("the client left the session without telling the server (no close packet, no WebSocket close) after %s; the server's side: %q", what, p.SS.Reason())
	}
	if p.SIO == nil {
		badCrashed(e, what)
		x := e.Testee.Stop()
		e.Observe("the testee ended %s with code %d", x.By, x.Code)
		Expect(x.By == testee.ByStdinClosed && x.Code == 0).To(BeTrue(), "the client process did not end cleanly on stdin close after %s (%s, code %d)", what, x.By, x.Code)
		return
	}
	badReconnected(ctx, e, rcNextSession(ctx, e, rcWithin(e), what), what)
}

// badReconnected answers the CONNECT of / on the client's new session c
// and requires the second connect report, naming a crash of the process
// (rather than a missing report) when that is what happened.
func badReconnected(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO, what string) {
	g.GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, siocWait(e, "CONNECT"))
	defer cancel()
	_, skipped, err := c.Accept(cctx, "/")
	badCrashed(e, what)
	Expect(err).NotTo(HaveOccurred(), "the client sent no CONNECT for / on its new session %s (before: %s)", c.Session().ID(), siocList(skipped))
	n := func() bool {
		select {
		case <-e.Testee.Exited():
			return true
		default:
		}
		k := 0
		for _, r := range e.Reported("connect") {
			if rcMain(r) {
				k++
			}
		}
		return k >= 2
	}
	lcUntil(ctx, e, siocWait(e, "connect"), n)
	badCrashed(e, what+" and a reconnection")
	_, ok := rcAwaitNth(ctx, e, "connect", 2, rcMain, 0)
	Expect(ok).To(BeTrue(), "the client did not report connect for / on its new session")
	lcRoundTrip(ctx, &framework.Peer{E: e, SS: c.Session(), SIO: c}, "bad-reconnected")
	badCrashed(e, what)
}

// badOpen starts the case with fast reconnection and returns the Peer
// once the client is connected (Socket.IO: / connected and reported).
func badOpen(ctx context.Context, e *framework.ClientEnv, o *framework.CaseOptions) *framework.Peer {
	g.GinkgoHelper()
	if o == nil {
		o = &framework.CaseOptions{}
	}
	if e.Proto.IsSocketIO() {
		o.Client = siocOptions(o.Client)
	}
	e.Start(ctx, o)
	p := e.Open(ctx)
	if p.SIO != nil {
		_, ok := e.Await(ctx, "connect", rcMain, siocWait(e, "connect"))
		Expect(ok).To(BeTrue(), "the client did not report connect for /")
	}
	return p
}

func declareBadInput(s *framework.ClientSuite) {
	v3 := isV3(s.Proto())
	sio := s.Proto().IsSocketIO()

	// A polling payload that is no payload at all.
	payloadID, garbage := "EIO-POLL-02", "\x1fzz\x00not a payload"
	if v3 {
		payloadID, garbage = "EIO3-03", "zz:not a v3 payload"
	}
	s.It(payloadID, "survives a polling response that does not decode: it closes cleanly or ignores it, neither crashing nor hanging", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("a GET answered %q: the client closes its session itself (and a Socket.IO client reconnects) or keeps working; its process keeps running", garbage)
		p := badOpen(ctx, e, nil)
		Expect(p.SS.Transport()).To(Equal("polling"), framework.HarnessPrefix+"the session is not on polling")
		Expect(p.SS.SendRaw([]byte(garbage), false)).To(Succeed())
		badSurvives(ctx, p, "an undecodable polling payload")
	}, framework.Case("bad-payload"), framework.Polling)

	// An unknown Engine.IO packet type.
	s.It("EIO-PKT-01", "survives a packet with an unknown type digit: it closes cleanly or ignores it, neither crashing nor hanging", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("a WebSocket frame \"9junk\" (type 9 does not exist): the client closes its session itself (and a Socket.IO client reconnects) or keeps working; its process keeps running")
		p := badOpen(ctx, e, nil)
		Expect(p.SS.Transport()).To(Equal("websocket"), framework.HarnessPrefix+"the session is not on WebSocket")
		Expect(p.SS.SendRaw([]byte("9junk"), false)).To(Succeed())
		badSurvives(ctx, p, "a packet of unknown type 9")
	}, framework.Case("bad-packet-type"), framework.WebSocket)

	if !sio {
		return
	}

	// A binary packet whose attachments never all come.
	s.It("SIO-BIN-02", "surfaces nothing of a binary packet whose announced attachments do not all come, and recovers when the transport then closes", func(ctx context.Context, e *framework.ClientEnv) {
		w := siocWait(e, "the incomplete packet")
		e.Expect("52-[\"s4-trunc\",<placeholder 0>,<placeholder 1>] and one attachment only, %v of silence, then the transport closed: s4-trunc never surfaced, the process keeps running, and the client reconnects and works", w.Round(time.Millisecond))
		p := badOpen(ctx, e, nil)
		header := `52-["s4-trunc",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`
		Expect(p.SS.Send(engineio.TextPacket(engineio.Message, header), engineio.BinaryMessage([]byte{1, 2, 3}))).To(Succeed())
		lcUntil(ctx, e, w, func() bool {
			_, ok := siocReportedEvent(e, "/", "s4-trunc", nil)
			return ok
		})
		if r, ok := siocReportedEvent(e, "/", "s4-trunc", nil); ok {
			g.Fail("the client surfaced a binary packet with one of its two attachments missing: " + r.Raw)
		}
		badCrashed(e, "an incomplete binary packet")
		old := p.SS
		old.CloseTransport()
		badReconnected(ctx, e, rcNextSession(ctx, e, rcWithin(e), "the transport closed during an incomplete binary packet"), "an incomplete binary packet")
		if r, ok := siocReportedEvent(e, "/", "s4-trunc", nil); ok {
			g.Fail("the client surfaced a binary packet with one of its two attachments missing: " + r.Raw)
		}
		badCrashed(e, "an incomplete binary packet")
	}, framework.Case("bad-binary-truncated"))

	if v3 {
		return // socket.io-client 2.x surfaces an undecodable packet as an error and keeps its session: SIO-ERR-02 is v5 Node behaviour
	}
	garbageSIO := []struct{ name, what, data string }{
		{"bad-sio-json", "an EVENT whose JSON does not end", `2["s4-garbage",{"unterminated`},
		{"bad-sio-type", "a Socket.IO packet of unknown type 9", `9["s4-garbage"]`},
	}
	for _, tc := range garbageSIO {
		s.It("SIO-ERR-02", "ends its session on "+tc.what+" (a parse error) and reconnects", func(ctx context.Context, e *framework.ClientEnv) {
			e.Expect("the message %q: the client closes its Engine.IO session itself, reports disconnect with a parse error, reconnects within %v and works on the new session", tc.data, rcWithin(e).Round(time.Millisecond))
			p := badOpen(ctx, e, nil)
			Expect(p.SS.Send(engineio.TextPacket(engineio.Message, tc.data))).To(Succeed())
			reason := rcSessionEnd(ctx, p.SS, siocWait(e, "close"))
			badCrashed(e, tc.what)
			e.Observe("the session ended: %q", reason)
			Expect(rcClientEnded(reason)).To(BeTrue(), "the client did not close its session after %s (session end %q)", tc.what, reason)
			r, ok := e.Await(ctx, "disconnect", rcMain, siocWait(e, "disconnect"))
			Expect(ok).To(BeTrue(), "the client reported no disconnect for / after %s", tc.what)
			e.Observe("the client reported %s", r.Raw)
			Expect(strings.Contains(r.Str("reason"), "parse error")).To(BeTrue(), "the disconnect reason is not a parse error")
			badReconnected(ctx, e, rcNextSession(ctx, e, rcWithin(e), tc.what), tc.what)
			if r, ok := siocReportedEvent(e, "/", "s4-garbage", nil); ok {
				g.Fail("the client surfaced the undecodable packet: " + r.Raw)
			}
		}, framework.Case(tc.name))
	}
}
