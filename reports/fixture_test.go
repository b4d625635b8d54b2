package reports

import (
	"encoding/json"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// t0 is the fixed start of every fixture run.
var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// specOpts describes one fixture spec the way the suites' It wrapper would
// register it.
type specOpts struct {
	containers []string   // Describe/Context texts
	contLabels [][]string // labels per container
	text       string     // It text without the " [ID]" suffix
	id         string
	labels     []string // leaf labels besides req:ID
	state      types.SpecState
	msg        string
	panic      string
	nodeType   types.NodeType
	entries    map[string]any // report entries, value as the spec passed it
	order      []string       // entry order (map order is random)
	runtime    time.Duration
	output     string
}

// fixtureSpec builds a types.SpecReport the way Ginkgo fills it in process.
func fixtureSpec(o specOpts, start time.Time) types.SpecReport {
	sr := types.SpecReport{
		ContainerHierarchyTexts:    o.containers,
		ContainerHierarchyLabels:   o.contLabels,
		LeafNodeType:               types.NodeTypeIt,
		LeafNodeLocation:           types.CodeLocation{FileName: "/src/siospec/suites/server/eio4_test.go", LineNumber: 40},
		LeafNodeText:               o.text,
		State:                      o.state,
		StartTime:                  start,
		EndTime:                    start.Add(o.runtime),
		RunTime:                    o.runtime,
		NumAttempts:                1,
		CapturedGinkgoWriterOutput: o.output,
	}
	for len(sr.ContainerHierarchyLabels) < len(sr.ContainerHierarchyTexts) {
		sr.ContainerHierarchyLabels = append(sr.ContainerHierarchyLabels, nil)
	}
	if o.nodeType != types.NodeTypeInvalid {
		sr.LeafNodeType = o.nodeType
	}
	if o.id != "" {
		sr.LeafNodeText = o.text + " [" + o.id + "]"
		sr.LeafNodeLabels = append([]string{"req:" + o.id}, o.labels...)
	} else {
		sr.LeafNodeLabels = o.labels
	}
	if o.msg != "" || o.panic != "" {
		sr.Failure = types.Failure{
			Message:            o.msg,
			Location:           types.CodeLocation{FileName: "/src/siospec/suites/server/eio4_test.go", LineNumber: 57},
			ForwardedPanic:     o.panic,
			FailureNodeContext: types.FailureNodeIsLeafNode,
			FailureNodeType:    sr.LeafNodeType,
		}
	}
	for _, name := range o.order {
		sr.ReportEntries = append(sr.ReportEntries, types.ReportEntry{
			Visibility: types.ReportEntryVisibilityFailureOrVerbose,
			Location:   types.CodeLocation{FileName: "/src/siospec/suites/framework/spec.go", LineNumber: 88},
			Time:       start,
			Name:       name,
			Value:      types.WrapEntryValue(o.entries[name]),
		})
	}
	return sr
}

func transcriptJSON(evs []TranscriptEvent) string {
	b, err := json.Marshal(evs)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var handshakeTranscript = []TranscriptEvent{
	{At: 0, Conn: 1, Dir: "c2s", Kind: "http-request", Summary: "GET /engine.io/?EIO=4&transport=polling",
		Data: []byte("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n\r\n")},
	{At: 1200 * time.Microsecond, Conn: 1, Dir: "s2c", Kind: "http-response", Summary: "200 text/plain 118B"},
	{At: 1250 * time.Microsecond, Conn: 1, Dir: "s2c", Kind: "eio-packet",
		Summary: `open {"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000,"extra":1}`,
		Data:    []byte(`0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000,"extra":1}`)},
	{At: 1300 * time.Microsecond, Conn: 0, Dir: "local", Kind: "note", Summary: "key set differs: extra key \"extra\" <script>alert(1)</script>"},
}

var heartbeatTranscript = []TranscriptEvent{
	{At: 0, Conn: 1, Dir: "c2s", Kind: "ws-open", Summary: "GET /engine.io/?EIO=4&transport=websocket → 101"},
	{At: 2 * time.Millisecond, Conn: 1, Dir: "s2c", Kind: "ws-frame", Summary: "text 0{...}", Data: []byte(`0{"sid":"x"}`)},
	{At: 302 * time.Millisecond, Conn: 1, Dir: "s2c", Kind: "eio-packet", Summary: "ping"},
	{At: 912 * time.Millisecond, Conn: 1, Dir: "s2c", Kind: "ws-frame", Summary: "binary 4B", Data: []byte{0x04, 0x00, 0xff, 0x7f}, Truncated: true},
}

// fixtureRun is one server run against a target that fails some specs. It
// covers every outcome rule except harness errors (see harnessRun).
func fixtureRun() (types.Report, Meta) {
	eio4 := []string{"Engine.IO v4 handshake"}
	sio5 := []string{"Socket.IO v5 acknowledgements"}
	polling := []string{"over HTTP long-polling"}
	ws := []string{"over WebSocket"}
	hsLabels := [][]string{{"proto:EIO4", "area:handshake", "role:server"}, {"transport:polling"}}
	specs := []specOpts{
		{containers: append(eio4, polling...), contLabels: hsLabels, text: "answers a GET without sid with the open packet",
			id: "EIO-HS-01", labels: []string{"level:MUST"}, state: types.SpecStatePassed, runtime: 4 * time.Millisecond,
			entries: map[string]any{EntryTranscript: transcriptJSON(handshakeTranscript[:2])}, order: []string{EntryTranscript}},
		{containers: append(eio4, polling...), contLabels: hsLabels, text: "sends exactly the five open keys",
			id: "EIO-HS-02", labels: []string{"level:MUST"}, state: types.SpecStateFailed, runtime: 6 * time.Millisecond,
			msg: "open packet keys: Expected\n    <[]string>: [sid upgrades pingInterval pingTimeout maxPayload extra]\nto consist of five keys",
			entries: map[string]any{
				EntryExpected:   "open payload keys = {sid, upgrades, pingInterval, pingTimeout, maxPayload}",
				EntryObserved:   `open payload keys = {sid, upgrades, pingInterval, pingTimeout, maxPayload, extra} & "<b>"`,
				EntryTranscript: transcriptJSON(handshakeTranscript),
			}, order: []string{EntryExpected, EntryObserved, EntryTranscript},
			output: "dialing http://127.0.0.1:3000\n"},
		{containers: append(eio4, polling...), contLabels: hsLabels, text: "gives every session a fresh url-safe sid",
			id: "EIO-HS-05", labels: []string{"level:SHOULD"}, state: types.SpecStateFailed, runtime: 20 * time.Millisecond,
			msg:     "sid \"a/b+c\" is not URL-safe",
			entries: map[string]any{EntryExpected: "sid matches ^[A-Za-z0-9_-]+$", EntryObserved: "sid \"a/b+c\""},
			order:   []string{EntryExpected, EntryObserved}},
		{containers: append(eio4, polling...), contLabels: hsLabels, text: "sends only the open packet in the first poll",
			id: "EIO-HS-06", labels: []string{"level:NODE"}, state: types.SpecStateFailed, runtime: 5 * time.Millisecond,
			msg: "first poll carried 2 packets"},
		{containers: append(eio4, polling...), contLabels: hsLabels, text: "answers a rejected handshake with 403",
			id: "EIO-HS-09", labels: []string{"level:MAY"}, state: types.SpecStateFailed, runtime: 3 * time.Millisecond,
			msg: "status 400, want 403"},
		{containers: []string{"Engine.IO v4 URL parsing"}, contLabels: [][]string{{"proto:EIO4", "area:url"}},
			text: "tolerates a repeated EIO query parameter", id: "EIO-URL-08", labels: []string{"level:EDGE", "role:server"},
			state: types.SpecStateFailed, runtime: 2 * time.Millisecond, msg: "400 on ?EIO=4&EIO=4"},
		{containers: []string{"Engine.IO v4 heartbeat", "over WebSocket"},
			contLabels: [][]string{{"proto:EIO4", "area:heartbeat", "role:server"}, {"transport:websocket"}},
			text:       "closes a session whose client never answers ping", id: "EIO-HB-01",
			labels: []string{"level:MUST", "slow", "fault:drop-pong"}, state: types.SpecStateTimedout, runtime: 1500 * time.Millisecond,
			msg: "A spec timeout occurred",
			entries: map[string]any{
				EntryExpected:   "the server closes the session after pingInterval + pingTimeout",
				EntryObserved:   "the session was still open when the spec timed out",
				EntryBudget:     "close within 200ms..700ms (pingTimeout 200ms ×1 + grace 500ms)",
				EntryMeasured:   "not closed after 1500ms",
				EntryTranscript: transcriptJSON(heartbeatTranscript),
			}, order: []string{EntryExpected, EntryObserved, EntryBudget, EntryMeasured, EntryTranscript}},
		{containers: []string{"Engine.IO v4 heartbeat", "over WebSocket"},
			contLabels: [][]string{{"proto:EIO4", "area:heartbeat", "role:server"}, {"transport:websocket"}},
			text:       "sends ping every pingInterval", id: "EIO-HB-03", labels: []string{"level:SHOULD"},
			state: types.SpecStatePassed, runtime: 650 * time.Millisecond},
		{containers: []string{"Engine.IO v4 upgrade"}, contLabels: [][]string{{"proto:EIO4", "area:upgrade", "role:server"}},
			text: "offers webtransport when enabled", id: "EIO-HS-03", labels: []string{"level:MUST", "transport:upgrade", "extended"},
			state: types.SpecStateSkipped, msg: "unsupported: target does not declare the extended contract"},
		{containers: []string{"Engine.IO v4 limits"}, contLabels: [][]string{{"proto:EIO4", "area:limits", "role:server"}},
			text: "rejects a payload above maxPayload", id: "EIO-LIM-01", labels: []string{"level:MUST"},
			state: types.SpecStateSkipped, msg: "needs maxPayload below 1 MiB; target advertises 100 MB"},
		{containers: []string{"Engine.IO v4 CORS"}, contLabels: [][]string{{"proto:EIO4", "area:cors", "role:server"}},
			text: "answers the preflight", id: "EIO-CORS-01", labels: []string{"level:MUST"}, state: types.SpecStateSkipped},
		{containers: []string{"Engine.IO v4 CORS"}, contLabels: [][]string{{"proto:EIO4", "area:cors", "role:server"}},
			text: "sends credentials headers", id: "EIO-CORS-02", labels: []string{"level:SHOULD"}, state: types.SpecStatePending},
		{containers: append(sio5, ws...), contLabels: [][]string{{"proto:SIO5", "area:ack", "role:server"}, {"transport:websocket"}},
			text: "acknowledges an event with the same id", id: "SIO-ACK-01", labels: []string{"level:MUST"},
			state: types.SpecStateFailed, runtime: 30 * time.Millisecond, msg: "no ACK within 500ms",
			entries: map[string]any{EntryExpected: "43456[...]", EntryObserved: "nothing"}, order: []string{EntryExpected, EntryObserved}},
		{containers: []string{"Socket.IO v5 connect"}, contLabels: [][]string{{"proto:SIO5", "area:connect", "role:server"}},
			text: "answers CONNECT to the main namespace", id: "SIO-CONN-02", labels: []string{"level:MUST", "transport:polling"},
			state: types.SpecStatePassed, runtime: 8 * time.Millisecond},
		// no labels at all: the ID comes from the text suffix, no level means MUST
		{containers: []string{"Socket.IO v5 connect"}, text: "rejects an unknown namespace [SIO-CONN-05]",
			state: types.SpecStateFailed, runtime: 9 * time.Millisecond, msg: "got CONNECT, want CONNECT_ERROR"},
	}
	var srs types.SpecReports
	for i, o := range specs {
		srs = append(srs, fixtureSpec(o, t0.Add(time.Duration(i)*time.Second)))
	}
	// a suite-level node that passed: not a spec of its own
	srs = append(srs, types.SpecReport{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStatePassed})
	r := types.Report{
		SuitePath:        "/src/siospec/suites/server",
		SuiteDescription: "siospec server conformance",
		SuiteSucceeded:   false,
		StartTime:        t0,
		EndTime:          t0.Add(42 * time.Second),
		RunTime:          42 * time.Second,
		SuiteConfig:      types.SuiteConfig{RandomSeed: 1764147600, LabelFilter: "!slow || slow"},
		SpecReports:      srs,
	}
	meta := Meta{
		HarnessVersion: "v0.1.0-test",
		Target:         "http://127.0.0.1:3000/engine.io/",
		Role:           "server",
		Seed:           424242,
		TimeScale:      1.5,
		Preflight:      map[string]string{"eio": "4", "transports": "polling,websocket", "pingInterval": "300ms", "pingTimeout": "200ms"},
		ExpectedFailures: []Expectation{
			{Suite: "sio5", ID: "SIO-ACK-01", Reason: "acks on websocket are issue #12", Line: 1},
			{Suite: "sio5", ID: "SIO-CONN-02", Reason: "flaky connect on polling", Line: 2},
		},
		Command: []string{"siospec", "server", "--url", "http://127.0.0.1:3000/engine.io/", "--time-scale", "1.5", "--label-filter", "!slow || slow"},
	}
	return r, meta
}

// harnessRun is a run in which the harness broke: a failed
// SynchronizedBeforeSuite, a harness-error spec, a panic and an interrupt.
func harnessRun() types.Report {
	specs := []types.SpecReport{
		fixtureSpec(specOpts{containers: []string{"Engine.IO v4 close"}, contLabels: [][]string{{"proto:EIO4", "area:close"}},
			text: "closes on a close packet", id: "EIO-CL-01", labels: []string{"level:MUST"}, state: types.SpecStateFailed,
			msg: "harness-error: fault proxy did not start: listen tcp 127.0.0.1:0: too many open files"}, t0),
		fixtureSpec(specOpts{containers: []string{"Engine.IO v4 close"}, contLabels: [][]string{{"proto:EIO4", "area:close"}},
			text: "closes on transport close", id: "EIO-CL-02", labels: []string{"level:MUST"}, state: types.SpecStatePanicked,
			msg: "Test Panicked", panic: "runtime error: index out of range [3] with length 3"}, t0),
		fixtureSpec(specOpts{containers: []string{"Engine.IO v4 close"}, contLabels: [][]string{{"proto:EIO4", "area:close"}},
			text: "flushes before close", id: "EIO-CL-03", labels: []string{"level:MUST"}, state: types.SpecStateInterrupted,
			msg: "Interrupted by User"}, t0),
		{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStateFailed,
			Failure: types.Failure{Message: "preflight: dial tcp 127.0.0.1:3000: connection refused",
				Location: types.CodeLocation{FileName: "/src/siospec/suites/server/suite_test.go", LineNumber: 21}}},
	}
	return types.Report{SuiteDescription: "siospec server conformance", StartTime: t0, EndTime: t0.Add(time.Second),
		SpecialSuiteFailureReasons: []string{"Interrupted by User"}, SpecReports: specs}
}
