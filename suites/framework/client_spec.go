package framework

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// Client-suite defaults. The scripted server advertises a short heartbeat
// so that heartbeat cases end quickly; --time-scale stretches it for slow
// clients.
const (
	DefaultClientPingInterval = 500 * time.Millisecond
	DefaultClientPingTimeout  = 400 * time.Millisecond
	DefaultCaseTimeout        = 30 * time.Second
)

// ClientConfig configures a run of the client suites. The zero value of a
// field means its default.
type ClientConfig struct {
	// Exec is the testee command (run with sh -c, testees/CLIENT-CONTRACT.md).
	Exec string
	// Dir is the testee's working directory; "" the current one.
	Dir string
	// Suites selects eio4, eio3, sio5, sio4; nil means all four.
	Suites []Proto
	// TimeScale multiplies the advertised heartbeat and every budget.
	TimeScale float64
	// Seed is the run's root seed (SIOSPEC_SEED derives from it per case).
	Seed int64
	// Strict makes SHOULD and NODE failures gate.
	Strict bool
	// PingInterval and PingTimeout are the heartbeat a case advertises
	// unless it sets its own, at time scale 1; the server advertises them
	// times TimeScale, and every budget is stretched by it once.
	PingInterval, PingTimeout time.Duration
	// CaseTimeout bounds one case (default 30 s, times TimeScale).
	CaseTimeout time.Duration
	// Trials is how many seeded trials each resilience-tier spec of the
	// net suite runs (default DefaultTrials).
	Trials int
	// OutputLimit caps the testee output kept per stream.
	OutputLimit int
	// Logger receives harness diagnostics; nil discards them.
	Logger *slog.Logger
}

// ping returns the heartbeat a case advertises at time scale 1 (the
// defaults unless set); the scripted server advertises it times TimeScale.
func (c *ClientConfig) ping() (interval, timeout time.Duration) {
	interval, timeout = c.PingInterval, c.PingTimeout
	if interval <= 0 {
		interval = DefaultClientPingInterval
	}
	if timeout <= 0 {
		timeout = DefaultClientPingTimeout
	}
	return interval, timeout
}

func (c *ClientConfig) scaled(d time.Duration) time.Duration {
	if c.TimeScale <= 0 {
		return d
	}
	return time.Duration(float64(d) * c.TimeScale)
}

// DefaultTrials is the default of ClientConfig.Trials.
const DefaultTrials = 3

// TrialCount returns Trials, or DefaultTrials when it is not positive.
func (c *ClientConfig) TrialCount() int {
	if c.Trials > 0 {
		return c.Trials
	}
	return DefaultTrials
}

// caseTimeout returns the bound of one case.
func (c *ClientConfig) caseTimeout() time.Duration {
	if c.CaseTimeout > 0 {
		return c.CaseTimeout
	}
	return c.scaled(DefaultCaseTimeout)
}

// Case names the client-contract case a client spec runs (SIOSPEC_CASE):
// lower-case words joined by '-', unique within a suite. Every client spec
// carries one.
type Case string

// ClientOption marks a client spec that needs a named client option
// (SIOSPEC_OPTIONS) the testee may not honour; it is only documentation
// and a label (option:NAME).
type ClientOption string

// ClientSuite builds client conformance specs: each spec starts a
// scripted server, runs the testee once against it (one case) and judges
// what it did on the wire and what it reported.
type ClientSuite struct {
	cfg    *ClientConfig
	reg    *Registry
	proto  Proto
	env    **ClientEnv
	jitter *JitterMonitor
	cases  *[]CaseInfo
	// casesFile is the case list handed to testees (SIOSPEC_CASES),
	// written once by the first case to start.
	casesFile *casesFile
	// shard and shards select the specs this process declares (the i-th
	// declared goes to shard i mod shards); shards 0 declares all.
	shard, shards int
}

// CaseInfo is one declared client case.
type CaseInfo struct {
	Suite Proto
	Case  string
	ID    string
}

