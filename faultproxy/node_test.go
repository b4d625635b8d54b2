package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/faultproxy/process"
	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/protocol/engineio"
)

// Proofs with real Node peers: socket.io-client 4.8.4
// (testees/node/clients/proxy-client.js) against socket.io 4.8.4
// (testees/node/fixtures/sio5.js: pingInterval 300 ms, pingTimeout 200 ms,
// or proofHeartbeat where the heartbeat is not the subject), directly and
// through the proxy. Skipped with -short or when node or
// testees/node/node_modules is missing; never for load (internal/prooftest).

// nodeSlots bounds how many Node proofs run at once: each runs a server
// and clients whose heartbeat budget (500 ms) a saturated machine misses.
var nodeSlots = make(chan struct{}, 2)

// nodeTest marks a Node proof: parallel with other tests, but at most
// cap(nodeSlots) Node proofs at a time.
func nodeTest(t *testing.T) {
	t.Helper()
	nodeDir(t) // skip before waiting for a slot
	t.Parallel()
	nodeSlots <- struct{}{}
	t.Cleanup(func() { <-nodeSlots })
}

// nodeDir returns testees/node, skipping the test when Node cannot run.
func nodeDir(t *testing.T) (node, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping Node proofs in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: Node proof skipped")
	}
	dir, err = filepath.Abs(filepath.Join("..", "testees", "node"))
	if err != nil {
		t.Fatal(err)
	}
	// Missing peers skip the proof on a developer's machine and fail it in
	// CI, which installs them (.ci/run).
	nodepeer.Require(t, "socket.io", "socket.io-client")
	return node, dir
}

// proofHeartbeat gives sio5.js the proofs' heartbeat (prooftest), for the
// proofs that are not about the heartbeat: a loaded machine keeps 1.8 s
// where it misses the contract's 500 ms.
var proofHeartbeat = []string{
	"--ping-interval", strconv.FormatInt(prooftest.PingInterval.Milliseconds(), 10),
	"--ping-timeout", strconv.FormatInt(prooftest.PingTimeout.Milliseconds(), 10),
}

// startFixture starts fixtures/sio5.js ARGS on a free port and returns its
// host:port; it is stopped by PID (SIGTERM, then SIGKILL) at cleanup.
func startFixture(t *testing.T, args ...string) string {
	t.Helper()
	return startNodeFixture(t, "sio5.js", args...)
}

// clientReport is what proxy-client.js prints.
type clientReport struct {
	OK            bool              `json:"ok"`
	Results       []json.RawMessage `json:"results"`
	Transport     string            `json:"transport"`
	Transports    []string          `json:"transports"`
	Upgrades      int               `json:"upgrades"`
	UpgradeErrors int               `json:"upgradeErrors"`
	Disconnects   []string          `json:"disconnects"`
	Reconnects    int               `json:"reconnects"`
	Connects      int               `json:"connects"`
	Error         string            `json:"error"`
}

// runClient runs proxy-client.js against addr and returns its report; the
// process ends by itself within its budget and is killed by PID otherwise.
func runClient(t *testing.T, addr string, args ...string) clientReport {
	t.Helper()
	node, dir := nodeDir(t)
	start := time.Now()
	r, err := runClientE(node, dir, addr, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("client run took %v", time.Since(start).Round(time.Millisecond))
	logReport(t, addr, args, r)
	return r
}

// runClientE is runClient for other goroutines: it reports failures as an
// error.
func runClientE(node, dir, addr string, args ...string) (clientReport, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("clients", "proxy-client.js"), "http://" + addr}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r clientReport
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &r); jerr != nil {
		return r, fmt.Errorf("proxy-client.js %v: %v / %v\nstdout: %s\nstderr: %s", args, err, jerr, stdout.String(), stderr.String())
	}
	return r, nil
}

func logReport(t *testing.T, addr string, args []string, r clientReport) {
	t.Helper()
	t.Logf("proxy-client.js %s %v: ok=%v results=%d transport=%s transports=%v upgrades=%d upgradeErrors=%d disconnects=%q reconnects=%d connects=%d error=%q",
		addr, args, r.OK, len(r.Results), r.Transport, r.Transports, r.Upgrades, r.UpgradeErrors, r.Disconnects, r.Reconnects, r.Connects, r.Error)
}

