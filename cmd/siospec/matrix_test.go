package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/interop"
	"github.com/siospec/siospec/suites/framework"
)

// shippedImpls is testees/impls.yaml from this package's directory.
var shippedImpls = filepath.Join("..", "..", "testees", "impls.yaml")

// relaxedImpls writes an implementations file with the Node 4.8.4 and
// 2.5.x peers of testees/impls.yaml, the servers with a 2 s pingTimeout so that a loaded
// test machine cannot turn a late pong into a finding.
func relaxedImpls(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "impls.yaml")
	yaml := "version: 1\nroot: " + root + "\nimpls:\n" +
		"  - name: node-4.8.4\n" +
		"    library: Node socket.io / socket.io-client\n" +
		"    version: 4.8.4\n" +
		"    server: {cmd: 'node testees/node/fixtures/sio5.js --port {port} --ping-timeout 2000', ready: '^listening ', protocols: [sio5]}\n" +
		"    client: {exec: node testees/node/testee/sio.js, protocols: [sio5]}\n" +
		"  - name: node-2.5\n" +
		"    library: Node socket.io 2.5.1 / socket.io-client 2.5.0\n" +
		"    version: 2.5.x\n" +
		"    server: {cmd: 'node testees/node/fixtures/sio4.js --port {port} --ping-timeout 2000', ready: '^listening ', protocols: [sio4]}\n" +
		"    client: {exec: node testees/node/testee/sio-v2.js, protocols: [sio4]}\n"
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMatrixUsage(t *testing.T) {
	for _, args := range [][]string{
		{"matrix", "--config", "no-such-file.yaml"},
		{"matrix", "--config", shippedImpls, "--profiles", "no-such-profile"},
		{"matrix", "--config", shippedImpls, "--shard", "3/2"},
		{"matrix", "--config", shippedImpls, "--cell", "a/b/c/d"},
		{"matrix", "--config", shippedImpls, "--cell", "a/b/none", "--shard", "1/2"},
		{"matrix", "--config", shippedImpls, "--cell", "nobody/node-4.8.4/none"},
		{"matrix", "--config", shippedImpls, "extra"},
		{"matrix", "merge"},
		{"matrix", "merge", "--report-dir", t.TempDir(), "no-such.json"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, code, exitUsage, stderr.String())
		}
	}
}

// TestMatrixShardsAndMerge: two shards of a plan run through the CLI and
// merged with `siospec matrix merge` give the whole grid; merging a shard
// with itself is refused. (Every cell of this file is unsupported, no
// common protocol, so nothing is started.)
func TestMatrixShardsAndMerge(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "impls.yaml")
	var b strings.Builder
	b.WriteString("version: 1\nimpls:\n")
	for _, n := range []string{"a", "b", "c"} {
		b.WriteString("  - {name: cl-" + n + ", client: {exec: 'false', protocols: [sio4]}}\n")
		b.WriteString("  - {name: sv-" + n + ", server: {cmd: 'false {port}', protocols: [sio5]}}\n")
	}
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var shards []string
	for _, s := range []string{"1/2", "2/2"} {
		out := filepath.Join(dir, "shard"+s[:1])
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), []string{"matrix", "--config", cfg, "--profiles", "none,corporate-firewall", "--seed", "9", "--shard", s, "--report-dir", out}, &stdout, &stderr); code != exitOK {
			t.Fatalf("shard %s: exit %d\n%s%s", s, code, stdout.String(), stderr.String())
		}
		shards = append(shards, out)
	}
	var stdout, stderr bytes.Buffer
	merged := filepath.Join(dir, "merged")
	if code := run(t.Context(), append([]string{"matrix", "merge", "--report-dir", merged}, shards...), &stdout, &stderr); code != exitOK {
		t.Fatalf("merge: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	m, err := interop.Load(filepath.Join(merged, interop.FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cells) != 3*3*2 || m.Totals()[interop.Unsupported] != 18 {
		t.Errorf("merged %d cells %v, want 18 unsupported", len(m.Cells), m.Totals())
	}
	stdout.Reset()
	if code := run(t.Context(), []string{"matrix", "merge", "--report-dir", merged, shards[0], shards[0]}, &stdout, &stderr); code != exitUsage {
		t.Errorf("merging a shard with itself: exit %d", code)
	}
}

