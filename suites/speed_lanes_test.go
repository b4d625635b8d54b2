package suites

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// The claim server hands each spec to the first lane that asks, serial
// specs to lane 0 only, refuses lanes whose trees differ, and reports a
// claimed spec that never finished.
func TestLaneServer(t *testing.T) {
	var events []laneEvent
	s, err := startLaneServer(2, func(ev laneEvent) { events = append(events, ev) })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l0 := &laneClient{url: s.url, lane: 0, hc: &http.Client{}}
	l1 := &laneClient{url: s.url, lane: 1, hc: &http.Client{}}
	claim := func(c *laneClient, n, text, serial string) string {
		t.Helper()
		ans, err := c.post(t.Context(), "/claim", url.Values{"n": {n}, "text": {text}, "serial": {serial}})
		if err != nil {
			return "error: " + err.Error()
		}
		return ans
	}
	for _, c := range []struct {
		lane            *laneClient
		n, text, serial string
		want            string
	}{
		{l1, "1", "a", "0", "run"},
		{l0, "1", "a", "0", "skip"},
		{l0, "2", "b", "1", "run"},
		{l1, "2", "b", "1", "skip"},
		{l1, "3", "c", "1", "skip"}, // serial: lane 0's, even if lane 1 asks first
		{l0, "3", "c", "1", "run"},
		{l1, "4", "d", "0", "run"},
	} {
		if got := claim(c.lane, c.n, c.text, c.serial); got != c.want {
			t.Errorf("lane %d claims %s: %s, want %s", c.lane.lane, c.n, got, c.want)
		}
	}
	if got := claim(l0, "4", "not d", "0"); !strings.Contains(got, "trees differ") {
		t.Errorf("a different spec at the same place: %s", got)
	}
	for _, n := range []string{"1", "2", "3"} {
		if _, err := l0.post(t.Context(), "/done", url.Values{"n": {n}}); err != nil {
			t.Fatal(err)
		}
	}
	err = s.check()
	if err == nil || !strings.Contains(err.Error(), `"d" in lane 1`) {
		t.Errorf("check with spec 4 unfinished: %v", err)
	}
	if _, err := l1.post(t.Context(), "/done", url.Values{"n": {"4"}, "failed": {"1"}, "text": {"d"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.check(); err != nil {
		t.Errorf("check: %v", err)
	}
	if ev := events[len(events)-1]; ev.Done != 4 || ev.Failed != 1 || ev.FailedText != "d" {
		t.Errorf("last event %+v", ev)
	}
}

func specReport(text string, state types.SpecState, msg string) types.SpecReport {
	return types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: text, State: state, Failure: types.Failure{Message: msg}}
}

// mergeLanes takes each spec from the lane that ran it and refuses reports
// in which no lane ran a spec or the lanes' specs differ.
func TestMergeLanes(t *testing.T) {
	a := types.Report{SuiteSucceeded: true, SpecReports: types.SpecReports{
		specReport("x", types.SpecStatePassed, ""), specReport("y", types.SpecStateSkipped, laneSkip)}}
	b := types.Report{SuiteSucceeded: false, SpecReports: types.SpecReports{
		specReport("x", types.SpecStateSkipped, laneSkip), specReport("y", types.SpecStateFailed, "boom")}}
	m, err := mergeLanes([]types.Report{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.SpecReports) != 2 || m.SpecReports[0].State != types.SpecStatePassed || m.SpecReports[1].State != types.SpecStateFailed || m.SuiteSucceeded {
		t.Errorf("merged %+v", m)
	}
	b.SpecReports[1] = specReport("y", types.SpecStateSkipped, laneSkip)
	if _, err := mergeLanes([]types.Report{a, b}); err == nil || !strings.Contains(err.Error(), `no lane ran "y"`) {
		t.Errorf("spec run by no lane: %v", err)
	}
	b.SpecReports[1] = specReport("z", types.SpecStateFailed, "")
	if _, err := mergeLanes([]types.Report{a, b}); err == nil {
		t.Error("lanes with different specs merged")
	}
}
