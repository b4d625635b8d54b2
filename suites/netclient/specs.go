package netclient

import (
	"context"
	"fmt"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/netload"
)

// Tier labels.
var (
	tierConformance = g.Label("tier:conformance")
	tierResilience  = g.Label("tier:resilience")
)

// Register declares the client-role specs of the net suite under s.
func Register(s *framework.ClientSuite) {
	sp := s.WithProto(framework.NET)
	g.Describe("client NET", func() {
		sp.Install()
		declareConformance(sp)
		declareResilience(sp)
	})
}

// fastReconnect are client options that keep reconnections short (the
// specs that wait for one): 100 ms base, 400 ms cap, ±50 %.
func fastReconnect() map[string]any {
	return map[string]any{"reconnectionDelay": 100, "reconnectionDelayMax": 400, "randomizationFactor": 0.5}
}

// pi returns the advertised pingInterval (scaled) and pt the pingTimeout.
func pi(e *framework.ClientEnv) time.Duration { return e.Timing.Scaled(e.Timing.PingInterval) }
func pt(e *framework.ClientEnv) time.Duration { return e.Timing.Scaled(e.Timing.PingTimeout) }

// workload returns the stream of a case: count events, one every 25 ms
// (times the scale), every 2nd with an ack, every 5th binary.
func workload(e *framework.ClientEnv, count int) netload.Workload {
	w := netload.DefaultWorkload(pi(e))
	w.Count, w.Interval = count, e.Timing.Scaled(25*time.Millisecond)
	return w
}

// settleWithin is how long a case waits for the last events and acks
// after both streams ended: a pingInterval plus grace.
func settleWithin(e *framework.ClientEnv) time.Duration {
	return e.Timing.Within(e.Timing.PingInterval, "settle").Max
}

// flow runs both streams to their end and waits until everything arrived
// (or the settle window passed).
func (r *runner) flow(ctx context.Context, up, down netload.Workload) {
	g.GinkgoHelper()
	r.stream(ctx, up, down)
	r.streamDone(ctx, up.Duration()+r.e.HandshakeBudget())
	r.settle(ctx, max(down.Duration()-up.Duration(), 0)+settleWithin(r.e))
}

// expectDelivered fails unless every event and ack of the given directions
// was delivered exactly once and in order (and every binary attachment
// held its seq).
func (r *runner) expectDelivered(dirs ...netload.Dir) {
	g.GinkgoHelper()
	led := r.ledger()
	for _, d := range dirs {
		t := led.Tally(d)
		r.e.Observe("%s: %s", d, t)
		Expect(t.Sent).To(BeNumerically(">", 0), "no %s event was sent", d)
		Expect(t.ExactlyOnceInOrder()).To(BeTrue(), "%s events were not delivered exactly once and in order: %s", d, t)
	}
	Expect(r.app.BadBinary()).To(BeZero(), "up events carried binary attachments that were not their seq")
}

// expectOneSession fails unless the client opened exactly one Engine.IO
// session and reported no disconnect.
func (r *runner) expectOneSession(why string) {
	g.GinkgoHelper()
	ss := r.app.Sessions()
	r.e.Observe("Engine.IO sessions opened: %d; disconnects reported: %d", len(ss), len(r.lifecycles("disconnect")))
	Expect(ss).To(HaveLen(1), "the client opened more than one session (%s)", why)
	Expect(r.lifecycles("disconnect")).To(BeEmpty(), "the client reported a disconnect (%s)", why)
}

// expectPolling fails unless the session stayed on polling.
func (r *runner) expectPolling() {
	g.GinkgoHelper()
	ups := r.lifecycles("upgrade")
	r.e.Observe("final transport: %s; upgrades reported: %d", r.ledger().Measures().FinalTransport, len(ups))
	Expect(ups).To(BeEmpty(), "the client reported an upgrade although no WebSocket could work")
	for _, s := range r.app.Sessions() {
		Expect(s.Transport).To(Equal("polling"), "session %s was not opened on polling", s.SID)
	}
}

