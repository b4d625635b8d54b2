package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Change is one spec whose outcome differs between two reports. Old or New
// is empty when the spec is absent from that report.
type Change struct {
	ID   string
	Name string
	Old  Outcome
	New  Outcome
	// OldGating and NewGating say whether the outcome gated its run.
	OldGating, NewGating bool
}

// Diff is the difference between two runs, spec by spec (a spec is its
// requirement ID plus full name).
type Diff struct {
	// NewlyFailing lists specs that gate the new run but did not gate the
	// old one (including specs that are new).
	NewlyFailing []Change
	// NewlyPassing lists specs that pass now and did not before (fail,
	// non-strict or harness-error).
	NewlyPassing []Change
	// Changed lists every other outcome change, including specs added or
	// removed.
	Changed []Change
}

// HasNewFailures reports whether the new run gates on a spec the old run
// did not gate on.
func (d Diff) HasNewFailures() bool { return len(d.NewlyFailing) > 0 }

// Empty reports whether the two runs have the same outcomes.
func (d Diff) Empty() bool {
	return len(d.NewlyFailing) == 0 && len(d.NewlyPassing) == 0 && len(d.Changed) == 0
}

// Compare diffs the outcomes of two reports. Either may be nil (treated as
// an empty run).
func Compare(old, cur *Report) Diff {
	type key struct{ id, name string }
	index := func(r *Report) map[key]*Spec {
		m := map[key]*Spec{}
		if r == nil {
			return m
		}
		for i := range r.Specs {
			s := &r.Specs[i]
			m[key{s.ID, s.Name}] = s
		}
		return m
	}
	om, nm := index(old), index(cur)
	keys := make([]key, 0, len(om)+len(nm))
	for k := range om {
		keys = append(keys, k)
	}
	for k := range nm {
		if _, ok := om[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].id != keys[j].id {
			return keys[i].id < keys[j].id
		}
		return keys[i].name < keys[j].name
	})
	var d Diff
	for _, k := range keys {
		o, n := om[k], nm[k]
		c := Change{ID: k.id, Name: k.name}
		if o != nil {
			c.Old, c.OldGating = o.Outcome, o.Gating()
		}
		if n != nil {
			c.New, c.NewGating = n.Outcome, n.Gating()
		}
		switch {
		case c.NewGating && !c.OldGating:
			d.NewlyFailing = append(d.NewlyFailing, c)
		case c.Old == c.New && c.OldGating == c.NewGating:
			// unchanged
		case c.New == Pass && (c.Old == Fail || c.Old == NonStrict || c.Old == HarnessError):
			d.NewlyPassing = append(d.NewlyPassing, c)
		default:
			d.Changed = append(d.Changed, c)
		}
	}
	return d
}

func (c Change) outcomes() string {
	show := func(o Outcome, gating bool, exists bool) string {
		if !exists {
			return "(absent)"
		}
		if o == Fail && !gating {
			return "fail (expected)"
		}
		return string(o)
	}
	return show(c.Old, c.OldGating, c.Old != "") + " → " + show(c.New, c.NewGating, c.New != "")
}

func (c Change) label() string {
	id := c.ID
	if id == "" {
		id = "(no requirement)"
	}
	return id
}

// WriteText writes d for a terminal.
func (d Diff) WriteText(w io.Writer) error {
	var b strings.Builder
	if d.Empty() {
		b.WriteString("no outcome changes\n")
	}
	group := func(title string, cs []Change) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s (%d):\n", title, len(cs))
		for _, c := range cs {
			fmt.Fprintf(&b, "  %-14s %-28s %s\n", c.label(), c.outcomes(), c.Name)
		}
	}
	group("newly failing", d.NewlyFailing)
	group("newly passing", d.NewlyPassing)
	group("changed", d.Changed)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write diff: %w", err)
	}
	return nil
}

// WriteMarkdown writes d as a Markdown section (for CI job summaries).
func (d Diff) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("## siospec: changes since the baseline\n\n")
	if d.Empty() {
		b.WriteString("No outcome changes.\n")
	}
	group := func(title string, cs []Change) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(&b, "### %s (%d)\n\n| requirement | outcome | spec |\n|---|---|---|\n", title, len(cs))
		for _, c := range cs {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdText(c.label()), mdText(c.outcomes()), mdText(c.Name))
		}
		b.WriteString("\n")
	}
	group("Newly failing", d.NewlyFailing)
	group("Newly passing", d.NewlyPassing)
	group("Changed", d.Changed)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write diff: %w", err)
	}
	return nil
}
