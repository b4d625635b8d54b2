package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// JUnit XML document, in the dialect Jenkins, GitLab and GitHub test
// reporters read. Exported so that tests and tools can decode junit.xml
// with encoding/xml.
type (
	// JUnitSuites is the <testsuites> root.
	JUnitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Skipped  int          `xml:"skipped,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []JUnitSuite `xml:"testsuite"`
	}
	// JUnitSuite is one <testsuite>: the specs of one proto/area pair.
	JUnitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr,omitempty"`
		Properties []JUnitProperty `xml:"properties>property"`
		Cases      []JUnitCase     `xml:"testcase"`
	}
	// JUnitProperty is a name/value pair.
	JUnitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	// JUnitCase is one <testcase>; its name starts with the requirement ID.
	JUnitCase struct {
		Name       string          `xml:"name,attr"`
		Classname  string          `xml:"classname,attr"`
		Time       string          `xml:"time,attr"`
		Properties []JUnitProperty `xml:"properties>property,omitempty"`
		Failure    *JUnitProblem   `xml:"failure,omitempty"`
		Error      *JUnitProblem   `xml:"error,omitempty"`
		Skipped    *JUnitSkipped   `xml:"skipped,omitempty"`
		SystemOut  string          `xml:"system-out,omitempty"`
	}
	// JUnitProblem is a <failure> or <error>.
	JUnitProblem struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	// JUnitSkipped is a <skipped>.
	JUnitSkipped struct {
		Message string `xml:"message,attr"`
	}
)

// JUnit converts r to the JUnit document written as junit.xml. Gating
// failures are <failure>, harness errors <error>, unsupported and skipped
// specs and expected failures <skipped message="...">; non-strict results
// are passing test cases with a note in <system-out> and an "outcome"
// property.
func (r *Report) JUnit() JUnitSuites {
	groups := map[string][]*Spec{}
	for i := range r.Specs {
		s := &r.Specs[i]
		groups[suiteKey(s)] = append(groups[suiteKey(s)], s)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	doc := JUnitSuites{Name: "siospec", Time: seconds(r.Duration)}
	props := []JUnitProperty{
		{"seed", strconv.FormatInt(r.Seed, 10)},
		{"strict", strconv.FormatBool(r.Strict)},
		{"time_scale", strconv.FormatFloat(r.TimeScale, 'g', -1, 64)},
		{"target", r.Target.URL},
		{"harness_version", r.HarnessVersion},
	}
	for _, k := range keys {
		js := JUnitSuite{Name: k, Properties: props}
		if !r.Started.IsZero() {
			js.Timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
		}
		var total time.Duration
		for _, s := range groups[k] {
			c := junitCase(s, k)
			switch {
			case c.Failure != nil:
				js.Failures++
			case c.Error != nil:
				js.Errors++
			case c.Skipped != nil:
				js.Skipped++
			}
			js.Tests++
			total += s.Duration
			js.Cases = append(js.Cases, c)
		}
		js.Time = seconds(total)
		doc.Tests += js.Tests
		doc.Failures += js.Failures
		doc.Errors += js.Errors
		doc.Skipped += js.Skipped
		doc.Suites = append(doc.Suites, js)
	}
	return doc
}

// WriteJUnit writes r as junit.xml.
func (r *Report) WriteJUnit(w io.Writer) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(r.JUnit()); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func suiteKey(s *Spec) string {
	proto, area := s.Proto, s.Area
	if proto == "" {
		proto = "other"
	}
	if area == "" {
		area = "other"
	}
	return proto + "/" + area
}

func junitCase(s *Spec, suite string) JUnitCase {
	c := JUnitCase{
		Name:      caseName(s),
		Classname: "siospec." + strings.ReplaceAll(suite, "/", "."),
		Time:      seconds(s.Duration),
		Properties: []JUnitProperty{
			{"requirement", s.ID},
			{"level", s.Level},
			{"outcome", string(s.Outcome)},
		},
	}
	if s.Transport != "" {
		c.Properties = append(c.Properties, JUnitProperty{"transport", s.Transport})
	}
	if s.ExpectedFailure {
		c.Properties = append(c.Properties, JUnitProperty{"expected_failure", s.ExpectedReason})
	}
	if s.UnexpectedPass {
		c.Properties = append(c.Properties, JUnitProperty{"unexpected_pass", s.ExpectedReason})
	}
	switch {
	case s.Outcome == Fail && s.ExpectedFailure:
		c.Skipped = &JUnitSkipped{Message: "expected failure: " + s.ExpectedReason}
		c.SystemOut = details(s)
	case s.Outcome == Fail:
		c.Failure = &JUnitProblem{Message: firstLine(failureMessage(s)), Type: s.Level, Text: details(s)}
	case s.Outcome == HarnessError:
		c.Error = &JUnitProblem{Message: firstLine(failureMessage(s)), Type: "harness-error", Text: details(s)}
	case s.Outcome == Unsupported:
		c.Skipped = &JUnitSkipped{Message: "unsupported: " + s.Reason}
	case s.Outcome == Skipped:
		c.Skipped = &JUnitSkipped{Message: s.Reason}
	case s.Outcome == NonStrict:
		note := "non-strict: " + s.Reason
		if s.ExpectedFailure {
			note += " (expected failure: " + s.ExpectedReason + ")"
		}
		c.SystemOut = note + "\n\n" + details(s)
	case s.UnexpectedPass:
		c.SystemOut = "unexpected pass: listed as an expected failure (" + s.ExpectedReason + ")"
	}
	return c
}

// caseName is "<ID> <text>" with the text's own " [ID]" suffix removed.
func caseName(s *Spec) string {
	if s.ID == "" {
		return s.Title()
	}
	return s.ID + " " + shortName(s)
}

// shortName is the spec text without its trailing " [ID]".
func shortName(s *Spec) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s.Name), "["+s.ID+"]"))
}

