package reports

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
)

// Names of the report entries specs add (Ginkgo AddReportEntry, string
// values).
const (
	EntryExpected   = "siospec.expected"
	EntryObserved   = "siospec.observed"
	EntryTranscript = "siospec.transcript"
	EntryBudget     = "siospec.budget"
	EntryMeasured   = "siospec.measured"
	// EntryTestee holds, for a client spec, the testee's command, how it
	// ended and its output (truncated).
	EntryTestee = "siospec.testee"
	// EntryNet holds, for a spec of the net suite, its measures as the
	// JSON of a [Net] value.
	EntryNet = "siospec.net"
)

// Failure message prefixes with a meaning for the outcome mapping.
const (
	UnsupportedPrefix  = "unsupported:"
	HarnessErrorPrefix = "harness-error:"
)

// maxOutput caps the captured GinkgoWriter output kept per spec.
const maxOutput = 64 << 10

// specIDSuffix matches the " [ID]" suffix the suites append to spec texts.
var specIDSuffix = regexp.MustCompile(`\s\[([A-Za-z0-9][A-Za-z0-9.-]*)\]\s*$`)

// FromGinkgo builds the versioned model of one run from the Ginkgo report of
// its suites and the run's metadata. It never fails: malformed report
// entries are recorded on the spec (TranscriptError) instead.
func FromGinkgo(r types.Report, meta Meta) *Report {
	return FromGinkgoReports([]types.Report{r}, meta)
}

// FromGinkgoReports is [FromGinkgo] for the array of suite reports that
// ginkgo --json-report writes (one per suite).
func FromGinkgoReports(rs []types.Report, meta Meta) *Report {
	out := &Report{
		Schema:         SchemaV1,
		HarnessVersion: meta.HarnessVersion,
		Command:        append([]string(nil), meta.Command...),
		Seed:           meta.Seed,
		TimeScale:      meta.TimeScale,
		Strict:         meta.Strict,
		Target:         Target{URL: meta.Target, Role: meta.Role, Preflight: copyMap(meta.Preflight)},
		Started:        meta.Started,
		Finished:       meta.Finished,
		ExpectedFails:  expectationMap(meta.ExpectedFailures),
		Expectations:   append([]Expectation(nil), meta.ExpectedFailures...),
		Specs:          []Spec{},
	}
	if out.TimeScale == 0 {
		out.TimeScale = 1
	}
	out.Suite.Succeeded = true
	expected := indexExpectations(meta.ExpectedFailures)
	for i, r := range rs {
		if i == 0 {
			out.Suite.Description = r.SuiteDescription
			out.Suite.Path = r.SuitePath
			out.Suite.GinkgoSeed = r.SuiteConfig.RandomSeed
			out.Suite.LabelFilter = r.SuiteConfig.LabelFilter
			out.Suite.Focus = append([]string(nil), r.SuiteConfig.FocusStrings...)
		}
		out.Suite.Succeeded = out.Suite.Succeeded && r.SuiteSucceeded
		for _, p := range r.SpecialSuiteFailureReasons {
			out.Suite.Problems = appendUnique(out.Suite.Problems, p)
		}
		if meta.Started.IsZero() && !r.StartTime.IsZero() && (out.Started.IsZero() || r.StartTime.Before(out.Started)) {
			out.Started = r.StartTime
		}
		if meta.Finished.IsZero() && r.EndTime.After(out.Finished) {
			out.Finished = r.EndTime
		}
		for _, sr := range r.SpecReports {
			if s, ok := specFrom(sr, meta, expected); ok {
				out.Specs = append(out.Specs, s)
			}
		}
	}
	if !out.Started.IsZero() && out.Finished.After(out.Started) {
		out.Duration = out.Finished.Sub(out.Started)
	}
	out.finish()
	return out
}