// pingTimedOut reports whether the run lost its session to a heartbeat
// timeout (pingInterval + pingTimeout: 500 ms with the contract's
// heartbeat, 1.8 s with proofHeartbeat).
func pingTimedOut(r clientReport) bool {
	for _, d := range r.Disconnects {
		if d == "ping timeout" {
			return true
		}
	}
	return false
}

// runClientSteady runs the client and, if the run lost its session to a
// heartbeat timeout, once again (the shared rule of internal/prooftest:
// retry once, logging the load; the caller's checks then judge the second
// run, and fail).
func runClientSteady(t *testing.T, addr string, args ...string) clientReport {
	t.Helper()
	r := runClient(t, addr, args...)
	if pingTimedOut(r) {
		t.Logf("the run lost its session to a ping timeout (%s); running the client once again", prooftest.ReadLoad())
		r = runClient(t, addr, args...)
	}
	return r
}

// baseline runs the client directly against the server (retried once on a
// ping timeout); a direct run that fails is a failure of the proof.
func baseline(t *testing.T, addr string, args ...string) clientReport {
	t.Helper()
	r := runClientSteady(t, addr, args...)
	if !r.OK || pingTimedOut(r) {
		t.Fatalf("direct run (no proxy) failed (%s): %+v", prooftest.ReadLoad(), r)
	}
	return r
}

func joinResults(r clientReport) string {
	var b []string
	for _, x := range r.Results {
		b = append(b, string(x))
	}
	return strings.Join(b, "\n")
}

func logDecisions(t *testing.T, p *Proxy, skipActivate bool) {
	t.Helper()
	ds, _ := p.Decisions()
	for _, d := range ds {
		if skipActivate && d.Action == "activate" && d.Detail == "" {
			continue
		}
		t.Logf("decision conn=%d dir=%s fault=%s step=%d %s %s", d.Conn, d.Direction, d.Fault, d.Step, d.Action, d.Detail)
	}
}

// TestNodeTransparency: the same scripted client run (events with acks,
// echoes and binary, then the upgrade to WebSocket) gives the same results
// directly and through the proxy with the tap on, for each transport set.
func TestNodeTransparency(t *testing.T) {
	nodeTest(t)
	srv := startFixture(t, proofHeartbeat...)
	p := startProxy(t, srv, &Options{Tap: true})
	for _, tr := range []string{"polling,websocket", "websocket", "polling"} {
		args := []string{"--events", "30", "--transports", tr, "--settle", "400", "--budget", "8000"}
		direct := baseline(t, srv, args...)
		proxied := runClientSteady(t, p.Addr(), args...)
		if !direct.OK || !proxied.OK {
			t.Fatalf("%s: direct ok=%v (%s), proxied ok=%v (%s)", tr, direct.OK, direct.Error, proxied.OK, proxied.Error)
		}
		if a, b := joinResults(direct), joinResults(proxied); a != b {
			t.Fatalf("%s: results differ\ndirect:\n%s\nproxied:\n%s", tr, a, b)
		}
		if direct.Transport != proxied.Transport || strings.Join(direct.Transports, ",") != strings.Join(proxied.Transports, ",") ||
			direct.Upgrades != proxied.Upgrades || direct.UpgradeErrors != proxied.UpgradeErrors || proxied.Reconnects != 0 {
			t.Fatalf("%s: transports differ: direct %+v, proxied %+v", tr, direct, proxied)
		}
		if len(direct.Results) != 30 {
			t.Fatalf("%s: %d results", tr, len(direct.Results))
		}
	}
	if ds, _ := p.Decisions(); len(ds) != 0 {
		t.Fatalf("decisions without faults: %+v", ds)
	}
}

