package netclient

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/netload"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// plan describes one net case: where the proxy's faults come from, the
// client's options and transports, and the harness application.
type plan struct {
	// Servers is how many harness servers run (two for load balancing).
	Servers int
	// Client is SIOSPEC_OPTIONS; Transports SIOSPEC_TRANSPORTS ("" the
	// client's defaults).
	Client     map[string]any
	Transports string
	// Recovery turns connection state recovery on in the application.
	Recovery bool
	// NoConnectWait: Start does not wait for the client's first connect
	// (a fault present from the start may prevent it).
	NoConnectWait bool
	// PingInterval and PingTimeout override the advertised heartbeat (at
	// time scale 1; default e.Timing's, which the net specs set to
	// NetPingInterval / NetPingTimeout).
	PingInterval, PingTimeout time.Duration
	// ConnectWithin overrides the budget of the first connect.
	ConnectWithin time.Duration
	// Profile, when set, is applied before the testee starts (with
	// ProfileOptions; BackendsAll fills its Backends with every server),
	// and Faults are added then too.
	Profile     string
	ProfileOpts faultproxy.ProfileOptions
	BackendsAll bool
	Faults      []faultproxy.Fault
}

// The heartbeat the net cases advertise at time scale 1 (the setting
// issue 11 measured Node with): longer than the client suites' 500/400 ms,
// so that a loaded machine does not turn a slow event loop into a ping
// timeout the fault did not cause.
const (
	NetPingInterval = 1000 * time.Millisecond
	NetPingTimeout  = 800 * time.Millisecond
)

// lifecycle is one connection-state report of the testee.
type lifecycle struct {
	Ev     string
	Detail string
	At     time.Time
	Report testee.Report
}

// runner is one running net case: the environment (testee, proxy,
// servers), the application, the ledger and the follower of the testee's
// reports.
type runner struct {
	e   *framework.ClientEnv
	app *App
	p   plan

	mu       sync.Mutex
	led      *netload.Ledger
	life     []lifecycle
	acked    map[int]bool    // up seqs whose ack fired
	failed   map[int]string  // up seqs whose ack failed
	ackSent  []int           // up seqs emitted with an ack, in order
	streamed bool            // stream_done seen since the last stream
	downRecv map[int]int     // down seq -> receptions reported
	downSeq  []int           // down seqs in the order reported
	downDone <-chan struct{} // closed when the last down stream ended
	profile  string
	crash    string
	// trials and trialsPassed are the resilience tier's counts.
	trials, trialsPassed int

	stopFollow context.CancelFunc
	followDone chan struct{}
}

// start runs the case: the servers (with the application on each), the
// fault proxy, the testee; then waits for the client's first connect
// unless the plan says not to.
func start(ctx context.Context, e *framework.ClientEnv, p plan) *runner {
	g.GinkgoHelper()
	led := netload.New(nil)
	r := &runner{e: e, p: p, led: led, acked: map[int]bool{}, failed: map[int]string{}, downRecv: map[int]int{}}
	seed := framework.CaseSeed(e.Cfg.Seed, e.Proto, e.Case)
	if p.PingInterval == 0 {
		p.PingInterval, p.PingTimeout = e.Timing.PingInterval, e.Timing.PingTimeout
	}
	e.Start(ctx, &framework.CaseOptions{
		// Node's server keeps polling while an upgrade is pending.
		Server:     scripted.Options{PollDuringUpgrade: true, PingInterval: p.PingInterval, PingTimeout: p.PingTimeout},
		Client:     p.Client,
		Transports: p.Transports,
		Servers:    max(p.Servers, 1),
		Proxy:      &faultproxy.Options{Seed: seed, Tap: true},
		BeforeTestee: func() {
			if p.Profile != "" {
				o := p.ProfileOpts
				if p.BackendsAll {
					for _, srv := range e.Servers {
						o.Backends = append(o.Backends, srv.Addr())
					}
				}
				r.apply(p.Profile, &o)
			}
			for _, f := range p.Faults {
				if lb, ok := f.(faultproxy.LBRoundRobin); ok && len(lb.Backends) == 0 {
					for _, srv := range e.Servers {
						lb.Backends = append(lb.Backends, srv.Addr())
					}
					f = lb
				}
				r.add(f)
			}
		},
	})
	r.app = NewApp(led, &AppOptions{Recovery: p.Recovery, Notes: e.Rec})
	for i, srv := range e.Servers {
		r.app.Serve(i, srv)
	}
	fctx, cancel := context.WithCancel(context.Background())
	r.stopFollow, r.followDone = cancel, make(chan struct{})
	go r.follow(fctx)
	g.DeferCleanup(r.finish)
	if !p.NoConnectWait {
		within := p.ConnectWithin
		if within == 0 {
			within = e.HandshakeBudget()
		}
		r.awaitConnects(ctx, 1, within, "the client's first connect")
		r.ledger().Mark("connected", "the workload may start")
	}
	return r
}

