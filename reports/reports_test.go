package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

var update = flag.Bool("update", false, "rewrite reports/testdata/*.golden")

func specByID(t *testing.T, r *Report, id string) *Spec {
	t.Helper()
	for i := range r.Specs {
		if r.Specs[i].ID == id {
			return &r.Specs[i]
		}
	}
	t.Fatalf("no spec with ID %s", id)
	return nil
}

type want struct {
	outcome        Outcome
	reason         string
	expected       bool
	unexpectedPass bool
}

func checkOutcomes(t *testing.T, r *Report, wants map[string]want) {
	t.Helper()
	if len(r.Specs) != len(wants) {
		t.Errorf("got %d specs, want %d", len(r.Specs), len(wants))
	}
	for id, w := range wants {
		s := specByID(t, r, id)
		if s.Outcome != w.outcome || s.Reason != w.reason || s.ExpectedFailure != w.expected || s.UnexpectedPass != w.unexpectedPass {
			t.Errorf("%s: got outcome=%q reason=%q expected=%v unexpectedPass=%v; want %q %q %v %v",
				id, s.Outcome, s.Reason, s.ExpectedFailure, s.UnexpectedPass, w.outcome, w.reason, w.expected, w.unexpectedPass)
		}
	}
}

// TestOutcomeMapping checks every rule of the suites/reports outcome
// contract on a non-strict run.
func TestOutcomeMapping(t *testing.T) {
	gr, meta := fixtureRun()
	r := FromGinkgo(gr, meta)
	checkOutcomes(t, r, map[string]want{
		"EIO-HS-01":   {outcome: Pass},
		"EIO-HS-02":   {outcome: Fail},
		"EIO-HS-05":   {outcome: NonStrict, reason: "SHOULD not met"},
		"EIO-HS-06":   {outcome: NonStrict, reason: "NODE not met"},
		"EIO-HS-09":   {outcome: NonStrict, reason: "MAY not met (never gates)"},
		"EIO-URL-08":  {outcome: NonStrict, reason: "EDGE not met (never gates)"},
		"EIO-HB-01":   {outcome: Fail, reason: "timed out"},
		"EIO-HB-03":   {outcome: Pass},
		"EIO-HS-03":   {outcome: Unsupported, reason: "target does not declare the extended contract"},
		"EIO-LIM-01":  {outcome: Skipped, reason: "needs maxPayload below 1 MiB; target advertises 100 MB"},
		"EIO-CORS-01": {outcome: Skipped, reason: "not run (filtered out or suite stopped early)"},
		"EIO-CORS-02": {outcome: Skipped, reason: "pending"},
		"SIO-ACK-01":  {outcome: Fail, expected: true},
		"SIO-CONN-02": {outcome: Pass, unexpectedPass: true},
		"SIO-CONN-05": {outcome: Fail, reason: "spec has no level label; treated as MUST"},
	})
	if got := r.ExitCode(); got != ExitFailures {
		t.Errorf("ExitCode = %d, want %d", got, ExitFailures)
	}
	if r.Counts.Gating != 3 || r.Counts.Expected != 1 {
		t.Errorf("gating=%d expected=%d, want 3 and 1", r.Counts.Gating, r.Counts.Expected)
	}
	if !reflect.DeepEqual(r.UnexpectedPass, []string{"SIO-CONN-02"}) {
		t.Errorf("unexpected passes = %v", r.UnexpectedPass)
	}

	hs2 := specByID(t, r, "EIO-HS-02")
	if hs2.Level != "MUST" || hs2.Proto != "EIO4" || hs2.Transport != "polling" || hs2.Area != "handshake" || hs2.Role != "server" {
		t.Errorf("EIO-HS-02 label fields: %+v", hs2)
	}
	if hs2.Name != "Engine.IO v4 handshake over HTTP long-polling sends exactly the five open keys [EIO-HS-02]" {
		t.Errorf("EIO-HS-02 name = %q", hs2.Name)
	}
	if hs2.Failure == nil || hs2.Failure.Location != "/src/siospec/suites/server/eio4_test.go:57" || !strings.HasPrefix(hs2.Failure.Message, "open packet keys") {
		t.Errorf("EIO-HS-02 failure = %+v", hs2.Failure)
	}
	if !strings.Contains(hs2.Expected, "maxPayload}") || !strings.Contains(hs2.Observed, "extra}") {
		t.Errorf("EIO-HS-02 expected/observed = %q / %q", hs2.Expected, hs2.Observed)
	}
	if !reflect.DeepEqual(hs2.Transcript, handshakeTranscript) {
		t.Errorf("EIO-HS-02 transcript = %+v", hs2.Transcript)
	}
	if hs2.Output == "" {
		t.Error("EIO-HS-02 lost its captured output")
	}
	hb := specByID(t, r, "EIO-HB-01")
	if hb.Budget == "" || hb.Measured == "" || !reflect.DeepEqual(hb.Faults, []string{"drop-pong"}) {
		t.Errorf("EIO-HB-01 budget=%q measured=%q faults=%v", hb.Budget, hb.Measured, hb.Faults)
	}
	if !reflect.DeepEqual(hb.Labels, []string{"proto:EIO4", "area:heartbeat", "role:server", "transport:websocket", "req:EIO-HB-01", "level:MUST", "slow", "fault:drop-pong"}) {
		t.Errorf("EIO-HB-01 labels = %v", hb.Labels)
	}
	if r.Counts.ByOutcome[Fail] != 4 || r.Counts.ByLevel["MUST"][Fail] != 3 || r.Counts.ByArea["handshake"][NonStrict] != 3 {
		t.Errorf("counts = %+v", r.Counts)
	}
}