// nodeStaysOnPolling runs the client through a proxy with profile applied
// and checks EIO-UPG-13: the probe fails, the client stays on polling with
// its session, and every event still gets its answer.
func nodeStaysOnPolling(t *testing.T, profile, action string) {
	nodeTest(t)
	srv := startFixture(t, proofHeartbeat...)
	p := startProxy(t, srv, nil)
	pr, err := NewProfile(profile, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ApplyProfile(pr); err != nil {
		t.Fatal(err)
	}
	want := baseline(t, srv, "--events", "20", "--transports", "polling", "--budget", "8000")
	r := runClientSteady(t, p.Addr(), "--events", "20", "--budget", "8000")
	logDecisions(t, p, true)
	if !r.OK {
		t.Fatalf("%s: events did not flow: %s", profile, r.Error)
	}
	if r.Transport != "polling" || r.Upgrades != 0 || r.UpgradeErrors < 1 || r.Reconnects != 0 || len(r.Disconnects) != 0 {
		t.Fatalf("%s: want the client on polling after a failed probe without reconnecting: %+v", profile, r)
	}
	if joinResults(r) != joinResults(want) {
		t.Fatalf("%s: results differ from a direct polling run", profile)
	}
	if len(decisionsOf(p, profile+"."+strings.SplitN(action, " ", 2)[0], strings.SplitN(action, " ", 2)[1])) == 0 {
		t.Fatalf("%s: no %q decision", profile, action)
	}
}

// TestNodeCorporateFirewall: the upgrade gets 403 from the proxy
// (faults doc A9.2); EIO-UPG-13.
func TestNodeCorporateFirewall(t *testing.T) {
	nodeStaysOnPolling(t, "corporate-firewall", "http_reject_upgrade reject")
}

// TestNodeWSStrippingProxy: the upgrade reaches the server without its
// Upgrade headers and gets 400 (faults doc A9.1, EIO-HS-08); EIO-UPG-13.
func TestNodeWSStrippingProxy(t *testing.T) {
	nodeStaysOnPolling(t, "ws-stripping-proxy", "http_strip_upgrade strip")
}

// TestNodeIdleTimeoutLB: with the balancer's idle timeout below the
// fixture's pingInterval (300 ms) connections are cut and the client
// reconnects with a new session (NODE-RECON-01, NODE-RECON-04), then still
// gets answers; above it, the server's pings keep the connection busy and
// nothing is cut (EIO-HB-01).
func TestNodeIdleTimeoutLB(t *testing.T) {
	nodeTest(t)
	srv := startFixture(t)
	short := startProxy(t, srv, nil)
	pr, err := NewProfile("idle-timeout-lb", &ProfileOptions{Idle: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.ApplyProfile(pr); err != nil {
		t.Fatal(err)
	}
	r := runClient(t, short.Addr(), "--events", "4", "--settle", "0", "--reconnects", "1", "--reconnection-delay", "100", "--transports", "websocket")
	logDecisions(t, short, true)
	if r.Reconnects < 1 || len(r.Disconnects) < 1 || !strings.Contains(strings.Join(r.Disconnects, ","), "transport close") {
		t.Fatalf("idle 150 ms < pingInterval 300 ms: want a transport close and a reconnection, got %+v", r)
	}
	if len(decisionsOf(short, "idle-timeout-lb.idle_timeout", "close")) == 0 {
		t.Fatal("no idle_timeout close decision")
	}
	if !r.OK {
		// The cut can also hit the connection an answer travels on; the
		// reconnection is what this proof is about.
		t.Logf("events after the reconnection did not all complete: %s", r.Error)
	}

	long := startProxy(t, srv, nil)
	pr, err = NewProfile("idle-timeout-lb", &ProfileOptions{Idle: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := long.ApplyProfile(pr); err != nil {
		t.Fatal(err)
	}
	r = runClientSteady(t, long.Addr(), "--events", "10", "--settle", "2000")
	if !r.OK || r.Reconnects != 0 || len(r.Disconnects) != 0 {
		// A run cut by the balancer (a fixture starved for 1.5 s sends no
		// ping) gets one more run, as every proof does.
		t.Logf("idle 1500 ms: the run was cut (%s); running the client once again: %+v", prooftest.ReadLoad(), r)
		r = runClient(t, long.Addr(), "--events", "10", "--settle", "2000")
	}
	if !r.OK || r.Reconnects != 0 || len(r.Disconnects) != 0 {
		t.Fatalf("idle 1500 ms > pingInterval: want no cut, got %+v (%s)", r, prooftest.ReadLoad())
	}
	all, _ := long.Decisions()
	for _, d := range all {
		if d.Action != "activate" {
			t.Fatalf("unexpected decision with a long idle timeout: %+v", d)
		}
	}
}

// TestNodeAntivirusBuffering: WebSocket frames from the server are held
// until 4096 bytes, so the 3probe reply never arrives; the client, which
// commits to WebSocket only after the probe round trip (EIO-UPG-02,
// EIO-UPG-05), stays on polling where every event is answered (faults doc
// A9.3).
func TestNodeAntivirusBuffering(t *testing.T) {
	nodeTest(t)
	srv := startFixture(t, proofHeartbeat...)
	p := startProxy(t, srv, nil)
	pr, err := NewProfile("antivirus-buffering", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ApplyProfile(pr); err != nil {
		t.Fatal(err)
	}
	r := runClientSteady(t, p.Addr(), "--events", "20", "--settle", "800")
	logDecisions(t, p, true)
	if !r.OK || r.Transport != "polling" || r.Upgrades != 0 || r.Reconnects != 0 || len(r.Disconnects) != 0 {
		t.Fatalf("want every event answered on polling without an upgrade: %+v", r)
	}
	if len(decisionsOf(p, "antivirus-buffering.ws_buffer_frames", "hold")) == 0 {
		t.Fatal("no ws_buffer_frames hold decision: the probe reply was not held")
	}
}

// TestNodeNonStickyLB: two socket.io servers behind a round-robin balancer
// without stickiness. A polling client's requests reach the instance that
// does not know its sid (400 "Session ID unknown", EIO-POLL-06) and it keeps
// losing its session; a WebSocket-only client needs no stickiness and is
// unaffected; with sid stickiness the polling client works (faults doc
// A9.5).
func TestNodeNonStickyLB(t *testing.T) {
	nodeTest(t)
	a, b := startFixture(t, proofHeartbeat...), startFixture(t, proofHeartbeat...)
	p := startProxy(t, "127.0.0.1:1", nil)
	pr, err := NewProfile("non-sticky-lb", &ProfileOptions{Backends: []string{a, b}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ApplyProfile(pr); err != nil {
		t.Fatal(err)
	}
	ws := runClientSteady(t, p.Addr(), "--events", "10", "--transports", "websocket", "--settle", "0")
	if !ws.OK || ws.Reconnects != 0 || len(ws.Disconnects) != 0 {
		t.Fatalf("WebSocket-only client behind a non-sticky balancer: %+v", ws)
	}
	poll := runClient(t, p.Addr(), "--events", "10", "--transports", "polling", "--settle", "0", "--budget", "4000")
	routes := decisionsOf(p, "non-sticky-lb.lb_round_robin", "route")
	if len(routes) < 4 {
		t.Fatalf("only %d routing decisions", len(routes))
	}
	for _, d := range routes[:4] {
		t.Logf("decision conn=%d %s %s", d.Conn, d.Action, d.Detail)
	}
	if len(poll.Disconnects) == 0 {
		t.Fatalf("polling client behind a non-sticky balancer never lost its session: %+v", poll)
	}

	// The same balancer with sid stickiness keeps each session on the
	// server that opened it: the polling client works.
	sticky := startProxy(t, "127.0.0.1:1", nil)
	addFault(t, sticky, LBRoundRobin{Name: "sticky", Backends: []string{a, b}, Sticky: StickySID})
	r := runClientSteady(t, sticky.Addr(), "--events", "10", "--transports", "polling", "--settle", "0", "--budget", "8000")
	if !r.OK || r.Reconnects != 0 || len(r.Disconnects) != 0 {
		t.Fatalf("polling client behind a sid-sticky balancer: %+v", r)
	}
	if n := len(decisionsOf(sticky, "sticky", "route")); n < 3 || !strings.Contains(decisionsOf(sticky, "sticky", "route")[n-1].Detail, "sticky sid") {
		t.Fatalf("sid-sticky routing decisions: %+v", decisionsOf(sticky, "sticky", "route"))
	}
}

// TestNodeServerCrash: server-crash with a faultproxy/process controller
// kills the socket.io server (SIGKILL) mid-session and restarts it on the
// same port; the client sees the transport close, reconnects with a new
// session (NODE-RECON-01, NODE-RECON-04) and its events are answered again
// (faults doc A9.8).
func TestNodeServerCrash(t *testing.T) {
	nodeTest(t)
	node, dir := nodeDir(t)
	port, err := process.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := process.New(process.Spec{Path: node, Args: []string{filepath.Join("fixtures", "sio5.js"), "--port", strconv.Itoa(port)}, Dir: dir},
		&process.Options{Ready: process.ReadyCheck{StdoutLine: regexp.MustCompile(`^listening (http://\S+)`)}, StopTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := proc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, proc.Addr(), nil)
	connected := watchConnect(t, p)
	args := []string{"--events", "10", "--reconnects", "1", "--reconnection-delay", "100", "--settle", "0"}
	done := make(chan outcome, 1)
	go func() {
		r, err := runClientE(node, dir, p.Addr(), args...)
		done <- outcome{r, err}
	}()
	select {
	case <-connected:
	case o := <-done:
		t.Fatalf("client ended before connecting: %+v %v", o.r, o.err)
	case <-time.After(10 * time.Second):
		t.Fatal("no Socket.IO CONNECT reply within 10 s")
	}
	// The session is established: crash the server now.
	pr, err := NewProfile("server-crash", &ProfileOptions{Process: proc, Downtime: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.ApplyProfile(pr)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Remove()
	if h.CrashMode() != CrashModeProcess {
		t.Errorf("CrashMode() = %q, want %q", h.CrashMode(), CrashModeProcess)
	}
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	r := o.r
	logReport(t, p.Addr(), args, r)
	logDecisions(t, p, true)
	if !r.OK || r.Reconnects < 1 || r.Connects < 2 {
		t.Fatalf("want a reconnection after the crash and answers afterwards: %+v", r)
	}
	if d := decisionsOf(p, "server-crash", "up"); len(d) != 1 {
		t.Fatalf("server-crash decisions: %+v", decisionsOf(p, "server-crash", ""))
	}
}

// outcome is a client run finished in another goroutine.
type outcome struct {
	r   clientReport
	err error
}

// watchConnect adds a fault that never drops anything but watches the
// server's packets; the channel is closed at the first Socket.IO CONNECT
// reply ("0{...}"), when a client's session is established.
func watchConnect(t *testing.T, p *Proxy) <-chan struct{} {
	t.Helper()
	connected := make(chan struct{})
	var once sync.Once
	addFault(t, p, EIODropIf{Name: "watch", DropIf: func(_ Direction, pk engineio.Packet) bool {
		if pk.Type == engineio.Message && strings.HasPrefix(string(pk.Data), "0{") {
			once.Do(func() { close(connected) })
		}
		return false
	}})
	return connected
}

// TestNodeHalfOpen: half-open is applied to an established WebSocket
// session: bytes stop flowing both ways while the sockets stay open. The
// client declares the connection dead when no PING arrives within
// pingInterval + pingTimeout (EIO-HB-04; "ping timeout") and tries again;
// the loss struck only the flows open when it began, so the retry gets
// through with the profile still applied: the client reconnects
// (NODE-RECON-01) and its events are answered (faults doc A9.9).
// (half-open used to blackhole every new connection too.)
func TestNodeHalfOpen(t *testing.T) {
	nodeTest(t)
	node, dir := nodeDir(t)
	srv := startFixture(t)
	p := startProxy(t, srv, &Options{Tap: true})
	args := []string{"--events", "6", "--reconnects", "1", "--reconnection-delay", "100", "--transports", "websocket", "--settle", "0"}
	// The network goes silent on an established session.
	connected := watchConnect(t, p)
	done := make(chan outcome, 1)
	go func() {
		r, err := runClientE(node, dir, p.Addr(), args...)
		done <- outcome{r, err}
	}()
	select {
	case <-connected:
	case o := <-done:
		t.Fatalf("client ended before connecting: %+v %v", o.r, o.err)
	case <-time.After(10 * time.Second):
		t.Fatal("no Socket.IO CONNECT reply within 10 s")
	}
	pr, err := NewProfile("half-open", nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.ApplyProfile(pr)
	if err != nil {
		t.Fatal(err)
	}
	applied := time.Now()
	t.Cleanup(func() {
		if t.Failed() {
			logDecisions(t, p, false)
			t.Logf("conns: %+v", p.Conns())
		}
	})
	newConn := func() bool {
		for _, c := range p.Conns() {
			if c.Ordinal >= 2 {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(10 * time.Second); !newConn(); {
		if time.Now().After(deadline) {
			_ = h.Remove()
			o := <-done
			logReport(t, p.Addr(), args, o.r)
			t.Fatalf("the client did not try a new connection within 10 s of the network going silent (%v)", o.err)
		}
		tm := time.NewTimer(10 * time.Millisecond)
		<-tm.C
	}
	t.Logf("client opened a new connection %v after the network went silent", time.Since(applied).Round(time.Millisecond))
	t.Cleanup(func() { _ = h.Remove() })
	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	logReport(t, p.Addr(), args, o.r)
	logDecisions(t, p, true)
	if !o.r.OK || o.r.Reconnects < 1 || o.r.Connects < 2 || !pingTimedOut(o.r) {
		t.Fatalf("want a ping timeout, a reconnection and answered events: %+v", o.r)
	}
}