// finish stops the application and the follower and writes the measures
// and the proxy's decisions into the report.
func (r *runner) finish() {
	r.app.Close()
	r.stopFollow()
	<-r.followDone
	r.report()
}

// ledger returns the current ledger.
func (r *runner) ledger() *netload.Ledger {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.led
}

// newTrial starts a fresh ledger (a trial of the resilience tier) in the
// runner and the application.
func (r *runner) newTrial() *netload.Ledger {
	led := netload.New(nil)
	r.mu.Lock()
	r.led = led
	r.acked, r.failed, r.ackSent, r.downRecv, r.downSeq, r.downDone, r.streamed = map[int]bool{}, map[int]string{}, nil, map[int]int{}, nil, nil, false
	r.mu.Unlock()
	r.app.SetLedger(led)
	return led
}

// follow feeds the testee's reports into the ledger as they come.
func (r *runner) follow(ctx context.Context) {
	defer close(r.followDone)
	next := 0
	lastRef := time.Time{} // the disconnect or failed attempt a reconnection delay counts from
	for {
		ch := r.e.Testee.Changed()
		rs := r.e.Testee.Reports()
		for ; next < len(rs); next++ {
			rep := rs[next]
			r.take(rep, &lastRef)
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
	}
}

func (r *runner) take(rep testee.Report, lastRef *time.Time) {
	r.mu.Lock()
	led := r.led
	r.mu.Unlock()
	seq := func() (int, bool) {
		var n int
		if rep.Decode("seq", &n) != nil {
			return 0, false
		}
		return n, true
	}
	addLife := func(detail string) {
		r.mu.Lock()
		r.life = append(r.life, lifecycle{Ev: rep.Ev, Detail: detail, At: rep.At, Report: rep})
		r.mu.Unlock()
	}
	switch rep.Ev {
	case "open":
		addLife(rep.Str("sid") + " " + rep.Str("transport"))
		led.Mark("open", rep.Str("sid")+" "+rep.Str("transport"))
		led.SetTransport(rep.Str("transport"))
	case "upgrade":
		addLife(rep.Str("transport"))
		led.Mark(netload.KindUpgrade, rep.Str("transport"))
	case "upgrade_error":
		addLife(rep.Str("message"))
		led.Mark("upgrade_error", rep.Str("message"))
	case "connect":
		var rec bool
		_ = rep.Decode("recovered", &rec)
		d := rep.Str("id")
		if rec {
			d += " recovered"
		}
		addLife(d)
		led.Mark(netload.KindConnect, d)
	case "disconnect":
		addLife(rep.Str("reason"))
		led.Mark(netload.KindDisconnect, rep.Str("reason"))
		*lastRef = rep.At
	case "reconnect_error":
		addLife(rep.Str("message"))
		led.Mark("reconnect_error", rep.Str("message"))
		*lastRef = rep.At
	case "reconnect_attempt":
		var n int
		_ = rep.Decode("attempt", &n)
		addLife(fmt.Sprint(n))
		var d time.Duration
		if !lastRef.IsZero() {
			d = rep.At.Sub(*lastRef)
		}
		led.ReconnectAttempt(n, d)
	case "net_sent":
		if n, ok := seq(); ok {
			var ack bool
			_ = rep.Decode("ack", &ack)
			led.Sent(netload.Up, n, ack)
			if ack {
				r.mu.Lock()
				r.ackSent = append(r.ackSent, n)
				r.mu.Unlock()
			}
		}
	case "net_ack":
		if n, ok := seq(); ok {
			led.Acked(netload.Up, n)
			r.mu.Lock()
			r.acked[n] = true
			r.mu.Unlock()
		}
	case "net_ack_error":
		if n, ok := seq(); ok {
			led.AckFailed(netload.Up, n, rep.Str("message"))
			r.mu.Lock()
			r.failed[n] = rep.Str("message")
			r.mu.Unlock()
		}
	case "net_recv":
		if n, ok := seq(); ok {
			led.Received(netload.Down, n)
			r.mu.Lock()
			r.downRecv[n]++
			r.downSeq = append(r.downSeq, n)
			r.mu.Unlock()
		}
	case "stream_done":
		led.Mark("stream_done", "")
		r.mu.Lock()
		r.streamed = true
		r.mu.Unlock()
	}
}

// lifecycles returns the lifecycle reports of kind ev (all when "").
func (r *runner) lifecycles(ev string) []lifecycle {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []lifecycle
	for _, l := range r.life {
		if ev == "" || l.Ev == ev {
			out = append(out, l)
		}
	}
	return out
}

// awaitConnects waits until the testee reported n connects of "/" in all,
// failing the spec after within.
func (r *runner) awaitConnects(ctx context.Context, n int, within time.Duration, what string) lifecycle {
	g.GinkgoHelper()
	var got lifecycle
	ok := r.poll(ctx, within, func() bool {
		cs := r.lifecycles("connect")
		if len(cs) >= n {
			got = cs[n-1]
			return true
		}
		return false
	})
	if !ok {
		r.e.Observe("no %s within %v; lifecycle reported: %v", what, within.Round(time.Millisecond), lifeDetailsEv(r.lifecycles("")))
		g.Fail(fmt.Sprintf("the client did not report %s within %v (reported: %s)", what, within.Round(time.Millisecond), strings.Join(lifeDetailsEv(r.lifecycles("")), ", ")))
	}
	return got
}

// poll calls cond every 10 ms until it holds (true) or within passed
// (false). A testee that exits 127 makes the spec unsupported.
func (r *runner) poll(ctx context.Context, within time.Duration, cond func() bool) bool {
	g.GinkgoHelper()
	deadline := time.Now().Add(within)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-r.e.Testee.Exited():
			// One more look: the last reports may complete the condition.
			if cond() {
				return true
			}
			r.e.Await(ctx, "never", nil, time.Millisecond) // 127: unsupported
			g.Fail("the client exited during the case")
		case <-t.C:
		}
	}
}