// specFrom maps one Ginkgo spec report; ok is false for suite-level nodes
// that did not fail (they are not specs of their own). expected holds the
// baseline by (suite, ID).
func specFrom(sr types.SpecReport, meta Meta, expected map[expectationKey]string) (Spec, bool) {
	suiteNode := sr.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes)
	if suiteNode && !sr.State.Is(types.SpecStateFailureStates) {
		return Spec{}, false
	}
	s := Spec{
		Name:        sr.FullText(),
		Labels:      sr.Labels(),
		GinkgoState: sr.State.String(),
		Started:     sr.StartTime,
		Duration:    sr.RunTime,
		Attempts:    sr.NumAttempts,
	}
	if suiteNode {
		s.Name = "[" + sr.LeafNodeType.String() + "]"
	}
	if sr.LeafNodeLocation.FileName != "" {
		s.Location = location(sr.LeafNodeLocation)
	}
	applyLabels(&s)
	if s.ID == "" {
		if m := specIDSuffix.FindStringSubmatch(sr.LeafNodeText); m != nil {
			s.ID = m[1]
		}
	}
	for _, e := range sr.ReportEntries {
		applyEntry(&s, e)
	}
	if sr.Failure.Message != "" || sr.Failure.ForwardedPanic != "" || sr.State.Is(types.SpecStateFailureStates) {
		s.Failure = &Failure{
			Message: sr.Failure.Message,
			Node:    sr.Failure.FailureNodeType.String(),
			Panic:   sr.Failure.ForwardedPanic,
		}
		if sr.Failure.Location.FileName != "" {
			s.Failure.Location = location(sr.Failure.Location)
		}
		if sr.Failure.FailureNodeType == types.NodeTypeInvalid {
			s.Failure.Node = ""
		}
	}
	s.Outcome, s.Reason = classify(sr.State, sr.Failure.Message, s.Level, meta.Strict)
	if suiteNode {
		s.Outcome, s.Reason = HarnessError, s.Name+" failed"
	}
	if reason, ok := expected[expectationKey{strings.ToLower(s.Proto), s.ID}]; ok && s.ID != "" {
		switch s.Outcome {
		case Fail, NonStrict:
			s.ExpectedFailure = true
			s.ExpectedReason = reason
		case Pass:
			s.UnexpectedPass = true
			s.ExpectedReason = reason
		}
	}
	if s.Outcome != Pass && s.Outcome != Skipped {
		out := sr.CapturedGinkgoWriterOutput
		if len(out) > maxOutput {
			out = out[:maxOutput] + "\n[output truncated]"
		}
		s.Output = out
	}
	return s, true
}

// classify implements the outcome mapping of the suites/reports contract.
func classify(state types.SpecState, msg, level string, strict bool) (Outcome, string) {
	trimmed := strings.TrimSpace(msg)
	switch {
	case state == types.SpecStatePassed:
		return Pass, ""
	case state == types.SpecStatePending:
		return Skipped, "pending"
	case state == types.SpecStateSkipped:
		if rest, ok := strings.CutPrefix(trimmed, UnsupportedPrefix); ok {
			return Unsupported, strings.TrimSpace(rest)
		}
		if trimmed == "" {
			return Skipped, "not run (filtered out or suite stopped early)"
		}
		return Skipped, trimmed
	case state.Is(types.SpecStateFailureStates):
		if rest, ok := strings.CutPrefix(trimmed, HarnessErrorPrefix); ok {
			return HarnessError, strings.TrimSpace(rest)
		}
		switch state {
		case types.SpecStatePanicked:
			return HarnessError, "the harness panicked"
		case types.SpecStateAborted:
			return HarnessError, "the run was aborted"
		case types.SpecStateInterrupted:
			return HarnessError, "the run was interrupted"
		}
		switch level {
		case "SHOULD", "NODE":
			if strict {
				return Fail, level + " not met (strict run)"
			}
			return NonStrict, level + " not met"
		case "MAY", "EDGE":
			return NonStrict, level + " not met (never gates)"
		case "MUST":
			if state == types.SpecStateTimedout {
				return Fail, "timed out"
			}
			return Fail, ""
		default:
			return Fail, "spec has no level label; treated as MUST"
		}
	default:
		return HarnessError, "unknown Ginkgo state " + state.String()
	}
}

