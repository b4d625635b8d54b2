package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/interop"
)

func TestCertifyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"certify"},
		{"certify", "--server-cmd", "x {port}", "--client-exec", "y"},
		{"certify", "--client-exec", "y", "--server-ready", "^l"},
		{"certify", "--client-exec", "y", "--protocol", "sio4"},
		{"certify", "--client-exec", "y", "--config", shippedImpls, "--peer", "nobody"},
		{"certify", "--server-cmd", "no port here", "--config", shippedImpls},
		{"certify", "verify"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != exitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, code, exitUsage, stderr.String())
		}
	}
}

// TestCertifyServerBundle certifies the Node 4.8.4 fixture as a server
// (one spec, --focus, to stay quick): the bundle holds every promised file,
// the outcome line says yes, and `certify verify` accepts it. Then each
// kind of tampering is caught: a changed file, an added file, and evidence
// that no longer supports the verdict (a failed matrix cell), which also
// shows the "no" line with the ID, the cell and the side.
func TestCertifyServerBundle(t *testing.T) {
	nodepeer.Require(t, "socket.io", "socket.io-client")
	dir := filepath.Join(t.TempDir(), "bundle")
	fixture := filepath.Join(nodepeer.Dir(), "fixtures", "sio5.js")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"certify", "--config", relaxedImpls(t), "--server-cmd", "node " + fixture + " --port {port} --ping-timeout 2000",
		"--server-ready", "^listening ", "--name", "node-fixture", "--version", "4.8.4", "--seed", "11",
		"--focus", `\[SIO-ACK-01\]`, "--report-dir", dir}, &stdout, &stderr)
	out := stdout.String()
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "interoperates with Node socket.io 4.8.4: yes" {
		t.Fatalf("last line %q", last)
	}
	for _, f := range []string{"report.json", "junit.xml", "index.html", "summary.md", "descriptor.yaml", "certify.json", "outcome.txt", "MANIFEST.sha256", "matrix/matrix.json", "matrix/index.html"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("bundle lacks %s", f)
		}
	}
	var cert certification
	b, _ := os.ReadFile(filepath.Join(dir, bundleCertify))
	if err := json.Unmarshal(b, &cert); err != nil || cert.Seed != 11 || cert.HarnessVersion == "" || cert.NetTier == "" || !strings.Contains(strings.Join(cert.Command, " "), "--server-cmd") {
		t.Errorf("certify.json: %v %+v", err, cert)
	}
	m, err := interop.Load(filepath.Join(dir, bundleMatrix, interop.FileJSON))
	if err != nil || len(m.Cells) != 1 || m.Cells[0].Key() != "node-4.8.4/node-fixture/none" {
		t.Fatalf("matrix excerpt: %v %+v", err, m)
	}
	verify := func() (int, string) {
		var o, e bytes.Buffer
		c := run(t.Context(), []string{"certify", "verify", dir}, &o, &e)
		return c, o.String() + e.String()
	}
	if c, o := verify(); c != exitOK || !strings.Contains(o, "verified: interoperates with Node socket.io 4.8.4: yes") {
		t.Fatalf("verify: exit %d\n%s", c, o)
	}
	// A changed file.
	outcome := filepath.Join(dir, bundleOutcome)
	orig, _ := os.ReadFile(outcome)
	if err := os.WriteFile(outcome, []byte("interoperates with Node socket.io 4.8.4: yes!\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, o := verify(); c != exitFailures || !strings.Contains(o, "the file changed") {
		t.Errorf("a changed file: exit %d\n%s", c, o)
	}
	_ = os.WriteFile(outcome, orig, 0o644)
	// An added file.
	extra := filepath.Join(dir, "extra.txt")
	_ = os.WriteFile(extra, []byte("x"), 0o644)
	if c, o := verify(); c != exitFailures || !strings.Contains(o, "not in the manifest") {
		t.Errorf("an added file: exit %d\n%s", c, o)
	}
	_ = os.Remove(extra)
	// Evidence that contradicts the verdict, with a manifest that matches it.
	m.Cells[0].Outcome = interop.Fail
	m.Cells[0].Failures = []interop.Failure{{ID: "EIO-HB-02", Side: interop.SideClient, Detail: "edited"}}
	if err := interop.WriteDir(filepath.Join(dir, bundleMatrix), m); err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(dir); err != nil {
		t.Fatal(err)
	}
	c, o := verify()
	if c != exitFailures || !strings.Contains(o, "no: 1 MUST failures (EIO-HB-02@node-4.8.4/node-fixture/none(client))") {
		t.Errorf("contradicting evidence: exit %d\n%s", c, o)
	}
}

// TestCertifyClientRow certifies the Go reference client (this test binary
// as `siospec testee`) for one client spec: the matrix row against the Node
// 4.8.4 server passes and the bundle verifies.
func TestCertifyClientRow(t *testing.T) {
	nodepeer.Require(t, "socket.io", "socket.io-client")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"certify", "--config", relaxedImpls(t), "--client-exec", envTestAsTestee + "=1 " + exe,
		"--name", "go-testee", "--seed", "12", "--focus", `\[SIO-ACK-04\]`, "--report-dir", dir}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "matrix go-testee/node-4.8.4/none") {
		t.Errorf("no matrix row cell:\n%s", stdout.String())
	}
	var o, e bytes.Buffer
	if c := run(t.Context(), []string{"certify", "verify", dir}, &o, &e); c != exitOK {
		t.Errorf("verify: exit %d\n%s%s", c, o.String(), e.String())
	}
}