// NewClientSuite returns a ClientSuite for cfg; the pointer is read when
// specs run.
func NewClientSuite(cfg *ClientConfig) *ClientSuite {
	var cur *ClientEnv
	return &ClientSuite{cfg: cfg, reg: Requirements(), env: &cur, jitter: StartJitterMonitor(), cases: new([]CaseInfo), casesFile: &casesFile{}}
}

// Shard makes the suite declare only every n-th spec, starting with the
// k-th (0-based), so that n processes share a run; declaration order is
// the same in every process. n 0 or 1 declares every spec.
func (s *ClientSuite) Shard(k, n int) { s.shard, s.shards = k, n }

// Close stops the suite's jitter monitor and removes the case list file;
// idempotent.
func (s *ClientSuite) Close() {
	s.jitter.Close()
	s.casesFile.remove()
}

// casesFile is a temporary file listing every declared case.
type casesFile struct {
	once sync.Once
	path string
	err  error
}

// get writes the file on the first call and returns its path.
func (f *casesFile) get(cases []CaseInfo) (string, error) {
	f.once.Do(func() {
		var b strings.Builder
		b.WriteString("# siospec client cases: <suite> <case>\n")
		seen := map[string]bool{}
		for _, c := range cases {
			line := strings.ToLower(string(c.Suite)) + " " + c.Case
			if !seen[line] {
				seen[line] = true
				b.WriteString(line + "\n")
			}
		}
		dir, err := os.MkdirTemp("", "siospec-cases-")
		if err != nil {
			f.err = err
			return
		}
		f.path = filepath.Join(dir, "client-cases.txt")
		f.err = os.WriteFile(f.path, []byte(b.String()), 0o644)
	})
	return f.path, f.err
}

func (f *casesFile) remove() {
	f.once.Do(func() {})
	if f.path != "" {
		os.RemoveAll(filepath.Dir(f.path))
	}
}

// WithProto returns a ClientSuite whose specs carry the proto label p.
func (s *ClientSuite) WithProto(p Proto) *ClientSuite {
	c := *s
	c.proto = p
	return &c
}

// Proto returns the protocol the suite's specs are declared for ("" for
// the requirement's own).
func (s *ClientSuite) Proto() Proto { return s.proto }

// Config returns the run configuration.
func (s *ClientSuite) Config() *ClientConfig { return s.cfg }

// Cases returns every case declared so far, in declaration order.
func (s *ClientSuite) Cases() []CaseInfo { return append([]CaseInfo(nil), (*s.cases)...) }

// Install adds the per-spec setup: a fresh ClientEnv before each spec,
// its report entries after it, and the end of its testee and server.
func (s *ClientSuite) Install() {
	g.BeforeEach(func() {
		labels := g.CurrentSpecReport().Labels()
		p := specProto(labels)
		rec := NewRecorder()
		pi, pt := s.cfg.ping()
		// Timing holds the heartbeat at scale 1 and the scale: every window
		// derived from it is stretched once, and the server advertises the
		// stretched heartbeat (Start).
		tm := Timing{PingInterval: pi, PingTimeout: pt, Scale: s.cfg.TimeScale}
		tm.Slack = s.jitter.Recent(slackWindow)
		e := &ClientEnv{Cfg: s.cfg, Proto: p, Rec: rec, Timing: tm, suite: s, verdict: verdict{rec: rec},
			Case: labelValue(labels, "case"), Transports: transportsOf(labelValue(labels, "transport"))}
		*s.env = e
		g.DeferCleanup(func() {
			e.stop()
			*s.env = nil
		})
	})
	g.JustAfterEach(func() {
		if e := *s.env; e != nil {
			e.stop()
			e.attach(g.CurrentSpecReport().Failed())
		}
	})
}

// labelValue returns the value of the first label "key:value".
func labelValue(labels []string, key string) string {
	for _, l := range labels {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return v
		}
	}
	return ""
}

