package net

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/netload"
)

// workload runs the whole sequenced workload (down stream and up events)
// on a connected harness and waits for it to settle.
func workload(ctx context.Context, h *harness) {
	GinkgoHelper()
	streamOrSkip(ctx, h)
	h.e.Step(fmt.Sprintf("workload: %d events each way, one every %v, every %d with an ack, every %d binary", h.w.Count, h.w.Interval, h.w.AckEvery, h.w.BinaryEvery))
	if err := h.sendUp(ctx); err != nil {
		Fail(framework.HarnessPrefix + "send the workload: " + err.Error())
	}
	if err := h.settle(ctx, h.ackWait()+h.w.Duration()); err != nil {
		h.e.Observe("%v", err)
	}
}

// expectExactlyOnce judges both directions of the workload.
func expectExactlyOnce(e *framework.Env, h *harness, m netload.Measures) {
	GinkgoHelper()
	e.Observe("client→server: %s", m.Up)
	e.Observe("server→client: %s", m.Down)
	Expect(h.corruptions()).To(BeEmpty(), "malformed workload events or acks")
	Expect(m.Up.ExactlyOnceInOrder()).To(BeTrue(), "client→server events and acks exactly once and in order: %s", m.Up)
	Expect(m.Down.ExactlyOnceInOrder()).To(BeTrue(), "server→client events exactly once and in order: %s", m.Down)
}

// settlesOnPolling is NET-FW-01 and NET-STRIP-01.
func settlesOnPolling(ctx context.Context, e *framework.Env, id, profile string) {
	requireNetContract(e)
	h := mustHarness(ctx, e, id, 0, "")
	e.Expect("under %s the session stays on polling with the same sid, no reconnection, and every event and ack is delivered exactly once and in order", profile)
	if _, err := h.applyProfile(profile, nil); err != nil {
		Fail(err.Error())
	}
	Expect(h.connect(ctx, clientOpts{})).To(Succeed(), "connect through %s", profile)
	sid0, _ := h.engineSID()
	workload(ctx, h)
	sid1, tr := h.engineSID()
	m := h.record(profile, "", 0, 0)
	e.Observe("sid %s → %s, transport at the end %s, %d handshake(s), %d reconnection attempt(s)", sid0, sid1, tr, h.ledger.Count(netload.KindHandshake), m.Reconnects)
	expectExactlyOnce(e, h, m)
	Expect(sid1).To(Equal(sid0), "the session keeps its sid")
	Expect(tr).To(Equal("polling"), "the session settles on polling")
	Expect(h.ledger.Count(netload.KindDisconnect)).To(BeZero(), "no disconnection")
}

func specFirewall(s *framework.Suite) {
	// faults doc A9.1: the WebSocket upgrade is answered 403 by the proxy.
	s.It("NET-FW-01", "keeps the session on polling with the same sid and delivers every event and ack exactly once and in order", func(ctx context.Context, e *framework.Env) {
		settlesOnPolling(ctx, e, "NET-FW-01", "corporate-firewall")
	}, timeout(s, 3, 5*time.Second))
}