// applyLabels fills the label-derived fields of s from s.Labels.
func applyLabels(s *Spec) {
	for _, l := range s.Labels {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch k {
		case "req":
			if s.ID == "" {
				s.ID = v
			}
		case "level":
			if s.Level == "" {
				s.Level = strings.ToUpper(v)
			}
		case "proto":
			if s.Proto == "" {
				s.Proto = strings.ToUpper(v)
			}
		case "transport":
			if s.Transport == "" {
				s.Transport = v
			}
		case "area":
			if s.Area == "" {
				s.Area = v
			}
		case "role":
			if s.Role == "" {
				s.Role = v
			}
		case "fault":
			s.Faults = append(s.Faults, v)
		}
	}
}

// applyEntry copies one siospec report entry onto s.
func applyEntry(s *Spec, e types.ReportEntry) {
	join := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		} else {
			*dst += "\n" + v
		}
	}
	switch e.Name {
	case EntryExpected:
		join(&s.Expected, entryText(e))
	case EntryObserved:
		join(&s.Observed, entryText(e))
	case EntryBudget:
		join(&s.Budget, entryText(e))
	case EntryMeasured:
		join(&s.Measured, entryText(e))
	case EntryTestee:
		join(&s.Testee, entryText(e))
	case EntryNet:
		var n Net
		if err := json.Unmarshal([]byte(entryText(e)), &n); err != nil {
			join(&s.TranscriptError, "siospec.net: "+err.Error())
			return
		}
		s.Net = &n
	case EntryTranscript:
		evs, err := entryTranscript(e)
		if err != nil {
			join(&s.TranscriptError, err.Error())
			return
		}
		s.Transcript = append(s.Transcript, evs...)
	}
}

// entryText returns a report entry's value as text. In process the raw value
// is what the spec passed (a string); read back from Ginkgo's JSON it is the
// JSON-decoded value, and Representation holds its string form.
func entryText(e types.ReportEntry) string {
	switch v := e.GetRawValue().(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return e.Value.Representation
	}
	return e.Value.String()
}

// entryTranscript decodes a siospec.transcript entry: a JSON string holding
// a []TranscriptEvent, or (tolerated) the slice itself.
func entryTranscript(e types.ReportEntry) ([]TranscriptEvent, error) {
	var raw []byte
	switch v := e.GetRawValue().(type) {
	case string:
		raw = []byte(v)
	case []byte:
		raw = v
	case []TranscriptEvent:
		return append([]TranscriptEvent(nil), v...), nil
	case nil:
		if e.Value.AsJSON == "" {
			return nil, nil
		}
		var s string
		if err := json.Unmarshal([]byte(e.Value.AsJSON), &s); err == nil {
			raw = []byte(s)
		} else {
			raw = []byte(e.Value.AsJSON)
		}
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("transcript entry: %w", err)
		}
		raw = b
	}
	var evs []TranscriptEvent
	if err := json.Unmarshal(raw, &evs); err != nil {
		return nil, fmt.Errorf("transcript entry is not a JSON array of events: %w", err)
	}
	return evs, nil
}

func location(c types.CodeLocation) string {
	if c.LineNumber > 0 {
		return fmt.Sprintf("%s:%d", c.FileName, c.LineNumber)
	}
	return c.FileName
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ReadGinkgoJSON reads the file ginkgo --json-report writes: a JSON array of
// suite reports.
func ReadGinkgoJSON(path string) ([]types.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ginkgo report: %w", err)
	}
	var rs []types.Report
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("decode ginkgo report %s: %w", path, err)
	}
	return rs, nil
}

