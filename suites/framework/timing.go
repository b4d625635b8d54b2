package framework

import (
	"fmt"
	"time"
)

// Timing derives every deadline of a spec from the target's negotiated
// heartbeat and the run's --time-scale (faults-and-harnesses C3).
type Timing struct {
	PingInterval time.Duration
	PingTimeout  time.Duration
	Scale        float64
	// Slack is the scheduling lateness measured on this machine just
	// before the spec started (JitterMonitor): an observed event may be
	// that much late, and an interval between two observed events that
	// much short. Grace and Tolerance add it. Zero on a quiet machine.
	Slack time.Duration
}

// Grace floor and proportion: grace = max(250ms, 10% of the budget) × scale.
const (
	graceFloor = 250 * time.Millisecond
	gracePct   = 10
)

// Scaled multiplies d by the time scale.
func (t Timing) Scaled(d time.Duration) time.Duration {
	if t.Scale <= 0 {
		return d
	}
	return time.Duration(float64(d) * t.Scale)
}

// Grace returns the slack added to a budget before a late event counts as a
// miss: the scaled grace plus the measured lateness (capped, see slack).
func (t Timing) Grace(budget time.Duration) time.Duration {
	return t.baseGrace(budget) + t.slack(budget)
}

func (t Timing) baseGrace(budget time.Duration) time.Duration {
	return t.Scaled(max(graceFloor, budget*gracePct/100))
}

// slack returns the measured scheduling lateness that a window around
// budget may absorb: at most half the budget (at least the grace floor),
// so that a loaded machine cannot widen a window until a wrong timing fits.
func (t Timing) slack(budget time.Duration) time.Duration {
	return min(t.Slack, max(graceFloor, budget/2))
}

// Tolerance returns how much earlier than a budget an event may happen and
// still count as on time: max(50ms, 25% of the budget). It is not scaled,
// because a slow machine makes events late, not early.
func (t Timing) Tolerance(budget time.Duration) time.Duration {
	return t.baseTolerance(budget) + t.slack(budget)
}

func (t Timing) baseTolerance(budget time.Duration) time.Duration {
	return max(50*time.Millisecond, budget/4)
}

// replyCap bounds Reply's budget: a server cannot buy itself more time to
// act on a request by advertising a long heartbeat.
const replyCap = time.Second

// Reply returns the window within which a server must act on a request
// when the rule has nothing to do with the heartbeat (close a session after
// an invalid packet, answer a request): pingInterval+pingTimeout, capped at
// one second, times the scale, plus grace.
func (t Timing) Reply(what string) Window {
	b := min(t.PingInterval+t.PingTimeout, replyCap)
	if b <= 0 {
		b = replyCap
	}
	w := t.Within(b, what)
	w.Why = "reply: " + w.Why
	return w
}

// transferFloor is the slowest throughput, in bytes per second, at which a
// target's bulk transfer still counts as on time: a megabyte round trip
// on loopback takes well under a second even under the race detector on
// a loaded machine, so a second per megabyte leaves room for that
// without letting a target that holds data back indefinitely pass.
const transferFloor = 1 << 20

// Transfer returns the window within which a server must act on a request
// that moves n bytes in all (what it reads plus what it writes): Reply's
// budget plus n at transferFloor, times the scale, plus grace. Rules that
// push megabytes use it so that the time to move them is not charged as
// a late reply; the rule judged is still what arrives, not how fast.
func (t Timing) Transfer(n int, what string) Window {
	b := min(t.PingInterval+t.PingTimeout, replyCap)
	if b <= 0 {
		b = replyCap
	}
	b += time.Duration(float64(max(n, 0)) / transferFloor * float64(time.Second))
	w := t.Within(b, what)
	w.Why = fmt.Sprintf("reply moving %d bytes at ≥%d KiB/s: %s", n, transferFloor>>10, w.Why)
	return w
}

// Window is an accepted interval for a measured duration.
type Window struct {
	Min, Max time.Duration
	// Why explains how the window was derived, for the siospec.budget entry.
	Why string
	// BaseMin and BaseMax bound the window before measured scheduling
	// lateness widened it; equal to Min and Max on a quiet machine.
	BaseMin, BaseMax time.Duration
}

// Contains reports whether d lies within the window.
func (w Window) Contains(d time.Duration) bool { return d >= w.Min && d <= w.Max }

// Widened reports whether d lies within the window only thanks to the
// measured scheduling lateness: inside [Min, Max], outside [BaseMin,
// BaseMax]. A window built without a base (BaseMax zero) is never
// widened.
func (w Window) Widened(d time.Duration) bool {
	return w.BaseMax > 0 && w.Contains(d) && (d < w.BaseMin || d > w.BaseMax)
}

// String renders the window for reports.
func (w Window) String() string {
	return fmt.Sprintf("%v..%v (%s)", w.Min.Round(time.Millisecond), w.Max.Round(time.Millisecond), w.Why)
}

// Around returns the window [budget − tolerance, budget + grace].
func (t Timing) Around(budget time.Duration, what string) Window {
	g := t.Grace(budget)
	return Window{
		Min:     max(0, budget-t.Tolerance(budget)),
		Max:     t.Scaled(budget) + g,
		BaseMin: max(0, budget-t.baseTolerance(budget)),
		BaseMax: t.Scaled(budget) + t.baseGrace(budget),
		Why:     fmt.Sprintf("%s %v ×%g, tolerance %v, grace %v%s", what, budget, t.scale(), t.Tolerance(budget), g, t.slackNote(budget)),
	}
}

// Within returns the window [0, budget + grace].
func (t Timing) Within(budget time.Duration, what string) Window {
	g := t.Grace(budget)
	return Window{
		Max:     t.Scaled(budget) + g,
		BaseMax: t.Scaled(budget) + t.baseGrace(budget),
		Why:     fmt.Sprintf("%s %v ×%g + grace %v%s", what, budget, t.scale(), g, t.slackNote(budget)),
	}
}

func (t Timing) scale() float64 {
	if t.Scale <= 0 {
		return 1
	}
	return t.Scale
}

func (t Timing) slackNote(budget time.Duration) string {
	if t.Slack <= 0 {
		return ""
	}
	if s := t.slack(budget); s < t.Slack {
		return fmt.Sprintf(" (incl. measured scheduling lateness %v, capped from %v)", s.Round(time.Millisecond), t.Slack.Round(time.Millisecond))
	}
	return fmt.Sprintf(" (incl. measured scheduling lateness %v)", t.Slack.Round(time.Millisecond))
}
