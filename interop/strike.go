package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/faultproxy/process"
	"github.com/siospec/siospec/protocol/engineio"
)

// Requirement IDs the strike profiles judge on the client side.
const (
	// IDCrashReconnect: under server-crash the client reconnects with a new
	// handshake and the application sees connect again.
	IDCrashReconnect = "NET-CRASH-01"
	// IDHalfOpenReconnect: under half-open the client detects the loss by
	// ping timeout and reconnects with a new handshake (SHOULD).
	IDHalfOpenReconnect = "NET-HO-02"
)

// strikeID names the profiles that strike at a defined point of the
// workload instead of being in place from the handshake, with the
// requirement the client's reconnection is judged under.
var strikeID = map[string]string{
	"server-crash": IDCrashReconnect,
	"half-open":    IDHalfOpenReconnect,
}

// The allowances of a strike's reconnection budget.
const (
	// backoffAllowance (half-open) covers two reconnection attempts of
	// Node's default backoff at its full jitter (1 s · 1.5, then 2 s · 1.5).
	backoffAllowance = 4500 * time.Millisecond
	// crashBackoffAllowance (server-crash, counted from the moment the
	// restarted server is ready): attempts made while the server was down
	// failed, and the next one may come up to one capped delay later
	// (reconnectionDelayMax 5 s · 1.5).
	crashBackoffAllowance = 7500 * time.Millisecond
	// strikeGrace covers scheduling, and under server-crash the restarted
	// server's start until it is ready.
	strikeGrace = 2 * time.Second
	// crashDowntime is how long server-crash keeps the server down.
	crashDowntime = time.Second
	// comeBack is how long the restarted server has, beyond its Downtime,
	// to answer the driver again.
	comeBack = 5 * time.Second
)

// strike is where a strike profile struck, on the cell's clock.
type strike struct {
	at       time.Time
	afterSeq int // the highest up seq the testee had reported sent
	sent     int // how many up events it had reported sent
	handle   *faultproxy.ProfileHandle
}

// comeBack is when the server must answer again after the strike:
// Downtime plus comeBack from the strike, and at least a few seconds from
// now.
func (st *strike) comeBack(o Options) time.Time {
	deadline := st.at.Add(o.scale(crashDowntime + comeBack))
	if floor := time.Now().Add(o.scale(3 * time.Second)); deadline.Before(floor) {
		deadline = floor
	}
	return deadline
}

// note records a line of the cell's own decisions (the strike, the
// reconnection); they lead the proxy's decision log in matrix.json.
func (c *cell) note(format string, a ...any) {
	c.notes = append(c.notes, fmt.Sprintf("%8.3fs cell %s", time.Since(c.start).Seconds(), fmt.Sprintf(format, a...)))
}

// profileOptions are the options a cell applies its profile with: a strike
// profile strikes at once (After 0) when it is applied.
func (c *cell) profileOptions(srv *process.Process, hosts []string) *faultproxy.ProfileOptions {
	popts := &faultproxy.ProfileOptions{Process: srv, Downtime: c.o.scale(crashDowntime)}
	if c.p.Profile == ProfileNonStickyLB {
		popts.Backends = hosts
	}
	return popts
}

// strikeMidStream waits (bounded by phase) until the testee has reported
// half of the up events sent, then applies the strike profile with After 0.
// It returns nil when the strike did not happen (the reason recorded).
func (c *cell) strikeMidStream(ctx context.Context, t *testeeRun, phase time.Duration) *strike {
	half := max(c.o.Workload.Count/2, 1)
	pctx, cancel := context.WithTimeout(ctx, phase)
	defer cancel()
	ok := t.waitFor(pctx, func(rs []report) bool { return len(upSent(rs)) >= half })
	sent := upSent(t.snapshot())
	if !ok {
		if done, _ := t.exited(); done || ctx.Err() != nil {
			return nil // the crash or the end of the cell is judged elsewhere
		}
		c.note("no strike: the client reported %d of the %d up events the strike waits for within %v", len(sent), half, phase)
		c.fail(IDStart, SideClient, "the client did not carry the workload: it reported %d of %d up events sent within %v of the stream command", len(sent), c.o.Workload.Count, phase)
		return nil
	}
	pr, err := faultproxy.NewProfile(c.p.Profile, c.profileOptions(c.srv, nil))
	if err != nil {
		c.harness("profile %s: %v", c.p.Profile, err)
		return nil
	}
	st := &strike{at: time.Now(), afterSeq: slices.Max(sent), sent: len(sent)}
	h, err := c.px.ApplyProfile(pr)
	if err != nil {
		c.harness("profile %s: %v", c.p.Profile, err)
		return nil
	}
	st.handle = h
	c.note("strike: %s applied (After 0) after up seq %d (%d of %d up events reported sent)", c.p.Profile, st.afterSeq, st.sent, c.o.Workload.Count)
	return st
}

