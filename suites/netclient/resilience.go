package netclient

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/netload"
)

// TrialPlan is the seeded fault plan of one resilience trial. The same
// root seed gives the same plans (and, through the proxy's seed, the same
// fault decisions).
type TrialPlan struct {
	Trial   int           `json:"trial"`
	Latency time.Duration `json:"latency_ns"`
	Jitter  time.Duration `json:"jitter_ns"`
	// ResetAt is when the connections of the moment are reset, from the
	// start of the trial's streams; negative for none.
	ResetAt time.Duration `json:"reset_at_ns"`
}

func (p TrialPlan) String() string {
	s := fmt.Sprintf("trial %d: latency %v ±%v", p.Trial, p.Latency, p.Jitter)
	if p.ResetAt >= 0 {
		s += fmt.Sprintf(", reset at +%v", p.ResetAt)
	}
	return s
}

// TrialResult is how one trial ended.
type TrialResult struct {
	TrialPlan
	Passed bool          `json:"passed"`
	Why    string        `json:"why,omitempty"`
	Up     netload.Tally `json:"up"`
	Down   netload.Tally `json:"down"`
}

// Plans derives the trial plans of a resilience spec from its case seed:
// with resets, latency up to 20 ms with up to 20 ms jitter and one reset
// between 20 % and 80 % of the stream; without, latency between a tenth
// and a quarter of pingTimeout with jitter up to a tenth (the round trip
// stays inside the heartbeat budget) and no reset.
func Plans(seed int64, trials int, resets bool, stream, pingTimeout time.Duration) []TrialPlan {
	out := make([]TrialPlan, trials)
	for i := range trials {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)+1))
		p := TrialPlan{Trial: i + 1, ResetAt: -1}
		ms := func(lo, hi time.Duration) time.Duration {
			lo, hi = lo.Round(time.Millisecond), hi.Round(time.Millisecond)
			if hi <= lo {
				return lo
			}
			return lo + time.Duration(rng.Int64N(int64((hi-lo)/time.Millisecond)+1))*time.Millisecond
		}
		if resets {
			p.Latency, p.Jitter = ms(0, 20*time.Millisecond), ms(0, 20*time.Millisecond)
			p.ResetAt = ms(stream/5, stream*4/5)
		} else {
			p.Latency, p.Jitter = ms(pingTimeout/10, pingTimeout/4), ms(0, pingTimeout/10)
		}
		out[i] = p
	}
	return out
}

// EntryTrials is the report entry with the trial plans and results.
const EntryTrials = "siospec.trials"

func declareResilience(fs *framework.ClientSuite) {
	s := netSuite{fs}
	s.It("NET-RES-01", "ends every trial of seeded random resets and jitter connected, with no event delivered twice or out of order", func(ctx context.Context, e *framework.ClientEnv) {
		resilience(ctx, e, true)
	}, framework.Case("net-res-resets"), tierResilience)

	s.It("NET-RES-02", "ends no trial of seeded random latency and jitter within the heartbeat budget in a heartbeat timeout, and loses nothing", func(ctx context.Context, e *framework.ClientEnv) {
		resilience(ctx, e, false)
	}, framework.Case("net-res-latency"), tierResilience)
}

// resilience runs the trials of a resilience spec in one client run, one
// after another, each with a fresh ledger and its own seeded faults.
func resilience(ctx context.Context, e *framework.ClientEnv, resets bool) {
	g.GinkgoHelper()
	n := e.Cfg.TrialCount()
	up, down := workload(e, 40), workload(e, 40)
	seed := framework.CaseSeed(e.Cfg.Seed, e.Proto, e.Case)
	plans := Plans(seed, n, resets, up.Duration(), pt(e))
	e.Expect("%d seeded trials (case seed %d): %s", n, seed, strings.Join(planStrings(plans), "; "))
	r := start(ctx, e, plan{Client: fastReconnect()})
	var results []TrialResult
	passed := 0
	for _, p := range plans {
		res := r.trial(ctx, p, up, down, resets)
		if res.Passed {
			passed++
		}
		e.Observe("trial %d: %v%s; up %s; down %s", p.Trial, map[bool]string{true: "passed", false: "failed"}[res.Passed], why(res.Why), res.Up, res.Down)
		results = append(results, res)
	}
	ratio := float64(passed) / float64(n)
	r.mu.Lock()
	r.trials, r.trialsPassed = n, passed
	r.mu.Unlock()
	g.AddReportEntry(EntryTrials, map[string]any{"seed": seed, "plans": plans, "results": results, "passed": passed, "trials": n, "pass_ratio": ratio}, g.ReportEntryVisibilityFailureOrVerbose)
	e.Observe("pass ratio %d/%d", passed, n)
	Expect(passed).To(Equal(n), "%d of %d trials failed", n-passed, n)
}

