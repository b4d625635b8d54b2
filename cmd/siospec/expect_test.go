package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siospec/siospec/reports"
)

// TestServerExpectationsAndExtended: `siospec server` against the built-in
// sio5 reference prints the preflight's extended-contract answer, records
// it in the report header, and lists on stderr and in report.json the
// expected-failure entries that matched no spec (an entry for a suite that
// did not run, an ID with no spec), but not an entry whose spec passed.
func TestServerExpectationsAndExtended(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the reference")
	}
	dir := t.TempDir()
	exp := filepath.Join(dir, "expect.txt")
	if err := os.WriteFile(exp, []byte("# baseline\nsio5 SIO-CONN-02 listed, passes\nsio4 SIO-CONN-02 sio4 did not run\nsio5 SIO-NOPE-01 no such requirement\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"server", "--suite", "sio5", "--label-filter", "req: containsAny {SIO-CONN-02}",
		"--expect-failures", exp, "--report-dir", dir}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "extended contract yes") {
		t.Errorf("stdout does not show the extended-contract probe:\n%s", stdout.String())
	}
	for _, want := range []string{"line 3: sio4 SIO-CONN-02 matched no spec", "line 4: sio5 SIO-NOPE-01 matched no spec"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "line 2:") {
		t.Errorf("stderr lists the matched entry:\n%s", stderr.String())
	}
	r, err := reports.Load(filepath.Join(dir, reports.FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	if r.Target.Preflight["sio5.extended"] != "yes" {
		t.Errorf("report header preflight: %v", r.Target.Preflight)
	}
	var got []string
	for _, e := range r.Unmatched {
		got = append(got, e.String())
	}
	if want := "sio4 SIO-CONN-02 sio4 did not run|sio5 SIO-NOPE-01 no such requirement"; strings.Join(got, "|") != want {
		t.Errorf("unmatched_expectations = %q, want %q", got, want)
	}
	if len(r.UnexpectedPass) != 1 || r.UnexpectedPass[0] != "SIO-CONN-02" {
		t.Errorf("unexpected passes %v", r.UnexpectedPass)
	}
	md, _ := os.ReadFile(filepath.Join(dir, reports.FileSummary))
	if !strings.Contains(string(md), "Expected failures that matched no spec") {
		t.Errorf("summary.md:\n%s", md)
	}
}