// upSent lists the seqs of the up events the testee reported sent.
func upSent(rs []report) []int {
	var out []int
	for _, r := range rs {
		if r.Ev == "net_sent" && r.Seq != nil {
			out = append(out, *r.Seq)
		}
	}
	return out
}

// heartbeat returns the pingInterval and pingTimeout the server advertised
// in the last open packet the tap saw (ok false when none was seen).
func heartbeat(pkts []wirePacket) (interval, timeout time.Duration, ok bool) {
	for _, w := range slices.Backward(pkts) {
		if w.Up || w.undecoded() || w.Type != engineio.Open {
			continue
		}
		var hs struct {
			PingInterval int64 `json:"pingInterval"`
			PingTimeout  int64 `json:"pingTimeout"`
		}
		if json.Unmarshal(w.Data, &hs) != nil || hs.PingInterval <= 0 || hs.PingTimeout <= 0 {
			continue
		}
		return time.Duration(hs.PingInterval) * time.Millisecond, time.Duration(hs.PingTimeout) * time.Millisecond, true
	}
	return 0, 0, false
}

// reconnectBudget is how long after the strike the client has to report a
// new connect: the advertised heartbeat (a client that misses the close
// detects the loss by ping timeout), plus under server-crash the Downtime,
// plus the backoff allowance and a grace.
func (c *cell) reconnectBudget(pkts []wirePacket) (time.Duration, string) {
	iv, to, ok := heartbeat(pkts)
	hb := "pingInterval %v + pingTimeout %v"
	if !ok {
		iv, to = 25*time.Second, 20*time.Second
		hb = "pingInterval %v + pingTimeout %v (defaults: no open packet seen)"
	}
	b := iv + to + c.o.scale(backoffAllowance+strikeGrace)
	why := fmt.Sprintf(hb, iv, to) + fmt.Sprintf(" + backoff allowance %v + grace %v", c.o.scale(backoffAllowance), c.o.scale(strikeGrace))
	return b, why
}

// crashBudget is reconnectBudget under server-crash: the server's measured
// downtime (from the strike until the restarted server was ready), the
// advertised heartbeat, the backoff allowance after the restart and a
// grace.
func (c *cell) crashBudget(pkts []wirePacket, down time.Duration) (time.Duration, string) {
	iv, to, ok := heartbeat(pkts)
	hb := "pingInterval %v + pingTimeout %v"
	if !ok {
		iv, to = 25*time.Second, 20*time.Second
		hb = "pingInterval %v + pingTimeout %v (defaults: no open packet seen)"
	}
	b := down + iv + to + c.o.scale(crashBackoffAllowance+strikeGrace)
	return b, fmt.Sprintf("server down (crash until restarted and ready) %v + "+hb+" + backoff allowance %v + grace %v",
		down.Round(time.Millisecond), iv, to, c.o.scale(crashBackoffAllowance), c.o.scale(strikeGrace))
}

// crashUp waits (bounded by the strike's come-back time) for the proxy's
// decision that the crashed server was restarted and is ready, and returns
// its time; ok is false when the restart failed or did not end in time.
func (c *cell) crashUp(ctx context.Context, st *strike) (up time.Time, detail string, ok bool) {
	wctx, cancel := context.WithDeadline(ctx, st.comeBack(c.o))
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ds, _ := c.px.Decisions()
		for _, d := range ds {
			if d.Fault != c.p.Profile || d.Time.Before(st.at) {
				continue
			}
			switch d.Action {
			case "up":
				return d.Time, d.Detail, true
			case "error":
				return time.Time{}, d.Detail, false
			}
		}
		select {
		case <-wctx.Done():
			return time.Time{}, "the proxy logged no restart of the server", false
		case <-tick.C:
		}
	}
}