func why(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func planStrings(ps []TrialPlan) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// trial runs one trial and judges it without failing the spec.
func (r *runner) trial(ctx context.Context, p TrialPlan, up, down netload.Workload, resets bool) TrialResult {
	e := r.e
	res := TrialResult{TrialPlan: p}
	led := r.newTrial()
	led.Mark("trial", p.String())
	e.Rec.Note("resilience " + p.String())
	lat, err := e.Proxy.Add(faultproxy.Latency{Name: fmt.Sprintf("res%d.latency", p.Trial), Direction: faultproxy.Both, Latency: p.Latency, Jitter: p.Jitter})
	if err != nil {
		res.Why = "harness: add latency: " + err.Error()
		return res
	}
	defer func() { _ = lat.Remove() }()
	connectsBefore := len(r.lifecycles("connect"))
	discBefore := len(r.lifecycles("disconnect"))
	// The trial starts connected: a previous trial may have left the client
	// reconnecting.
	if !r.poll(ctx, e.HandshakeBudget(), func() bool { return r.app.connectedNow() }) {
		res.Why = "not connected at the start of the trial"
		return res
	}
	began := time.Now()
	r.mu.Lock()
	r.streamed = false
	r.mu.Unlock()
	ch := r.app.StreamDown(down)
	r.mu.Lock()
	r.downDone = ch
	r.mu.Unlock()
	if err := r.startStream(ctx, up); err != nil {
		res.Why = "the stream command failed: " + err.Error()
		return res
	}
	if p.ResetAt >= 0 {
		r.poll(ctx, max(p.ResetAt-time.Since(began), 0), func() bool { return false })
		h, err := e.Proxy.Add(faultproxy.ResetPeer{Name: fmt.Sprintf("res%d.reset", p.Trial), Scope: faultproxy.Scope{Existing: true}})
		if err != nil {
			res.Why = "harness: add reset: " + err.Error()
			return res
		}
		defer func() { _ = h.Remove() }()
		led.Mark(netload.KindFault, "reset_peer")
	}
	done := r.poll(ctx, up.Duration()+e.HandshakeBudget(), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.streamed
	})
	if p.ResetAt >= 0 {
		r.poll(ctx, e.HandshakeBudget(), func() bool { return len(r.lifecycles("connect")) > connectsBefore })
	}
	r.settle(ctx, settleWithin(e))
	res.Up, res.Down = led.Tally(netload.Up), led.Tally(netload.Down)
	var fails []string
	if !done {
		fails = append(fails, "the stream did not finish")
	}
	discs := r.lifecycles("disconnect")[discBefore:]
	if resets {
		if !r.app.connectedNow() || !r.lastIsConnect() {
			fails = append(fails, "the trial ended disconnected")
		}
		for _, t := range []netload.Tally{res.Up, res.Down} {
			if t.Duplicated > 0 || t.Reordered > 0 {
				fails = append(fails, fmt.Sprintf("%d duplicated, %d reordered", t.Duplicated, t.Reordered))
			}
		}
	} else {
		for _, d := range discs {
			if d.Detail == "ping timeout" {
				fails = append(fails, "a heartbeat timeout")
			}
		}
		if res.Up.Lost > 0 || res.Down.Lost > 0 || res.Up.AcksLost > 0 {
			fails = append(fails, fmt.Sprintf("lost: %d up, %d down, %d up acks", res.Up.Lost, res.Down.Lost, res.Up.AcksLost))
		}
	}
	res.Passed = len(fails) == 0
	res.Why = strings.Join(fails, "; ")
	return res
}

// lastIsConnect reports whether the testee's last connect or disconnect
// report is a connect.
func (r *runner) lastIsConnect() bool {
	last := ""
	for _, l := range r.lifecycles("") {
		if l.Ev == "connect" || l.Ev == "disconnect" {
			last = l.Ev
		}
	}
	return last == "connect"
}
