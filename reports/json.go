package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// SchemaError reports a report.json whose "schema" field this package does
// not understand.
type SchemaError struct {
	Path   string // the file read, if any
	Schema string // the schema found ("" when the field is missing)
}

func (e *SchemaError) Error() string {
	if e.Schema == "" {
		return fmt.Sprintf("reports: %s has no schema field; want %q", e.Path, SchemaV1)
	}
	return fmt.Sprintf("reports: %s has schema %q; want %q", e.Path, e.Schema, SchemaV1)
}

// WriteJSON writes r as indented report.json content.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	return nil
}

// Load reads a report.json written by [Report.WriteFiles]. It checks the
// schema and recomputes the derived fields (counts, verdict, exit code), so
// a hand-edited file cannot disagree with its own specs.
func Load(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load report: %w", err)
	}
	r, err := Decode(bytes.NewReader(b))
	var se *SchemaError
	if errors.As(err, &se) {
		se.Path = path
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Decode reads report.json content from rd; see [Load].
func Decode(rd io.Reader) (*Report, error) {
	var probe struct {
		Schema *string `json:"schema"`
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	if probe.Schema == nil || *probe.Schema != SchemaV1 {
		se := &SchemaError{Path: "report"}
		if probe.Schema != nil {
			se.Schema = *probe.Schema
		}
		return nil, se
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	for i := range r.Specs {
		if !knownOutcome(r.Specs[i].Outcome) {
			return nil, fmt.Errorf("decode report: spec %q has unknown outcome %q", r.Specs[i].Title(), r.Specs[i].Outcome)
		}
	}
	if r.Specs == nil {
		r.Specs = []Spec{}
	}
	r.finish()
	return &r, nil
}

func knownOutcome(o Outcome) bool {
	for _, k := range Outcomes() {
		if o == k {
			return true
		}
	}
	return false
}

// File names written by [Report.WriteFiles].
const (
	FileJSON    = "report.json"
	FileJUnit   = "junit.xml"
	FileSummary = "summary.md"
	FileHTML    = "index.html"
)

// WriteFiles writes report.json, junit.xml, summary.md and index.html into
// dir, creating it if needed. Each file is written to a temporary name and
// renamed, so a reader never sees half a file.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{FileJSON, r.WriteJSON},
		{FileJUnit, r.WriteJUnit},
		{FileSummary, r.WriteSummary},
		{FileHTML, r.WriteHTML},
	}
	var errs []error
	for _, f := range files {
		if err := writeAtomic(filepath.Join(dir, f.name), f.write); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func writeAtomic(path string, write func(io.Writer) error) (err error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return fmt.Errorf("render %s: %w", filepath.Base(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
