package suites

import (
	"testing"
	"time"

	"github.com/siospec/siospec/suites/framework"
)

// A loaded machine's measured lateness widens a window by at most half its
// budget (never less than the grace floor), so a wrong timing cannot fit
// just because the machine was slow.
func TestTimingSlackIsCapped(t *testing.T) {
	tm := framework.Timing{PingInterval: time.Second, PingTimeout: 800 * time.Millisecond, Scale: 1, Slack: 5 * time.Second}
	w := tm.Around(time.Second, "pingInterval")
	// base: min 1s-250ms, max 1s+250ms; slack capped at 500ms on each side.
	if w.Min != 250*time.Millisecond || w.Max != 1750*time.Millisecond {
		t.Errorf("Around(1s) with 5s slack = %v, want 250ms..1.75s", w)
	}
	if w.BaseMin != 750*time.Millisecond || w.BaseMax != 1250*time.Millisecond {
		t.Errorf("base = %v..%v, want 750ms..1.25s", w.BaseMin, w.BaseMax)
	}
	// A 3×pingInterval cadence never fits, however slow the machine.
	if w.Contains(3 * time.Second) {
		t.Error("3s fits a 1s window")
	}
	small := tm.Within(100*time.Millisecond, "reply")
	if small.Max != 100*time.Millisecond+250*time.Millisecond+250*time.Millisecond {
		t.Errorf("Within(100ms) with 5s slack = %v, want the slack capped at the grace floor", small)
	}
}

func TestWindowWidened(t *testing.T) {
	quiet := framework.Timing{PingInterval: time.Second, PingTimeout: 800 * time.Millisecond, Scale: 1}
	loaded := quiet
	loaded.Slack = 300 * time.Millisecond
	for _, c := range []struct {
		tm      framework.Timing
		d       time.Duration
		in, wid bool
	}{
		{quiet, time.Second, true, false},
		{quiet, 1400 * time.Millisecond, false, false},
		{loaded, time.Second, true, false},
		{loaded, 1400 * time.Millisecond, true, true}, // late, inside only through the slack
		{loaded, 600 * time.Millisecond, true, true},  // early, inside only through the slack
		{loaded, 2 * time.Second, false, false},
	} {
		w := c.tm.Around(time.Second, "pingInterval")
		if w.Contains(c.d) != c.in || w.Widened(c.d) != c.wid {
			t.Errorf("slack %v, %v in %v: contains %v widened %v, want %v %v", c.tm.Slack, c.d, w, w.Contains(c.d), w.Widened(c.d), c.in, c.wid)
		}
	}
	if (framework.Window{Max: time.Second}).Widened(500 * time.Millisecond) {
		t.Error("a window without a base reports widened")
	}
}

// Reply budgets do not grow with the heartbeat a server advertises.
func TestReplyIsCapped(t *testing.T) {
	fx := framework.Timing{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, Scale: 1}
	if w := fx.Reply("x"); w.Max != 500*time.Millisecond+250*time.Millisecond {
		t.Errorf("Reply at 300/200 = %v, want 500ms + grace", w)
	}
	slow := framework.Timing{PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, Scale: 1}
	if w := slow.Reply("x"); w.Max != time.Second+250*time.Millisecond {
		t.Errorf("Reply at 25s/20s = %v, want 1s + grace", w)
	}
	scaled := slow
	scaled.Scale = 3
	if w := scaled.Reply("x"); w.Max != 3*time.Second+750*time.Millisecond {
		t.Errorf("Reply ×3 = %v, want 3s + 750ms", w)
	}
}
