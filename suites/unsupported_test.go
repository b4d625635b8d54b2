package suites

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// TestExpectedFailureFiles: every expected-failures file of testdata
// parses in the format of `siospec server --expect-failures` and names the
// suite each entry applies to.
func TestExpectedFailureFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/expected-failures-*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no expected-failures files: %v", err)
	}
	for _, f := range files {
		for _, e := range loadExpected(t, f) {
			if e.Suite == "" || e.ID == "" || e.Reason == "" {
				t.Errorf("%s line %d: incomplete entry %+v", f, e.Line, e)
			}
		}
	}
	by := loadExpectedBySuite(t, expectedNodeFiles)
	if _, ok := by["SIO4"]["SIO-ENC-07"]; !ok {
		t.Errorf("sio4 SIO-ENC-07 missing: %v", by)
	}
	if _, ok := by["SIO5"]["SIO-ENC-07"]; ok {
		t.Errorf("the sio4 entry SIO-ENC-07 leaked into sio5: %v", by)
	}
}

// Pinned unsupported sets of the whole-target proofs.
const (
	unsupportedReference = "testdata/unsupported-reference.txt"
	unsupportedNode      = "testdata/unsupported-node.txt"
)

// reporter is what checkUnsupported needs of a test (a *testing.T, or one
// attempt at a proof).
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// checkUnsupported fails t unless the specs of vs that were unsupported
// are exactly those listed in file ("<suite> <ID> <full spec text>" lines,
// # comments): a spec that turns unsupported hides a verdict, and one that
// stops being unsupported is judged now, so the list must change with it.
// Give it the verdicts of a whole run (every suite the file names).
func checkUnsupported(t reporter, vs []verdict, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("pinned unsupported set: %v", err)
	}
	got := unsupportedLines(vs)
	missing, extra := diffUnsupported(got, pinnedLines(string(b)))
	for _, l := range extra {
		t.Errorf("unsupported but not pinned in %s: %s", file, l)
	}
	for _, l := range missing {
		t.Errorf("pinned in %s but not unsupported in this run: %s", file, l)
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("this run's unsupported set, for %s if the change is intended:\n%s", file, strings.Join(got, "\n"))
	}
}

// unsupportedLines renders the unsupported verdicts as sorted pinned lines.
func unsupportedLines(vs []verdict) []string {
	var out []string
	for _, v := range vs {
		if v.State == types.SpecStateSkipped && strings.HasPrefix(v.Failure, "unsupported:") {
			out = append(out, strings.ToLower(v.Proto)+" "+v.ID+" "+v.Text)
		}
	}
	slices.Sort(out)
	return out
}

// pinnedLines returns the lines of a pinned file without comments and
// blank lines, sorted.
func pinnedLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// diffUnsupported returns the pinned lines missing from got and the lines
// of got that are not pinned (both sorted inputs; duplicates count).
func diffUnsupported(got, pinned []string) (missing, extra []string) {
	i, j := 0, 0
	for i < len(got) || j < len(pinned) {
		switch {
		case j == len(pinned) || i < len(got) && got[i] < pinned[j]:
			extra = append(extra, got[i])
			i++
		case i == len(got) || pinned[j] < got[i]:
			missing = append(missing, pinned[j])
			j++
		default:
			i++
			j++
		}
	}
	return missing, extra
}