// TestStrictMode: SHOULD and NODE failures gate in a strict run, MAY and
// EDGE never do.
func TestStrictMode(t *testing.T) {
	gr, meta := fixtureRun()
	meta.Strict = true
	r := FromGinkgo(gr, meta)
	for id, w := range map[string]want{
		"EIO-HS-05":  {outcome: Fail, reason: "SHOULD not met (strict run)"},
		"EIO-HS-06":  {outcome: Fail, reason: "NODE not met (strict run)"},
		"EIO-HS-09":  {outcome: NonStrict, reason: "MAY not met (never gates)"},
		"EIO-URL-08": {outcome: NonStrict, reason: "EDGE not met (never gates)"},
	} {
		s := specByID(t, r, id)
		if s.Outcome != w.outcome || s.Reason != w.reason {
			t.Errorf("%s strict: got %q %q, want %q %q", id, s.Outcome, s.Reason, w.outcome, w.reason)
		}
	}
	if r.Counts.Gating != 5 {
		t.Errorf("strict gating = %d, want 5", r.Counts.Gating)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		state  types.SpecState
		msg    string
		level  string
		strict bool
		want   Outcome
	}{
		{types.SpecStatePassed, "", "MUST", false, Pass},
		{types.SpecStateSkipped, "unsupported: no binary", "MUST", false, Unsupported},
		{types.SpecStateSkipped, "  unsupported:x", "", false, Unsupported},
		{types.SpecStateSkipped, "Unsupported: case matters", "MUST", false, Skipped},
		{types.SpecStatePending, "", "MUST", false, Skipped},
		{types.SpecStateFailed, "harness-error: boom", "MUST", false, HarnessError},
		{types.SpecStateTimedout, "harness-error: slow proxy", "SHOULD", false, HarnessError},
		{types.SpecStatePanicked, "", "MUST", false, HarnessError},
		{types.SpecStateAborted, "", "MUST", false, HarnessError},
		{types.SpecStateInterrupted, "", "MUST", false, HarnessError},
		{types.SpecStateFailed, "x", "MUST", false, Fail},
		{types.SpecStateTimedout, "x", "MUST", false, Fail},
		{types.SpecStateFailed, "x", "SHOULD", false, NonStrict},
		{types.SpecStateFailed, "x", "SHOULD", true, Fail},
		{types.SpecStateFailed, "x", "NODE", false, NonStrict},
		{types.SpecStateTimedout, "x", "NODE", true, Fail},
		{types.SpecStateFailed, "x", "MAY", true, NonStrict},
		{types.SpecStateFailed, "x", "EDGE", true, NonStrict},
		{types.SpecStateFailed, "x", "", false, Fail},
		{types.SpecStateInvalid, "", "MUST", false, HarnessError},
	} {
		got, _ := classify(tc.state, tc.msg, tc.level, tc.strict)
		if got != tc.want {
			t.Errorf("classify(%v, %q, %s, strict=%v) = %s, want %s", tc.state, tc.msg, tc.level, tc.strict, got, tc.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	gr, meta := fixtureRun()
	// Only passes, non-strict results and expected failures: exit 0.
	var keep types.SpecReports
	for _, sr := range gr.SpecReports {
		switch {
		case strings.Contains(sr.LeafNodeText, "[EIO-HS-02]"),
			strings.Contains(sr.LeafNodeText, "[EIO-HB-01]"),
			strings.Contains(sr.LeafNodeText, "[SIO-CONN-05]"):
			continue
		}
		keep = append(keep, sr)
	}
	gr.SpecReports = keep
	r := FromGinkgo(gr, meta)
	if got := r.ExitCode(); got != ExitOK {
		t.Errorf("non-gating run: ExitCode = %d, want 0", got)
	}
	meta.Strict = true
	if got := FromGinkgo(gr, meta).ExitCode(); got != ExitFailures {
		t.Errorf("same run strict: ExitCode = %d, want 1", got)
	}
	if got := FromGinkgo(types.Report{}, Meta{}).ExitCode(); got != ExitOK {
		t.Errorf("empty run: ExitCode = %d, want 0", got)
	}
	hr := FromGinkgo(harnessRun(), Meta{})
	if got := hr.ExitCode(); got != ExitHarnessError {
		t.Errorf("harness run: ExitCode = %d, want 2", got)
	}
	// A suite problem alone is a harness error.
	pr := FromGinkgo(types.Report{SpecialSuiteFailureReasons: []string{"Detected pending specs and --fail-on-pending is set"}}, Meta{})
	if pr.ExitCode() != ExitHarnessError || pr.Verdict != "harness-error" {
		t.Errorf("suite problem: ExitCode = %d verdict %q", pr.ExitCode(), pr.Verdict)
	}
}

func TestHarnessErrors(t *testing.T) {
	r := FromGinkgo(harnessRun(), Meta{})
	checkOutcomes(t, r, map[string]want{
		"EIO-CL-01": {outcome: HarnessError, reason: "fault proxy did not start: listen tcp 127.0.0.1:0: too many open files"},
		"EIO-CL-02": {outcome: HarnessError, reason: "the harness panicked"},
		"EIO-CL-03": {outcome: HarnessError, reason: "the run was interrupted"},
		"":          {outcome: HarnessError, reason: "[SynchronizedBeforeSuite] failed"},
	})
	bs := specByID(t, r, "")
	if bs.Name != "[SynchronizedBeforeSuite]" || bs.Failure == nil || !strings.Contains(bs.Failure.Message, "connection refused") {
		t.Errorf("suite node spec = %+v", bs)
	}
	if p := specByID(t, r, "EIO-CL-02"); p.Failure == nil || !strings.Contains(p.Failure.Panic, "index out of range") {
		t.Errorf("panic not kept: %+v", p.Failure)
	}
	if r.Counts.Gating != 0 || r.Counts.ByOutcome[HarnessError] != 4 {
		t.Errorf("counts = %+v", r.Counts)
	}
	var junit bytes.Buffer
	if err := r.WriteJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(junit.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Errors != 4 || doc.Failures != 0 {
		t.Errorf("junit errors=%d failures=%d, want 4 and 0", doc.Errors, doc.Failures)
	}
}

// TestGinkgoJSONRoundTrip feeds FromGinkgo what ginkgo --json-report writes
// and reads back: report entry values become JSON-decoded values with a
// Representation, and the result must equal the in-process mapping.
func TestGinkgoJSONRoundTrip(t *testing.T) {
	gr, meta := fixtureRun()
	inProcess := FromGinkgo(gr, meta)

	b, err := json.Marshal([]types.Report{gr})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ginkgo.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rs, err := ReadGinkgoJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	// The value really went through JSON: raw values are now decoded.
	entry := rs[0].SpecReports[1].ReportEntries[0]
	if entry.Value.AsJSON == "" || entry.Value.Representation == "" {
		t.Fatalf("entry not rehydrated from JSON: %+v", entry.Value)
	}
	fromFile := FromGinkgoReports(rs, meta)
	if !reflect.DeepEqual(jsonOf(t, inProcess), jsonOf(t, fromFile)) {
		t.Errorf("report from Ginkgo JSON differs from the in-process one:\n%s\n---\n%s", jsonOf(t, inProcess), jsonOf(t, fromFile))
	}

	// Transcript entries given as a value (not a string) are tolerated.
	sr := fixtureSpec(specOpts{text: "x", id: "EIO-PKT-01", labels: []string{"level:MUST"}, state: types.SpecStateFailed, msg: "m",
		entries: map[string]any{EntryTranscript: heartbeatTranscript}, order: []string{EntryTranscript}}, t0)
	r := FromGinkgo(types.Report{SpecReports: types.SpecReports{sr}}, Meta{})
	if !reflect.DeepEqual(r.Specs[0].Transcript, heartbeatTranscript) {
		t.Errorf("slice-valued transcript = %+v", r.Specs[0].Transcript)
	}
	// A malformed transcript is recorded, not fatal.
	sr = fixtureSpec(specOpts{text: "x", id: "EIO-PKT-01", labels: []string{"level:MUST"}, state: types.SpecStateFailed, msg: "m",
		entries: map[string]any{EntryTranscript: "{not json"}, order: []string{EntryTranscript}}, t0)
	r = FromGinkgo(types.Report{SpecReports: types.SpecReports{sr}}, Meta{})
	if r.Specs[0].TranscriptError == "" || r.Specs[0].Transcript != nil {
		t.Errorf("malformed transcript: err=%q events=%v", r.Specs[0].TranscriptError, r.Specs[0].Transcript)
	}
}

func jsonOf(t *testing.T, r *Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// normalise replaces the volatile fields (times, durations, version) of a
// report before it is compared with a golden file.
func normalise(r *Report) *Report {
	c := *r
	c.Specs = append([]Spec(nil), r.Specs...)
	base := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Started, c.Finished, c.Duration = base, base.Add(time.Minute), time.Minute
	c.HarnessVersion = "HARNESS"
	for i := range c.Specs {
		s := &c.Specs[i]
		if !s.Started.IsZero() {
			s.Started = base
		}
		s.Duration = s.Duration.Round(time.Millisecond)
	}
	return &c
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test ./reports -update and review the diff.\n--- got ---\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	gr, meta := fixtureRun()
	r := normalise(FromGinkgo(gr, meta))
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"report.json.golden", r.WriteJSON},
		{"junit.xml.golden", r.WriteJUnit},
		{"summary.md.golden", r.WriteSummary},
		{"show.txt.golden", r.WriteText},
	} {
		var buf bytes.Buffer
		if err := f.write(&buf); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		golden(t, f.name, buf.Bytes())
	}
}

// TestJUnitShape decodes junit.xml with encoding/xml and checks the mapping:
// MUST failures are <failure>, harness errors <error>, unsupported and
// skipped specs <skipped message>, non-strict ones pass with a note.
func TestJUnitShape(t *testing.T) {
	gr, meta := fixtureRun()
	// A control character and markup in a failure message must still give
	// well-formed XML.
	gr.SpecReports[1].Failure.Message += "\x00\x1b[31m <tag attr=\"x\"> ]]> &amp;"
	r := FromGinkgo(gr, meta)
	var buf bytes.Buffer
	if err := r.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("junit.xml is not well-formed: %v\n%s", err, buf.Bytes())
		}
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 15 || doc.Failures != 3 || doc.Errors != 0 || doc.Skipped != 5 {
		t.Errorf("totals tests=%d failures=%d errors=%d skipped=%d, want 15 3 0 5", doc.Tests, doc.Failures, doc.Errors, doc.Skipped)
	}
	cases := map[string]JUnitCase{}
	var suites []string
	for _, s := range doc.Suites {
		suites = append(suites, s.Name)
		for _, c := range s.Cases {
			id, _, _ := strings.Cut(c.Name, " ")
			cases[id] = c
		}
	}
	wantSuites := []string{"EIO4/cors", "EIO4/handshake", "EIO4/heartbeat", "EIO4/limits", "EIO4/upgrade", "EIO4/url", "SIO5/ack", "SIO5/connect", "other/other"}
	if !reflect.DeepEqual(suites, wantSuites) {
		t.Errorf("suites = %v, want %v", suites, wantSuites)
	}
	if c := cases["EIO-HS-02"]; c.Failure == nil || c.Failure.Type != "MUST" || !strings.Contains(c.Failure.Text, "observed:") ||
		c.Name != "EIO-HS-02 Engine.IO v4 handshake over HTTP long-polling sends exactly the five open keys" {
		t.Errorf("EIO-HS-02 case = %+v", c)
	}
	if c := cases["EIO-HS-05"]; c.Failure != nil || c.Skipped != nil || !strings.HasPrefix(c.SystemOut, "non-strict: SHOULD not met") {
		t.Errorf("EIO-HS-05 (non-strict) case = %+v", c)
	}
	if c := cases["EIO-HS-03"]; c.Skipped == nil || c.Skipped.Message != "unsupported: target does not declare the extended contract" {
		t.Errorf("EIO-HS-03 (unsupported) case = %+v", c)
	}
	if c := cases["EIO-CORS-02"]; c.Skipped == nil || c.Skipped.Message != "pending" {
		t.Errorf("EIO-CORS-02 (pending) case = %+v", c)
	}
	if c := cases["SIO-ACK-01"]; c.Failure != nil || c.Skipped == nil || !strings.HasPrefix(c.Skipped.Message, "expected failure: ") {
		t.Errorf("SIO-ACK-01 (expected failure) case = %+v", c)
	}
	if c := cases["EIO-HS-01"]; c.Failure != nil || c.Error != nil || c.Skipped != nil {
		t.Errorf("EIO-HS-01 (pass) case = %+v", c)
	}
}

func TestWriteFilesAndLoad(t *testing.T) {
	gr, meta := fixtureRun()
	r := FromGinkgo(gr, meta)
	dir := filepath.Join(t.TempDir(), "out")
	if err := r.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FileJSON, FileJUnit, FileSummary, FileHTML} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("dir holds %d files, want 4 (temporary files left behind?)", len(entries))
	}
	back, err := Load(filepath.Join(dir, FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, back) != jsonOf(t, r) {
		t.Errorf("Load(WriteFiles(r)) != r")
	}
	if back.ExitCode() != ExitFailures {
		t.Errorf("loaded ExitCode = %d", back.ExitCode())
	}

	// Derived fields are recomputed on Load.
	var raw map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, FileJSON))
	_ = json.Unmarshal(b, &raw)
	raw["exit_code"], raw["verdict"] = 0, "pass"
	b, _ = json.Marshal(raw)
	tampered := filepath.Join(dir, "tampered.json")
	_ = os.WriteFile(tampered, b, 0o644)
	if tr, err := Load(tampered); err != nil || tr.ExitStatus != ExitFailures || tr.Verdict != "fail" {
		t.Errorf("tampered: %v %+v", err, tr)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"noschema.json": `{"specs":[]}`,
		"v2.json":       `{"schema":"siospec.report/v2","specs":[]}`,
	} {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(content), 0o644)
		_, err := Load(p)
		var se *SchemaError
		if !errors.As(err, &se) || se.Path != p {
			t.Errorf("%s: err = %v, want *SchemaError with the path", name, err)
		}
	}
	p := filepath.Join(dir, "badoutcome.json")
	_ = os.WriteFile(p, []byte(`{"schema":"siospec.report/v1","specs":[{"id":"X-1","outcome":"great"}]}`), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "unknown outcome") {
		t.Errorf("bad outcome: err = %v", err)
	}
	p = filepath.Join(dir, "garbage.json")
	_ = os.WriteFile(p, []byte(`<html>`), 0o644)
	if _, err := Load(p); err == nil {
		t.Error("garbage: no error")
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: err = %v", err)
	}
}

