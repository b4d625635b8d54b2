package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

//go:embed index.html.tmpl
var indexTemplateText string

// indexTemplate is parsed once per call; it is small and keeping it local
// avoids package-level mutable state.
func indexTemplate() (*template.Template, error) {
	return template.New("index").Funcs(template.FuncMap{
		"short":     short,
		"shortName": shortName,
	}).Parse(indexTemplateText)
}

type htmlPage struct {
	R            *Report
	Verdict      string
	VerdictClass string
	Headline     string
	Started      string
	Duration     string
	Preflight    [][2]string
	OutcomeChips []chip
	Areas        []string
	Levels       []string
	Protos       []string
	Rows         []htmlRow
	Details      []htmlDetail
	Reproduce    string
}

type chip struct {
	Outcome Outcome
	Count   int
}

type htmlRow struct {
	Index     int
	S         *Spec
	Search    string
	HasDetail bool
	Duration  string
}

type htmlDetail struct {
	Index  int
	S      *Spec
	Events []htmlEvent
}

type htmlEvent struct {
	At        string
	Conn      int
	Dir       string
	Arrow     string
	Kind      string
	Summary   string
	Size      int
	Hex       string
	Truncated bool
}

// maxHexBytes caps how many raw bytes of one event the page dumps.
const maxHexBytes = 16 << 10

// WriteHTML writes index.html: one self-contained page (inline CSS and
// script, no network) with the requirement table, its filters, and the
// details and wire transcript of every failure. Every value is escaped by
// html/template.
func (r *Report) WriteHTML(w io.Writer) error {
	t, err := indexTemplate()
	if err != nil {
		return fmt.Errorf("parse html template: %w", err)
	}
	p := htmlPage{
		R:         r,
		Verdict:   strings.ToUpper(verdictFor(r.ExitCode())),
		Headline:  r.countLine(),
		Duration:  roundDuration(r.Duration),
		Reproduce: r.ReproduceCommand(),
	}
	p.VerdictClass = "v-" + verdictFor(r.ExitCode())
	p.Verdict = strings.ReplaceAll(p.Verdict, "-", " ")
	if !r.Started.IsZero() {
		p.Started = r.Started.UTC().Format("2006-01-02 15:04:05 MST")
	}
	for _, k := range sortedKeys(r.Target.Preflight, nil) {
		p.Preflight = append(p.Preflight, [2]string{k, r.Target.Preflight[k]})
	}
	for _, o := range Outcomes() {
		if n := r.Counts.ByOutcome[o]; n > 0 {
			p.OutcomeChips = append(p.OutcomeChips, chip{o, n})
		}
	}
	areas, levels, protos := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i := range r.Specs {
		s := &r.Specs[i]
		areas[s.Area], levels[s.Level], protos[s.Proto] = true, true, true
		row := htmlRow{
			Index:     i,
			S:         s,
			HasDetail: hasDetail(s),
			Duration:  roundDuration(s.Duration),
			Search: strings.ToLower(strings.Join([]string{
				s.ID, s.Name, s.Level, s.Proto, s.Transport, s.Area, string(s.Outcome), s.Reason,
				strings.Join(s.Labels, " "),
			}, " ")),
		}
		p.Rows = append(p.Rows, row)
		if row.HasDetail {
			p.Details = append(p.Details, htmlDetail{Index: i, S: s, Events: htmlEvents(s.Transcript)})
		}
	}
	p.Areas = nonEmptyKeys(areas, nil)
	p.Levels = nonEmptyKeys(levels, Levels())
	p.Protos = nonEmptyKeys(protos, nil)
	if err := t.Execute(w, p); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}

// hasDetail reports whether the page shows a details card for s: every
// fail, non-strict and harness-error result, and unexpected passes.
func hasDetail(s *Spec) bool {
	switch s.Outcome {
	case Fail, NonStrict, HarnessError:
		return true
	}
	return s.UnexpectedPass || s.Net != nil
}

func htmlEvents(evs []TranscriptEvent) []htmlEvent {
	out := make([]htmlEvent, 0, len(evs))
	for _, e := range evs {
		out = append(out, htmlEvent{
			At:        fmtAt(e.At),
			Conn:      e.Conn,
			Dir:       e.Dir,
			Arrow:     dirArrow(e.Dir),
			Kind:      e.Kind,
			Summary:   e.Summary,
			Size:      len(e.Data),
			Hex:       hexDump(e.Data, maxHexBytes),
			Truncated: e.Truncated,
		})
	}
	return out
}

func nonEmptyKeys(m map[string]bool, known []string) []string {
	delete(m, "")
	return sortedKeys(m, known)
}

// hexDump renders b as offset, 16 hex bytes and their printable ASCII, one
// line per 16 bytes, cut at limit bytes.
func hexDump(b []byte, limit int) string {
	if len(b) == 0 {
		return ""
	}
	total := len(b)
	if total > limit {
		b = b[:limit]
	}
	var sb strings.Builder
	for off := 0; off < len(b); off += 16 {
		end := min(off+16, len(b))
		fmt.Fprintf(&sb, "%08x  ", off)
		for i := off; i < off+16; i++ {
			if i < end {
				fmt.Fprintf(&sb, "%02x ", b[i])
			} else {
				sb.WriteString("   ")
			}
			if i == off+7 {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(" |")
		for _, c := range b[off:end] {
			if c >= 0x20 && c < 0x7f {
				sb.WriteByte(c)
			} else {
				sb.WriteByte('.')
			}
		}
		sb.WriteString("|\n")
	}
	if total > len(b) {
		fmt.Fprintf(&sb, "… %d more bytes not shown\n", total-len(b))
	}
	return sb.String()
}

// roundDuration prints d compactly: 412ms, 1.25s, 2m3s.
func roundDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 0, 64) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
	}
	return d.Round(time.Second).String()
}
