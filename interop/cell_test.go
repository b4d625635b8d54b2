package interop

import (
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testConfig is a matrix of the Go reference and the deliberately broken
// peers that this test binary plays (peerMain).
const testConfig = `
version: 1
impls:
  - name: ref
    server: {cmd: "{siospec} serve sio5 {port}", ready: "^listening ", protocols: [sio5]}
    client: {exec: "{siospec} testee", protocols: [sio5, sio4]}
  - name: ref-strict
    server: {cmd: "{siospec} serve sio5 {port} strict", ready: "^listening ", protocols: [sio5]}
  - name: ref-v4
    server: {cmd: "{siospec} serve sio4 {port}", ready: "^listening ", protocols: [sio4]}
  - name: drops-events
    server: {cmd: "{siospec} serve-drop {port}", ready: "^listening ", protocols: [sio5]}
  - name: crashes
    server: {cmd: "{siospec} serve-crash {port}", ready: "^listening ", protocols: [sio5]}
  - name: crashes-client
    client: {exec: "{siospec} testee-crash", protocols: [sio5]}
  - name: skips-pongs
    client: {exec: "{siospec} testee-nopong", protocols: [sio5]}
  - name: unknown-sid-500
    server: {cmd: "{siospec} serve-badsid {port}", ready: "^listening ", protocols: [sio5]}
  - name: polls-anyway
    client: {exec: "{siospec} testee-polling", protocols: [sio5]}
  - name: no-reconnect
    client: {exec: "{siospec} testee", protocols: [sio5], options: {reconnection: false}}
`

func loadTestConfig(t *testing.T) *Config {
	t.Helper()
	c, err := ParseConfig([]byte(testConfig), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMatrixReferenceAndBrokenPeers: reference × reference passes (both
// protocols; the reference servers here allow a 2 s pingTimeout so that a
// loaded machine cannot turn a late pong into a finding, except ref-strict); the server that drops a net:seq event fails in its column
// only, charged to the server with IOP-DELIV-01; the client that never
// pongs fails in its row only, charged to the client with EIO-HB-02; the
// server that crashes is a clear IOP-RUN-02 failure of the server, well
// before any timeout; the unsupported pair says why.
func TestMatrixReferenceAndBrokenPeers(t *testing.T) {
	cfg := loadTestConfig(t)
	plan := pick(Plan(cfg, []string{ProfileNone}, 7), "ref/ref/none", "ref/ref-v4/none", "ref/drops-events/none", "ref/crashes/none", "skips-pongs/ref-strict/none", "skips-pongs/ref-v4/none", "crashes-client/ref/none")
	start := time.Now()
	cells := RunMatrix(t.Context(), cfg, plan, &Options{Parallel: 3})
	t.Logf("%d cells in %v", len(cells), time.Since(start))
	got := map[string]Cell{}
	for _, c := range cells {
		got[c.Client+"/"+c.Server] = c
		t.Logf("%-28s %s %v", c.Key(), c.Short(), c.DurationMS)
		if c.Outcome == Fail || c.Outcome == HarnessError {
			for _, f := range c.Failures {
				t.Logf("    %s %s: %s", f.ID, f.Side, f.Detail)
			}
			if c.Reason != "" {
				t.Logf("    %s", c.Reason)
			}
		}
	}
	want := []struct {
		cell, outcome, side string
		ids                 []string
	}{
		{"ref/ref", Pass, "", nil},
		{"ref/ref-v4", Pass, "", nil},
		{"ref/drops-events", Fail, SideServer, []string{IDDelivery}},
		{"ref/crashes", Fail, SideServer, []string{IDCrash}},
		{"skips-pongs/ref-strict", Fail, SideClient, []string{"EIO-HB-02"}},
		{"skips-pongs/ref-v4", Unsupported, "", nil},
	}
	for _, w := range want {
		c, ok := got[w.cell]
		if !ok {
			t.Errorf("%s: no cell", w.cell)
			continue
		}
		if c.Outcome != w.outcome {
			t.Errorf("%s: outcome %s, want %s (%s)", w.cell, c.Short(), w.outcome, c.Reason)
			continue
		}
		if w.outcome != Fail {
			continue
		}
		if !slices.Equal(c.Sides(), []string{w.side}) {
			t.Errorf("%s: sides %v, want only %s", w.cell, c.Sides(), w.side)
		}
		for _, id := range w.ids {
			if !slices.Contains(c.IDs(), id) {
				t.Errorf("%s: IDs %v, want %s among them", w.cell, c.IDs(), id)
			}
		}
		if len(c.Transcript) == 0 && w.cell != "ref/crashes" {
			t.Errorf("%s: no transcript", w.cell)
		}
	}
	// The crashing client: a failure of the client, at start or during the
	// workload depending on the machine's speed, never a timeout.
	if c := got["crashes-client/ref"]; c.Outcome != Fail || !slices.Equal(c.Sides(), []string{SideClient}) ||
		!slices.ContainsFunc(c.IDs(), func(id string) bool { return id == IDCrash || id == IDStart }) || c.DurationMS > 15000 {
		t.Errorf("crashes-client/ref: %s in %d ms, want a client IOP-RUN-02 (or IOP-RUN-01) well before any timeout", c.Short(), c.DurationMS)
	}
	if c := got["ref/crashes"]; c.DurationMS > 15000 {
		t.Errorf("the crashed cell took %d ms: a crash must end the cell, not a timeout", c.DurationMS)
	}
	if c := got["skips-pongs/ref-v4"]; !strings.Contains(c.Reason, "no common protocol") {
		t.Errorf("unsupported cell's reason %q", c.Reason)
	}
}

func pick(plan []Planned, keys ...string) []Planned {
	var out []Planned
	for _, p := range plan {
		if slices.Contains(keys, p.Key()) {
			out = append(out, p)
		}
	}
	return out
}

// TestMatrixDeterministic: the same seed gives the same cell seeds and the
// same verdicts (outcome, IDs, sides) in two runs, for a passing and a
// failing cell.
func TestMatrixDeterministic(t *testing.T) {
	cfg := loadTestConfig(t)
	var runs [2][]Cell
	for i := range runs {
		plan := pick(Plan(cfg, []string{ProfileNone}, 42), "ref/ref/none", "ref/drops-events/none")
		runs[i] = RunMatrix(t.Context(), cfg, plan, &Options{Parallel: 2})
	}
	for i := range runs[0] {
		a, b := runs[0][i], runs[1][i]
		if a.Key() != b.Key() || a.Seed != b.Seed || a.Short() != b.Short() {
			t.Errorf("run 1 %s seed %d %q, run 2 %s seed %d %q", a.Key(), a.Seed, a.Short(), b.Key(), b.Seed, b.Short())
		}
	}
	if runs[0][0].Outcome != Fail || runs[0][1].Outcome != Pass {
		t.Errorf("verdicts %q, %q: want a failing and a passing cell", runs[0][0].Short(), runs[0][1].Short())
	}
}

// TestMatrixStrikeProfiles: under server-crash and half-open the profile
// strikes mid-stream, after the testee's first connect and about half of
// its up events (the recorded strike point), and reference × reference
// passes with the client's reconnection measured; a client that never
// reconnects (reconnection: false) fails NET-CRASH-01 / NET-HO-02 on the
// client side, and nothing on the server side.
func TestMatrixStrikeProfiles(t *testing.T) {
	cfg := loadTestConfig(t)
	plan := pick(Plan(cfg, []string{"server-crash", "half-open"}, 11),
		"ref/ref/server-crash", "ref/ref/half-open", "no-reconnect/ref/server-crash", "no-reconnect/ref/half-open")
	if len(plan) != 4 {
		t.Fatalf("plan has %d cells, want 4", len(plan))
	}
	cells := RunMatrix(t.Context(), cfg, plan, &Options{Parallel: 2})
	strikeRE := regexp.MustCompile(`cell strike: \S+ applied \(After 0\) after up seq (\d+)`)
	for _, c := range cells {
		t.Logf("%-34s %s %d ms", c.Key(), c.Short(), c.DurationMS)
		for _, f := range c.Failures {
			t.Logf("    %s %s: %s", f.ID, f.Side, f.Detail)
		}
		for _, d := range c.Decisions {
			if strings.Contains(d, " cell ") {
				t.Logf("    %s", d)
			}
		}
		// The strike point: after the first connect and half the up events.
		var m []string
		for _, d := range c.Decisions {
			if m = strikeRE.FindStringSubmatch(d); m != nil {
				break
			}
		}
		if m == nil {
			t.Errorf("%s: no strike recorded in %q", c.Key(), c.Decisions)
			continue
		}
		seq, _ := strconv.Atoi(m[1])
		if seq < 24/2-1 {
			t.Errorf("%s: struck after up seq %d, want at least %d", c.Key(), seq, 24/2-1)
		}
		if first, sent := strings.Index(c.TesteeOut, `"ev":"connect"`), strings.Index(c.TesteeOut, `"ev":"net_sent"`); first < 0 || sent < first {
			t.Errorf("%s: the testee's first connect (at %d) is not before its first net_sent (at %d)", c.Key(), first, sent)
		}
		reconnected := slices.ContainsFunc(c.Decisions, func(d string) bool { return strings.Contains(d, "cell reconnect: ") })
		switch c.Client {
		case "ref":
			if c.Outcome != Pass {
				t.Errorf("%s: %s, want pass", c.Key(), c.Short())
			}
			if !reconnected {
				t.Errorf("%s: no reconnection recorded", c.Key())
			}
		case "no-reconnect":
			want := IDCrashReconnect
			if c.Profile == "half-open" {
				want = IDHalfOpenReconnect
			}
			if c.Outcome != Fail || !slices.Equal(c.Sides(), []string{SideClient}) || !slices.Contains(c.IDs(), want) {
				t.Errorf("%s: %s (IDs %v, sides %v), want a client failure of %s only", c.Key(), c.Short(), c.IDs(), c.Sides(), want)
			}
			if reconnected {
				t.Errorf("%s: a reconnection recorded for a client that does not reconnect", c.Key())
			}
		}
	}
}

// TestMatrixCrashedServerNotBack: a server that does not come back after
// server-crash fails IOP-RUN-01 on the server side, and the client that
// could not reconnect to it is not charged.
func TestMatrixCrashedServerNotBack(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "started")
	cfg, err := ParseConfig([]byte(testConfig+`  - name: once
    server: {cmd: "{siospec} serve-once {port} `+marker+`", ready: "^listening ", protocols: [sio5]}
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cells := RunMatrix(t.Context(), cfg, pick(Plan(cfg, []string{"server-crash"}, 5), "ref/once/server-crash"), nil)
	if len(cells) != 1 {
		t.Fatalf("%d cells, want 1", len(cells))
	}
	c := cells[0]
	for _, f := range c.Failures {
		t.Logf("    %s %s: %s", f.ID, f.Side, f.Detail)
	}
	if c.Outcome != Fail || !slices.Equal(c.Sides(), []string{SideServer}) || !slices.Equal(c.IDs(), []string{IDStart}) ||
		!strings.Contains(c.Failures[0].Detail, "did not come back") {
		t.Errorf("%s: %s (IDs %v, sides %v), want only the server's IOP-RUN-01 (did not come back)", c.Key(), c.Short(), c.IDs(), c.Sides())
	}
}
