package net

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/reference/sioclient"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/netload"
)

func specLB(s *framework.Suite) {
	// EIO-POLL-06 across instances: a sid the instance never issued is
	// "Session ID unknown".
	s.It("NET-LB-01", "answers a polling request for a sid another instance issued with HTTP 400, never 500 and never a new session", func(ctx context.Context, e *framework.Env) {
		hosts := twoInstances(ctx, e)
		h := mustHarness(ctx, e, "NET-LB-01", 0, hosts[0])
		e.Expect("under non-sticky-lb over two instances, every request that reaches the instance that does not know the sid gets HTTP 400; none gets a 500 or a new session")
		if _, err := h.applyProfile("non-sticky-lb", &faultproxy.ProfileOptions{Backends: hosts}); err != nil {
			Fail(err.Error())
		}
		status, body, err := rawGet(ctx, h.proxyURL(), h.path, eioQuery(h.eio, "polling", ""))
		if err != nil || status != 200 {
			Fail(fmt.Sprintf("%shandshake through the balancer: HTTP %d %v", framework.HarnessPrefix, status, err))
		}
		sid, ok := openSID(body)
		if !ok {
			Fail(framework.HarnessPrefix + "no sid in the handshake " + body)
		}
		var statuses []int
		refused := 0
		for i := range 4 {
			// One connection per request: the balancer alternates.
			st, b, err := rawGet(ctx, h.proxyURL(), h.path, eioQuery(h.eio, "polling", sid))
			if err != nil {
				Fail(framework.HarnessPrefix + "poll through the balancer: " + err.Error())
			}
			statuses = append(statuses, st)
			e.Observe("request %d with sid %s: HTTP %d %q", i+1, sid, st, strings.TrimSpace(short(b)))
			_, newSession := openSID(b)
			Expect(st).NotTo(BeNumerically(">=", 500), "an unknown sid is never a server error")
			Expect(st == 200 && newSession).To(BeFalse(), "an unknown sid never opens a new session silently")
			Expect(st).To(BeElementOf(200, 400), "a sid is either known (200) or unknown (400)")
			if st == 400 {
				refused++
			}
		}
		h.record("non-sticky-lb", "", 0, 0)
		Expect(refused).To(BeNumerically(">", 0), "the instance that does not know the sid refuses it (statuses %v)", statuses)
	}, timeout(s, 4, 5*time.Second))

	s.It("NET-LB-02", "serves a WebSocket-only client behind a non-sticky balancer, every event and ack exactly once and in order", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		hosts := twoInstances(ctx, e)
		h := mustHarness(ctx, e, "NET-LB-02", 0, hosts[0])
		e.Expect("under non-sticky-lb a WebSocket-only client connects and everything is delivered exactly once and in order")
		if _, err := h.applyProfile("non-sticky-lb", &faultproxy.ProfileOptions{Backends: hosts}); err != nil {
			Fail(err.Error())
		}
		Expect(h.connect(ctx, clientOpts{transports: websocketOnly})).To(Succeed())
		workload(ctx, h)
		m := h.record("non-sticky-lb", "", 0, 0)
		expectExactlyOnce(e, h, m)
		Expect(h.ledger.Count(netload.KindDisconnect)).To(BeZero(), "no disconnection")
	}, timeout(s, 3, 5*time.Second))

	s.It("NET-LB-03", "serves a polling session behind a balancer sticky by cookie, every event and ack exactly once and in order", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		hosts := twoInstances(ctx, e)
		h := mustHarness(ctx, e, "NET-LB-03", 0, hosts[0])
		e.Expect("behind a load balancer sticky by cookie over two instances, a polling session works and everything is delivered exactly once and in order")
		// By cookie: the proxy's sticky-by-sid reads the sid from v4
		// handshakes only, and the cookie works for both revisions.
		if _, err := h.addFault(faultproxy.LBRoundRobin{Name: "sticky-lb", Backends: hosts, Sticky: faultproxy.StickyCookie}); err != nil {
			Fail(err.Error())
		}
		Expect(h.connect(ctx, clientOpts{transports: pollingOnly, cookies: true})).To(Succeed())
		sid0, _ := h.engineSID()
		workload(ctx, h)
		sid1, _ := h.engineSID()
		m := h.record("sticky-lb (lb_round_robin sticky=cookie)", "", 0, 0)
		e.Observe("sid %s → %s", sid0, sid1)
		expectExactlyOnce(e, h, m)
		Expect(sid1).To(Equal(sid0), "the session keeps its sid")
	}, timeout(s, 3, 5*time.Second))
}

