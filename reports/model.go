package reports

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SchemaV1 is the value of the "schema" field of every report.json this
// package writes and the only one [Load] accepts.
const SchemaV1 = "siospec.report/v1"

// Outcome is the verdict for one spec.
type Outcome string

// The outcomes, in the order reports list them.
const (
	// Pass means the target met the requirement.
	Pass Outcome = "pass"
	// Fail means a MUST (or, in a strict run, a SHOULD or NODE) requirement
	// was not met. It gates the run unless the failure was expected.
	Fail Outcome = "fail"
	// NonStrict means a SHOULD, NODE, MAY or EDGE requirement was not met;
	// it is reported but never gates.
	NonStrict Outcome = "non-strict"
	// Unsupported means the target lacks an optional contract the spec needs
	// (the spec called Skip("unsupported: ...")).
	Unsupported Outcome = "unsupported"
	// Skipped means the spec did not run: filtered out, pending, or skipped
	// for another stated reason.
	Skipped Outcome = "skipped"
	// HarnessError means siospec itself failed (a framework.HarnessError, a
	// panic, an interrupted run, a failed suite-level node); it is never
	// counted against the target.
	HarnessError Outcome = "harness-error"
)

// Outcomes returns every outcome in display order.
func Outcomes() []Outcome {
	return []Outcome{Fail, HarnessError, NonStrict, Unsupported, Skipped, Pass}
}

// Levels returns the requirement levels in display order.
func Levels() []string { return []string{"MUST", "SHOULD", "NODE", "MAY", "EDGE"} }

// Exit codes of siospec runs. ExitPreflight and ExitUsage are decided by the
// CLI; [Report.ExitCode] returns only the first three.
const (
	ExitOK           = 0 // no gating failure
	ExitFailures     = 1 // at least one gating conformance failure
	ExitHarnessError = 2 // the harness failed; the verdict is not reliable
	ExitPreflight    = 3 // the target could not be reached or is not Engine.IO
	ExitUsage        = 4 // bad command line
)

// Meta is what a run knows that Ginkgo's report does not. Every field is
// optional; the zero value describes an unnamed run.
type Meta struct {
	// HarnessVersion is siospec's version or VCS revision.
	HarnessVersion string
	// Target is the URL of the server under test (or the client command).
	Target string
	// Role is "server" or "client": which side the target plays.
	Role string
	// Seed is the run's root seed.
	Seed int64
	// TimeScale multiplies every timing budget; 0 is stored as 1.
	TimeScale float64
	// Strict makes SHOULD and NODE failures gate.
	Strict bool
	// Preflight holds what the preflight handshake found, for example
	// "eio": "4", "transports": "polling,websocket", "pingInterval": "300ms".
	Preflight map[string]string
	// Started and Finished bound the run; zero values fall back to Ginkgo's
	// suite start and end times.
	Started, Finished time.Time
	// ExpectedFailures is the baseline (from --expect-failures): specs of
	// the given suite and requirement ID that are expected to fail, and
	// why. An entry applies only to specs whose proto: label names its
	// suite.
	ExpectedFailures []Expectation
	// Command is the command line that ran the suites, argv style.
	Command []string
}

// Report is the versioned model of one run, serialised as report.json.
// SCHEMA.md documents every field.
type Report struct {
	Schema         string            `json:"schema"`
	HarnessVersion string            `json:"harness_version"`
	Command        []string          `json:"command,omitempty"`
	Seed           int64             `json:"seed"`
	TimeScale      float64           `json:"time_scale"`
	Strict         bool              `json:"strict"`
	Target         Target            `json:"target"`
	Started        time.Time         `json:"started"`
	Finished       time.Time         `json:"finished"`
	Duration       time.Duration     `json:"duration_ns"`
	Suite          Suite             `json:"suite"`
	Verdict        string            `json:"verdict"`
	ExitStatus     int               `json:"exit_code"`
	Counts         Counts            `json:"counts"`
	ExpectedFails  map[string]string `json:"expected_failures,omitempty"`
	Expectations   []Expectation     `json:"expectations,omitempty"`
	UnexpectedPass []string          `json:"unexpected_passes,omitempty"`
	Unmatched      []Expectation     `json:"unmatched_expectations,omitempty"`
	Unverified     []Unverified      `json:"not_verified,omitempty"`
	Specs          []Spec            `json:"specs"`
}