func TestDiffUnsupported(t *testing.T) {
	vs := []verdict{
		{ID: "SIO-ACK-01", Proto: "SIO5", Text: "acks [SIO-ACK-01]", State: types.SpecStateSkipped, Failure: "unsupported: no ext"},
		{ID: "SIO-ACK-01", Proto: "SIO4", Text: "acks [SIO-ACK-01]", State: types.SpecStateSkipped, Failure: "unsupported: no ext"},
		{ID: "SIO-ACK-02", Proto: "SIO5", Text: "b [SIO-ACK-02]", State: types.SpecStatePassed},
		{ID: "SIO-ACK-03", Proto: "SIO5", Text: "c [SIO-ACK-03]", State: types.SpecStateSkipped, Failure: "filtered"},
	}
	got := unsupportedLines(vs)
	if want := []string{"sio4 SIO-ACK-01 acks [SIO-ACK-01]", "sio5 SIO-ACK-01 acks [SIO-ACK-01]"}; !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	pinned := pinnedLines("# c\n\nsio5 SIO-ACK-01 acks [SIO-ACK-01]\nsio5 SIO-ACK-02 b [SIO-ACK-02]\n")
	missing, extra := diffUnsupported(got, pinned)
	if !slices.Equal(missing, []string{"sio5 SIO-ACK-02 b [SIO-ACK-02]"}) || !slices.Equal(extra, []string{"sio4 SIO-ACK-01 acks [SIO-ACK-01]"}) {
		t.Errorf("missing %q, extra %q", missing, extra)
	}
	if m, e := diffUnsupported(got, got); len(m)+len(e) != 0 {
		t.Errorf("equal sets differ: %q %q", m, e)
	}
	for _, f := range []string{unsupportedReference, unsupportedNode} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range pinnedLines(string(b)) {
			if p := strings.SplitN(l, " ", 3); len(p) < 3 || !slices.Contains([]string{"eio4", "eio3", "sio5", "sio4"}, p[0]) || !strings.HasSuffix(l, " ["+p[1]+"]") {
				t.Errorf("%s: malformed line %q", f, l)
			}
		}
	}
}

// fakeReporter records what checkUnsupported reports.
type fakeReporter struct{ errs []string }

func (f *fakeReporter) Helper() {}
func (f *fakeReporter) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeReporter) Fatalf(format string, args ...any) { f.Errorf(format, args...) }

// TestCheckUnsupported: the pinned files accept the verdicts they list and
// fail, both ways, on one spec more or one spec less.
func TestCheckUnsupported(t *testing.T) {
	for _, file := range []string{unsupportedReference, unsupportedNode} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var vs []verdict
		for _, l := range pinnedLines(string(b)) {
			p := strings.SplitN(l, " ", 3)
			vs = append(vs, verdict{Proto: strings.ToUpper(p[0]), ID: p[1], Text: p[2], State: types.SpecStateSkipped, Failure: "unsupported: pinned"})
		}
		vs = append(vs, verdict{Proto: "SIO5", ID: "SIO-ACK-01", Text: "passes [SIO-ACK-01]", State: types.SpecStatePassed})
		checkUnsupported(t, vs, file)

		var less fakeReporter
		checkUnsupported(&less, vs[1:], file)
		if len(less.errs) != 2 || !strings.Contains(less.errs[0], "pinned in "+file+" but not unsupported") {
			t.Errorf("%s, one spec less: %q", file, less.errs)
		}
		var more fakeReporter
		extra := verdict{Proto: "SIO5", ID: "SIO-CONN-06", Text: "x [SIO-CONN-06]", State: types.SpecStateSkipped, Failure: "unsupported: no ext"}
		checkUnsupported(&more, append(slices.Clone(vs), extra), file)
		if len(more.errs) != 2 || !strings.Contains(more.errs[0], "unsupported but not pinned in "+file+": sio5 SIO-CONN-06 x [SIO-CONN-06]") {
			t.Errorf("%s, one spec more: %q", file, more.errs)
		}
	}
}

// switchable serves h and lets a test swap the handler between runs.
type switchable struct{ h atomic.Pointer[http.Handler] }

func (s *switchable) set(h http.Handler)                               { s.h.Store(&h) }
func (s *switchable) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.h.Load()).ServeHTTP(w, r) }

// sioFixture returns a Socket.IO fixture of suite p (NoExt as given),
// closed when the test ends.
func sioFixture(t *testing.T, p framework.Proto, noExt bool) *fixture.SocketIO {
	t.Helper()
	o := &fixture.SIOOptions{NoExt: noExt}
	fx := fixture.NewSIO5(o)
	if p == framework.SIO4 {
		fx = fixture.NewSIO4(o)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = fx.Close(ctx)
	})
	return fx
}

