package framework

import (
	"context"
	"fmt"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/reports"
)

// Report entry names (REPORT-CONTRACT.md).
const (
	EntryExpected   = reports.EntryExpected
	EntryObserved   = reports.EntryObserved
	EntryTranscript = reports.EntryTranscript
	EntryBudget     = reports.EntryBudget
	EntryMeasured   = reports.EntryMeasured
)

// Suite builds conformance specs against one Config. Create it before the
// Ginkgo tree is built (the Register functions of the spec packages) and
// call Install in the outermost container.
type Suite struct {
	cfg    *Config
	reg    *Registry
	proto  Proto
	env    **Env
	jitter *JitterMonitor
}

// NewSuite returns a Suite for cfg. The pointer is read when specs run, so
// a runner may fill cfg.Target (the preflight) after the tree is built.
//
// The Suite runs a JitterMonitor, so that every spec's Timing knows how
// late this machine's timers fire just now (Timing.Slack); Close stops it
// once the run is over.
func NewSuite(cfg *Config) *Suite {
	var cur *Env
	return &Suite{cfg: cfg, reg: Requirements(), env: &cur, jitter: StartJitterMonitor()}
}

// Close stops the Suite's jitter monitor. Call it after RunSpecs; it is
// idempotent.
func (s *Suite) Close() { s.jitter.Close() }

// slackWindow is how far back a spec's Timing looks for scheduling
// lateness.
const slackWindow = 3 * time.Second

// WithProto returns a Suite whose specs carry the proto label p instead of
// their requirement's native protocol.
func (s *Suite) WithProto(p Proto) *Suite {
	c := *s
	c.proto = p
	return &c
}

// Config returns the run configuration.
func (s *Suite) Config() *Config { return s.cfg }

// Registry returns the requirement registry.
func (s *Suite) Registry() *Registry { return s.reg }

// Install adds the per-spec setup to the current container: a fresh Env
// (client and transcript) before each spec, the report entries after it,
// and cleanup of every connection the spec opened.
func (s *Suite) Install() {
	g.BeforeEach(func() {
		cfg := s.cfg.ForSpec(specProto(g.CurrentSpecReport().Labels()))
		rec := NewRecorder()
		c, err := NewClient(cfg, rec)
		if err != nil {
			g.Fail(err.Error())
		}
		tm := cfg.Timing()
		tm.Slack = s.jitter.Recent(slackWindow)
		e := NewEnv(cfg, rec, c, tm)
		*s.env = e
		g.DeferCleanup(func() {
			c.Close()
			*s.env = nil
		})
	})
	g.JustAfterEach(func() {
		e := *s.env
		if e == nil {
			return
		}
		e.attach(g.CurrentSpecReport().Failed())
	})
}

// specProto returns the value of the proto: label among labels.
func specProto(labels []string) Proto {
	for _, l := range labels {
		if p, ok := strings.CutPrefix(l, "proto:"); ok {
			return Proto(p)
		}
	}
	return ""
}

// Env is the environment of one running spec: configuration, timing, the
// raw client and its transcript, and the expected/observed texts that go
// into the report (Expect, Observe, Budget, InWindow, Measured, Step).
type Env struct {
	Cfg    *Config
	Rec    *Recorder
	C      *Client
	Timing Timing
	verdict
}

// NewEnv returns the environment of a spec (or of a probe run like one).
func NewEnv(cfg *Config, rec *Recorder, c *Client, tm Timing) *Env {
	return &Env{Cfg: cfg, Rec: rec, C: c, Timing: tm, verdict: verdict{rec: rec}}
}

// verdict holds what a spec reports besides a failure: what the rule
// expects, what the target did, the window it was judged against and the
// value measured. Env and ClientEnv share it; its steps and measurements
// also go into the transcript rec.
type verdict struct {
	rec                                  *Recorder
	expected, observed, budget, measured string
}

// Expect records what the requirement expects (siospec.expected).
func (v *verdict) Expect(format string, args ...any) { v.expected = fmt.Sprintf(format, args...) }

// Observe records what the target did (siospec.observed); several calls
// add lines.
func (v *verdict) Observe(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if v.observed != "" {
		v.observed += "\n"
	}
	v.observed += line
}

// Budget records the timing window a spec judged against.
func (v *verdict) Budget(w Window) { v.budget = w.String() }