// Expectation is one entry of an expected-failures file: the specs of
// requirement ID in suite Suite are known to fail, for Reason.
type Expectation struct {
	// Suite is eio4, eio3, sio5 or sio4: the specs' proto: label, lower
	// case.
	Suite  string `json:"suite"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
	// Line is the entry's 1-based line in the file it was read from; 0
	// when it was not read from a file.
	Line int `json:"line,omitempty"`
}

// String renders the entry as its file line.
func (e Expectation) String() string { return e.Suite + " " + e.ID + " " + e.Reason }

// Target describes the implementation under test.
type Target struct {
	URL       string            `json:"url"`
	Role      string            `json:"role,omitempty"`
	Preflight map[string]string `json:"preflight,omitempty"`
}

// Suite carries what Ginkgo reported about the run as a whole.
type Suite struct {
	Description string   `json:"description,omitempty"`
	Path        string   `json:"path,omitempty"`
	GinkgoSeed  int64    `json:"ginkgo_seed,omitempty"`
	LabelFilter string   `json:"label_filter,omitempty"`
	Focus       []string `json:"focus,omitempty"`
	Succeeded   bool     `json:"succeeded"`
	// Problems are Ginkgo's special suite failure reasons (interrupted,
	// programmatic focus, fail-on-pending...). Any problem makes the run a
	// harness error.
	Problems []string `json:"problems,omitempty"`
}

// Counts aggregates outcomes.
type Counts struct {
	Total     int                        `json:"total"`
	Gating    int                        `json:"gating"`
	Expected  int                        `json:"expected_failures"`
	ByOutcome map[Outcome]int            `json:"by_outcome"`
	ByLevel   map[string]map[Outcome]int `json:"by_level"`
	ByArea    map[string]map[Outcome]int `json:"by_area"`
	ByProto   map[string]map[Outcome]int `json:"by_proto"`
}

// Spec is one conformance spec and its verdict.
type Spec struct {
	Name      string   `json:"name"`
	ID        string   `json:"id"`
	Level     string   `json:"level"`
	Proto     string   `json:"proto,omitempty"`
	Transport string   `json:"transport,omitempty"`
	Area      string   `json:"area,omitempty"`
	Role      string   `json:"role,omitempty"`
	Faults    []string `json:"faults,omitempty"`
	Labels    []string `json:"labels"`
	Location  string   `json:"location,omitempty"`

	Outcome         Outcome `json:"outcome"`
	Reason          string  `json:"reason,omitempty"`
	GinkgoState     string  `json:"ginkgo_state"`
	ExpectedFailure bool    `json:"expected_failure,omitempty"`
	ExpectedReason  string  `json:"expected_failure_reason,omitempty"`
	UnexpectedPass  bool    `json:"unexpected_pass,omitempty"`

	Failure  *Failure `json:"failure,omitempty"`
	Expected string   `json:"expected,omitempty"`
	Observed string   `json:"observed,omitempty"`
	Budget   string   `json:"budget,omitempty"`
	Measured string   `json:"measured,omitempty"`
	// Testee is a client spec's testee command, how it ended and its
	// output, truncated (role client).
	Testee string `json:"testee,omitempty"`
	// Net holds a net-suite spec's measures (siospec.net).
	Net *Net `json:"net,omitempty"`

	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Attempts int           `json:"attempts,omitempty"`

	Output          string            `json:"output,omitempty"`
	Transcript      []TranscriptEvent `json:"transcript,omitempty"`
	TranscriptError string            `json:"transcript_error,omitempty"`
}

// Failure is where and why a spec failed (or was skipped).
type Failure struct {
	Message  string `json:"message"`
	Location string `json:"location,omitempty"`
	Node     string `json:"node,omitempty"`
	Panic    string `json:"panic,omitempty"`
}

// TranscriptEvent is one decoded wire event recorded by a spec. Specs add the
// JSON encoding of a []TranscriptEvent as the "siospec.transcript" report
// entry.
type TranscriptEvent struct {
	// At is the time since the spec's first connection opened.
	At time.Duration `json:"at_ns"`
	// Conn is the connection ordinal within the spec, from 1.
	Conn int `json:"conn"`
	// Dir is "c2s", "s2c" or "local".
	Dir string `json:"dir"`
	// Kind is one of "http-request", "http-response", "ws-open", "ws-frame",
	// "ws-close", "eio-packet", "sio-packet", "tcp-close", "note".
	Kind string `json:"kind"`
	// Summary is one readable line describing the event.
	Summary string `json:"summary"`
	// Data holds the raw bytes, capped at 64 KiB (base64 in JSON).
	Data []byte `json:"data,omitempty"`
	// Truncated reports that Data was cut at the cap.
	Truncated bool `json:"truncated,omitempty"`
}

// Gating reports whether the spec makes the run fail: an outcome of fail that
// was not expected.
func (s *Spec) Gating() bool { return s.Outcome == Fail && !s.ExpectedFailure }

// Title is the spec's display name: its full text, or the requirement ID
// when the text is empty.
func (s *Spec) Title() string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

// ExitCode returns 2 when any spec is a harness error or Ginkgo reported a
// suite problem, else 1 when any spec gates, else 0. A harness error wins
// over conformance failures because it makes the verdict unreliable.
func (r *Report) ExitCode() int {
	if len(r.Suite.Problems) > 0 {
		return ExitHarnessError
	}
	code := ExitOK
	for i := range r.Specs {
		switch {
		case r.Specs[i].Outcome == HarnessError:
			return ExitHarnessError
		case r.Specs[i].Gating():
			code = ExitFailures
		}
	}
	return code
}

// verdictFor names an exit code for humans and for the "verdict" field.
func verdictFor(code int) string {
	switch code {
	case ExitOK:
		return "pass"
	case ExitFailures:
		return "fail"
	default:
		return "harness-error"
	}
}

// finish recomputes every derived field: ordering, counts, verdict, exit
// code and unexpected passes.
func (r *Report) finish() {
	sort.SliceStable(r.Specs, func(i, j int) bool {
		a, b := &r.Specs[i], &r.Specs[j]
		if (a.ID == "") != (b.ID == "") {
			return a.ID != ""
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Name < b.Name
	})
	c := Counts{
		ByOutcome: make(map[Outcome]int, len(Outcomes())),
		ByLevel:   map[string]map[Outcome]int{},
		ByArea:    map[string]map[Outcome]int{},
		ByProto:   map[string]map[Outcome]int{},
	}
	for _, o := range Outcomes() {
		c.ByOutcome[o] = 0
	}
	bump := func(m map[string]map[Outcome]int, k string, o Outcome) {
		if k == "" {
			k = "none"
		}
		if m[k] == nil {
			m[k] = map[Outcome]int{}
		}
		m[k][o]++
	}
	r.UnexpectedPass = nil
	r.Unmatched = r.unmatched()
	r.Unverified = r.NotVerified()
	for i := range r.Specs {
		s := &r.Specs[i]
		c.Total++
		c.ByOutcome[s.Outcome]++
		if s.Gating() {
			c.Gating++
		}
		if s.ExpectedFailure {
			c.Expected++
		}
		if s.UnexpectedPass {
			r.UnexpectedPass = appendUnique(r.UnexpectedPass, s.ID)
		}
		bump(c.ByLevel, s.Level, s.Outcome)
		bump(c.ByArea, s.Area, s.Outcome)
		bump(c.ByProto, s.Proto, s.Outcome)
	}
	r.Counts = c
	r.ExitStatus = r.ExitCode()
	r.Verdict = verdictFor(r.ExitStatus)
}

// unmatched returns the expectations that no spec of their suite and ID
// failed or passed (outcome fail, non-strict or pass) in this run: a stale
// baseline entry, a wrong suite or ID, or specs that did not run.
func (r *Report) unmatched() []Expectation {
	var out []Expectation
	for _, e := range r.Expectations {
		hit := false
		for i := range r.Specs {
			s := &r.Specs[i]
			if s.ID == e.ID && strings.EqualFold(s.Proto, e.Suite) && (s.Outcome == Fail || s.Outcome == NonStrict || s.Outcome == Pass) {
				hit = true
				break
			}
		}
		if !hit {
			out = append(out, e)
		}
	}
	return out
}

// Unverified is a MUST or SHOULD requirement of one suite that no spec of
// the run verified: every spec of it that ran was unsupported (the target
// lacks an optional contract those specs need).
type Unverified struct {
	Proto string `json:"proto"` // EIO4, EIO3, SIO5 or SIO4
	ID    string `json:"id"`
	Level string `json:"level"` // the strongest level among its specs, MUST or SHOULD
	// Reason is the first unsupported reason among its specs.
	Reason string `json:"reason"`
	// Specs counts its unsupported specs.
	Specs int `json:"specs"`
}

// NotVerified returns the MUST and SHOULD requirements, per suite, whose
// every spec that ran (any outcome but skipped) was unsupported, sorted by
// suite and ID. Such a requirement has neither passed nor failed: a
// summary must say so rather than leave it out.
func (r *Report) NotVerified() []Unverified {
	type key struct{ proto, id string }
	type acc struct {
		u        Unverified
		verified bool
	}
	by := map[key]*acc{}
	var keys []key
	for i := range r.Specs {
		s := &r.Specs[i]
		if s.ID == "" || s.Outcome == Skipped {
			continue
		}
		k := key{s.Proto, s.ID}
		a := by[k]
		if a == nil {
			a = &acc{u: Unverified{Proto: s.Proto, ID: s.ID}}
			by[k] = a
			keys = append(keys, k)
		}
		if s.Outcome != Unsupported {
			a.verified = true
			continue
		}
		a.u.Specs++
		if a.u.Reason == "" {
			a.u.Reason = s.Reason
		}
		if s.Level == "MUST" || s.Level == "SHOULD" && a.u.Level != "MUST" {
			a.u.Level = s.Level
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].proto != keys[j].proto {
			return keys[i].proto < keys[j].proto
		}
		return keys[i].id < keys[j].id
	})
	var out []Unverified
	for _, k := range keys {
		if a := by[k]; !a.verified && a.u.Level != "" {
			out = append(out, a.u)
		}
	}
	return out
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// sortedKeys returns the keys of m in a display order: known ones first in
// the order of known, then the rest alphabetically.
func sortedKeys[V any](m map[string]V, known []string) []string {
	out := make([]string, 0, len(m))
	seen := map[string]bool{}
	for _, k := range known {
		if _, ok := m[k]; ok {
			out = append(out, k)
			seen[k] = true
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// MaxEventData caps TranscriptEvent.Data: recorders keep at most this many
// bytes of one event and set Truncated.
const MaxEventData = 64 << 10

// CapData returns b cut to [MaxEventData] bytes (a copy, so the caller may
// reuse b) and whether it was cut.
func CapData(b []byte) (data []byte, truncated bool) {
	if len(b) > MaxEventData {
		return append([]byte(nil), b[:MaxEventData]...), true
	}
	if len(b) == 0 {
		return nil, false
	}
	return append([]byte(nil), b...), false
}

// EncodeTranscript returns the value specs pass to AddReportEntry under
// "siospec.transcript": the JSON array of evs as a string ("[]" for none).
func EncodeTranscript(evs []TranscriptEvent) string {
	if len(evs) == 0 {
		return "[]"
	}
	b, err := json.Marshal(evs)
	if err != nil {
		// A TranscriptEvent has only strings, integers, bools and bytes;
		// encoding cannot fail.
		return "[]"
	}
	return string(b)
}

// Net is what a spec of the net suite (network failures) measured: the
// fault proxy profile, the sequenced workload's accounting and the
// proxy's decisions. Measures is the JSON of suites/netload.Measures (see
// SCHEMA.md); reports keeps it as it came.
type Net struct {
	// Profile is the fault proxy profile the spec applied.
	Profile string `json:"profile,omitempty"`
	// Crash says how server-crash ran: "process" (the server under test was
	// killed and restarted, its state lost) or "proxy" (the proxy went
	// down, the server kept its state). Empty for other profiles.
	Crash string `json:"crash,omitempty"`
	// Summary is the measures in a few lines of text.
	Summary string `json:"summary"`
	// Trials and TrialsPassed are the resilience tier's seeded trials and
	// how many passed; 0 for the conformance tier.
	Trials       int `json:"trials,omitempty"`
	TrialsPassed int `json:"trials_passed,omitempty"`
	// Measures is the netload.Measures JSON of the (last) trial.
	Measures json.RawMessage `json:"measures,omitempty"`
	// Decisions is the proxy's decision log for the spec (faultproxy
	// Decision JSON), at most MaxNetDecisions; DecisionsDropped counts
	// those left out.
	Decisions        json.RawMessage `json:"decisions,omitempty"`
	DecisionsDropped int             `json:"decisions_dropped,omitempty"`
}

// MaxNetDecisions caps Net.Decisions.
const MaxNetDecisions = 200

// Text renders n for the text reports (JUnit, summaries, HTML).
func (n *Net) Text() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	if n.Profile != "" {
		fmt.Fprintf(&b, "profile: %s", n.Profile)
		if n.Crash != "" {
			fmt.Fprintf(&b, " (crash ran as a %s crash)", n.Crash)
		}
		b.WriteString("\n")
	}
	if n.Trials > 0 {
		fmt.Fprintf(&b, "trials: %d of %d passed\n", n.TrialsPassed, n.Trials)
	}
	b.WriteString(n.Summary)
	if len(n.Decisions) > 0 {
		var ds []json.RawMessage
		if json.Unmarshal(n.Decisions, &ds) == nil {
			fmt.Fprintf(&b, "\nproxy decisions: %d", len(ds))
			if n.DecisionsDropped > 0 {
				fmt.Fprintf(&b, " (+%d not kept)", n.DecisionsDropped)
			}
		}
	}
	return b.String()
}