// TestMatrixNodeCell: the Node 4.8.4 client against the Node 4.8.4 server,
// one cell run alone, passes.
func TestMatrixNodeCell(t *testing.T) {
	nodepeer.Require(t, "socket.io", "socket.io-client")
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"matrix", "--config", relaxedImpls(t), "--cell", "node-4.8.4/node-4.8.4/none", "--seed", "1", "--report-dir", dir}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, interop.FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	var m interop.Matrix
	if err := json.Unmarshal(b, &m); err != nil || len(m.Cells) != 1 || m.Cells[0].Outcome != interop.Pass || len(m.Cells[0].Transcript) == 0 {
		t.Fatalf("matrix.json: %v %+v", err, m.Cells)
	}
}

// checkMatrixIDs returns one error line per requirement the matrix can
// emit that is missing from the registry or whose binding does not cover
// a side it is charged to (a pair failure needs a rule binding both).
func checkMatrixIDs(lookup func(string) (framework.Requirement, bool), emitted []interop.Emitted) []string {
	var errs []string
	for _, e := range emitted {
		r, ok := lookup(e.ID)
		if !ok {
			errs = append(errs, e.ID+": not in the requirement registry")
			continue
		}
		for _, side := range e.Sides {
			var covered bool
			switch side {
			case interop.SideServer:
				covered = r.Bind.BindsServer()
			case interop.SideClient:
				covered = r.Bind.BindsClient()
			case interop.SidePair:
				covered = r.Bind == framework.BindBoth
			}
			if !covered {
				errs = append(errs, fmt.Sprintf("%s: charged to the %s, but it binds %s", e.ID, side, r.Bind))
			}
		}
	}
	return errs
}

// TestMatrixIDsAreRegistered: every requirement ID a matrix cell can fail
// (interop.RequirementIDs) is in the registry with a binding that covers
// the sides it is charged to. The check itself fails on an ID missing from
// the registry and on a binding that does not cover a side.
func TestMatrixIDsAreRegistered(t *testing.T) {
	reg := framework.Requirements()
	for _, e := range checkMatrixIDs(reg.Lookup, interop.RequirementIDs()) {
		t.Error(e)
	}
	for _, r := range reg.Interop() {
		if !slices.ContainsFunc(interop.RequirementIDs(), func(e interop.Emitted) bool { return e.ID == r.ID }) {
			t.Errorf("the registry's %s is never emitted by the matrix", r.ID)
		}
	}
	// The check can fail: an unknown ID, and a server-only rule charged to
	// the client.
	broken := []interop.Emitted{{ID: "IOP-NOPE-01", Sides: []string{interop.SideServer}}, {ID: "NET-LB-01", Sides: []string{interop.SideClient}}}
	if errs := checkMatrixIDs(reg.Lookup, broken); len(errs) != 2 || !strings.Contains(errs[0], "IOP-NOPE-01: not in") || !strings.Contains(errs[1], "NET-LB-01: charged to the client") {
		t.Errorf("the check missed a broken list: %q", errs)
	}
	// Without the IOP rows in the registry, the check names them.
	without := func(id string) (framework.Requirement, bool) {
		if strings.HasPrefix(id, "IOP-") {
			return framework.Requirement{}, false
		}
		return reg.Lookup(id)
	}
	if errs := checkMatrixIDs(without, interop.RequirementIDs()); len(errs) != 3 {
		t.Errorf("with the IOP rows removed the check reports %q, want the three IOP IDs", errs)
	}
}
