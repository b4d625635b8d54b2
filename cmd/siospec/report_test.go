package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

func ginkgoFixture(t *testing.T, dir string, failHS02 bool) string {
	t.Helper()
	mk := func(id, level, text string, state types.SpecState, msg string) types.SpecReport {
		return types.SpecReport{
			ContainerHierarchyTexts:  []string{"Engine.IO v4 handshake"},
			ContainerHierarchyLabels: [][]string{{"proto:EIO4", "area:handshake"}},
			LeafNodeType:             types.NodeTypeIt,
			LeafNodeText:             text + " [" + id + "]",
			LeafNodeLabels:           []string{"req:" + id, "level:" + level},
			State:                    state,
			Failure:                  types.Failure{Message: msg},
			RunTime:                  time.Millisecond,
		}
	}
	st, msg := types.SpecStatePassed, ""
	if failHS02 {
		st, msg = types.SpecStateFailed, "extra key"
	}
	r := types.Report{SuiteDescription: "x", SpecReports: types.SpecReports{
		mk("EIO-HS-01", "MUST", "answers", types.SpecStatePassed, ""),
		mk("EIO-HS-02", "MUST", "five keys", st, msg),
		mk("EIO-HS-05", "SHOULD", "sid", types.SpecStateFailed, "bad sid"),
	}}
	b, err := json.Marshal([]types.Report{r})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ginkgo.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runR(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := runReport(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestReportCLI(t *testing.T) {
	dir := t.TempDir()
	okDir, failDir := filepath.Join(dir, "ok"), filepath.Join(dir, "fail")
	g := ginkgoFixture(t, dir, false)
	if code, out, errs := runR("render", "--ginkgo", g, "--out", okDir, "--seed", "7", "--target", "http://x"); code != 0 {
		t.Fatalf("render ok run: %d %s %s", code, out, errs)
	}
	g2 := ginkgoFixture(t, t.TempDir(), true)
	if code, _, errs := runR("render", "--ginkgo", g2, "--out", failDir); code != 1 {
		t.Fatalf("render failing run: %d %s", code, errs)
	}
	exp := filepath.Join(dir, "expect.txt")
	os.WriteFile(exp, []byte("eio4 EIO-HS-02 known\n"), 0o644)
	if code, _, errs := runR("render", "--ginkgo", g2, "--out", filepath.Join(dir, "exp"), "--expect-failures", exp); code != 0 {
		t.Fatalf("render with baseline: %d %s", code, errs)
	}
	// An entry for another suite does not hide the eio4 failure.
	os.WriteFile(exp, []byte("eio3 EIO-HS-02 known on v3\n"), 0o644)
	if code, _, errs := runR("render", "--ginkgo", g2, "--out", filepath.Join(dir, "exp3"), "--expect-failures", exp); code != 1 {
		t.Fatalf("render with an eio3 baseline: %d %s", code, errs)
	}
	// The former "<ID> <reason>" form is a usage error that shows the format.
	os.WriteFile(exp, []byte("# old\nEIO-HS-02 known\n"), 0o644)
	if code, _, errs := runR("render", "--ginkgo", g2, "--out", filepath.Join(dir, "old"), "--expect-failures", exp); code != 4 ||
		!strings.Contains(errs, "line 2") || !strings.Contains(errs, "<suite> <ID> <reason>") {
		t.Fatalf("render with an old-format baseline: %d %s", code, errs)
	}
	if code, _, errs := runR("render", "--ginkgo", g, "--out", filepath.Join(dir, "strict"), "--strict"); code != 1 {
		t.Fatalf("render strict: %d %s", code, errs)
	}
	// re-render from report.json
	if code, _, errs := runR("render", "--in", filepath.Join(failDir, "report.json"), "--out", filepath.Join(dir, "re")); code != 1 {
		t.Fatalf("re-render: %d %s", code, errs)
	}
	a, _ := os.ReadFile(filepath.Join(failDir, "junit.xml"))
	b, _ := os.ReadFile(filepath.Join(dir, "re", "junit.xml"))
	if !bytes.Equal(a, b) {
		t.Error("re-rendered junit differs")
	}
	code, out, _ := runR("compare", filepath.Join(okDir, "report.json"), filepath.Join(failDir, "report.json"))
	if code != 1 || !strings.Contains(out, "newly failing (1)") || !strings.Contains(out, "EIO-HS-02") {
		t.Errorf("compare ok→fail: %d\n%s", code, out)
	}
	code, out, _ = runR("compare", "--markdown", filepath.Join(failDir, "report.json"), filepath.Join(okDir, "report.json"))
	if code != 0 || !strings.Contains(out, "### Newly passing (1)") {
		t.Errorf("compare fail→ok: %d\n%s", code, out)
	}
	code, out, _ = runR("show", filepath.Join(failDir, "report.json"))
	if code != 1 || !strings.Contains(out, "FAIL EIO-HS-02") || !strings.Contains(out, "reproduce:") {
		t.Errorf("show: %d\n%s", code, out)
	}
	code, out, _ = runR("show", filepath.Join(okDir, "report.json"), "--markdown")
	if code != 0 || !strings.Contains(out, "## ✅ siospec: PASS") || !strings.Contains(out, "--url http://x") {
		t.Errorf("show markdown: %d\n%s", code, out)
	}
	for _, bad := range [][]string{
		nil, {"frobnicate"}, {"render"}, {"render", "--out", dir}, {"render", "--in", "a", "--ginkgo", "b", "--out", dir},
		{"render", "--in", "a", "--out", dir, "--seed", "3"}, {"render", "--bogus"}, {"compare", "a"}, {"show"},
		{"show", "a", "b"}, {"render", "--ginkgo", g, "--out", dir, "--time-scale", "0"},
	} {
		if code, _, _ := runR(bad...); code != 4 {
			t.Errorf("%v: exit %d, want 4", bad, code)
		}
	}
	if code, _, errs := runR("show", filepath.Join(dir, "missing.json")); code != 2 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: %d %s", code, errs)
	}
	if code, out, _ := runR("--help"); code != 0 || !strings.Contains(out, "usage:") {
		t.Errorf("help: %d", code)
	}
	if code, _, _ := runR("render", "-h"); code != 0 {
		t.Errorf("render -h: %d", code)
	}
}
