package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/faultproxy/process"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
	"github.com/siospec/siospec/reference/sioclient"
)

// CaseName is the client-contract case a cell runs (SIOSPEC_CASE): connect,
// obey the commands relayed by the server, report, exit at end of stdin.
const CaseName = "interop"

// Interop-level requirement IDs (docs/matrix.md).
const (
	// IDDelivery: with nothing interfering, every event of the workload is
	// delivered exactly once and in order, in both directions.
	IDDelivery = "IOP-DELIV-01"
	// IDStart: the peer starts, connects and runs the workload.
	IDStart = "IOP-RUN-01"
	// IDCrash: the peer stays up until the cell ends.
	IDCrash = "IOP-RUN-02"
)

// deliveryID names the requirement that demands exact delivery under a
// profile; profiles missing here lose events by design, and their delivery
// is recorded, not judged.
var deliveryID = map[string]string{
	ProfileNone:           IDDelivery,
	"corporate-firewall":  "NET-FW-01",
	"ws-stripping-proxy":  "NET-STRIP-01",
	"antivirus-buffering": "NET-AV-01",
	"idle-timeout-lb":     "NET-IDLE-01",
	ProfileNonStickyLB:    "NET-LB-02",
}

// strictHeartbeat: profiles under which no packet is held or lost, so every
// ping must be answered.
var strictHeartbeat = map[string]bool{ProfileNone: true, "corporate-firewall": true, "ws-stripping-proxy": true, ProfileNonStickyLB: true}

// Workload is the sequenced workload of a cell.
type Workload struct {
	Count       int // events per direction; default 24
	IntervalMS  int // between two events; default 10
	AckEvery    int // up: every k-th event asks for an ack; default 3
	BinaryEvery int // every k-th event carries a binary attachment; default 4
}

func (w Workload) withDefaults() Workload {
	if w.Count <= 0 {
		w.Count = 24
	}
	if w.IntervalMS <= 0 {
		w.IntervalMS = 10
	}
	if w.AckEvery <= 0 {
		w.AckEvery = 3
	}
	if w.BinaryEvery <= 0 {
		w.BinaryEvery = 4
	}
	return w
}

// Options configures RunCell and RunMatrix. nil means defaults.
type Options struct {
	// Siospec replaces "{siospec}" in commands. Default: this executable.
	Siospec string
	// TimeScale multiplies every wait. Default 1.
	TimeScale float64
	// Workload is the cell's workload; zero fields take defaults.
	Workload Workload
	// Parallel is how many cells RunMatrix runs at a time. Default 1.
	Parallel int
	// Logger receives progress. nil discards.
	Logger *slog.Logger
	// OnCell, if set, is called after each cell of RunMatrix (from its
	// goroutines, one call at a time).
	OnCell func(Cell)
}

func (o *Options) clone() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Siospec == "" {
		c.Siospec, _ = os.Executable()
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 1
	}
	if c.Parallel <= 0 {
		c.Parallel = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Workload = c.Workload.withDefaults()
	return c
}

func (o *Options) scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) * o.TimeScale)
}