// InWindow reports whether the measured duration d lies within w, records
// w as the spec's budget, and, when d fits only because measured scheduling
// lateness widened w, says so in the observed text: the report shows that
// the verdict relied on a widened tolerance.
func (v *verdict) InWindow(w Window, d time.Duration) bool {
	v.Budget(w)
	if w.Widened(d) {
		v.Observe("%v lies outside %v..%v and passed only through the allowance for this machine's measured scheduling lateness",
			d.Round(time.Millisecond), w.BaseMin.Round(time.Millisecond), w.BaseMax.Round(time.Millisecond))
		v.rec.Note(fmt.Sprintf("verdict relied on a widened tolerance: %v in %v", d.Round(time.Millisecond), w))
	}
	return w.Contains(d)
}

// Measured records a measured duration.
func (v *verdict) Measured(what string, d time.Duration) {
	v.measured = fmt.Sprintf("%s after %v", what, d.Round(time.Millisecond))
	v.rec.Note("measured: " + v.measured)
}

// Step records a step in the transcript and as a Ginkgo By.
func (v *verdict) Step(text string) {
	v.rec.Note(text)
	g.By(text)
}

// attachTexts adds the texts to the current spec's report.
func (v *verdict) attachTexts() {
	vis := g.ReportEntryVisibilityFailureOrVerbose
	for _, kv := range [][2]string{{EntryExpected, v.expected}, {EntryObserved, v.observed}, {EntryBudget, v.budget}, {EntryMeasured, v.measured}} {
		if kv[1] != "" {
			g.AddReportEntry(kv[0], kv[1], vis)
		}
	}
}

func (e *Env) attach(failed bool) {
	e.attachTexts()
	if failed {
		g.AddReportEntry(EntryTranscript, e.Rec.JSON(), g.ReportEntryVisibilityFailureOrVerbose)
	}
}

// Body is a spec body: the spec's context (cancelled at g.SpecTimeout) and
// its environment.
type Body func(ctx context.Context, e *Env)

// It declares one conformance spec for requirement reqID. The text should
// read as the requirement; " [reqID]" is appended. Labels req:, level:,
// proto:, area:, role:server and, when a Transport is among the
// decorators, transport: are added. Other decorators go to Ginkgo. An
// unknown ID panics while the tree is built.
func (s *Suite) It(reqID, text string, body Body, decorators ...any) bool {
	r, ok := s.reg.Lookup(reqID)
	if !ok {
		panic(fmt.Sprintf("framework: spec %q names unknown requirement %q", text, reqID))
	}
	proto := r.Proto
	if s.proto != "" {
		proto = s.proto
	}
	labels := g.Label("req:"+r.ID, "level:"+string(r.Level), "proto:"+string(proto), "area:"+r.Area, "role:server")
	args := []any{labels, g.Offset(1)}
	hasTimeout := false
	for _, d := range decorators {
		switch d := d.(type) {
		case Transport:
			args = append(args, g.Label("transport:"+string(d)))
		case g.SpecTimeout:
			hasTimeout = true
			args = append(args, d)
		default:
			args = append(args, d)
		}
	}
	if !hasTimeout {
		args = append(args, g.SpecTimeout(s.cfg.ForSpec(proto).SpecTimeout()))
	}
	envp := s.env
	fn := func(ctx g.SpecContext) {
		e := *envp
		if e == nil {
			g.Fail(HarnessPrefix + "no spec environment (Suite.Install missing)")
		}
		body(ctx, e)
	}
	return g.It(text+" ["+r.ID+"]", append(args, fn)...)
}

// PerTransport declares one Context per transport and calls f inside it,
// so a behaviour is written once and run on each transport.
func (s *Suite) PerTransport(trs []Transport, f func(tr Transport)) {
	for _, tr := range trs {
		g.Context(tr.Describe(), func() { f(tr) })
	}
}

// Idle lets protocol time pass: it returns after d (scaled by nothing: the
// caller passes a budget it derived from Timing) or when ctx ends. Specs
// use it only where the elapsed time is itself the condition under test
// (a client staying silent), never to wait for the target to act.
func (e *Env) Idle(ctx context.Context, d time.Duration) {
	e.Rec.Note(fmt.Sprintf("client idle for %v", d))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