func short(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// watch connects a watcher directly to base (not through the proxy) with
// the extended contract's ext:watch and returns a channel of the
// ext:disconnected reports.
func watch(ctx context.Context, h *harness, base string) (<-chan map[string]any, error) {
	m, err := sioclient.NewManager(base, &sioclient.ManagerOptions{Path: h.path, Version: h.mgrVersion(), NoReconnection: true})
	if err != nil {
		return nil, err
	}
	DeferCleanup(m.Close)
	ch := make(chan map[string]any, 16)
	s := m.Socket("/", nil)
	s.On("ext:disconnected", func(msg sioclient.Message, _ sioclient.AckFunc) {
		var v map[string]any
		if msg.Unmarshal(0, &v) == nil {
			select {
			case ch <- v:
			default:
			}
		}
	})
	if err := s.Connect(ctx); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, h.ackWait())
	defer cancel()
	if _, err := s.EmitWithAck(cctx, "ext:watch"); err != nil {
		return nil, fmt.Errorf("ext:watch: %w", err)
	}
	return ch, nil
}

func specHalfOpen(s *framework.Suite) {
	s.It("NET-HO-01", "closes a half-open session by ping timeout within pingInterval + pingTimeout + grace of the loss", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		h := mustHarness(ctx, e, "NET-HO-01", 0, "")
		e.Expect("under half-open the server closes the session by ping timeout within pingInterval + pingTimeout + grace of the loss")
		// A raw session that never closes by itself: the server alone
		// must notice the loss (a client that closes on its own ping
		// timeout would tell the server through the proxy).
		raw, err := dialRaw(ctx, h.proxyURL(), h.path, h.eio, h.tm.PingInterval)
		if err != nil {
			Fail(framework.HarnessPrefix + "raw session through the proxy: " + err.Error())
		}
		DeferCleanup(raw.close)
		id := raw.id
		h.ledger.Mark(netload.KindConnect, id)
		reports, err := watch(ctx, h, e.Cfg.URL)
		if err != nil {
			Skip("unsupported: ext:watch (extended contract) unavailable: " + err.Error())
		}
		if _, err := h.applyProfile("half-open", nil); err != nil {
			Fail(err.Error())
		}
		lost := time.Now()
		w := h.tm.Within(h.tm.PingInterval+h.tm.PingTimeout, "pingInterval + pingTimeout")
		var got map[string]any
		var took time.Duration
		deadline := time.After(w.Max + h.tm.Grace(w.Max))
	loop:
		for {
			select {
			case r := <-reports:
				if r["id"] == id {
					got, took = r, time.Since(lost)
					break loop
				}
			case <-deadline:
				break loop
			case <-ctx.Done():
				break loop
			}
		}
		raw.stop()
		if got != nil {
			h.ledger.Mark(netload.KindDisconnect, fmt.Sprint("server: ", got["reason"]))
		}
		h.record("half-open", "", 0, 0)
		if got == nil {
			e.Budget(w)
			e.Observe("the server did not close socket %s within %v of the loss", id, w.Max)
			Fail(fmt.Sprintf("the server kept the half-open session past %v", w.Max.Round(time.Millisecond)))
		}
		e.Measured("server closed the session", took)
		e.Observe("the server closed socket %s after %v with reason %v", id, took.Round(time.Millisecond), got["reason"])
		Expect(got["reason"]).To(Equal("ping timeout"), "the server closes it as a ping timeout")
		Expect(e.InWindow(w, took)).To(BeTrue(), "closed within the heartbeat budget")
	}, timeout(s, 3, 0))

	s.It("NET-HO-04", "recovers the session after a half-open loss and replays the missed server events exactly once and in order", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		h := mustHarness(ctx, e, "NET-HO-04", 0, "")
		requireRecovery(ctx, e, e.Cfg.URL, h.path, h.eio)
		e.Expect("after a half-open loss the client reconnects, the session is recovered (same socket id) and the server events emitted meanwhile are replayed exactly once and in order")
		recoverAcross(ctx, e, h, "half-open", &faultproxy.ProfileOptions{}, "")
	}, timeout(s, 5, 5*time.Second))
}

