package framework

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites/netload"
)

func TestNetSuiteSelection(t *testing.T) {
	ps, err := ParseSuites("net")
	if err != nil || !slices.Equal(ps, []Proto{NET}) {
		t.Fatalf("ParseSuites(net) = %v, %v", ps, err)
	}
	ps, err = ParseSuites("NET,sio5")
	if err != nil || !slices.Equal(ps, []Proto{SIO5, NET}) {
		t.Fatalf("ParseSuites(NET,sio5) = %v, %v", ps, err)
	}
	ps, _ = ParseSuites("all")
	if slices.Contains(ps, NET) {
		t.Fatalf("all includes the net suite: %v", ps)
	}
	for _, v := range []string{"all,net", "net,all"} {
		if ps, err := ParseSuites(v); err != nil || !slices.Equal(ps, []Proto{EIO4, EIO3, SIO5, SIO4, NET}) {
			t.Fatalf("ParseSuites(%s) = %v, %v: want the four protocol suites and net", v, ps, err)
		}
	}
	if _, err := ParseSuites("nett"); err == nil || !strings.Contains(err.Error(), "net") {
		t.Fatalf("unknown suite error = %v", err)
	}
	c := (&Config{URL: "http://127.0.0.1:1/", SIOURL: "http://127.0.0.1:2"}).For(NET)
	if c.URL != "http://127.0.0.1:2" || c.Path != DefaultSIOPath || c.EIO != 4 {
		t.Fatalf("For(NET) = url %s path %s eio %d", c.URL, c.Path, c.EIO)
	}
}

func TestNetCatalogue(t *testing.T) {
	reg := Requirements()
	n := 0
	for _, r := range reg.All() {
		if !strings.HasPrefix(r.ID, "NET-") {
			continue
		}
		n++
		if r.Proto != NET || r.Area != "net" || r.Summary == "" {
			t.Errorf("%s: proto %s area %s", r.ID, r.Proto, r.Area)
		}
	}
	if n != len(netCatalogue) || n < 20 {
		t.Fatalf("%d NET requirements registered, catalogue has %d", n, len(netCatalogue))
	}
}

func TestNetRecordCapsDecisions(t *testing.T) {
	ds := make([]faultproxy.Decision, reports.MaxNetDecisions+5)
	l := netload.New(nil)
	l.Sent(netload.Up, 0, false)
	n := NetRecord{Profile: "half-open", Measures: l.Measures(), Decisions: ds}.Net()
	var back []faultproxy.Decision
	if err := json.Unmarshal(n.Decisions, &back); err != nil || len(back) != reports.MaxNetDecisions || n.DecisionsDropped != 5 {
		t.Fatalf("decisions kept %d (err %v), dropped %d", len(back), err, n.DecisionsDropped)
	}
	if !strings.Contains(n.Summary, "0 of 1 delivered, 1 lost") {
		t.Fatalf("summary %q", n.Summary)
	}
}
