package framework

import (
	"encoding/json"
	"fmt"

	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites/netload"
)

// EntryNet is the report entry holding a net-suite spec's measures
// (reports.Net as JSON).
const EntryNet = reports.EntryNet

// Crash modes of server-crash, for NetRecord.Crash.
const (
	// CrashProcess: the server under test was killed and restarted.
	CrashProcess = "process"
	// CrashProxy: the proxy went down; the server kept its state.
	CrashProxy = "proxy"
)

// NetRecord is what a spec of the net suite reports about its run.
type NetRecord struct {
	// Profile is the fault proxy profile the spec applied.
	Profile string
	// Crash is CrashProcess or CrashProxy for server-crash, else empty.
	Crash string
	// Measures is the workload's accounting (the last trial's for the
	// resilience tier).
	Measures netload.Measures
	// Decisions is the proxy's decision log for the spec; the report keeps
	// the first reports.MaxNetDecisions.
	Decisions []faultproxy.Decision
	// Trials and TrialsPassed are the resilience tier's counts (0 for the
	// conformance tier).
	Trials, TrialsPassed int
}

// Net converts r to the report's model.
func (r NetRecord) Net() reports.Net {
	n := reports.Net{Profile: r.Profile, Crash: r.Crash, Summary: r.Measures.String(), Trials: r.Trials, TrialsPassed: r.TrialsPassed}
	n.Measures, _ = json.Marshal(r.Measures) // plain data: cannot fail
	ds := r.Decisions
	if len(ds) > reports.MaxNetDecisions {
		n.DecisionsDropped = len(ds) - reports.MaxNetDecisions
		ds = ds[:reports.MaxNetDecisions]
	}
	if len(ds) > 0 {
		n.Decisions, _ = json.Marshal(ds)
	}
	return n
}

// RecordNet adds r to the current spec's report (entry siospec.net, always
// in report.json, shown on the console only for failures or -v) and notes
// its summary in the transcript. Env (server role) and ClientEnv (client
// role) both have it; call it once per spec, from the spec's goroutine,
// before the spec asserts (so a failed spec still carries its measures).
func (v *verdict) RecordNet(r NetRecord) {
	n := r.Net()
	b, err := json.Marshal(n)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"summary":%q}`, err.Error()))
	}
	v.rec.Note("net measures: " + n.Text())
	g.AddReportEntry(EntryNet, string(b), g.ReportEntryVisibilityFailureOrVerbose)
}