// recoverAcross runs the down stream across a fault after which the client
// should recover its session, and judges the replay.
func recoverAcross(ctx context.Context, e *framework.Env, h *harness, profile string, o *faultproxy.ProfileOptions, crash string) {
	GinkgoHelper()
	h.w.Count = max(h.w.Count, int((h.tm.PingInterval+h.tm.PingTimeout)/h.w.Interval)+10)
	Expect(h.connect(ctx, clientOpts{reconnectDelay: 500 * time.Millisecond})).To(Succeed())
	id0 := h.sock.ID()
	streamStart := time.Now()
	streamOrSkip(ctx, h)
	Eventually(func() int { return h.ledger.Tally(netload.Down).Delivered }).WithContext(ctx).WithTimeout(h.ackWait()).WithPolling(10*time.Millisecond).
		Should(BeNumerically(">=", 3), "the stream starts")
	ph, err := h.applyProfile(profile, o)
	if err != nil {
		Fail(err.Error())
	}
	if crash == "" {
		crash = ph.CrashMode()
	}
	budget := h.w.Duration() + 2*(h.tm.PingInterval+h.tm.PingTimeout) + o.Downtime + time.Second
	// Wait for the recovery and the whole stream; the verdict below says
	// what is missing when it does not come.
	// Once recovered, the replay comes with the CONNECT reply; after the
	// stream's last event was due (plus a margin) nothing more will come.
	streamEnd := streamStart.Add(h.tm.Scaled(h.w.Duration()) + h.tm.Grace(h.w.Duration()))
	waitFor(ctx, h.tm.Scaled(budget), func() bool {
		if h.ledger.Count(netload.KindRecovered) == 0 {
			return false
		}
		return h.ledger.Tally(netload.Down).Delivered >= h.w.Count || time.Now().After(streamEnd)
	})
	// A little longer, so that a second replay would show.
	e.Idle(ctx, 3*h.w.Interval)
	m := h.record(profile, crash, 0, 0)
	id1 := h.sock.ID()
	e.Observe("socket id %s → %s, recovered %v, %d disconnection(s), detected after %v, recovered after %v", id0, id1, h.sock.Recovered(),
		h.ledger.Count(netload.KindDisconnect), m.DetectAfter.Round(time.Millisecond), m.RecoverAfter.Round(time.Millisecond))
	e.Observe("server→client: %s", m.Down)
	Expect(h.ledger.Count(netload.KindDisconnect)).To(BeNumerically(">", 0), "the fault disconnected the client (otherwise nothing was tested)")
	Expect(h.ledger.Count(netload.KindRecovered)).To(BeNumerically(">", 0), "the session is recovered")
	Expect(id1).To(Equal(id0), "the recovered socket keeps its id")
	Expect(m.Down.ExactlyOnceInOrder()).To(BeTrue(), "missed server→client events replayed exactly once and in order: %s", m.Down)
}