// netSuite declares the specs of the net suite: each body starts with the
// net heartbeat (NetPingInterval, NetPingTimeout) in e.Timing, so that
// every window computed before the case starts derives from it.
type netSuite struct{ *framework.ClientSuite }

func (s netSuite) It(reqID, text string, body framework.ClientBody, decorators ...any) bool {
	return s.ClientSuite.It(reqID, text, func(ctx context.Context, e *framework.ClientEnv) {
		e.Timing.PingInterval, e.Timing.PingTimeout = NetPingInterval, NetPingTimeout
		body(ctx, e)
	}, append(decorators, g.Offset(2))...)
}

func declareConformance(fs *framework.ClientSuite) {
	s := netSuite{fs}
	// corporate-firewall: the proxy answers every upgrade 403.
	s.It("NET-FW-01", "settles on polling with the same sid under corporate-firewall, and delivers every event and ack in both directions exactly once and in order", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("upgrades answered 403 by the proxy from the start; one session on polling; both streams delivered exactly once, in order, every ack fired")
		r := start(ctx, e, plan{Profile: "corporate-firewall"})
		r.flow(ctx, workload(e, 40), workload(e, 40))
		r.expectOneSession("the refused upgrade")
		r.expectPolling()
		r.expectDelivered(netload.Up, netload.Down)
	}, framework.Case("net-firewall"), tierConformance)

	s.It("NET-FW-02", "takes the refused upgrade under corporate-firewall as non-fatal: no new session and at most one upgrade attempt per session", func(ctx context.Context, e *framework.ClientEnv) {
		quiet := 2 * pi(e)
		e.Expect("upgrades answered 403 from the start, a stream, then %v of quiet: one session, at most one upgrade request per session", quiet)
		r := start(ctx, e, plan{Client: fastReconnect(), Profile: "corporate-firewall"})
		r.flow(ctx, workload(e, 20), netload.Workload{})
		r.poll(ctx, quiet, func() bool { return len(r.app.Sessions()) > 1 })
		perSID := map[string]int{}
		for _, d := range r.decisions("corporate-firewall") {
			if d.Action == "reject" {
				perSID[sidOf(d.Detail)]++
			}
		}
		e.Observe("upgrade requests refused per sid: %v", perSID)
		r.expectOneSession("the refused upgrade")
		for sid, n := range perSID {
			Expect(n).To(BeNumerically("<=", 1), "the client tried to upgrade session %q %d times", sid, n)
		}
	}, framework.Case("net-firewall-upgrade"), tierConformance)

	// ws-stripping-proxy.
	s.It("NET-STRIP-01", "settles on polling with the same sid under ws-stripping-proxy, and delivers every event and ack exactly once and in order", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("upgrade headers stripped by the proxy from the start (the server answers 400); one session on polling; both streams delivered exactly once, in order")
		r := start(ctx, e, plan{Profile: "ws-stripping-proxy"})
		r.flow(ctx, workload(e, 40), workload(e, 40))
		r.expectOneSession("the stripped upgrade")
		r.expectPolling()
		r.expectDelivered(netload.Up, netload.Down)
	}, framework.Case("net-ws-stripping"), tierConformance)

	// antivirus-buffering.
	s.It("NET-AV-01", "stays on polling under antivirus-buffering until a probe round trip succeeds, and delivers every event and ack exactly once, in order, within one pingInterval", func(ctx context.Context, e *framework.ClientEnv) {
		budget := e.Timing.Within(e.Timing.PingInterval, "pingInterval")
		e.Expect("responses buffered whole and WebSocket frames held until 4096 bytes from the start: no upgrade (the probe never completes), both streams delivered exactly once, in order, none later than %v", budget)
		r := start(ctx, e, plan{Profile: "antivirus-buffering"})
		r.flow(ctx, workload(e, 40), workload(e, 40))
		r.expectDelivered(netload.Up, netload.Down)
		ups := r.lifecycles("upgrade")
		e.Observe("upgrades reported: %d", len(ups))
		Expect(ups).To(BeEmpty(), "the client upgraded although the probe round trip never completed")
		led := r.ledger()
		late := max(led.Tally(netload.Up).MaxLatency, led.Tally(netload.Down).MaxLatency)
		Expect(e.InWindow(budget, late)).To(BeTrue(), "an event took %v to arrive (budget %v)", late.Round(time.Millisecond), budget)
	}, framework.Case("net-antivirus"), tierConformance)

	// idle-timeout-lb.
	s.It("NET-IDLE-01", "keeps its connections busy under idle-timeout-lb longer than pingInterval: nothing is cut, no reconnection, everything delivered", func(ctx context.Context, e *framework.ClientEnv) {
		idle := pi(e) + e.Timing.Grace(e.Timing.PingInterval)
		quiet := idle + pi(e)
		e.Expect("idle timeout %v (> pingInterval %v + margin) from the start; a stream, %v of quiet: no disconnect, one session, everything delivered", idle, pi(e), quiet)
		r := start(ctx, e, plan{Client: fastReconnect(), Profile: "idle-timeout-lb", ProfileOpts: faultproxy.ProfileOptions{Idle: idle}})
		r.flow(ctx, workload(e, 20), workload(e, 20))
		r.poll(ctx, quiet, func() bool { return len(r.lifecycles("disconnect")) > 0 })
		r.expectOneSession("the idle timeout")
		r.expectDelivered(netload.Up, netload.Down)
	}, framework.Case("net-idle-long"), tierConformance)

	s.It("NET-IDLE-02", "detects a cut by idle-timeout-lb shorter than pingInterval as a transport close at once, reconnects with a new handshake, and delivers what it emits afterwards", func(ctx context.Context, e *framework.ClientEnv) {
		idle := pi(e) / 2
		detect := e.Timing.Within(e.Timing.PingInterval, "idle cut + pingInterval")
		e.Expect("idle timeout %v (< pingInterval %v) on a quiet connection: a disconnect that is not a ping timeout within %v of the fault, a new handshake, a stream after it delivered", idle, pi(e), detect)
		r := start(ctx, e, plan{Client: fastReconnect()})
		r.apply("idle-timeout-lb", &faultproxy.ProfileOptions{Idle: idle})
		applied := time.Now()
		ok := r.poll(ctx, detect.Max+pt(e), func() bool { return len(r.lifecycles("disconnect")) > 0 })
		Expect(ok).To(BeTrue(), "the client reported no disconnect after its connection was cut")
		d := r.lifecycles("disconnect")[0]
		e.Observe("disconnect %q %v after the fault", d.Detail, d.At.Sub(applied).Round(time.Millisecond))
		Expect(d.Detail).NotTo(Equal("ping timeout"), "the client noticed the cut only by its heartbeat")
		Expect(e.InWindow(detect, d.At.Sub(applied))).To(BeTrue(), "the client took %v to notice the cut", d.At.Sub(applied).Round(time.Millisecond))
		r.awaitConnects(ctx, 2, e.HandshakeBudget(), "a connect after the cut")
		Expect(len(r.app.Sessions())).To(BeNumerically(">=", 2), "the client did not open a new session")
		r.newTrial()
		r.stream(ctx, workload(e, 20), netload.Workload{})
		r.streamDone(ctx, workload(e, 20).Duration()+e.HandshakeBudget())
		r.settle(ctx, settleWithin(e))
		t := r.ledger().Tally(netload.Up)
		e.Observe("after the reconnection: %s", t)
		Expect(t.Lost).To(BeZero(), "events emitted after the reconnection were lost: %s", t)
	}, framework.Case("net-idle-short"), tierConformance)

	// Load balancing over two harness servers.
	s.It("NET-LB-02", "connects WebSocket-only through non-sticky-lb and delivers every event and ack exactly once and in order", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("two servers behind a round-robin balancer without stickiness, transports websocket: connected, both streams delivered exactly once, in order")
		r := start(ctx, e, plan{Servers: 2, Transports: "websocket", Profile: "non-sticky-lb", BackendsAll: true})
		r.flow(ctx, workload(e, 40), workload(e, 40))
		r.expectOneSession("a WebSocket-only client behind a balancer")
		r.expectDelivered(netload.Up, netload.Down)
	}, framework.Case("net-lb-websocket"), tierConformance)

	s.It("NET-LB-03", "keeps a polling session working behind a sticky load balancer over two instances and delivers everything exactly once and in order", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("two servers behind a round-robin balancer sticky by sid, transports polling: one session, both streams delivered exactly once, in order")
		r := start(ctx, e, plan{Servers: 2, Transports: "polling", Faults: []faultproxy.Fault{stickyLB()}})
		r.flow(ctx, workload(e, 40), workload(e, 40))
		r.expectOneSession("a sticky balancer")
		r.expectDelivered(netload.Up, netload.Down)
	}, framework.Case("net-lb-sticky"), tierConformance)

	s.It("NET-LB-04", "does not retry in a tight loop under non-sticky-lb with default transports: its handshakes keep the reconnection backoff", func(ctx context.Context, e *framework.ClientEnv) {
		// The library defaults: reconnectionDelay 1000 ms, ±50 %.
		const delay, factor = 1000 * time.Millisecond, 0.5
		window := e.Timing.Scaled(3 * time.Second)
		least := time.Duration(float64(delay) * (1 - factor))
		allowed := 1 + int(window/least)
		e.Expect("two servers behind a round-robin balancer without stickiness, default transports and reconnection options: within %v at most %d handshakes (one per reconnectionDelay·(1−randomizationFactor) = %v)", window, allowed, least)
		r := start(ctx, e, plan{Servers: 2, NoConnectWait: true, Profile: "non-sticky-lb", BackendsAll: true})
		// The window opens at the first handshake (a process start is not
		// the client's doing).
		if !r.poll(ctx, e.HandshakeBudget(), func() bool { return len(r.app.Sessions()) > 0 }) {
			g.Fail(fmt.Sprintf("the client made no handshake within %v", e.HandshakeBudget()))
		}
		began := r.app.Sessions()[0].At
		r.poll(ctx, window-time.Since(began), func() bool { return false })
		n := 0
		for _, s := range r.app.Sessions() {
			if s.At.Sub(began) <= window {
				n++
			}
		}
		rate := float64(n) / window.Seconds()
		e.Observe("%d handshakes in %v (%.1f/s), %d disconnects and %d connects reported", n, window, rate, len(r.lifecycles("disconnect")), len(r.lifecycles("connect")))
		Expect(n).To(BeNumerically("<=", allowed), "the client made %d handshakes in %v (%.1f/s): it retries without backoff", n, window, rate)
	}, framework.Case("net-lb-backoff"), tierConformance)

	// half-open.
	halfOpen := func(ctx context.Context, e *framework.ClientEnv, recovery bool) (*runner, time.Time) {
		g.GinkgoHelper()
		r := start(ctx, e, plan{Client: fastReconnect(), Recovery: recovery})
		up, down := workload(e, 120), recoverable(workload(e, 120), recovery)
		r.stream(ctx, up, down)
		// Strike while both streams flow (a quarter of the way).
		r.poll(ctx, up.Duration()/6, func() bool { return false })
		r.apply("half-open", nil)
		applied := time.Now()
		detect := e.Timing.Within(e.Timing.PingInterval+e.Timing.PingTimeout, "pingInterval + pingTimeout")
		r.poll(ctx, detect.Max+pi(e), func() bool { return len(r.lifecycles("disconnect")) > 0 })
		r.awaitConnects(ctx, 2, detect.Max+pi(e)+e.HandshakeBudget(), "a connect after the loss")
		r.streamDone(ctx, up.Duration()+e.HandshakeBudget())
		r.settle(ctx, settleWithin(e))
		return r, applied
	}

	s.It("NET-HO-02", "detects a half-open connection as a ping timeout within pingInterval + pingTimeout + grace, then reconnects with a new handshake", func(ctx context.Context, e *framework.ClientEnv) {
		detect := e.Timing.Within(e.Timing.PingInterval+e.Timing.PingTimeout, "pingInterval + pingTimeout")
		e.Expect("both directions blackholed while the streams flow: disconnect \"ping timeout\" within %v, then a new handshake and a connect", detect)
		r, applied := halfOpen(ctx, e, false)
		ds := r.lifecycles("disconnect")
		Expect(ds).NotTo(BeEmpty(), "the client never noticed the loss")
		after := ds[0].At.Sub(applied)
		e.Observe("disconnect %q %v after the loss; %d sessions", ds[0].Detail, after.Round(time.Millisecond), len(r.app.Sessions()))
		e.Measured("the loss detected", after)
		Expect(ds[0].Detail).To(Equal("ping timeout"), "the client closed for another reason than its heartbeat")
		Expect(e.InWindow(detect, after)).To(BeTrue(), "the client took %v to notice the loss", after.Round(time.Millisecond))
		Expect(len(r.app.Sessions())).To(BeNumerically(">=", 2), "the client did not reconnect with a new handshake")
	}, framework.Case("net-half-open-detect"), tierConformance)

	s.It("NET-HO-03", "delivers after the reconnection, or reports as failed, every event it emitted with an ack while the connection was silently dead", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("both directions blackholed while the streams flow, then a reconnection: every up event emitted with an ack arrived at the server or its ack was reported failed")
		r, _ := halfOpen(ctx, e, false)
		r.mu.Lock()
		var silent []int
		for _, n := range r.ackSent {
			if r.app.UpReceived(n) == 0 && r.failed[n] == "" {
				silent = append(silent, n)
			}
		}
		nAck, nFailed := len(r.ackSent), len(r.failed)
		r.mu.Unlock()
		e.Observe("up: %s; %d emitted with an ack, %d reported failed, %d lost without a signal %v", r.ledger().Tally(netload.Up), nAck, nFailed, len(silent), silent)
		Expect(silent).To(BeEmpty(), "%d events emitted with an ack were lost and their acks never failed", len(silent))
	}, framework.Case("net-half-open-acks"), tierConformance)

	s.It("NET-HO-04", "recovers its session after a half-open connection when the server offers recovery, and receives the events emitted meanwhile exactly once and in order", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("recovery on (pid in CONNECT, offsets on the down stream); both directions blackholed while the streams flow: the reconnection is recovered and the down stream arrives exactly once, in order")
		r, _ := halfOpen(ctx, e, true)
		cs := r.lifecycles("connect")
		e.Observe("connects: %v", lifeDetails(cs))
		Expect(len(cs)).To(BeNumerically(">=", 2), "the client did not reconnect")
		Expect(cs[1].Detail).To(HaveSuffix(" recovered"), "the reconnection was not recovered (the client reported connect %s)", cs[1].Report.Raw)
		t := r.ledger().Tally(netload.Down)
		e.Observe("down: %s; received in order %v", t, r.downOrder())
		Expect(t.Lost).To(BeZero(), "down events emitted during the loss were not replayed: %s", t)
		Expect(t.Duplicated).To(BeZero(), "down events arrived twice: %s (order %v)", t, r.downOrder())
		Expect(t.Reordered).To(BeZero(), "down events arrived out of order: %s", t)
	}, framework.Case("net-half-open-recovery"), tierConformance)

	// server-crash.
	crash := func(ctx context.Context, e *framework.ClientEnv, downtime time.Duration) (*runner, time.Time, time.Time) {
		g.GinkgoHelper()
		r := start(ctx, e, plan{Client: fastReconnect()})
		up := workload(e, 20)
		r.flow(ctx, up, netload.Workload{})
		r.ledger().Mark(netload.KindFault, "harness server crashed (state lost)")
		r.mu.Lock()
		r.crash = framework.CrashProcess // the harness server's state is lost
		r.profile = "server-crash"
		r.mu.Unlock()
		crashed := time.Now()
		e.Rec.Note("the harness server crashes")
		Expect(e.Server.Stop()).To(Succeed())
		r.poll(ctx, downtime, func() bool { return false })
		Expect(e.Server.Restart(ctx)).To(Succeed())
		restarted := time.Now()
		e.Rec.Note("the harness server is back")
		r.awaitConnects(ctx, 2, e.HandshakeBudget(), "a connect after the restart")
		return r, crashed, restarted
	}

	s.It("NET-CRASH-01", "notices a server crash at once, reconnects with a new handshake, gets a new sid and connects again", func(ctx context.Context, e *framework.ClientEnv) {
		notice := e.Timing.Within(e.Timing.PingInterval, "pingInterval")
		e.Expect("the harness server stopped (every connection closed) for %v and restarted: a disconnect within %v that is not a ping timeout, a new session with a new sid, a second connect", e.Timing.Scaled(time.Second), notice)
		r, crashed, _ := crash(ctx, e, e.Timing.Scaled(time.Second))
		ds := r.lifecycles("disconnect")
		Expect(ds).NotTo(BeEmpty(), "the client reported no disconnect")
		after := ds[0].At.Sub(crashed)
		e.Observe("disconnect %q %v after the crash", ds[0].Detail, after.Round(time.Millisecond))
		Expect(ds[0].Detail).NotTo(Equal("ping timeout"), "the client noticed the crash only by its heartbeat")
		Expect(e.InWindow(notice, after)).To(BeTrue(), "the client took %v to notice the crash", after.Round(time.Millisecond))
		ss := r.app.Sessions()
		Expect(len(ss)).To(BeNumerically(">=", 2), "the client did not open a new session")
		Expect(ss[len(ss)-1].SID).NotTo(Equal(ss[0].SID))
		cs := r.lifecycles("connect")
		e.Observe("sessions %d; connects %v", len(ss), lifeDetails(cs))
		Expect(cs[1].Detail).NotTo(Equal(cs[0].Detail), "the client reported the same socket id after a crash that lost the server's state")
	}, framework.Case("net-crash"), tierConformance)

	s.It("NET-CRASH-02", "spaces its reconnection attempts after a server crash by min(reconnectionDelay·2^n, reconnectionDelayMax) with ±randomizationFactor jitter", func(ctx context.Context, e *framework.ClientEnv) {
		downtime := e.Timing.Scaled(2 * time.Second)
		e.Expect("reconnectionDelay 100 ms, reconnectionDelayMax 400 ms, randomizationFactor 0.5; the harness server down %v: the n-th delay (from the disconnect or the failed attempt) within [d·0.5, d·1.5] capped at 400 ms, d = 100 ms·2^n", downtime)
		r, _, _ := crash(ctx, e, downtime)
		delays := r.ledger().Measures().ReconnectDelays
		e.Observe("reconnection delays: %v", roundAll(delays))
		Expect(len(delays)).To(BeNumerically(">=", 3), "the client made fewer than 3 reconnection attempts in %v", downtime)
		late := e.Timing.Grace(400 * time.Millisecond)
		for n, d := range delays {
			lo, hi := band(100, 400, 0.5, n)
			if d < lo-20*time.Millisecond || d > hi+late {
				g.Fail(fmt.Sprintf("reconnection delay #%d was %v, outside [%v, %v] (+%v for the failed attempt's trip)", n+1, d.Round(time.Millisecond), lo, hi, late))
			}
		}
	}, framework.Case("net-crash-backoff"), tierConformance)

	s.It("NET-CRASH-04", "recovers its session after a proxy-level outage when the server kept its state, and receives the missed events exactly once and in order", func(ctx context.Context, e *framework.ClientEnv) {
		downtime := e.Timing.Scaled(time.Second)
		e.Expect("recovery on; the proxy refuses and resets every connection for %v while the down stream flows (the server keeps its state): the reconnection is recovered with the same socket id and the down stream arrives exactly once, in order", downtime)
		r := start(ctx, e, plan{Client: fastReconnect(), Recovery: true})
		down := recoverable(workload(e, 80), true)
		r.stream(ctx, workload(e, 20), down)
		r.poll(ctx, down.Duration()/4, func() bool { return false })
		r.apply("server-crash", &faultproxy.ProfileOptions{Downtime: downtime})
		c2 := r.awaitConnects(ctx, 2, downtime+e.HandshakeBudget(), "a connect after the outage")
		r.poll(ctx, down.Duration(), func() bool { return false })
		r.settle(ctx, settleWithin(e))
		cs := r.lifecycles("connect")
		e.Observe("connects: %v", lifeDetails(cs))
		Expect(c2.Detail).To(HaveSuffix(" recovered"), "the reconnection was not recovered (%s)", c2.Report.Raw)
		Expect(strings.TrimSuffix(c2.Detail, " recovered")).To(Equal(cs[0].Detail), "the recovered socket has another id")
		t := r.ledger().Tally(netload.Down)
		e.Observe("down: %s; received in order %v", t, r.downOrder())
		Expect(t.Lost).To(BeZero(), "down events emitted during the outage were not replayed: %s", t)
		Expect(t.Duplicated).To(BeZero(), "down events arrived twice: %s (order %v)", t, r.downOrder())
		Expect(t.Reordered).To(BeZero(), "down events arrived out of order: %s", t)
	}, framework.Case("net-crash-recovery"), tierConformance)

	// mobile-3g.
	s.It("NET-3G-01", "delivers every event, ack and binary payload exactly once and in order under mobile-3g, with no heartbeat timeout", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("heartbeat 1000 ms / 1000 ms; about 200 ms RTT with ±20 ms jitter and 750 kbit/s each way from the start (inside the heartbeat budget): one session, no disconnect, both streams delivered exactly once, in order")
		// A heartbeat with room for the slow link: the round trip (≈ 240 ms
		// at most) is a quarter of pingTimeout.
		r := start(ctx, e, plan{Profile: "mobile-3g", PingInterval: time.Second, PingTimeout: time.Second})
		r.flow(ctx, workload(e, 40), workload(e, 40))
		r.expectOneSession("a slow link inside the heartbeat budget")
		r.expectDelivered(netload.Up, netload.Down)
	}, framework.Case("net-mobile-3g"), tierConformance)
}

// recoverable drops the ack requests of a down stream when recovery is on:
// what a server replays is a broadcast, which cannot ask for an ack (and a
// Node client keeps the offset only of events without one).
func recoverable(w netload.Workload, recovery bool) netload.Workload {
	if recovery {
		w.AckEvery = 0
	}
	return w
}

// stickyLB is a round-robin balancer sticky by sid over the case's
// servers; start fills in the backends.
func stickyLB() faultproxy.Fault {
	return faultproxy.LBRoundRobin{Name: "sticky-lb", Sticky: faultproxy.StickySID}
}

// band returns the jitter band of the delay before reconnection attempt
// n+1 (n from 0): d = delay·2^n, [d·(1−f), d·(1+f)], each capped at max.
func band(delay, maxDelay int, f float64, n int) (lo, hi time.Duration) {
	d := float64(delay) * float64(int(1)<<min(n, 20))
	l, h := min(d*(1-f), float64(maxDelay)), min(d*(1+f), float64(maxDelay))
	return time.Duration(l) * time.Millisecond, time.Duration(h) * time.Millisecond
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

func lifeDetails(ls []lifecycle) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Detail
	}
	return out
}
