package suites

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/suites/framework"
)

// The transport matrix: every heartbeat, close, invalid-packet and
// size-limit rule of Engine.IO is checked in each transport state
// (polling, WebSocket, WebSocket upgraded from polling) for both v4 and
// v3, unless the rule belongs to one transport or one revision.
// testdata/transport-matrix.txt says which (ID, proto) must run on which
// transports; testdata/transport-matrix-gaps.txt lists the cells that have
// no spec yet, each with a reason. TestTransportMatrix fails on a new gap
// and on a listed gap that a spec now fills, so the gap list only shrinks.
const (
	transportMatrixFile = "testdata/transport-matrix.txt"
	transportGapsFile   = "testdata/transport-matrix-gaps.txt"
)

// matrixTransports are the transport states, as transport: labels.
var matrixTransports = []string{"polling", "websocket", "upgrade"}

// invalidPacketRules are the Engine.IO rules about an invalid packet
// ending the session; the other rules of the matrix are found by area.
var invalidPacketRules = []string{"EIO-PKT-03", "EIO-POLL-11", "EIO-WS-06", "EIO3-10"}

// matrixAreas are the registry areas whose rules are all in the matrix.
var matrixAreas = []string{"heartbeat", "close", "limits"}

// inTransportMatrix reports whether r belongs in the matrix: an
// Engine.IO rule that gates (MUST, SHOULD or NODE) about heartbeat, close,
// size limits or invalid packets.
func inTransportMatrix(r framework.Requirement) bool {
	if r.Proto != framework.EIO4 && r.Proto != framework.EIO3 || !r.Bind.BindsServer() {
		return false
	}
	if !r.Level.Gates() {
		return false
	}
	return slices.Contains(matrixAreas, r.Area) || slices.Contains(invalidPacketRules, r.ID)
}

// matrixProtos returns the revisions a matrix rule must be stated for: v4
// rules for v4 and v3 (a v3 server runs them too, or the matrix says why
// not), v3 deltas for v3.
func matrixProtos(r framework.Requirement) []string {
	if r.Proto == framework.EIO3 {
		return []string{string(framework.EIO3)}
	}
	return []string{string(framework.EIO4), string(framework.EIO3)}
}

// matrixLine is one line of the matrix or gap file: three fields and a
// note after " -- ".
type matrixLine struct {
	n                 int
	id, proto, fields string
	note              string
}

// readMatrixFile reads lines "ID PROTO FIELD [-- note]", skipping blanks
// and # comments.
func readMatrixFile(path string) ([]matrixLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []matrixLine
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, note, _ := strings.Cut(line, " -- ")
		f := strings.Fields(head)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want \"ID PROTO FIELD [-- note]\", got %q", path, n, line)
		}
		out = append(out, matrixLine{n: n, id: f[0], proto: f[1], fields: f[2], note: strings.TrimSpace(note)})
	}
	return out, sc.Err()
}

// matrixCell is one (ID, proto, transport) the matrix requires.
type matrixCell struct{ id, proto, transport string }

func (c matrixCell) String() string { return c.id + " " + c.proto + " " + c.transport }

// specCells returns the (ID, proto, transport) cells the dry run's specs
// fill.
func specCells(specs []types.SpecReport) map[matrixCell]bool {
	out := map[matrixCell]bool{}
	for _, s := range specs {
		ids := specReqs(s)
		tr := labelValue(s, "transport")
		if len(ids) != 1 || tr == "" {
			continue
		}
		out[matrixCell{ids[0], labelValue(s, "proto"), tr}] = true
	}
	return out
}

// requiredCells checks the matrix file against the registry (every rule in
// scope stated once per revision, nothing else, "none" only with a reason)
// and returns the cells it requires, in file order.
func requiredCells(t *testing.T, reg *framework.Registry, rows []matrixLine) []matrixCell {
	t.Helper()
	seen := map[string]bool{}
	var cells []matrixCell
	for _, row := range rows {
		where := fmt.Sprintf("%s:%d", transportMatrixFile, row.n)
		r, ok := reg.Lookup(row.id)
		if !ok {
			t.Errorf("%s: unknown requirement %s", where, row.id)
			continue
		}
		if !inTransportMatrix(r) {
			t.Errorf("%s: %s (%s, %s, area %s) is not a heartbeat, close, limit or invalid-packet rule that gates", where, r.ID, r.Proto, r.Level, r.Area)
			continue
		}
		if !slices.Contains(matrixProtos(r), row.proto) {
			t.Errorf("%s: %s is not stated for %s (want one of %v)", where, r.ID, row.proto, matrixProtos(r))
			continue
		}
		key := row.id + " " + row.proto
		if seen[key] {
			t.Errorf("%s: %s stated twice", where, key)
			continue
		}
		seen[key] = true
		if row.fields == "none" {
			if row.note == "" {
				t.Errorf("%s: %s is checked on no transport and gives no reason", where, key)
			}
			continue
		}
		for _, tr := range strings.Split(row.fields, ",") {
			if !slices.Contains(matrixTransports, tr) {
				t.Errorf("%s: unknown transport %q (want %v or none)", where, tr, matrixTransports)
				continue
			}
			cells = append(cells, matrixCell{row.id, row.proto, tr})
		}
	}
	for _, r := range reg.All() {
		if !inTransportMatrix(r) {
			continue
		}
		for _, p := range matrixProtos(r) {
			if !seen[r.ID+" "+p] {
				t.Errorf("%s does not state %s %s (%s, area %s): add its transports, or none with the reason", transportMatrixFile, r.ID, p, r.Level, r.Area)
			}
		}
	}
	return cells
}

// TestTransportMatrix checks the dry run against the transport matrix:
// every required (ID, proto, transport) cell has a spec or is a listed
// gap, and no listed gap has a spec.
func TestTransportMatrix(t *testing.T) {
	reg := framework.Requirements()
	rows, err := readMatrixFile(transportMatrixFile)
	if err != nil {
		t.Fatal(err)
	}
	gapRows, err := readMatrixFile(transportGapsFile)
	if err != nil {
		t.Fatal(err)
	}
	cells := requiredCells(t, reg, rows)
	have := specCells(dryRun(t))
	required := map[matrixCell]bool{}
	for _, c := range cells {
		required[c] = true
	}
	gaps := map[matrixCell]bool{}
	for _, g := range gapRows {
		where := fmt.Sprintf("%s:%d", transportGapsFile, g.n)
		c := matrixCell{g.id, g.proto, g.fields}
		switch {
		case gaps[c]:
			t.Errorf("%s: %s listed twice", where, c)
		case !required[c]:
			t.Errorf("%s: %s is not a cell of %s", where, c, transportMatrixFile)
		case g.note == "":
			t.Errorf("%s: %s gives no reason", where, c)
		case have[c]:
			t.Errorf("%s: %s now has a spec: remove the line (the gap list only shrinks)", where, c)
		}
		gaps[c] = true
	}
	filled := 0
	for _, c := range cells {
		switch {
		case have[c]:
			filled++
		case !gaps[c]:
			t.Errorf("no spec checks %s (required by %s): add one, or list the gap with a reason in %s", c, transportMatrixFile, transportGapsFile)
		}
	}
	t.Logf("transport matrix: %d of %d cells have a spec, %d listed gaps", filled, len(cells), len(gapRows))
}