func specStrip(s *framework.Suite) {
	s.It("NET-STRIP-01", "keeps the session on polling with the same sid and delivers every event and ack exactly once and in order", func(ctx context.Context, e *framework.Env) {
		settlesOnPolling(ctx, e, "NET-STRIP-01", "ws-stripping-proxy")
	}, timeout(s, 3, 5*time.Second))

	// A GET for transport=websocket with the sid but without Upgrade headers
	// must be refused, and the polling session must live on.
	s.It("NET-STRIP-02", "refuses the stripped upgrade with an HTTP 4xx and leaves the polling session open", func(ctx context.Context, e *framework.Env) {
		h := mustHarness(ctx, e, "NET-STRIP-02", 0, "")
		e.Expect("a plain GET for transport=websocket with the sid gets an HTTP 4xx; the polling session stays open (an ack round trip works, same sid)")
		if _, err := h.applyProfile("ws-stripping-proxy", nil); err != nil {
			Fail(err.Error())
		}
		Expect(h.connect(ctx, clientOpts{transports: pollingOnly, noReconnect: true})).To(Succeed())
		sid, _ := h.engineSID()
		status, body, err := rawGet(ctx, h.proxyURL(), h.path, eioQuery(h.eio, "websocket", sid))
		if err != nil {
			Fail(framework.HarnessPrefix + "stripped request: " + err.Error())
		}
		e.Observe("the stripped upgrade request got HTTP %d %q", status, strings.TrimSpace(body))
		cctx, cancel := context.WithTimeout(ctx, h.ackWait())
		defer cancel()
		_, ackErr := h.sock.EmitWithAck(cctx, "message-with-ack", "net-strip-probe")
		sid1, tr := h.engineSID()
		h.record("ws-stripping-proxy", "", 0, 0)
		e.Observe("after it: ack %v, sid %s → %s on %s", errText(ackErr), sid, sid1, tr)
		Expect(status).To(And(BeNumerically(">=", 400), BeNumerically("<", 500)), "the stripped upgrade is refused with a 4xx")
		Expect(ackErr).NotTo(HaveOccurred(), "the polling session still answers")
		Expect(sid1).To(Equal(sid), "the polling session is the same")
	}, timeout(s, 2, 0))
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func specAntivirus(s *framework.Suite) {
	// Node 4.8.4 measured: the client stays on polling (the probe's answer
	// is held), every event arrives, ack round trips stay well under one
	// pingInterval.
	s.It("NET-AV-01", "delivers every event and ack exactly once and in order, each ack within one pingInterval", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		h := mustHarness(ctx, e, "NET-AV-01", 0, "")
		e.Expect("under antivirus-buffering everything is delivered exactly once and in order, and every ack round trip takes at most one pingInterval")
		if _, err := h.applyProfile("antivirus-buffering", nil); err != nil {
			Fail(err.Error())
		}
		Expect(h.connect(ctx, clientOpts{})).To(Succeed())
		workload(ctx, h)
		_, tr := h.engineSID()
		m := h.record("antivirus-buffering", "", 0, 0)
		e.Observe("transport at the end %s", tr)
		expectExactlyOnce(e, h, m)
		w := h.tm.Within(h.tm.PingInterval, "pingInterval")
		Expect(e.InWindow(w, m.Up.MaxAckLatency)).To(BeTrue(), "the slowest ack round trip %v fits one pingInterval", m.Up.MaxAckLatency)
	}, timeout(s, 3, 5*time.Second))
}