// RunMatrix runs the planned cells, up to Options.Parallel at a time, and
// returns them in plan order.
func RunMatrix(ctx context.Context, cfg *Config, plan []Planned, opts *Options) []Cell {
	o := opts.clone()
	out := make([]Cell, len(plan))
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, o.Parallel)
	for i, p := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i] = Cell{Client: p.Client.Name, Server: p.Server.Name, Profile: p.Profile, Protocol: p.Protocol, Seed: p.Seed, Outcome: HarnessError, Reason: "interrupted"}
				return
			}
			c := RunCell(ctx, cfg, p, &o)
			<-sem
			out[i] = c
			if o.OnCell != nil {
				mu.Lock()
				o.OnCell(c)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// cell is the state of one running cell.
type cell struct {
	o     Options
	cfg   *Config
	p     Planned
	res   Cell
	start time.Time
	// px and srv are the proxy and the (first) server, for a strike
	// profile applied mid-stream (strike.go).
	px  *faultproxy.Proxy
	srv *process.Process
	// notes are the cell's own decisions (the strike, the reconnection),
	// on the cell's clock; they lead the proxy's decisions.
	notes []string
}

func (c *cell) fail(id, side, format string, a ...any) {
	c.res.Failures = append(c.res.Failures, Failure{ID: id, Side: side, Detail: fmt.Sprintf(format, a...)})
}

func (c *cell) command(s string, port int) string {
	s = strings.ReplaceAll(s, SiospecPlaceholder, shellQuote(c.o.Siospec))
	if port > 0 {
		s = strings.ReplaceAll(s, PortPlaceholder, strconv.Itoa(port))
	}
	return s
}

// RunCell runs one cell. It never returns before every process and
// goroutine it started has ended; every wait is bounded.
func RunCell(ctx context.Context, cfg *Config, p Planned, opts *Options) Cell {
	o := opts.clone()
	c := &cell{o: o, cfg: cfg, p: p, start: time.Now()}
	c.res = Cell{Client: p.Client.Name, Server: p.Server.Name, Profile: p.Profile, Protocol: p.Protocol, Seed: p.Seed}
	if p.Reason != "" {
		c.res.Outcome, c.res.Reason = Unsupported, p.Reason
		return c.res
	}
	ctx, cancel := context.WithTimeout(ctx, o.scale(60*time.Second))
	defer cancel()
	c.run(ctx)
	c.res.DurationMS = time.Since(c.start).Milliseconds()
	switch {
	case c.res.Outcome != "":
	case len(c.res.Failures) > 0:
		c.res.Outcome = Fail
	default:
		c.res.Outcome = Pass
	}
	o.Logger.Info("cell", "cell", c.res.Key(), "outcome", c.res.Short(), "ms", c.res.DurationMS)
	return c.res
}

func (c *cell) harness(format string, a ...any) {
	c.res.Outcome, c.res.Reason = HarnessError, fmt.Sprintf(format, a...)
}

func (c *cell) run(ctx context.Context) {
	p := c.p
	sv := p.Server.Server
	path := sv.Path
	if path == "" {
		path = "/socket.io/"
	}
	// 1. The server: one instance, or two behind the balancer under
	// non-sticky-lb (lb.go).
	srvs, hosts, err := c.startServers(ctx, sv)
	defer c.closeServers(srvs)
	if err != nil {
		c.fail(IDStart, SideServer, "%v", err)
		return
	}
	srv, host := srvs[0], hosts[0]
	// live ends when a server instance exits (not under server-crash,
	// which restarts it): the workload's waits end with it instead of
	// timing out.
	live, liveCancel := context.WithCancel(ctx)
	var watched sync.WaitGroup
	for _, s := range srvs {
		watched.Go(func() {
			if p.Profile == "server-crash" {
				<-live.Done()
				return
			}
			_, _ = s.Wait(live)
			liveCancel()
		})
	}
	defer func() { liveCancel(); watched.Wait() }()
	// 2. The proxy with the tap, and the profile.
	rec := newWireRecorder()
	px, err := faultproxy.New(host, &faultproxy.Options{Seed: p.Seed, Tap: true})
	if err != nil {
		c.harness("proxy: %v", err)
		return
	}
	if err := px.Start(ctx); err != nil {
		c.harness("proxy: %v", err)
		return
	}
	defer func() {
		_ = px.Close()
		ds, _ := px.Decisions()
		c.res.Decisions = append(c.res.Decisions, c.notes...)
		for _, d := range ds {
			if len(c.res.Decisions) >= transcriptLines {
				c.res.Decisions = append(c.res.Decisions, fmt.Sprintf("… %d more", len(ds)-transcriptLines))
				break
			}
			c.res.Decisions = append(c.res.Decisions, fmt.Sprintf("%8.3fs conn %d %s %s %s %s", d.Elapsed.Seconds(), d.Conn, d.Direction, d.Fault, d.Action, d.Detail))
		}
	}()
	if _, err := px.Add(rec.fault()); err != nil {
		c.harness("tap: %v", err)
		return
	}
	c.px, c.srv = px, srv
	// A strike profile (server-crash, half-open) is applied mid-stream by
	// the workload (strike.go); the others are in place from the handshake.
	if _, strikes := strikeID[p.Profile]; p.Profile != ProfileNone && !strikes {
		pr, err := faultproxy.NewProfile(p.Profile, c.profileOptions(srv, hosts))
		if err != nil {
			c.harness("profile %s: %v", p.Profile, err)
			return
		}
		if _, err := px.ApplyProfile(pr); err != nil {
			c.harness("profile %s: %v", p.Profile, err)
			return
		}
	}
	defer func() {
		pkts := rec.packets()
		for i, w := range pkts {
			if i == transcriptLines {
				c.res.Transcript = append(c.res.Transcript, fmt.Sprintf("… %d more packets", len(pkts)-i))
				break
			}
			c.res.Transcript = append(c.res.Transcript, w.String())
		}
	}()
	// 3. The driver, connected to every server instance directly (one
	// driver per instance: without an adapter a broadcast reaches only the
	// sockets of its own instance).
	run := fmt.Sprintf("iop-%d", p.Seed)
	var drvs drivers
	for _, h := range hosts {
		drv, closeDrv, ok := c.connectDriver(ctx, h, path, run)
		defer closeDrv()
		if !ok {
			return
		}
		drvs = append(drvs, drv)
	}
	if p.Profile == ProfileNonStickyLB {
		c.probeUnknownSID(ctx, hosts, path)
	}
	// 4. The client testee, through the proxy.
	t, ok := c.startTestee(live, px.Addr(), path, run)
	if !ok {
		if crashed := c.crashedServer(srvs); crashed != "" && p.Profile != "server-crash" {
			c.res.Failures = nil // the crash explains the rest
			c.fail(IDCrash, SideServer, "the server %s exited before the client connected", crashed)
		} else if p.Profile == ProfileNonStickyLB {
			c.checkWebSocketOnly(rec.packets(), true)
		}
		return
	}
	defer t.stop(2 * time.Second)
	c.workload(live, drvs, t, srvs, rec)
}

// connectDriver connects the reference driver to the server instance at
// host and checks the extended contract. ok is false when the cell ends
// here (the failure or the reason recorded); closeDrv is always safe to
// call.
func (c *cell) connectDriver(ctx context.Context, host, path, run string) (drv *sioclient.Socket, closeDrv func(), ok bool) {
	o := c.o
	v := socketio.V5
	eopts := &eioclient.Options{}
	if c.p.Protocol == ProtoSIO4 {
		v = socketio.V4
		eopts.Query = url.Values{"netRun": {run}}
	}
	// Short reconnection delays: under server-crash the driver's session
	// dies with the server, and the driver must be back soon after it.
	mgr, err := sioclient.NewManager("http://"+host, &sioclient.ManagerOptions{Path: path, Version: v, Engine: eopts,
		ReconnectionDelay: o.scale(100 * time.Millisecond), ReconnectionDelayMax: o.scale(500 * time.Millisecond)})
	if err != nil {
		c.harness("driver: %v", err)
		return nil, func() {}, false
	}
	closeDrv = func() { _ = mgr.Close() }
	drv = mgr.Socket("/", &sioclient.SocketOptions{Auth: map[string]any{"netRun": run}})
	cctx, ccancel := context.WithTimeout(ctx, o.scale(10*time.Second))
	err = drv.Connect(cctx)
	ccancel()
	if err != nil {
		c.fail(IDStart, SideServer, "the reference driver could not connect to the server at %s: %v", host, err)
		return nil, closeDrv, false
	}
	if _, err := drv.Timeout(o.scale(2*time.Second)).EmitWithAck(ctx, "ext:hello"); err != nil {
		c.res.Outcome, c.res.Reason = Unsupported, "the server does not implement the extended contract (ext:hello unanswered): testees/node/CONTRACT.md"
		return nil, closeDrv, false
	}
	return drv, closeDrv, true
}

func (c *cell) startTestee(ctx context.Context, proxyAddr, path, run string) (*testeeRun, bool) {
	cl := c.p.Client.Client
	opts := map[string]any{}
	maps.Copy(opts, cl.Options)
	if c.p.Protocol == ProtoSIO4 {
		opts["query"] = map[string]any{"netRun": run}
	} else {
		opts["auth"] = map[string]any{"netRun": run}
	}
	ob, _ := json.Marshal(opts)
	tr := cl.Transports
	if tr == "" {
		tr = "polling,websocket"
	}
	if c.p.Profile == ProfileNonStickyLB {
		// NET-LB-02: behind a balancer without stickiness only a
		// WebSocket-only client can hold a session.
		tr = "websocket"
	}
	dir, err := os.MkdirTemp("", "siospec-interop-")
	if err != nil {
		c.harness("temp dir: %v", err)
		return nil, false
	}
	context.AfterFunc(ctx, func() { _ = os.RemoveAll(dir) })
	cases := filepath.Join(dir, "cases.txt")
	if err := os.WriteFile(cases, []byte("# siospec interop matrix\nsio5 "+CaseName+"\nsio4 "+CaseName+"\n"), 0o644); err != nil {
		c.harness("cases file: %v", err)
		return nil, false
	}
	env := []string{
		"SIOSPEC_URL=http://" + proxyAddr + path,
		"SIOSPEC_SUITE=" + c.p.Protocol,
		"SIOSPEC_CASE=" + CaseName,
		"SIOSPEC_TRANSPORTS=" + tr,
		"SIOSPEC_OPTIONS=" + string(ob),
		"SIOSPEC_SEED=" + strconv.FormatInt(c.p.Seed, 10),
		"SIOSPEC_CASES=" + cases,
	}
	t, err := startTestee(c.command(cl.Exec, 0), c.cfg.DirOf(c.p.Client), env)
	if err != nil {
		c.fail(IDStart, SideClient, "the client testee did not start: %v", err)
		return nil, false
	}
	wctx, cancel := context.WithTimeout(ctx, c.o.scale(15*time.Second))
	defer cancel()
	connected := t.waitFor(wctx, func(rs []report) bool {
		return slices.ContainsFunc(rs, func(r report) bool { return r.Ev == "connect" && (r.Nsp == "/" || r.Nsp == "") })
	})
	if connected {
		return t, true
	}
	t.stop(time.Second)
	c.res.TesteeOut, c.res.TesteeErr = t.stdout.String(), t.stderr.String()
	if done, code := t.exited(); done {
		if code == 127 {
			c.res.Outcome, c.res.Reason = Unsupported, "the client testee does not run "+c.p.Protocol+" "+CaseName+" (exit 127)"
			return nil, false
		}
		c.fail(IDStart, SideClient, "the client testee exited with status %d before it connected", code)
		return nil, false
	}
	c.fail(IDStart, SidePair, "the client testee reported no connect within %v", c.o.scale(15*time.Second))
	return nil, false
}

func (c *cell) workload(ctx context.Context, drv drivers, t *testeeRun, srvs []*process.Process, rec *wireRecorder) {
	o, w := c.o, c.o.Workload
	// A phase lasts the stream plus a grace: what has not arrived by then
	// is judged lost.
	phase := o.scale(time.Duration(w.Count*w.IntervalMS)*time.Millisecond + 2*time.Second)
	relay := func(cmd map[string]any) error {
		return c.relayCmd(ctx, drv, t, time.Now().Add(o.scale(relayBound)), cmd)
	}
	nAcks := w.Count / w.AckEvery
	// Up: the testee streams net:seq to the server.
	if err := relay(map[string]any{"cmd": "stream", "count": w.Count, "interval_ms": w.IntervalMS, "ack_every": w.AckEvery, "binary_every": w.BinaryEvery, "tag": "up"}); err != nil {
		if ctx.Err() == nil {
			c.fail(IDStart, SideServer, "ext:broadcast of the stream command was not acknowledged: %v", err)
		}
	}
	// A strike profile strikes mid-stream, at the testee's progress, and
	// the client must come back (strike.go).
	var st *strike
	reconnected := true
	if _, strikes := strikeID[c.p.Profile]; strikes && len(c.res.Failures) == 0 {
		st = c.strikeMidStream(ctx, t, phase)
		reconnected = st != nil && c.awaitReconnect(ctx, drv, t, st, rec)
		if st != nil && c.p.Profile == "server-crash" {
			relay = func(cmd map[string]any) error {
				return c.relayCmd(ctx, drv, t, st.comeBack(o), cmd)
			}
		}
	}
	pctx, cancel := context.WithTimeout(ctx, phase)
	t.waitFor(pctx, func(rs []report) bool {
		done, acks := false, 0
		for _, r := range rs {
			done = done || (r.Ev == "stream_done" && r.Tag == "up")
			if r.Ev == "net_ack" || r.Ev == "net_ack_error" {
				acks++
			}
		}
		return done && acks >= nAcks
	})
	cancel()
	// Down: the testee asks the server for a stream (after a strike, only
	// once the client is connected again: else nobody receives the
	// command).
	if reconnected {
		if err := relay(map[string]any{"cmd": "emit", "event": "ext:stream", "args": []any{map[string]any{"count": w.Count, "intervalMs": w.IntervalMS, "binaryEvery": w.BinaryEvery + 1}}, "ack": true, "tag": "down"}); err != nil {
			if ctx.Err() == nil {
				if st != nil && c.p.Profile == "server-crash" {
					c.fail(IDStart, SideServer, "the server did not come back after the crash within %v: ext:broadcast of the emit command: %v", o.scale(crashDowntime+comeBack), err)
				} else {
					c.fail(IDStart, SideServer, "ext:broadcast of the emit command was not acknowledged: %v", err)
				}
			}
		}
		pctx, cancel = context.WithTimeout(ctx, phase)
		t.waitFor(pctx, func(rs []report) bool {
			n := 0
			for _, r := range rs {
				if r.Ev == "net_recv" {
					n++
				}
			}
			return n >= w.Count
		})
		cancel()
	}
	// The server's tally of the up stream.
	var tally []int
	pctx, cancel = context.WithTimeout(ctx, o.scale(3*time.Second))
	tick := time.NewTicker(50 * time.Millisecond)
	for {
		got, err := drv.tally(pctx, o.scale(2*time.Second))
		if err == nil {
			tally = got
			if len(tally) >= w.Count {
				break
			}
		}
		select {
		case <-pctx.Done():
		case <-tick.C:
			continue
		}
		break
	}
	tick.Stop()
	cancel()
	// Crashes: a peer that left early.
	if done, code := t.exited(); done {
		c.fail(IDCrash, SideClient, "the client testee exited (status %d) before the cell ended", code)
	}
	if crashed := c.crashedServer(srvs); crashed != "" && c.p.Profile != "server-crash" {
		c.fail(IDCrash, SideServer, "the server %s exited before the cell ended", crashed)
	}
	if c.p.Profile == ProfileNonStickyLB {
		c.checkWebSocketOnly(rec.packets(), false)
	}
	t.stop(2 * time.Second)
	c.res.TesteeOut, c.res.TesteeErr = t.stdout.String(), t.stderr.String()
	j := &wireJudge{proto: c.p.Protocol, strictHB: strictHeartbeat[c.p.Profile]}
	j.run(rec.packets(), time.Since(rec.start))
	c.res.Visibility = &j.vis
	c.res.Failures = append(c.res.Failures, j.fails...)
	// The first broken rule explains what follows: a crashed peer or a
	// wire violation loses events as a consequence, so the ledger is
	// judged only when the run and the wire are clean.
	c.delivery(t.snapshot(), tally, j, len(c.res.Failures) == 0)
}

// delivery judges the workload's ledger: the testee's reports, the server's
// tally, and what the tap saw, which tells the side.
func (c *cell) delivery(rs []report, tally []int, j *wireJudge, judge bool) {
	w := c.o.Workload
	counts := &Counts{UpTallied: len(tally)}
	var sent, recv, acked []int
	wantAck := map[int]bool{}
	for _, r := range rs {
		if r.Seq == nil {
			continue
		}
		switch r.Ev {
		case "net_sent":
			sent = append(sent, *r.Seq)
			if r.Ack {
				wantAck[*r.Seq] = true
			}
		case "net_recv":
			recv = append(recv, *r.Seq)
		case "net_ack":
			acked = append(acked, *r.Seq)
		}
	}
	counts.UpSent, counts.DownRecved, counts.UpAcks, counts.UpAcked = len(sent), len(recv), len(wantAck), len(acked)
	counts.DownSent = len(j.down.order)
	c.res.Delivery = counts
	id, judged := deliveryID[c.p.Profile]
	if !judged || !judge {
		return
	}
	// Up: the server's tally must be 0..N-1 once each, in order.
	for seq := range w.Count {
		n := count(tally, seq)
		onWire := j.up.events[seq]
		switch {
		case n == 0 && onWire == 0 && j.blind:
			c.fail(id, SidePair, "up event %d is missing from the server's tally (the side cannot be told: %s)", seq, j.blindWhy)
		case n == 0 && onWire == 0:
			c.fail(id, SideClient, "up event %d never reached the wire (the client reported %d sent)", seq, len(sent))
		case n == 0:
			c.fail(id, SideServer, "up event %d passed the proxy but is missing from the server's tally %v", seq, tally)
		case n > 1 && onWire > 1:
			c.fail(id, SideClient, "up event %d was sent %d times", seq, onWire)
		case n > 1:
			c.fail(id, SideServer, "up event %d was recorded %d times but sent once", seq, n)
		}
		if len(c.res.Failures) > 8 {
			break
		}
	}
	if !sorted(tally) {
		side := SideServer
		if !sorted(j.up.order) {
			side = SideClient
		}
		c.fail(id, side, "up events out of order: tally %v, wire %v", tally, j.up.order)
	}
	// Up acks: each asked once, answered once.
	for seq := range wantAck {
		n := count(acked, seq)
		switch {
		case n == 0 && j.blind:
			c.fail("SIO-ACK-01", SidePair, "the ack of up event %d never surfaced (the side cannot be told: %s)", seq, j.blindWhy)
		case n == 0 && j.up.events[seq] == 0:
			// The event itself never reached the wire: judged above.
		case n == 0 && j.up.acks[seq] == 0:
			c.fail("SIO-ACK-01", SideServer, "the ack of up event %d never came back", seq)
		case n == 0:
			c.fail("SIO-ACK-01", SideClient, "the ack of up event %d passed the proxy but the client never surfaced it", seq)
		case n > 1:
			c.fail("SIO-ACK-01", SideClient, "the ack of up event %d was surfaced %d times", seq, n)
		}
	}
	// Down: the testee's net_recv must be 0..N-1 once each, in order, once
	// the client's request for the stream passed the proxy.
	if !j.streamAsked && !j.blind {
		c.fail(id, SideClient, "the client never sent the ext:stream request relayed to it (the down stream could not start)")
		c.dedupe()
		return
	}
	for seq := range w.Count {
		n := count(recv, seq)
		onWire := j.down.events[seq]
		switch {
		case n == 0 && onWire == 0 && j.blind:
			c.fail(id, SidePair, "down event %d never surfaced (the side cannot be told: %s)", seq, j.blindWhy)
		case n == 0 && onWire == 0:
			c.fail(id, SideServer, "down event %d never reached the wire", seq)
		case n == 0:
			c.fail(id, SideClient, "down event %d passed the proxy but the client never surfaced it", seq)
		case n > 1 && onWire > 1:
			c.fail(id, SideServer, "down event %d was sent %d times", seq, onWire)
		case n > 1:
			c.fail(id, SideClient, "down event %d was surfaced %d times but sent once", seq, n)
		}
	}
	if !sorted(recv) {
		side := SideClient
		if !sorted(j.down.order) {
			side = SideServer
		}
		c.fail(id, side, "down events out of order: received %v, wire %v", recv, j.down.order)
	}
	c.dedupe()
}

// dedupe keeps the first failure of each (ID, side): the rest say the same.
func (c *cell) dedupe() {
	seen := map[string]bool{}
	out := c.res.Failures[:0]
	for _, f := range c.res.Failures {
		k := f.ID + "|" + f.Side
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, f)
	}
	c.res.Failures = out
}