// stream starts both streams: the testee's (the stream command) and the
// application's; the up stream's command is confirmed before it returns.
func (r *runner) stream(ctx context.Context, up, down netload.Workload) {
	g.GinkgoHelper()
	r.mu.Lock()
	r.streamed = false
	r.mu.Unlock()
	if down.Count > 0 {
		ch := r.app.StreamDown(down)
		r.mu.Lock()
		r.downDone = ch
		r.mu.Unlock()
	}
	if up.Count == 0 {
		return
	}
	if err := r.startStream(ctx, up); err != nil {
		r.e.Await(ctx, "never", nil, time.Millisecond) // 127: unsupported
		if ce, ok := err.(*scripted.CommandError); ok && strings.Contains(ce.Message, "unknown command") {
			g.Skip("unsupported: the testee does not implement the stream command (" + ce.Message + ")")
		}
		g.Fail(fmt.Sprintf("the client under test did not start the stream command: %v", err))
	}
}

// startStream sends the stream command for up and waits for its ack.
func (r *runner) startStream(ctx context.Context, up netload.Workload) error {
	cmd := map[string]any{"cmd": "stream", "event": netload.EventSeq, "count": up.Count,
		"interval_ms": up.Interval.Milliseconds(), "ack_every": up.AckEvery, "binary_every": up.BinaryEvery}
	within := r.e.Timing.Reply("command").Max + r.e.Timing.Scaled(time.Second)
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	r.e.Rec.Note(fmt.Sprintf("command %v", cmd))
	return r.app.Command(cctx, cmd)
}