// awaitReconnect waits (bounded) for the testee's first connect to "/"
// after the strike and judges it: a client that does not reconnect within
// the budget fails the profile's requirement, unless the server is to
// blame (under server-crash, a restarted server that does not answer is
// the server's IOP-RUN-01). It reports whether the client reconnected.
func (c *cell) awaitReconnect(ctx context.Context, drv drivers, t *testeeRun, st *strike, rec *wireRecorder) bool {
	budget, why := c.reconnectBudget(rec.packets())
	if c.p.Profile == "server-crash" {
		up, detail, ok := c.crashUp(ctx, st)
		if !ok {
			if ctx.Err() != nil {
				return false
			}
			c.note("no restart: %s", detail)
			c.fail(IDStart, SideServer, "the server did not come back after the crash within %v: %s", c.o.scale(crashDowntime+comeBack), detail)
			return false
		}
		c.note("restarted: the server was ready again %.3fs after the strike (%s)", up.Sub(st.at).Seconds(), detail)
		budget, why = c.crashBudget(rec.packets(), up.Sub(st.at))
	}
	wctx, cancel := context.WithDeadline(ctx, st.at.Add(budget))
	defer cancel()
	var at time.Time
	t.waitFor(wctx, func(rs []report) bool {
		for _, r := range rs {
			if r.Ev == "connect" && (r.Nsp == "/" || r.Nsp == "") && r.at.After(st.at) {
				at = r.at
				return true
			}
		}
		return false
	})
	if !at.IsZero() {
		c.note("reconnect: the client reported connect %.3fs after the strike (budget %v: %s)", at.Sub(st.at).Seconds(), budget.Round(time.Millisecond), why)
		return true
	}
	if done, _ := t.exited(); done || ctx.Err() != nil {
		return false // the client's crash or the end of the cell is judged elsewhere
	}
	// Is the server to blame? The driver must reach it again.
	if err := c.serverBack(ctx, drv, st); err != nil {
		c.note("no reconnect: the server did not answer the driver: %v", err)
		c.fail(IDStart, SideServer, "the server did not come back after the %s within %v: %v", c.p.Profile, c.o.scale(crashDowntime+comeBack), err)
		return false
	}
	c.note("no reconnect: the client reported no connect within %v of the strike (%s)", budget.Round(time.Millisecond), why)
	c.fail(strikeID[c.p.Profile], SideClient, "the client reported no new connect within %v of the %s (after up seq %d; budget %s)", budget.Round(time.Millisecond), c.p.Profile, st.afterSeq, why)
	return false
}

// serverBack checks, bounded by Downtime plus comeBack from the strike
// (at least a few seconds from now), that the server answers the driver's
// ext:hello.
func (c *cell) serverBack(ctx context.Context, drv drivers, st *strike) error {
	return c.retry(ctx, st, func(ctx context.Context, timeout time.Duration) error {
		for _, s := range drv {
			if _, err := s.Timeout(timeout).EmitWithAck(ctx, "ext:hello"); err != nil {
				return err
			}
		}
		return nil
	})
}

// retry calls f until it succeeds or the strike's come-back bound passes:
// the driver's own session dies with a crashed server and reconnects by
// itself, and a relay that met it disconnected is tried again.
func (c *cell) retry(ctx context.Context, st *strike, f func(context.Context, time.Duration) error) error {
	rctx, cancel := context.WithDeadline(ctx, st.comeBack(c.o))
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f(rctx, c.o.scale(time.Second))
		if err == nil {
			return nil
		}
		select {
		case <-rctx.Done():
			return err
		case <-tick.C:
		}
	}
}

// relayBound is how long a relay is tried when the driver's own session
// drops (on a loaded machine a 200 ms pingTimeout can end it): the driver
// reconnects by itself with short delays.
const relayBound = 5 * time.Second

// relayCmd relays cmd to the testee through the drivers until the server
// acknowledges it or the testee reports the command done (the evidence that
// it got through although the ack was lost), bounded by until. A failed
// relay that never reached the testee is tried again, so that a relay is
// never sent twice to a testee that got it.
func (c *cell) relayCmd(ctx context.Context, drv drivers, t *testeeRun, until time.Time, cmd map[string]any) error {
	name, _ := cmd["cmd"].(string)
	tag, _ := cmd["tag"].(string)
	got := func(rs []report) bool {
		return slices.ContainsFunc(rs, func(r report) bool { return r.Ev == "done" && r.Cmd == name && r.Tag == tag })
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := drv.relay(ctx, c.o.scale(3*time.Second), cmd)
		if err == nil {
			return nil
		}
		wctx, cancel := context.WithTimeout(ctx, c.o.scale(500*time.Millisecond))
		ok := t.waitFor(wctx, got)
		cancel()
		if ok {
			c.note("relay: %s %s reached the testee although the server's ack was lost: %v", name, tag, err)
			return nil
		}
		if ctx.Err() != nil || !time.Now().Before(until) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
		c.note("relay: %s %s tried again after: %v", name, tag, err)
	}
}