// transportsOf maps a transport label to SIOSPEC_TRANSPORTS.
func transportsOf(tr string) string {
	switch Transport(tr) {
	case Polling:
		return "polling"
	case WebSocket:
		return "websocket"
	}
	return "polling,websocket"
}

// ClientBody is a client spec body.
type ClientBody func(ctx context.Context, e *ClientEnv)

// It declares one client conformance spec for requirement reqID, running
// the case named by the Case decorator (required). Labels req:, level:,
// proto:, area:, role:client, case: and, with a Transport decorator,
// transport: are added. Without a Transport the client runs with its
// defaults (polling, then upgrade).
func (s *ClientSuite) It(reqID, text string, body ClientBody, decorators ...any) bool {
	r, ok := s.reg.Lookup(reqID)
	if !ok {
		panic(fmt.Sprintf("framework: client spec %q names unknown requirement %q", text, reqID))
	}
	if !r.Bind.BindsClient() {
		panic(fmt.Sprintf("framework: client spec %q names %s, which does not bind clients", text, reqID))
	}
	proto := r.Proto
	if s.proto != "" {
		proto = s.proto
	}
	args := []any{g.Label("req:"+r.ID, "level:"+string(r.Level), "proto:"+string(proto), "area:"+r.Area, "role:client"), g.Offset(1)}
	hasTimeout, name := false, Case("")
	for _, d := range decorators {
		switch d := d.(type) {
		case Case:
			name = d
			args = append(args, g.Label("case:"+string(d)))
		case ClientOption:
			args = append(args, g.Label("option:"+string(d)))
		case Transport:
			args = append(args, g.Label("transport:"+string(d)))
		case g.SpecTimeout:
			hasTimeout = true
			args = append(args, d)
		default:
			args = append(args, d)
		}
	}
	if name == "" {
		panic(fmt.Sprintf("framework: client spec %q has no Case decorator", text))
	}
	*s.cases = append(*s.cases, CaseInfo{Suite: TesteeSuite(proto), Case: string(name), ID: r.ID})
	if s.shards > 1 && (len(*s.cases)-1)%s.shards != s.shard {
		return false
	}
	if !hasTimeout {
		args = append(args, g.SpecTimeout(s.cfg.caseTimeout()))
	}
	envp := s.env
	fn := func(ctx g.SpecContext) {
		e := *envp
		if e == nil {
			g.Fail(HarnessPrefix + "no client spec environment (ClientSuite.Install missing)")
		}
		body(ctx, e)
	}
	return g.It(text+" ["+r.ID+"]", append(args, fn)...)
}

// ClientEnv is the environment of one running client spec: the scripted
// server, the testee, the transcript they share, and the report texts.
type ClientEnv struct {
	Cfg        *ClientConfig
	Proto      Proto
	Case       string
	Transports string
	Rec        *Recorder
	Timing     Timing
	// Server and Testee are set by Start.
	Server *scripted.Server
	Testee *testee.Testee
	// Servers are every scripted server of the case (Server first) and
	// Proxy the fault proxy in front of them, when the case asked for
	// them (CaseOptions.Servers, CaseOptions.Proxy).
	Servers []*scripted.Server
	Proxy   *faultproxy.Proxy

	suite *ClientSuite
	verdict

	seen int // testee reports copied into the transcript
	exit *testee.Exit
}

// CaseOptions adjust one case. Nil means defaults.
type CaseOptions struct {
	// Server holds scripted-server options; zero fields take the case's
	// defaults (EIO revision and path from the suite, the advertised
	// heartbeat, the recorder).
	Server scripted.Options
	// Client is SIOSPEC_OPTIONS.
	Client map[string]any
	// Transports overrides SIOSPEC_TRANSPORTS.
	Transports string
	// Proxy, when set, puts a fault proxy (faultproxy.New with these
	// options, upstream the first server) between the testee and the
	// server: SIOSPEC_URL points at the proxy (ClientEnv.Proxy).
	Proxy *faultproxy.Options
	// BeforeTestee, when set, runs after the servers and the proxy are up
	// and before the testee starts (e.g. to apply a fault the client must
	// meet from its first connection).
	BeforeTestee func()
	// Servers is how many scripted servers to start, all with the options
	// of Server (default 1; ClientEnv.Servers). A load-balancing fault
	// of the proxy spreads the client over them.
	Servers int
}