func TestCompare(t *testing.T) {
	gr, meta := fixtureRun()
	old := FromGinkgo(gr, meta)
	// New run: EIO-HS-02 fixed, EIO-HS-01 broken, EIO-HS-05 now passes,
	// EIO-LIM-01 now unsupported, EIO-HB-01 removed, a new failing spec.
	gr2, _ := fixtureRun()
	var srs types.SpecReports
	for _, sr := range gr2.SpecReports {
		switch {
		case strings.Contains(sr.LeafNodeText, "[EIO-HS-02]"), strings.Contains(sr.LeafNodeText, "[EIO-HS-05]"):
			sr.State, sr.Failure = types.SpecStatePassed, types.Failure{}
		case strings.Contains(sr.LeafNodeText, "[EIO-HS-01]"):
			sr.State, sr.Failure = types.SpecStateFailed, types.Failure{Message: "no open packet"}
		case strings.Contains(sr.LeafNodeText, "[EIO-LIM-01]"):
			sr.Failure.Message = "unsupported: no maxPayload knob"
		case strings.Contains(sr.LeafNodeText, "[EIO-HB-01]"):
			continue
		}
		srs = append(srs, sr)
	}
	srs = append(srs, fixtureSpec(specOpts{text: "decodes a binary attachment", id: "SIO-BIN-01", labels: []string{"level:MUST", "proto:SIO5"},
		state: types.SpecStateFailed, msg: "bad placeholder"}, t0))
	gr2.SpecReports = srs
	cur := FromGinkgo(gr2, meta)

	d := Compare(old, cur)
	ids := func(cs []Change) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID+":"+string(c.Old)+">"+string(c.New))
		}
		return out
	}
	if got, want := ids(d.NewlyFailing), []string{"EIO-HS-01:pass>fail", "SIO-BIN-01:>fail"}; !reflect.DeepEqual(got, want) {
		t.Errorf("newly failing = %v, want %v", got, want)
	}
	if got, want := ids(d.NewlyPassing), []string{"EIO-HS-02:fail>pass", "EIO-HS-05:non-strict>pass"}; !reflect.DeepEqual(got, want) {
		t.Errorf("newly passing = %v, want %v", got, want)
	}
	if got, want := ids(d.Changed), []string{"EIO-HB-01:fail>", "EIO-LIM-01:skipped>unsupported"}; !reflect.DeepEqual(got, want) {
		t.Errorf("changed = %v, want %v", got, want)
	}
	if !d.HasNewFailures() || Compare(old, old).HasNewFailures() || !Compare(old, old).Empty() {
		t.Error("HasNewFailures/Empty wrong")
	}
	var text, md bytes.Buffer
	if err := d.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"newly failing (2)", "EIO-HS-01", "pass → fail", "(absent) → fail", "fail → (absent)"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text diff lacks %q:\n%s", s, text.String())
		}
	}
	if !strings.Contains(md.String(), "### Newly failing (2)") || !strings.Contains(md.String(), "| EIO-HS-01 | pass → fail |") {
		t.Errorf("markdown diff:\n%s", md.String())
	}
	// An expected failure becoming a real one is newly failing.
	noBaseline := meta
	noBaseline.ExpectedFailures = nil
	d = Compare(old, FromGinkgo(gr, noBaseline))
	if got := ids(d.NewlyFailing); !reflect.DeepEqual(got, []string{"SIO-ACK-01:fail>fail"}) {
		t.Errorf("baseline removed: newly failing = %v", got)
	}
	if Compare(nil, nil).HasNewFailures() {
		t.Error("nil reports")
	}
}