func specIdle(s *framework.Suite) {
	s.It("NET-IDLE-01", "keeps every connection busy with the heartbeat under an idle timeout longer than pingInterval, with no cut and no reconnection", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		h := mustHarness(ctx, e, "NET-IDLE-01", 0, "")
		idle := h.tm.Scaled(h.tm.PingInterval) + max(h.tm.PingTimeout/2, 300*time.Millisecond) + h.tm.Slack
		e.Expect("under idle-timeout-lb with idle %v (pingInterval + margin) nothing is cut, there is no reconnection and everything is delivered", idle)
		if _, err := h.applyProfile("idle-timeout-lb", &faultproxy.ProfileOptions{Idle: idle}); err != nil {
			Fail(err.Error())
		}
		Expect(h.connect(ctx, clientOpts{})).To(Succeed())
		workload(ctx, h)
		e.Idle(ctx, 2*idle) // the quiet time is the condition under test
		_, tr := h.engineSID()
		m := h.record("idle-timeout-lb", "", 0, 0)
		e.Observe("transport %s, %d disconnection(s), %d handshake(s)", tr, h.ledger.Count(netload.KindDisconnect), h.ledger.Count(netload.KindHandshake))
		expectExactlyOnce(e, h, m)
		Expect(h.ledger.Count(netload.KindDisconnect)).To(BeZero(), "no connection is cut")
		Expect(h.ledger.Count(netload.KindHandshake)).To(Equal(1), "no reconnection")
	}, timeout(s, 5, 5*time.Second))

	s.It("NET-IDLE-03", "closes a session the idle timeout cut, after which its sid gets HTTP 400", func(ctx context.Context, e *framework.Env) {
		h := mustHarness(ctx, e, "NET-IDLE-03", 0, "")
		idle := h.tm.PingInterval / 2
		e.Expect("under idle-timeout-lb with idle %v (shorter than pingInterval) the server closes the cut session: its sid gets HTTP 400 within pingInterval + pingTimeout + grace of the cut", idle)
		Expect(h.connect(ctx, clientOpts{transports: pollingOnly, noReconnect: true})).To(Succeed())
		sid, _ := h.engineSID()
		if _, err := h.applyProfile("idle-timeout-lb", &faultproxy.ProfileOptions{Idle: idle}); err != nil {
			Fail(err.Error())
		}
		cut := h.tm.Within(h.tm.PingInterval+idle, "pingInterval + idle")
		Eventually(func() int { return h.ledger.Count(netload.KindDisconnect) }).WithContext(ctx).WithTimeout(cut.Max).WithPolling(20*time.Millisecond).
			Should(BeNumerically(">", 0), "the idle timeout cuts the quiet connection")
		wait := h.tm.Within(h.tm.PingInterval+h.tm.PingTimeout, "pingInterval + pingTimeout")
		e.Idle(ctx, wait.Max) // the server's time to notice is the condition
		// A POST with a noop, not a GET: a GET would overlap the long-poll
		// a server that missed the cut still holds, and get 400 for the
		// overlap (EIO-POLL-07) instead of for an unknown sid.
		status, body, err := rawRequest(ctx, http.MethodPost, e.Cfg.URL, h.path, eioQuery(h.eio, "polling", sid), noopPayload(h.eio))
		if err != nil {
			Fail(framework.HarnessPrefix + "request with the old sid: " + err.Error())
		}
		h.record("idle-timeout-lb", "", 0, 0)
		e.Budget(wait)
		e.Observe("%v after the cut, a POST of a noop with sid %s got HTTP %d %q", wait.Max.Round(time.Millisecond), sid, status, strings.TrimSpace(body))
		Expect(status).To(Equal(400), "the cut session is closed and its sid refused")
	}, timeout(s, 3, 0))
}

func spec3G(s *framework.Suite) {
	s.It("NET-3G-01", "delivers every event, ack and binary payload exactly once and in order with no heartbeat timeout", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		h := mustHarness(ctx, e, "NET-3G-01", 0, "")
		// mobile-3g: 100 ms ± 20 ms each way, so round trips up to about
		// 240 ms plus the bandwidth's queueing. The requirement holds while
		// the RTT stays inside the heartbeat budget.
		if need := 400 * time.Millisecond; h.tm.PingTimeout < need {
			Skip(fmt.Sprintf("unsupported: pingTimeout %v leaves no room for mobile-3g's round trip of up to about 240 ms (needs %v or more); the requirement applies while the RTT stays inside the heartbeat budget", h.tm.PingTimeout, need))
		}
		e.Expect("under mobile-3g (about 200 ms RTT with jitter, 750 kbit/s) everything is delivered exactly once and in order, with no disconnection")
		if _, err := h.applyProfile("mobile-3g", nil); err != nil {
			Fail(err.Error())
		}
		Expect(h.connect(ctx, clientOpts{})).To(Succeed())
		workload(ctx, h)
		m := h.record("mobile-3g", "", 0, 0)
		expectExactlyOnce(e, h, m)
		Expect(h.ledger.Count(netload.KindDisconnect)).To(BeZero(), "no heartbeat timeout or other disconnection")
	}, timeout(s, 4, 10*time.Second))
}