// Start starts the case: the scripted server, then the testee pointed at
// it. A testee that cannot be started is a harness error.
func (e *ClientEnv) Start(ctx context.Context, o *CaseOptions) {
	g.GinkgoHelper()
	if o == nil {
		o = &CaseOptions{}
	}
	so := o.Server
	if so.EIO == 0 {
		so.EIO = e.Proto.EIO()
	}
	if so.Path == "" {
		so.Path = e.Proto.DefaultPath()
	}
	// A case's heartbeat is given at time scale 1; the server advertises it
	// stretched by the scale, and e.Timing keeps the scale-1 values.
	if so.PingInterval == 0 {
		so.PingInterval = e.Timing.PingInterval
	}
	if so.PingTimeout == 0 {
		so.PingTimeout = e.Timing.PingTimeout
	}
	e.Timing.PingInterval, e.Timing.PingTimeout = so.PingInterval, so.PingTimeout
	so.PingInterval, so.PingTimeout = e.Timing.Scaled(so.PingInterval), e.Timing.Scaled(so.PingTimeout)
	so.Recorder = e.Rec
	so.Logger = e.Cfg.Logger
	srv, err := scripted.Start(ctx, &so)
	if err != nil {
		g.Fail(HarnessPrefix + "start the scripted server: " + err.Error())
	}
	e.Server = srv
	e.Servers = []*scripted.Server{srv}
	for range o.Servers - 1 {
		more, err := scripted.Start(ctx, &so)
		if err != nil {
			g.Fail(HarnessPrefix + "start a scripted server: " + err.Error())
		}
		e.Servers = append(e.Servers, more)
	}
	url := srv.URL()
	if o.Proxy != nil {
		po := *o.Proxy
		if po.Logger == nil {
			po.Logger = e.Cfg.Logger
		}
		px, err := faultproxy.New(srv.Addr(), &po)
		if err == nil {
			err = px.Start(ctx)
		}
		if err != nil {
			g.Fail(HarnessPrefix + "start the fault proxy: " + err.Error())
		}
		e.Proxy = px
		url = "http://" + px.Addr() + so.Path
		e.Rec.Note(fmt.Sprintf("fault proxy %s in front of %s (seed %d)", px.Addr(), srv.Addr(), po.Seed))
	}
	if o.BeforeTestee != nil {
		o.BeforeTestee()
	}
	tr := e.Transports
	if o.Transports != "" {
		tr = o.Transports
	}
	e.Transports = tr
	cases, err := e.suite.casesFile.get(*e.suite.cases)
	if err != nil {
		g.Fail(HarnessPrefix + "write the case list: " + err.Error())
	}
	e.Rec.Note(fmt.Sprintf("case %s (%s): server %s, transports %s, options %v", e.Case, strings.ToLower(string(e.Proto)), url, tr, o.Client))
	t, err := testee.Start(ctx, &testee.Options{
		Command: e.Cfg.Exec, Dir: e.Cfg.Dir, URL: url, Suite: strings.ToLower(string(TesteeSuite(e.Proto))),
		Case: e.Case, Transports: tr, Options: o.Client, Seed: CaseSeed(e.Cfg.Seed, e.Proto, e.Case),
		OutputLimit: e.Cfg.OutputLimit, Logger: e.Cfg.Logger, Env: []string{EnvCases + "=" + cases},
	})
	if err != nil {
		g.Fail(HarnessPrefix + "start the testee: " + err.Error())
	}
	e.Testee = t
}

