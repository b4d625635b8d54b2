package suites

import (
	"path/filepath"
	"testing"
)

// TestExpectedFailureFiles: every expected-failures file of testdata
// parses in the format of `siospec server --expect-failures` and names the
// suite each entry applies to.
func TestExpectedFailureFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/expected-failures-*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no expected-failures files: %v", err)
	}
	for _, f := range files {
		for _, e := range loadExpected(t, f) {
			if e.Suite == "" || e.ID == "" || e.Reason == "" {
				t.Errorf("%s line %d: incomplete entry %+v", f, e.Line, e)
			}
		}
	}
	by := loadExpectedBySuite(t, expectedNodeFiles)
	if _, ok := by["SIO4"]["SIO-ENC-07"]; !ok {
		t.Errorf("sio4 SIO-ENC-07 missing: %v", by)
	}
	if _, ok := by["SIO5"]["SIO-ENC-07"]; ok {
		t.Errorf("the sio4 entry SIO-ENC-07 leaked into sio5: %v", by)
	}
}
