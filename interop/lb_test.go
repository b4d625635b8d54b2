package interop

import (
	"slices"
	"strings"
	"testing"
)

// TestNonStickyLB: under non-sticky-lb a cell runs two server instances
// behind the round-robin balancer. Reference × reference passes on both
// protocols (the WebSocket-only client reaches one instance, the drivers
// relay through both, the tallies are joined); a server that answers a
// sid issued by the other instance with 500 fails NET-LB-01 on the server
// side; a client that polls although told to use WebSocket only fails
// NET-LB-02 on the client side.
func TestNonStickyLB(t *testing.T) {
	cfg := loadTestConfig(t)
	plan := pick(Plan(cfg, []string{ProfileNonStickyLB}, 7),
		"ref/ref/non-sticky-lb", "ref/ref-v4/non-sticky-lb", "ref/unknown-sid-500/non-sticky-lb", "polls-anyway/ref/non-sticky-lb")
	if len(plan) != 4 {
		t.Fatalf("plan has %d cells", len(plan))
	}
	cells := RunMatrix(t.Context(), cfg, plan, &Options{Parallel: 2})
	got := map[string]Cell{}
	for _, c := range cells {
		got[c.Client+"/"+c.Server] = c
		t.Logf("%-36s %s %d ms", c.Key(), c.Short(), c.DurationMS)
		for _, f := range c.Failures {
			t.Logf("    %s %s: %s", f.ID, f.Side, f.Detail)
		}
		if c.Reason != "" {
			t.Logf("    %s", c.Reason)
		}
	}
	for _, k := range []string{"ref/ref", "ref/ref-v4"} {
		c := got[k]
		if c.Outcome != Pass {
			t.Errorf("%s: %s, want pass", k, c.Short())
			continue
		}
		if d := c.Delivery; d == nil || d.UpTallied != d.UpSent || d.DownRecved != d.DownSent || d.UpSent == 0 {
			t.Errorf("%s: delivery %+v", k, c.Delivery)
		}
		if strings.Count(c.ServerOut, "--- instance ") != 2 {
			t.Errorf("%s: the server output does not show two instances:\n%s", k, c.ServerOut)
		}
	}
	for _, w := range []struct{ cell, id, side string }{
		{"ref/unknown-sid-500", "NET-LB-01", SideServer},
		{"polls-anyway/ref", "NET-LB-02", SideClient},
	} {
		c := got[w.cell]
		if c.Outcome != Fail || !slices.Contains(c.IDs(), w.id) || !slices.Equal(c.Sides(), []string{w.side}) {
			t.Errorf("%s: %s %v %v, want a failure %s of the %s only", w.cell, c.Short(), c.IDs(), c.Sides(), w.id, w.side)
		}
	}
}
