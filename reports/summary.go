package reports

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxSummaryLines caps each list in summary.md, which CI systems limit in
// size (GitHub step summaries: 1 MiB).
const maxSummaryLines = 100

// maxShort caps the expected/observed excerpts in one-line listings.
const maxShort = 90

// WriteSummary writes summary.md: a Markdown job summary for CI (GitHub's
// $GITHUB_STEP_SUMMARY renders it as is).
func (r *Report) WriteSummary(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", r.verdictLine(true))
	fmt.Fprintf(&b, "Target `%s`", codeText(orDash(r.Target.URL)))
	if r.Target.Role != "" {
		fmt.Fprintf(&b, " (%s)", mdText(r.Target.Role))
	}
	fmt.Fprintf(&b, " · seed `%d` · time scale `%s` · strict: %s · harness `%s`\n\n",
		r.Seed, strconv.FormatFloat(r.TimeScale, 'g', -1, 64), yesNo(r.Strict), codeText(orDash(r.HarnessVersion)))
	if len(r.Target.Preflight) > 0 {
		b.WriteString("Preflight:")
		for i, k := range sortedKeys(r.Target.Preflight, nil) {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s %s `%s`", sep, mdText(k), codeText(r.Target.Preflight[k]))
		}
		b.WriteString("\n\n")
	}
	for _, p := range r.Suite.Problems {
		fmt.Fprintf(&b, "> **Suite problem:** %s\n\n", mdText(p))
	}

	b.WriteString("### Results by level\n\n")
	writeCountTable(&b, "level", r.Counts.ByLevel, Levels())
	b.WriteString("\n### Results by area\n\n")
	writeCountTable(&b, "area", r.Counts.ByArea, nil)

	section := func(title string, pick func(*Spec) bool, line func(*Spec) string) {
		var lines []string
		for i := range r.Specs {
			if pick(&r.Specs[i]) {
				lines = append(lines, line(&r.Specs[i]))
			}
		}
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n### %s (%d)\n\n", title, len(lines))
		for i, l := range lines {
			if i == maxSummaryLines {
				fmt.Fprintf(&b, "- … and %d more (see index.html or report.json)\n", len(lines)-i)
				break
			}
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	list := func(title string, n int, line func(int) string) {
		if n == 0 {
			return
		}
		fmt.Fprintf(&b, "\n### %s (%d)\n\n", title, n)
		for i := range n {
			if i == maxSummaryLines {
				fmt.Fprintf(&b, "- … and %d more (see report.json)\n", n-i)
				break
			}
			fmt.Fprintf(&b, "- %s\n", line(i))
		}
	}
	section("Failed requirements", (*Spec).Gating, failLine)
	nv := r.NotVerified()
	list("Not verified (MUST/SHOULD requirements whose every spec was unsupported)", len(nv), func(i int) string {
		u := nv[i]
		return fmt.Sprintf("**%s** %s (%s) — not verified: %d unsupported spec(s), %s", mdText(u.ID), u.Level, mdText(orDash(u.Proto)), u.Specs, mdText(short(u.Reason)))
	})
	section("Harness errors", func(s *Spec) bool { return s.Outcome == HarnessError }, func(s *Spec) string {
		return fmt.Sprintf("%s — %s", specRef(s), mdText(short(failureMessage(s))))
	})
	section("Non-strict (not met, does not gate)", func(s *Spec) bool {
		return s.Outcome == NonStrict && !s.ExpectedFailure
	}, failLine)
	section("Expected failures (baseline, do not gate)", func(s *Spec) bool { return s.ExpectedFailure }, func(s *Spec) string {
		return fmt.Sprintf("%s — %s", specRef(s), mdText(short(s.ExpectedReason)))
	})
	section("Unexpected passes (remove from the baseline)", func(s *Spec) bool { return s.UnexpectedPass }, func(s *Spec) string {
		return fmt.Sprintf("%s — listed as: %s", specRef(s), mdText(short(s.ExpectedReason)))
	})
	list("Expected failures that matched no spec (neither failed nor passed; fix or remove them)", len(r.Unmatched), func(i int) string {
		e := r.Unmatched[i]
		at := ""
		if e.Line > 0 {
			at = fmt.Sprintf(" (line %d)", e.Line)
		}
		return fmt.Sprintf("`%s %s`%s — %s", codeText(e.Suite), codeText(e.ID), at, mdText(short(e.Reason)))
	})
	section("Network measures (net suite)", func(s *Spec) bool { return s.Net != nil }, func(s *Spec) string {
		return fmt.Sprintf("%s %s — %s", specRef(s), s.Outcome, mdText(strings.ReplaceAll(s.Net.Text(), "\n", "; ")))
	})
	section("Unsupported", func(s *Spec) bool { return s.Outcome == Unsupported }, func(s *Spec) string {
		return fmt.Sprintf("%s — %s", specRef(s), mdText(short(s.Reason)))
	})

	b.WriteString("\n### Reproduce\n\n```sh\n")
	b.WriteString(r.ReproduceCommand())
	b.WriteString("\n```\n")
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// verdictLine is the one-line headline, with an emoji for Markdown.
func (r *Report) verdictLine(emoji bool) string {
	var head string
	switch r.ExitCode() {
	case ExitOK:
		head = "PASS"
		if emoji {
			head = "✅ siospec: PASS"
		}
	case ExitFailures:
		head = "FAIL"
		if emoji {
			head = "❌ siospec: FAIL"
		}
	default:
		head = "HARNESS ERROR"
		if emoji {
			head = "⚠️ siospec: HARNESS ERROR"
		}
	}
	return head + " — " + r.countLine()
}

// countLine is "15 specs, 3 failing, 4 non-strict, ...".
func (r *Report) countLine() string {
	c := r.Counts
	parts := []string{fmt.Sprintf("%d specs", c.Total)}
	if c.Gating > 0 {
		parts = append(parts, fmt.Sprintf("%d failing", c.Gating))
	}
	for _, o := range []Outcome{HarnessError, NonStrict, Unsupported, Skipped, Pass} {
		if n := c.ByOutcome[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	if c.Expected > 0 {
		noun := "expected failures"
		if c.Expected == 1 {
			noun = "expected failure"
		}
		parts = append(parts, fmt.Sprintf("%d %s", c.Expected, noun))
	}
	return strings.Join(parts, ", ")
}

func writeCountTable(b *strings.Builder, what string, m map[string]map[Outcome]int, known []string) {
	if len(m) == 0 {
		b.WriteString("_no specs_\n")
		return
	}
	fmt.Fprintf(b, "| %s | total |", what)
	for _, o := range Outcomes() {
		fmt.Fprintf(b, " %s |", o)
	}
	b.WriteString("\n|---|---:|")
	for range Outcomes() {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, k := range sortedKeys(m, known) {
		total := 0
		for _, n := range m[k] {
			total += n
		}
		fmt.Fprintf(b, "| %s | %d |", mdText(k), total)
		for _, o := range Outcomes() {
			if n := m[k][o]; n > 0 {
				fmt.Fprintf(b, " %d |", n)
			} else {
				b.WriteString(" · |")
			}
		}
		b.WriteString("\n")
	}
}

func failLine(s *Spec) string {
	line := fmt.Sprintf("%s — %s", specRef(s), mdText(short(shortName(s))))
	exp, obs := short(s.Expected), short(s.Observed)
	if exp == "" && obs == "" {
		obs = short(failureMessage(s))
	}
	if exp != "" {
		line += " — expected: " + mdText(exp)
	}
	if obs != "" {
		line += " — observed: " + mdText(obs)
	}
	return line
}

// specRef is "**ID** LEVEL (proto, transport)".
func specRef(s *Spec) string {
	id := s.ID
	if id == "" {
		id = "(no requirement)"
	}
	ref := "**" + mdText(id) + "**"
	if s.Level != "" {
		ref += " " + s.Level
	}
	var ctx []string
	for _, v := range []string{s.Proto, s.Transport} {
		if v != "" {
			ctx = append(ctx, mdText(v))
		}
	}
	if len(ctx) > 0 {
		ref += " (" + strings.Join(ctx, ", ") + ")"
	}
	return ref
}

// ReproduceCommand is the shell command that reruns this run with the same
// seed: the recorded command line (with --seed added when it lacks one), or
// a siospec invocation rebuilt from the report's fields.
func (r *Report) ReproduceCommand() string {
	args := append([]string(nil), r.Command...)
	if len(args) == 0 {
		role := r.Target.Role
		if role == "" {
			role = "server"
		}
		args = []string{"siospec", role}
		if r.Target.URL != "" {
			flag := "--url"
			if role == "client" {
				flag = "--exec"
			}
			args = append(args, flag, r.Target.URL)
		}
		if r.Strict {
			args = append(args, "--strict")
		}
		if r.TimeScale != 1 && r.TimeScale != 0 {
			args = append(args, "--time-scale", strconv.FormatFloat(r.TimeScale, 'g', -1, 64))
		}
	}
	hasSeed := false
	for _, a := range args {
		if a == "--seed" || a == "-seed" || strings.HasPrefix(a, "--seed=") || strings.HasPrefix(a, "-seed=") {
			hasSeed = true
		}
	}
	if !hasSeed {
		args = append(args, "--seed", strconv.FormatInt(r.Seed, 10))
	}
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:=,@%+", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// short returns the first line of s, cut to maxShort runes.
func short(s string) string {
	s = firstLine(s)
	if r := []rune(s); len(r) > maxShort {
		return string(r[:maxShort-1]) + "…"
	}
	return s
}

// mdText escapes s for inline Markdown (GitHub flavour, which also renders
// raw HTML, so <, > and & become entities).
func mdText(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '`', '*', '_', '[', ']', '|', '~', '#':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// codeText makes s safe inside a single-backtick code span.
func codeText(s string) string {
	s = strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// WriteText writes a terminal summary: the verdict, counts, and for every
// gating failure, harness error and non-strict result its details.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "siospec %s\n", r.verdictLine(false))
	fmt.Fprintf(&b, "target %s  seed %d  time-scale %s  strict %s  harness %s\n",
		orDash(r.Target.URL), r.Seed, strconv.FormatFloat(r.TimeScale, 'g', -1, 64), yesNo(r.Strict), orDash(r.HarnessVersion))
	for _, p := range r.Suite.Problems {
		fmt.Fprintf(&b, "suite problem: %s\n", p)
	}
	for _, o := range []Outcome{Fail, HarnessError, NonStrict, Unsupported} {
		for i := range r.Specs {
			s := &r.Specs[i]
			if s.Outcome != o {
				continue
			}
			tag := strings.ToUpper(string(o))
			if s.ExpectedFailure {
				tag += " (expected: " + s.ExpectedReason + ")"
			}
			fmt.Fprintf(&b, "\n%s %s %s %s\n", tag, orDash(s.ID), s.Level, shortName(s))
			if o == Unsupported {
				fmt.Fprintf(&b, "  %s\n", s.Reason)
				continue
			}
			if d := details(s); d != "" {
				fmt.Fprintf(&b, "%s\n", indent(d, "  "))
			}
		}
	}
	for _, id := range r.UnexpectedPass {
		fmt.Fprintf(&b, "\nUNEXPECTED PASS %s (listed as an expected failure)\n", id)
	}
	fmt.Fprintf(&b, "\nreproduce: %s\n", r.ReproduceCommand())
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write text summary: %w", err)
	}
	return nil
}