func TestReadExpectedFailures(t *testing.T) {
	in := "# baseline\n\neio4 EIO-HS-02 extra open key, issue #7\nSIO5\tSIO-ACK-01\tacks are async  \nsio4 SIO-ACK-01 v4 acks too\n"
	got, err := ReadExpectedFailures(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Expectation{
		{Suite: "eio4", ID: "EIO-HS-02", Reason: "extra open key, issue #7", Line: 3},
		{Suite: "sio5", ID: "SIO-ACK-01", Reason: "acks are async", Line: 4},
		{Suite: "sio4", ID: "SIO-ACK-01", Reason: "v4 acks too", Line: 5},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, tc := range []struct{ in, reason string }{
		{"EIO-HS-02 extra open key\n", "no suite before the requirement ID"},
		{"# c\nsio6 SIO-ACK-01 x\n", `"sio6" is not a suite`},
		{"eio4\n", "no requirement ID"},
		{"eio4 EIO/HS reason\n", "no requirement ID"},
		{"eio4 EIO-HS-02\n", "missing reason"},
		{"eio4 A-1 x\neio4 A-1 y\n", "duplicate"},
	} {
		_, err := ReadExpectedFailures(strings.NewReader(tc.in))
		var ee *ExpectationError
		if !errors.As(err, &ee) {
			t.Errorf("%q: err = %v, want *ExpectationError", tc.in, err)
			continue
		}
		if !strings.Contains(ee.Reason, tc.reason) {
			t.Errorf("%q: reason %q, want it to contain %q", tc.in, ee.Reason, tc.reason)
		}
		if wantLine := strings.Count(tc.in, "\n"); ee.Line != wantLine {
			t.Errorf("%q: line %d, want %d", tc.in, ee.Line, wantLine)
		}
		if tc.reason != "duplicate" && !strings.Contains(err.Error(), "<suite> <ID> <reason>") {
			t.Errorf("%q: error %q does not show the format", tc.in, err)
		}
	}
	if _, err := ReadExpectedFailures(strings.NewReader("eio4 A-1 x\neio4 A-1 y\n")); !errors.Is(err, ErrDuplicateExpectation) {
		t.Errorf("duplicate: err = %v", err)
	}
	if _, err := ReadExpectedFailures(strings.NewReader("eio4 A-1 x\neio3 A-1 y\n")); err != nil {
		t.Errorf("one ID in two suites: %v", err)
	}
}

// suiteSpecs is a run with one failing spec of SIO-ACK-01 in each of sio5
// and sio4 and a passing SIO-CONN-02 on sio5.
func suiteSpecs() types.Report {
	mk := func(proto, id string, state types.SpecState) types.SpecReport {
		return fixtureSpec(specOpts{containers: []string{"Socket.IO " + proto}, contLabels: [][]string{{"proto:" + proto, "area:ack", "role:server"}},
			text: "acks " + proto, id: id, labels: []string{"level:MUST"}, state: state, msg: msgFor(state)}, t0)
	}
	return types.Report{SpecReports: types.SpecReports{
		mk("SIO5", "SIO-ACK-01", types.SpecStateFailed),
		mk("SIO4", "SIO-ACK-01", types.SpecStateFailed),
		mk("SIO5", "SIO-CONN-02", types.SpecStatePassed),
	}}
}

func msgFor(st types.SpecState) string {
	if st == types.SpecStateFailed {
		return "no ack"
	}
	return ""
}

// TestExpectationKeyedOnSuite: an sio4 entry does not hide an sio5 failure
// of the same requirement ID.
func TestExpectationKeyedOnSuite(t *testing.T) {
	r := FromGinkgo(suiteSpecs(), Meta{ExpectedFailures: []Expectation{{Suite: "sio4", ID: "SIO-ACK-01", Reason: "v4 acks are async", Line: 1}}})
	var sio5, sio4 *Spec
	for i := range r.Specs {
		switch s := &r.Specs[i]; {
		case s.ID == "SIO-ACK-01" && s.Proto == "SIO5":
			sio5 = s
		case s.ID == "SIO-ACK-01" && s.Proto == "SIO4":
			sio4 = s
		}
	}
	if sio5 == nil || sio4 == nil {
		t.Fatalf("specs missing: %+v", r.Specs)
	}
	if sio5.ExpectedFailure || !sio5.Gating() {
		t.Errorf("sio5 SIO-ACK-01: expected=%v gating=%v; the sio4 entry must not hide it", sio5.ExpectedFailure, sio5.Gating())
	}
	if !sio4.ExpectedFailure || sio4.Gating() || sio4.ExpectedReason != "v4 acks are async" {
		t.Errorf("sio4 SIO-ACK-01: expected=%v gating=%v reason=%q", sio4.ExpectedFailure, sio4.Gating(), sio4.ExpectedReason)
	}
	if r.ExitCode() != ExitFailures || r.Counts.Gating != 1 || r.Counts.Expected != 1 {
		t.Errorf("exit %d, gating %d, expected %d; want 1, 1, 1", r.ExitCode(), r.Counts.Gating, r.Counts.Expected)
	}
	if len(r.Unmatched) != 0 {
		t.Errorf("unmatched = %v, want none", r.Unmatched)
	}
	// Both entries hide both failures.
	r = FromGinkgo(suiteSpecs(), Meta{ExpectedFailures: []Expectation{
		{Suite: "sio4", ID: "SIO-ACK-01", Reason: "v4"}, {Suite: "sio5", ID: "SIO-ACK-01", Reason: "v5"}}})
	if r.ExitCode() != ExitOK || r.Counts.Expected != 2 {
		t.Errorf("both listed: exit %d, expected %d", r.ExitCode(), r.Counts.Expected)
	}
	if got := r.ExpectedFails["SIO-ACK-01"]; got != "sio4: v4\nsio5: v5" {
		t.Errorf("expected_failures[SIO-ACK-01] = %q", got)
	}
}

// TestUnmatchedExpectations: entries that no spec of their suite and ID
// failed or passed are listed in report.json and summary.md; a passing
// spec counts as matched (an unexpected pass).
func TestUnmatchedExpectations(t *testing.T) {
	exps := []Expectation{
		{Suite: "sio5", ID: "SIO-ACK-01", Reason: "matched by a failure", Line: 1},
		{Suite: "sio5", ID: "SIO-CONN-02", Reason: "matched by a pass", Line: 2},
		{Suite: "eio4", ID: "SIO-ACK-01", Reason: "wrong suite", Line: 3},
		{Suite: "sio5", ID: "SIO-NOPE-99", Reason: "no such spec", Line: 4},
	}
	r := FromGinkgo(suiteSpecs(), Meta{ExpectedFailures: exps})
	if !reflect.DeepEqual(r.Unmatched, exps[2:]) {
		t.Errorf("unmatched = %+v, want %+v", r.Unmatched, exps[2:])
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	raw := js.String()
	back, err := Decode(&js)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Unmatched, exps[2:]) || !reflect.DeepEqual(back.Expectations, exps) {
		t.Errorf("after a JSON round trip: unmatched %+v, expectations %+v", back.Unmatched, back.Expectations)
	}
	if !strings.Contains(raw, `"unmatched_expectations"`) {
		t.Error("report.json has no unmatched_expectations")
	}
	var md bytes.Buffer
	if err := r.WriteSummary(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Expected failures that matched no spec", "`eio4 SIO-ACK-01` (line 3) — wrong suite", "`sio5 SIO-NOPE-99` (line 4) — no such spec"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md.String())
		}
	}
	if strings.Contains(md.String(), "matched by a") && strings.Contains(md.String(), "(line 1)") {
		t.Errorf("summary.md lists a matched entry:\n%s", md.String())
	}
}

// TestNotVerified: a MUST requirement whose every spec that ran was
// unsupported is listed as not verified; one with another outcome, or of
// level MAY, is not.
func TestNotVerified(t *testing.T) {
	mk := func(proto, id, level string, state types.SpecState, msg string) types.SpecReport {
		return fixtureSpec(specOpts{containers: []string{"Socket.IO"}, contLabels: [][]string{{"proto:" + proto, "role:server"}},
			text: id + " " + msg, id: id, labels: []string{"level:" + level}, state: state, msg: msg}, t0)
	}
	unsup := "unsupported: no extended contract"
	gr := types.Report{SpecReports: types.SpecReports{
		mk("SIO5", "SIO-CONN-06", "MUST", types.SpecStateSkipped, unsup),
		mk("SIO5", "SIO-CONN-06", "MUST", types.SpecStateSkipped, unsup),
		mk("SIO5", "SIO-ACK-01", "MUST", types.SpecStateSkipped, unsup),
		mk("SIO5", "SIO-ACK-01", "MUST", types.SpecStatePassed, ""),
		mk("SIO4", "SIO-DISC-07", "SHOULD", types.SpecStateSkipped, unsup),
		mk("SIO4", "SIO-DISC-07", "SHOULD", types.SpecStateSkipped, ""), // filtered out: did not run
		mk("SIO5", "SIO-EDGE-01", "MAY", types.SpecStateSkipped, unsup),
		mk("SIO5", "SIO-NSP-02", "MUST", types.SpecStateSkipped, ""), // filtered out only
	}}
	r := FromGinkgo(gr, Meta{})
	got := r.NotVerified()
	want := []Unverified{
		{Proto: "SIO4", ID: "SIO-DISC-07", Level: "SHOULD", Reason: "no extended contract", Specs: 1},
		{Proto: "SIO5", ID: "SIO-CONN-06", Level: "MUST", Reason: "no extended contract", Specs: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NotVerified = %+v\nwant %+v", got, want)
	}
	var md bytes.Buffer
	if err := r.WriteSummary(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Not verified (MUST/SHOULD requirements whose every spec was unsupported) (2)",
		"**SIO-CONN-06** MUST (SIO5) — not verified: 2 unsupported spec(s), no extended contract"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md.String())
		}
	}
	// report.json carries the list, and a reloaded report recomputes it.
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	back, err := Decode(bytes.NewReader(js.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Unverified, want) {
		t.Errorf("report.json not_verified = %+v\nwant %+v\n%s", back.Unverified, want, js.String())
	}
	var page bytes.Buffer
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="not-verified"`, "<code>SIO-CONN-06</code> MUST (SIO5): 2 unsupported spec(s), no extended contract"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

func TestReproduceCommand(t *testing.T) {
	r := &Report{Seed: 7, TimeScale: 2, Strict: true, Target: Target{URL: "http://h:1/x?a=b&c=d", Role: "server"}}
	if got, want := r.ReproduceCommand(), "siospec server --url 'http://h:1/x?a=b&c=d' --strict --time-scale 2 --seed 7"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	r.Command = []string{"siospec", "server", "--seed=9", "--label-filter", "level:MUST && !slow"}
	if got, want := r.ReproduceCommand(), "siospec server --seed=9 --label-filter 'level:MUST && !slow'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSummaryEscapes(t *testing.T) {
	sr := fixtureSpec(specOpts{text: "echoes | pipes and *stars* <img src=x>", id: "EIO-PKT-01", labels: []string{"level:MUST", "area:packet"},
		state: types.SpecStateFailed, msg: "m", entries: map[string]any{EntryObserved: "`tick` <script>"}, order: []string{EntryObserved}}, t0)
	r := FromGinkgo(types.Report{SpecReports: types.SpecReports{sr}}, Meta{})
	var buf bytes.Buffer
	if err := r.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if strings.Contains(s, "<img") || strings.Contains(s, "<script>") || strings.Contains(s, "echoes | pipes") {
		t.Errorf("summary not escaped:\n%s", s)
	}
	if !strings.Contains(s, `echoes \| pipes and \*stars\* &lt;img src=x&gt;`) {
		t.Errorf("summary line:\n%s", s)
	}
}

// TestRealGinkgoJSON reads a report written by Ginkgo itself (see
// testdata/README.md), so a Ginkgo upgrade that changes what lands in
// types.Report shows up here.
func TestRealGinkgoJSON(t *testing.T) {
	rs, err := ReadGinkgoJSON(filepath.Join("testdata", "ginkgo-v2.34-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := FromGinkgoReports(rs, Meta{Seed: 1})
	checkOutcomes(t, r, map[string]want{
		"EIO-HS-01": {outcome: Pass},
		"EIO-HS-02": {outcome: Fail},
		"EIO-HS-03": {outcome: Unsupported, reason: "no webtransport"},
		"EIO-HS-04": {outcome: HarnessError, reason: "proxy down"},
		"EIO-HS-05": {outcome: Skipped, reason: "not run (filtered out or suite stopped early)"},
		"EIO-HS-06": {outcome: NonStrict, reason: "NODE not met"},
		"EIO-HS-07": {outcome: HarnessError, reason: "the harness panicked"},
		"EIO-HS-08": {outcome: Skipped, reason: "pending"},
	})
	s := specByID(t, r, "EIO-HS-02")
	if s.Expected != "five keys" || s.Observed != "six keys" || len(s.Transcript) != 1 ||
		string(s.Transcript[0].Data) != "GET / HTTP/1.1\r\n" || s.Transcript[0].Summary != "GET /" {
		t.Errorf("EIO-HS-02 entries: expected=%q observed=%q transcript=%+v", s.Expected, s.Observed, s.Transcript)
	}
	if s.Proto != "EIO4" || s.Area != "handshake" || s.Transport != "polling" || s.Level != "MUST" || s.Role != "server" {
		t.Errorf("EIO-HS-02 labels: %+v", s)
	}
	if s.Failure == nil || !strings.Contains(s.Failure.Message, "Expected") || !strings.HasSuffix(s.Failure.Location, "probe_test.go:27") {
		t.Errorf("EIO-HS-02 failure: %+v", s.Failure)
	}
	if r.ExitCode() != ExitHarnessError {
		t.Errorf("ExitCode = %d, want 2", r.ExitCode())
	}
}

func TestTranscriptHelpers(t *testing.T) {
	big := bytes.Repeat([]byte{'x'}, MaxEventData+5)
	d, cut := CapData(big)
	if len(d) != MaxEventData || !cut {
		t.Errorf("CapData(big) = %d bytes, cut=%v", len(d), cut)
	}
	small := []byte("42[\"hi\"]")
	d, cut = CapData(small)
	small[0] = '9'
	if string(d) != "42[\"hi\"]" || cut {
		t.Errorf("CapData(small) = %q %v (must copy)", d, cut)
	}
	if d, cut := CapData(nil); d != nil || cut {
		t.Error("CapData(nil)")
	}
	if EncodeTranscript(nil) != "[]" {
		t.Error("EncodeTranscript(nil)")
	}
	var back []TranscriptEvent
	if err := json.Unmarshal([]byte(EncodeTranscript(heartbeatTranscript)), &back); err != nil || !reflect.DeepEqual(back, heartbeatTranscript) {
		t.Errorf("EncodeTranscript round trip: %v %+v", err, back)
	}
}

func TestSummaryCapsLongLists(t *testing.T) {
	var srs types.SpecReports
	for i := range 250 {
		srs = append(srs, fixtureSpec(specOpts{text: "fails " + strings.Repeat("x", i%7), id: "EIO-PKT-" + strings.Repeat("1", 1+i%3),
			labels: []string{"level:MUST", "area:packet"}, state: types.SpecStateFailed, msg: "m"}, t0))
	}
	r := FromGinkgo(types.Report{SpecReports: srs}, Meta{})
	var buf bytes.Buffer
	if err := r.WriteSummary(&buf); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if n := strings.Count(s, "\n- **EIO-PKT-"); n != 100 || !strings.Contains(s, "### Failed requirements (250)") || !strings.Contains(s, "- … and 150 more") {
		t.Errorf("%d failure lines; summary:\n%s", n, s)
	}
}