// ExpectationError reports a malformed line of an expected-failures file.
type ExpectationError struct {
	Line   int    // 1-based line number
	Text   string // the offending line
	Reason string
}

func (e *ExpectationError) Error() string {
	return fmt.Sprintf("expected failures line %d: %s: %q", e.Line, e.Reason, e.Text)
}

// ErrDuplicateExpectation is wrapped by the error for a (suite, ID) pair
// listed twice.
var ErrDuplicateExpectation = errors.New("reports: requirement listed twice for one suite")

// ExpectationSuites returns the suite names an expected-failures line may
// start with, spelled as `siospec server --suite` spells them.
func ExpectationSuites() []string { return []string{"eio4", "eio3", "sio5", "sio4", "net", "cluster"} }

// ExpectationFormat describes an expected-failures line, for help texts and
// errors.
const ExpectationFormat = `"<suite> <ID> <reason>" (suite: eio4, eio3, sio5, sio4, net or cluster)`

// ReadExpectedFailures parses an --expect-failures file: one
// "<suite> <ID> <reason>" per line, where suite is eio4, eio3, sio5 or sio4
// (the proto: label of the specs it applies to, lower case); blank lines
// and lines starting with '#' are ignored. Every entry needs a reason. A
// line without a suite (the former "<ID> <reason>" form) is an
// *ExpectationError saying so. Entries are returned in file order.
func ReadExpectedFailures(r io.Reader) ([]Expectation, error) {
	var out []Expectation
	seen := map[expectationKey]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		suite := strings.ToLower(f[0])
		if !slices.Contains(ExpectationSuites(), suite) {
			why := fmt.Sprintf("%q is not a suite", f[0])
			if validID(f[0]) && strings.ContainsRune(f[0], '-') {
				why = "no suite before the requirement ID"
			}
			return nil, &ExpectationError{Line: n, Text: line, Reason: why + "; lines are " + ExpectationFormat}
		}
		if len(f) < 2 || !validID(f[1]) {
			return nil, &ExpectationError{Line: n, Text: line, Reason: "no requirement ID after the suite; lines are " + ExpectationFormat}
		}
		id := f[1]
		reason := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(line, f[0])), id))
		if reason == "" {
			return nil, &ExpectationError{Line: n, Text: line, Reason: "missing reason; lines are " + ExpectationFormat}
		}
		k := expectationKey{suite, id}
		if seen[k] {
			return nil, fmt.Errorf("%w: %w", &ExpectationError{Line: n, Text: line, Reason: "duplicate"}, ErrDuplicateExpectation)
		}
		seen[k] = true
		out = append(out, Expectation{Suite: suite, ID: id, Reason: reason, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read expected failures: %w", err)
	}
	return out, nil
}

// expectationKey is what an expectation applies to: a spec's suite (its
// proto: label, lower case) and requirement ID.
type expectationKey struct{ suite, id string }

// indexExpectations maps the baseline by (suite, ID).
func indexExpectations(es []Expectation) map[expectationKey]string {
	m := make(map[expectationKey]string, len(es))
	for _, e := range es {
		m[expectationKey{strings.ToLower(e.Suite), e.ID}] = e.Reason
	}
	return m
}

// expectationMap is the v1 "expected_failures" object: requirement ID →
// reason. An ID expected in several suites gets one "suite: reason" line
// per suite.
func expectationMap(es []Expectation) map[string]string {
	if len(es) == 0 {
		return nil
	}
	by := map[string][]Expectation{}
	for _, e := range es {
		by[e.ID] = append(by[e.ID], e)
	}
	out := make(map[string]string, len(by))
	for id, list := range by {
		if len(list) == 1 {
			out[id] = list[0].Reason
			continue
		}
		lines := make([]string, len(list))
		for i, e := range list {
			lines[i] = e.Suite + ": " + e.Reason
		}
		out[id] = strings.Join(lines, "\n")
	}
	return out
}

func validID(id string) bool {
	if id == "" {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