func failureMessage(s *Spec) string {
	if s.Failure != nil && s.Failure.Message != "" {
		return s.Failure.Message
	}
	if s.Reason != "" {
		return s.Reason
	}
	return string(s.Outcome)
}

// details is the plain-text body used by JUnit and the terminal: failure,
// expected/observed, budget and the transcript's summaries.
func details(s *Spec) string {
	var b strings.Builder
	if s.Failure != nil {
		if s.Failure.Message != "" {
			fmt.Fprintf(&b, "%s\n", s.Failure.Message)
		}
		if s.Failure.Location != "" {
			fmt.Fprintf(&b, "at %s\n", s.Failure.Location)
		}
		if s.Failure.Panic != "" {
			fmt.Fprintf(&b, "panic: %s\n", s.Failure.Panic)
		}
	}
	field := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s:\n%s\n", name, indent(v, "  "))
		}
	}
	field("expected", s.Expected)
	field("observed", s.Observed)
	field("budget", s.Budget)
	field("measured", s.Measured)
	field("testee", s.Testee)
	field("net", s.Net.Text())
	if len(s.Transcript) > 0 {
		fmt.Fprintf(&b, "transcript (%d events):\n", len(s.Transcript))
		for _, e := range s.Transcript {
			fmt.Fprintf(&b, "  %s\n", e.Line())
		}
	}
	if s.TranscriptError != "" {
		fmt.Fprintf(&b, "transcript error: %s\n", s.TranscriptError)
	}
	return strings.TrimRight(b.String(), "\n")
}

// Line renders e as one line: time, connection, direction, kind, summary.
func (e TranscriptEvent) Line() string {
	return fmt.Sprintf("%10s #%d %-5s %-13s %s", fmtAt(e.At), e.Conn, dirArrow(e.Dir), e.Kind, e.Summary)
}

func fmtAt(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}

func dirArrow(dir string) string {
	switch dir {
	case "c2s":
		return "c→s"
	case "s2c":
		return "s→c"
	case "local":
		return "·"
	}
	return dir
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