func specCrash(s *framework.Suite) {
	s.It("NET-CRASH-03", "answers the old sid after a crash and restart with HTTP 400 and a recovery attempt with a new session", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		in := ownInstance(ctx, e)
		h := mustHarness(ctx, e, "NET-CRASH-03", 0, in.host)
		e.Expect("after the server process is killed and restarted, the old sid gets HTTP 400 and the client's recovery attempt gets a new session, not a recovered one")
		Expect(h.connect(ctx, clientOpts{reconnectDelay: 300 * time.Millisecond})).To(Succeed())
		sid0, _ := h.engineSID()
		id0 := h.sock.ID()
		streamOrSkip(ctx, h)
		Eventually(func() int { return h.ledger.Tally(netload.Down).Delivered }).WithContext(ctx).WithTimeout(h.ackWait()).WithPolling(10*time.Millisecond).
			Should(BeNumerically(">=", 3), "the stream starts")
		downtime := h.tm.Scaled(500 * time.Millisecond)
		ph, err := h.applyProfile("server-crash", &faultproxy.ProfileOptions{Process: in.proc, Downtime: downtime})
		if err != nil {
			Fail(err.Error())
		}
		mode := ph.CrashMode()
		back := h.tm.Within(downtime+e.Cfg.Net.ReadyWithin()/3+2*time.Second, "downtime + restart + reconnection")
		Eventually(func() int { return h.ledger.Count(netload.KindConnect) + h.ledger.Count(netload.KindRecovered) }).WithContext(ctx).
			WithTimeout(back.Max).WithPolling(20*time.Millisecond).Should(BeNumerically(">=", 2), "the client connects again after the restart")
		status, body, err := rawGet(ctx, in.base, h.path, eioQuery(h.eio, "polling", sid0))
		if err != nil {
			Fail(framework.HarnessPrefix + "request with the old sid: " + err.Error())
		}
		m := h.record("server-crash", mode, 0, 0)
		id1 := h.sock.ID()
		e.Observe("crash mode %s; old sid %s now gets HTTP %d %q; socket id %s → %s, recovered %v, %d handshake(s)", mode, sid0, status, strings.TrimSpace(short(body)),
			id0, id1, h.sock.Recovered(), h.ledger.Count(netload.KindHandshake))
		_ = m
		Expect(mode).To(Equal(faultproxy.CrashModeProcess), "the crash killed the server process")
		Expect(status).To(Equal(400), "the restarted server refuses the old sid")
		Expect(h.ledger.Count(netload.KindRecovered)).To(BeZero(), "no recovered session after a crash that lost the state")
		Expect(id1).NotTo(Equal(id0), "a new session, with a new socket id")
	}, timeout(s, 4, 20*time.Second))

	s.It("NET-CRASH-04", "recovers the session after a proxy-level outage and replays the missed server events exactly once and in order", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		h := mustHarness(ctx, e, "NET-CRASH-04", 0, "")
		requireRecovery(ctx, e, e.Cfg.URL, h.path, h.eio)
		e.Expect("after a proxy-level outage (the server kept its state) the client recovers its session (same socket id) and the missed server events are replayed exactly once and in order")
		recoverAcross(ctx, e, h, "server-crash", &faultproxy.ProfileOptions{Downtime: h.tm.Scaled(h.tm.PingInterval)}, "")
	}, timeout(s, 5, 5*time.Second))
}

