package net

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/suites/framework"
)

// Tier labels.
const (
	LabelConformance = "tier:conformance"
	LabelResilience  = "tier:resilience"
)

// Register declares the server-role specs of the net suite under one
// top-level container and returns true (for use in a var declaration).
func Register(s *framework.Suite) bool {
	return Describe("Network failures (server role)", func() {
		s.Install()
		ns := s.WithProto(framework.NET)
		Describe("behind a corporate firewall that refuses WebSocket upgrades", Label(LabelConformance, "fault:corporate-firewall"), func() {
			specFirewall(ns)
		})
		Describe("behind a proxy that strips the Upgrade header", Label(LabelConformance, "fault:ws-stripping-proxy"), func() {
			specStrip(ns)
		})
		Describe("behind an antivirus that buffers responses", Label(LabelConformance, "fault:antivirus-buffering"), func() {
			specAntivirus(ns)
		})
		Describe("behind a load balancer with an idle timeout", Label(LabelConformance, "fault:idle-timeout-lb"), func() {
			specIdle(ns)
		})
		Describe("behind a load balancer over two instances", Label(LabelConformance, "fault:non-sticky-lb"), func() {
			specLB(ns)
		})
		Describe("over a half-open connection", Label(LabelConformance, "fault:half-open"), func() {
			specHalfOpen(ns)
		})
		Describe("across a server crash", Label(LabelConformance, "fault:server-crash"), func() {
			specCrash(ns)
		})
		Describe("over a mobile 3G link", Label(LabelConformance, "fault:mobile-3g"), func() {
			spec3G(ns)
		})
		Describe("under seeded random faults", Label(LabelResilience), func() {
			specResilience(ns)
		})
	})
}

// timeout returns a SpecTimeout of n heartbeats plus a margin, scaled.
func timeout(s *framework.Suite, heartbeats int, extra time.Duration) SpecTimeout {
	t := s.Config().ForSpec(framework.NET).Timing()
	return SpecTimeout(t.Scaled(time.Duration(heartbeats)*(t.PingInterval+t.PingTimeout)+extra) + 10*time.Second)
}

// mustHarness builds the harness in front of the target, failing the spec
// as a harness error when it cannot.
func mustHarness(ctx context.Context, e *framework.Env, id string, trial int, upstream string) *harness {
	GinkgoHelper()
	if upstream == "" {
		u, err := hostOf(e.Cfg.URL)
		if err != nil {
			Fail(framework.HarnessPrefix + fmt.Sprintf("target URL %q: %v", e.Cfg.URL, err))
		}
		upstream = u
	}
	h, err := newHarness(ctx, e, id, trial, upstream)
	if err != nil {
		Fail(err.Error())
	}
	DeferCleanup(h.close)
	return h
}

// requireNetContract skips the spec as unsupported when the target is known
// not to implement the extended contract (and so the net workload).
func requireNetContract(e *framework.Env) {
	GinkgoHelper()
	if e.Cfg.Target != nil && e.Cfg.Target.Extended == framework.ExtendedNo {
		Skip("unsupported: the server does not implement the siospec extended contract (net:seq, ext:stream, ext:tally; testees/node/CONTRACT.md), which the net workload needs")
	}
}

// streamOrSkip starts the down stream; a target whose extended contract is
// unknown and that does not answer is unsupported.
func streamOrSkip(ctx context.Context, h *harness) {
	GinkgoHelper()
	if err := h.startStream(ctx); err != nil {
		if h.e.Cfg.Target == nil || h.e.Cfg.Target.Extended != framework.ExtendedYes {
			Skip("unsupported: " + err.Error() + " (no siospec extended contract?)")
		}
		h.e.Observe("%v", err)
		Fail(err.Error())
	}
}
