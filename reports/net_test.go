package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// TestNetEntry: a siospec.net entry becomes Spec.Net in the model, survives
// report.json, and shows in summary.md, index.html and junit.xml for a
// passing spec as well as a failing one; a malformed entry is recorded, not
// fatal.
func TestNetEntry(t *testing.T) {
	net := Net{Profile: "server-crash", Crash: "process", Summary: "up: 37 of 40 delivered, 3 lost (seq 12-14)",
		Measures: json.RawMessage(`{"up":{"sent":40,"delivered":37,"lost":3}}`), Decisions: json.RawMessage(`[{"seq":1,"fault":"x","action":"down"}]`)}
	b, err := json.Marshal(net)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(text, id string, val string, failed bool) types.SpecReport {
		sr := types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: text + " [" + id + "]", LeafNodeLabels: []string{"req:" + id, "level:MUST", "proto:NET"},
			State: types.SpecStatePassed, StartTime: time.Unix(0, 0), EndTime: time.Unix(1, 0)}
		if failed {
			sr.State = types.SpecStateFailed
			sr.Failure = types.Failure{Message: "lost events"}
		}
		sr.ReportEntries = []types.ReportEntry{{Name: EntryNet, Value: types.WrapEntryValue(val)}}
		return sr
	}
	gr := types.Report{SuiteDescription: "siospec", SuiteSucceeded: false, SpecReports: types.SpecReports{
		mk("crash passes", "NET-CRASH-03", string(b), false),
		mk("crash fails", "NET-CRASH-04", string(b), true),
		mk("broken entry", "NET-FW-01", "{not json", false),
	}}
	r := FromGinkgo(gr, Meta{})
	for i := range 2 {
		if n := r.Specs[i].Net; n == nil || n.Crash != "process" || n.Profile != "server-crash" {
			t.Fatalf("spec %d net = %+v", i, n)
		}
	}
	if r.Specs[2].Net != nil || !strings.Contains(r.Specs[2].TranscriptError, "siospec.net") {
		t.Errorf("malformed entry: net %+v, error %q", r.Specs[2].Net, r.Specs[2].TranscriptError)
	}
	var js bytes.Buffer
	if err := json.NewEncoder(&js).Encode(r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Specs[0].Net == nil || string(back.Specs[0].Net.Measures) != string(net.Measures) {
		t.Fatalf("round trip: %v %+v", err, back.Specs[0].Net)
	}
	var md, html, junit bytes.Buffer
	if err := r.WriteSummary(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"summary": md.String(), "html": html.String(), "junit": junit.String()} {
		if !strings.Contains(out, "3 lost (seq 12-14)") || !strings.Contains(out, "process crash") {
			t.Errorf("%s lacks the net measures:\n%s", name, out)
		}
	}
	if !strings.Contains(md.String(), "NET-CRASH-03") {
		t.Errorf("summary lists no measures of the passing spec:\n%s", md.String())
	}
}