// streamDone waits for the testee's stream_done, failing after within.
func (r *runner) streamDone(ctx context.Context, within time.Duration) {
	g.GinkgoHelper()
	if !r.poll(ctx, within, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.streamed
	}) {
		g.Fail(fmt.Sprintf("the client did not finish its stream within %v", within.Round(time.Millisecond)))
	}
}

// settled reports whether both directions are complete: the down stream
// ended, every sent event received and every requested ack fired or
// failed.
func (r *runner) settled() bool {
	if !r.downFinished() {
		return false
	}
	led := r.ledger()
	up, down := led.Tally(netload.Up), led.Tally(netload.Down)
	return up.Lost == 0 && up.AcksLost == 0 && down.Lost == 0 && down.AcksLost == 0
}

// settle waits until settled or within passed.
func (r *runner) settle(ctx context.Context, within time.Duration) bool {
	return r.poll(ctx, within, r.settled)
}

// apply adds a profile to the proxy and marks the fault in the ledger.
func (r *runner) apply(name string, o *faultproxy.ProfileOptions) *faultproxy.ProfileHandle {
	g.GinkgoHelper()
	pr, err := faultproxy.NewProfile(name, o)
	if err != nil {
		g.Fail(framework.HarnessPrefix + "build profile " + name + ": " + err.Error())
	}
	h, err := r.e.Proxy.ApplyProfile(pr)
	if err != nil {
		g.Fail(framework.HarnessPrefix + "apply profile " + name + ": " + err.Error())
	}
	r.mu.Lock()
	r.profile = name
	if pr.CrashMode != "" {
		r.crash = pr.CrashMode
	}
	r.mu.Unlock()
	r.ledger().Mark(netload.KindFault, name)
	r.e.Rec.Note("applied profile " + name)
	return h
}

// add adds one fault to the proxy and marks it in the ledger.
func (r *runner) add(f faultproxy.Fault) *faultproxy.Handle {
	g.GinkgoHelper()
	h, err := r.e.Proxy.Add(f)
	if err != nil {
		g.Fail(framework.HarnessPrefix + "add fault " + f.Type() + ": " + err.Error())
	}
	r.ledger().Mark(netload.KindFault, f.Type())
	r.e.Rec.Note("added fault " + f.Type())
	return h
}

// decisions returns the proxy's decisions of faults whose name starts with
// prefix ("" for all).
func (r *runner) decisions(prefix string) []faultproxy.Decision {
	ds, _ := r.e.Proxy.Decisions()
	var out []faultproxy.Decision
	for _, d := range ds {
		if strings.HasPrefix(d.Fault, prefix) {
			out = append(out, d)
		}
	}
	return out
}

// report writes the siospec.net entry: the measures, the proxy's
// decisions, the profile and how a crash ran.
func (r *runner) report() {
	ds, _ := r.e.Proxy.Decisions()
	r.mu.Lock()
	rec := framework.NetRecord{Profile: r.profile, Crash: r.crash, Measures: r.led.Measures(), Decisions: ds,
		Trials: r.trials, TrialsPassed: r.trialsPassed}
	r.mu.Unlock()
	r.e.RecordNet(rec)
}

// sidOf returns the sid query parameter of a request URI in a decision's
// detail ("403 for GET /socket.io/?EIO=4&sid=..."), "" when none.
func sidOf(detail string) string {
	i := strings.Index(detail, "?")
	if i < 0 {
		return ""
	}
	q := detail[i+1:]
	if j := strings.IndexAny(q, " :"); j >= 0 {
		q = q[:j]
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return ""
	}
	return v.Get("sid")
}

func lifeDetailsEv(ls []lifecycle) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Ev + " " + l.Detail
	}
	return out
}

// downOrder returns the down seqs in the order the testee reported them.
func (r *runner) downOrder() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.downSeq...)
}

// downFinished reports whether the last down stream emitted its last event
// (true when there is none).
func (r *runner) downFinished() bool {
	r.mu.Lock()
	ch := r.downDone
	r.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