func count(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func sorted(xs []int) bool { return slices.IsSorted(xs) }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n[truncated]"
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\"\\$`!*?[]{}()<>|&;#~\t\n") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// StartServer starts one instance of a server implementation on a free
// loopback port and waits until it is ready (ServerSpec.Ready). It returns
// the process (to Close; non-nil whenever it was created, even when the
// start failed) and its host:port.
func StartServer(ctx context.Context, sv *ServerSpec, dir string, opts *Options) (*process.Process, string, error) {
	o := opts.clone()
	port, err := process.FreePort()
	if err != nil {
		return nil, "", fmt.Errorf("free port: %w", err)
	}
	httpURL, line, err := readyOf(sv.Ready, port)
	if err != nil {
		return nil, "", fmt.Errorf("server ready check: %w", err)
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	ready := process.ReadyCheck{StdoutLine: line, HTTP: httpURL}
	if line == nil && httpURL == "" {
		ready.TCP = host
	}
	cmd := strings.ReplaceAll(strings.ReplaceAll(sv.Cmd, SiospecPlaceholder, shellQuote(o.Siospec)), PortPlaceholder, strconv.Itoa(port))
	srv, err := process.New(process.Spec{Path: "sh", Args: []string{"-c", cmd}, Dir: dir},
		&process.Options{Ready: ready, ReadyTimeout: o.scale(15 * time.Second), StopTimeout: 3 * time.Second, OutputLimit: outputLimit})
	if err != nil {
		return nil, "", fmt.Errorf("server command: %w", err)
	}
	if err := srv.Start(ctx); err != nil {
		return srv, "", fmt.Errorf("the server did not start (%s): %w", cmd, err)
	}
	return srv, host, nil
}