// TesteeSuite returns the suite a testee is told (SIOSPEC_SUITE) for
// specs of suite p: p itself, except for the net suite, which runs over
// Socket.IO v5 (its cases are "sio5 net-..."; testees/CLIENT-CONTRACT.md
// section 2.1).
func TesteeSuite(p Proto) Proto {
	if p == NET {
		return SIO5
	}
	return p
}

// EnvCases names the environment variable that gives a testee the path of
// the case list of this siospec ("<suite> <case>" lines).
const EnvCases = "SIOSPEC_CASES"

// CaseSeed derives a case's SIOSPEC_SEED from the root seed (FNV-1a over
// suite and case), so that each case is reproducible on its own.
func CaseSeed(root int64, p Proto, name string) int64 {
	h := uint64(14695981039346656037) ^ uint64(root)
	for _, b := range []byte(string(p) + "/" + name) {
		h ^= uint64(b)
		h *= 1099511628211
	}
	return int64(h >> 1)
}

// unsupportedCode is the contract's exit code for an unsupported case.
const unsupportedCode = 127

// checkExited ends the spec when the testee has already exited: as
// unsupported for exit 127, else as a failure that says how it ended.
func (e *ClientEnv) checkExited(waiting string) {
	g.GinkgoHelper()
	select {
	case <-e.Testee.Exited():
	default:
		return
	}
	x := e.Testee.Stop()
	e.exit = &x
	if x.Code == unsupportedCode {
		g.Skip(reports.UnsupportedPrefix + " the testee does not support case " + e.Case + " (exit 127)")
	}
	g.Fail(fmt.Sprintf("the client exited (%s) while the harness was waiting for %s", describeExit(x), waiting))
}

func describeExit(x testee.Exit) string {
	switch {
	case x.Signal != "":
		return fmt.Sprintf("killed by %s after %v", x.Signal, x.Duration.Round(time.Millisecond))
	default:
		return fmt.Sprintf("exit code %d after %v", x.Code, x.Duration.Round(time.Millisecond))
	}
}

// HandshakeBudget is how long the client has to open its first session:
// a process start plus a reply (generous: testees are processes).
func (e *ClientEnv) HandshakeBudget() time.Duration {
	return e.Cfg.scaled(10 * time.Second)
}

// Session returns the client's next Engine.IO session, failing the spec
// when none opens within within (HandshakeBudget when 0). A testee that
// exits 127 first makes the spec unsupported.
func (e *ClientEnv) Session(ctx context.Context, within time.Duration) *scripted.Session {
	g.GinkgoHelper()
	if within <= 0 {
		within = e.HandshakeBudget()
	}
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	type res struct {
		s   *scripted.Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := e.Server.NextSession(cctx)
		ch <- res{s, err}
	}()
	for {
		select {
		case r := <-ch:
			if r.err == nil {
				e.Rec.Note("the client opened session " + r.s.ID() + " on " + r.s.Transport())
				return r.s
			}
			e.checkExited("a handshake")
			g.Fail(fmt.Sprintf("the client opened no Engine.IO session within %v (%v)", within.Round(time.Millisecond), r.err))
			return nil
		case <-e.Testee.Exited():
			cancel()
			<-ch
			e.checkExited("a handshake")
		}
	}
}

// Connect returns the Socket.IO layer of the client's next session, with
// the main namespace connected (the client's CONNECT answered; in v4 the
// server's implicit 40 sent).
func (e *ClientEnv) Connect(ctx context.Context) (*scripted.SIO, *scripted.Session) {
	g.GinkgoHelper()
	ss := e.Session(ctx, 0)
	c := scripted.NewSIO(ss, e.SIOVersion())
	cctx, cancel := context.WithTimeout(ctx, e.Timing.Reply("CONNECT").Max+e.HandshakeBudget()/2)
	defer cancel()
	if _, _, err := c.Accept(cctx, "/"); err != nil {
		e.checkExited("a CONNECT to /")
		g.Fail(fmt.Sprintf("the client did not connect to the main namespace: %v", err))
	}
	return c, ss
}