// TestPreflightExtended: the Socket.IO preflight records whether the
// target answers ext:hello (yes for the fixtures, no for NoExt), for v5
// and v4, in the Target and its report summary; Engine.IO targets are not
// asked.
func TestPreflightExtended(t *testing.T) {
	for _, tc := range []struct {
		p     framework.Proto
		noExt bool
		want  framework.Extended
	}{
		{framework.SIO5, false, framework.ExtendedYes},
		{framework.SIO5, true, framework.ExtendedNo},
		{framework.SIO4, false, framework.ExtendedYes},
		{framework.SIO4, true, framework.ExtendedNo},
	} {
		url := serve(t, sioFixture(t, tc.p, tc.noExt), nil)
		cfg := framework.Config{SIOURL: url, Suites: []framework.Proto{tc.p}}
		cfg.Normalize()
		start := time.Now()
		if err := Resolve(t.Context(), &cfg); err != nil {
			t.Fatalf("%s noExt=%v: %v", tc.p, tc.noExt, err)
		}
		tgt := cfg.Targets[tc.p].Target
		if tgt.Extended != tc.want || tgt.ExtendedProbe != "" {
			t.Errorf("%s noExt=%v: extended %q (%s), want %q", tc.p, tc.noExt, tgt.Extended, tgt.ExtendedProbe, tc.want)
		}
		if got := tgt.Summary()["extended"]; got != string(tc.want) {
			t.Errorf("%s noExt=%v: summary extended=%q", tc.p, tc.noExt, got)
		}
		if !strings.Contains(tgt.String(), "extended contract "+string(tc.want)) {
			t.Errorf("%s: %s", tc.p, tgt)
		}
		t.Logf("%s noExt=%v: preflight with probe %v", tc.p, tc.noExt, time.Since(start).Round(time.Millisecond))
	}
	eio := fixture.NewEIO4(nil)
	cfg := framework.Config{URL: serve(t, eio, nil), Suites: []framework.Proto{framework.EIO4}}
	cfg.Normalize()
	if err := Resolve(t.Context(), &cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Targets[framework.EIO4].Target.Summary()["extended"]; ok {
		t.Error("an Engine.IO target's summary has an extended key")
	}
}

// TestExtendedPreflightDecides: after a preflight that found the extended
// contract, a server that no longer answers ext:hello fails the extended
// specs (never unsupported); after one that did not, they are unsupported
// at once, without waiting out a probe.
func TestExtendedPreflightDecides(t *testing.T) {
	skipProof(t)
	const filter = "req: containsAny {SIO-CONN-06}"
	sw := &switchable{}
	sw.set(sioFixture(t, framework.SIO5, false))
	url := serve(t, sw, nil)
	cfg := framework.Config{SIOURL: url, Suites: []framework.Proto{framework.SIO5}}
	cfg.Normalize()
	if err := Resolve(t.Context(), &cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Targets[framework.SIO5].Target.Extended; got != framework.ExtendedYes {
		t.Fatalf("preflight: extended %q, want yes", got)
	}
	// The same URL now serves the official contract alone.
	sw.set(sioFixture(t, framework.SIO5, true))
	vs, _ := runSuites(t, cfg, filter)
	if len(vs) == 0 {
		t.Fatal("no spec ran")
	}
	for _, v := range vs {
		if !v.State.Is(types.SpecStateFailureStates) || !strings.Contains(v.Failure, "answered ext:hello in the preflight but not now") {
			t.Errorf("%s: %s (%s), want a failure saying ext:hello went unanswered after the preflight", v.Text, v.State, firstLine(v.Failure))
		}
	}
	// A preflight that found no extended contract: unsupported at once.
	cfg.Targets[framework.SIO5].Target.Extended = framework.ExtendedNo
	vs, _ = runSuites(t, cfg, filter)
	if len(vs) == 0 {
		t.Fatal("no spec ran")
	}
	for _, v := range vs {
		if v.State != types.SpecStateSkipped || !strings.HasPrefix(v.Failure, "unsupported:") || !strings.Contains(v.Failure, "preflight") {
			t.Errorf("%s: %s (%s), want unsupported after the preflight", v.Text, v.State, firstLine(v.Failure))
		}
	}
}
