package cluster

import (
	"errors"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/suites/framework"
)

// Register declares the cluster suite's specs, one per CLU-* requirement,
// under one top-level container, and returns true (for use in a var
// declaration). Every spec carries the label proto:CLUSTER. c is read
// when the specs run (Preflight fills it); a nil c registers the tree for
// a dry run (siospec list, the coverage tests), whose specs fail as
// harness errors if run.
func Register(s *framework.Suite, c *Config) bool {
	return Describe("Socket.IO cluster", Label("extended"), func() { // every spec needs the cluster part of the extended contract
		s.Install()
		cs := s.WithProto(framework.CLUSTER)
		Describe("broadcasting across nodes", func() { specBroadcasts(cs, c) })
		Describe("rooms and remote socket operations across nodes", func() { specRooms(cs, c) })
		Describe("behind a load balancer", func() { specLB(cs, c) })
		Describe("while the adapter's Redis goes away and comes back", Label("lifecycle"), func() { specRedis(cs, c) })
	})
}

// start returns the harness of a running spec; its clients are closed
// after the spec.
func start(e *framework.Env, c *Config) *harness {
	GinkgoHelper()
	if c == nil || len(c.URLs) == 0 {
		Fail(framework.HarnessPrefix + "no cluster configured (cluster.Config without URLs)")
	}
	h := newHarness(e, c)
	DeferCleanup(h.closeClients)
	return h
}

// timeout returns the SpecTimeout of a cluster spec: three heartbeats and
// extra plus a margin, scaled.
func timeout(s *framework.Suite, extra time.Duration) SpecTimeout {
	t := s.Config().ForSpec(framework.CLUSTER).Timing()
	return SpecTimeout(t.Scaled(3*(t.PingInterval+t.PingTimeout)+extra) + 2*adapterRequestTimeout + 10*time.Second)
}

// must fails the running spec as a harness error when err is not nil: the
// suite could not set the spec up (a client could not connect, a node left
// a fixture event unanswered). Never counted against the target.
func must(err error) {
	GinkgoHelper()
	var gone *NodeGoneError
	if errors.As(err, &gone) {
		Fail(gone.Error()) // the cluster lost a node: not the harness's doing
	}
	if err != nil {
		Fail(framework.HarnessPrefix + err.Error())
	}
}

// failf fails the running spec (a conformance failure).
func failf(format string, args ...any) {
	GinkgoHelper()
	Fail(fmt.Sprintf(format, args...))
}