// SIOVersion returns the Socket.IO revision of the spec's suite.
func (e *ClientEnv) SIOVersion() socketio.Version {
	if e.Proto == SIO4 {
		return socketio.V4
	}
	return socketio.V5
}

// Await returns the first testee report (from the start of the run) of
// kind ev that match accepts (nil accepts any), waiting at most within.
// It returns false when none came; a testee that exited 127 makes the
// spec unsupported.
func (e *ClientEnv) Await(ctx context.Context, ev string, match func(testee.Report) bool, within time.Duration) (testee.Report, bool) {
	g.GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	r, err := e.Testee.Await(cctx, func(r testee.Report) bool { return r.Ev == ev && (match == nil || match(r)) })
	if err != nil {
		select {
		case <-e.Testee.Exited():
			x := e.Testee.Stop()
			if x.Code == unsupportedCode {
				e.exit = &x
				g.Skip(reports.UnsupportedPrefix + " the testee does not support case " + e.Case + " (exit 127)")
			}
		default:
		}
		return testee.Report{}, false
	}
	return r, true
}

// Reported returns the testee reports of kind ev so far.
func (e *ClientEnv) Reported(ev string) []testee.Report {
	var out []testee.Report
	for _, r := range e.Testee.Reports() {
		if r.Ev == ev {
			out = append(out, r)
		}
	}
	return out
}

// stop ends the testee and the server (idempotent) and copies the testee's
// reports into the transcript.
func (e *ClientEnv) stop() {
	if e.Testee != nil && e.exit == nil {
		x := e.Testee.Stop()
		e.exit = &x
	}
	if e.Testee != nil {
		rs := e.Testee.Reports()
		for _, r := range rs[min(e.seen, len(rs)):] {
			e.Rec.Note("testee reported " + r.Raw)
		}
		e.seen = len(rs)
	}
	if e.Proxy != nil {
		if err := e.Proxy.Close(); err != nil && e.Cfg.Logger != nil {
			e.Cfg.Logger.Warn("close fault proxy", "err", err)
		}
	}
	for _, srv := range e.Servers {
		if srv == e.Server {
			continue
		}
		if err := srv.Close(); err != nil && !errors.Is(err, context.Canceled) && e.Cfg.Logger != nil {
			e.Cfg.Logger.Warn("close scripted server", "err", err)
		}
	}
	e.Servers = nil
	if e.Server != nil {
		if err := e.Server.Close(); err != nil && !errors.Is(err, context.Canceled) && e.Cfg.Logger != nil {
			e.Cfg.Logger.Warn("close scripted server", "err", err)
		}
		e.Server = nil
	}
}

func (e *ClientEnv) attach(failed bool) {
	e.attachTexts()
	vis := g.ReportEntryVisibilityFailureOrVerbose
	if !failed {
		return
	}
	g.AddReportEntry(EntryTranscript, e.Rec.JSON(), vis)
	if e.Testee != nil {
		out, errOut, dOut, dErr := e.Testee.Output()
		var b strings.Builder
		fmt.Fprintf(&b, "command: %s\n", e.Cfg.Exec)
		if e.exit != nil {
			fmt.Fprintf(&b, "ended: %s (%s)\n", describeExit(*e.exit), e.exit.By)
		}
		fmt.Fprintf(&b, "--- stdout%s ---\n%s\n--- stderr%s ---\n%s", dropped(dOut), out, dropped(dErr), errOut)
		g.AddReportEntry(EntryTestee, b.String(), vis)
	}
}

func dropped(n int64) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" (%d more bytes dropped)", n)
}

// EntryTestee is the report entry holding the testee's command, exit and
// output.
const EntryTestee = reports.EntryTestee