func specResilience(s *framework.Suite) {
	trials := func(e *framework.Env) int { return e.Cfg.Net.TrialsOrDefault() }
	s.It("NET-RES-01", "ends every trial of seeded random resets and jitter connected, with no event delivered twice or out of order", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		e.Expect("in every seeded trial of a connection reset at a random moment plus random jitter, the client ends connected and no event is delivered twice or out of order (loss is measured, not judged)")
		resilience(ctx, e, "NET-RES-01", trials(e), func(h *harness, r *rand.Rand) error {
			jit := time.Duration(r.Int64N(int64(h.tm.PingInterval/20) + 1))
			if _, err := h.addFault(faultproxy.Latency{Name: "res-jitter", Direction: faultproxy.Both, Latency: jit, Jitter: jit}); err != nil {
				return err
			}
			at := time.Duration(r.Int64N(int64(h.w.Duration()/2))) + h.w.Duration()/4
			_, err := h.addFault(faultproxy.ResetPeer{Name: "res-reset", Scope: faultproxy.Scope{After: at, Existing: true}})
			return err
		}, func(h *harness, m netload.Measures) string {
			var why []string
			if !h.sock.Connected() {
				why = append(why, "not connected at the end")
			}
			for _, t := range []netload.Tally{m.Up, m.Down} {
				if t.Duplicated > 0 || t.Reordered > 0 {
					why = append(why, t.String())
				}
			}
			return strings.Join(why, "; ")
		})
	}, timeout(s, 4*framework.DefaultNetTrials, 20*time.Second))

	s.It("NET-RES-02", "ends every trial of seeded random latency within the heartbeat budget without a heartbeat timeout or a lost event", func(ctx context.Context, e *framework.Env) {
		requireNetContract(e)
		e.Expect("in every seeded trial of random latency and jitter within the heartbeat budget, no disconnection happens and everything is delivered exactly once and in order")
		resilience(ctx, e, "NET-RES-02", trials(e), func(h *harness, r *rand.Rand) error {
			lat := time.Duration(r.Int64N(int64(h.tm.PingTimeout/8))) + 5*time.Millisecond
			jit := time.Duration(r.Int64N(int64(lat) + 1))
			_, err := h.addFault(faultproxy.Latency{Name: "res-latency", Direction: faultproxy.Both, Latency: lat, Jitter: jit})
			return err
		}, func(h *harness, m netload.Measures) string {
			var why []string
			if n := h.ledger.Count(netload.KindDisconnect); n > 0 {
				why = append(why, fmt.Sprintf("%d disconnection(s)", n))
			}
			for _, t := range []netload.Tally{m.Up, m.Down} {
				if !t.ExactlyOnceInOrder() {
					why = append(why, t.String())
				}
			}
			return strings.Join(why, "; ")
		})
	}, timeout(s, 4*framework.DefaultNetTrials, 20*time.Second))
}

// resilience runs n seeded trials: each a fresh proxy and client, faults
// from apply (drawing from a stream seeded by the trial), the workload, and
// judge (empty: the trial passed). The spec records the pass ratio and
// fails when a trial failed.
func resilience(ctx context.Context, e *framework.Env, id string, n int,
	apply func(*harness, *rand.Rand) error, judge func(*harness, netload.Measures) string) {
	GinkgoHelper()
	passed := 0
	var failures []string
	var last *harness
	var lastM netload.Measures
	for trial := range n {
		h, err := newHarness(ctx, e, id, trial, mustUpstream(e))
		if err != nil {
			Fail(err.Error())
		}
		r := rand.New(rand.NewPCG(uint64(h.seed), 2))
		if err := h.connect(ctx, clientOpts{}); err != nil {
			h.close()
			Fail(framework.HarnessPrefix + "connect: " + err.Error())
		}
		if err := apply(h, r); err != nil {
			h.close()
			Fail(err.Error())
		}
		workload(ctx, h)
		if _, tr := h.engineSID(); tr != "" {
			h.ledger.SetTransport(tr)
		}
		m := h.ledger.Measures()
		why := judge(h, m)
		if why == "" {
			passed++
		} else {
			failures = append(failures, fmt.Sprintf("trial %d (seed %d): %s", trial, h.seed, why))
		}
		e.Observe("trial %d (seed %d): %s | %s", trial, h.seed, orPass(why), strings.ReplaceAll(m.String(), "\n", " | "))
		if last != nil {
			last.close()
		}
		last, lastM = h, m
	}
	if last != nil {
		ds, _ := last.proxy.Decisions()
		e.RecordNet(framework.NetRecord{Profile: "seeded random faults", Measures: lastM, Decisions: ds, Trials: n, TrialsPassed: passed})
		last.close()
	}
	e.Observe("%d of %d trials passed", passed, n)
	Expect(failures).To(BeEmpty(), "%d of %d trials passed", passed, n)
}

func orPass(why string) string {
	if why == "" {
		return "pass"
	}
	return "FAIL " + why
}

func mustUpstream(e *framework.Env) string {
	GinkgoHelper()
	u, err := hostOf(e.Cfg.URL)
	if err != nil {
		Fail(framework.HarnessPrefix + err.Error())
	}
	return u
}

// waitFor polls cond every 20 ms until it holds (true), d passes or ctx
// ends (false).
func waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}
