package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/interop"
	"github.com/siospec/siospec/reference/fixture"
)

// envTestAsSiospec makes this test binary play a server for the certify
// proofs (init runs before TestMain): "1" runs `siospec ARGS...` (the
// reference fixture through `siospec serve`), "badsid" a broken sio4
// server (serveBadSID ARGS: its port).
const envTestAsSiospec = "SIOSPEC_TEST_AS_SIOSPEC"

func init() {
	switch os.Getenv(envTestAsSiospec) {
	case "":
	case "badsid":
		os.Exit(serveBadSID(os.Args[1]))
	default:
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
}

// serveBadSID is the Go reference sio4 fixture (pingTimeout 2 s) breaking
// NET-LB-01: a polling request whose sid it refuses with 400 gets 500.
func serveBadSID(port string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fx := fixture.NewSIO4(&fixture.SIOOptions{Options: fixture.Options{PingInterval: 300 * time.Millisecond, PingTimeout: 2 * time.Second}})
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Get("transport") == "polling" && q.Get("sid") != "" {
			w = &badSIDWriter{w}
		}
		fx.ServeHTTP(w, r)
	})
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	fmt.Printf("listening http://%s\n", ln.Addr())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = fx.Close(sctx)
	_ = hs.Shutdown(sctx)
	return 0
}

type badSIDWriter struct{ http.ResponseWriter }

func (b *badSIDWriter) WriteHeader(code int) {
	if code == http.StatusBadRequest {
		code = http.StatusInternalServerError
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *badSIDWriter) Flush() {
	if f, ok := b.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestPeerLabel: the outcome line names the peer from impls.yaml's
// library and version.
func TestPeerLabel(t *testing.T) {
	for _, c := range []struct{ name, lib, ver, want string }{
		{"node-4.8.4", "Node socket.io / socket.io-client", "4.8.4", "Node socket.io 4.8.4"},
		{"node-2.5", "Node socket.io 2.5.1 / socket.io-client 2.5.0", "2.5.x", "Node socket.io 2.5.x"},
		{"x", "", "", "x"},
		{"x", "", "1.0", "x 1.0"},
	} {
		if got := peerLabel(c.name, c.lib, c.ver); got != c.want {
			t.Errorf("peerLabel(%q, %q, %q) = %q, want %q", c.name, c.lib, c.ver, got, c.want)
		}
	}
}

func TestCertifyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"certify"},
		{"certify", "--server-cmd", "x {port}", "--client-exec", "y"},
		{"certify", "--client-exec", "y", "--server-ready", "^l"},
		{"certify", "--client-exec", "y", "--protocol", "sio3"},
		{"certify", "--client-exec", "y", "--protocol", "sio4", "--config", shippedImpls, "--peer", "node-4.8.4"},
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

// TestCertifySIO4Server certifies sio4 servers against the socket.io 2.5.x
// peer that --protocol sio4 picks by default: the Go reference v4 fixture
// (`siospec serve --fixture sio4`, played by this test binary; one sio4
// spec) interoperates; a server that answers a sid of another instance
// with 500 does not, and the outcome names NET-LB-01 from the net suite
// and from the matrix column's non-sticky-lb cell (server side). Both
// bundles verify.
func TestCertifySIO4Server(t *testing.T) {
	nodepeer.Require(t, "socket.io-client-v2")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cfg := relaxedImpls(t)
	for _, tc := range []struct {
		name, cmd, focus, profiles string
		code                       int
		want                       []string
	}{
		{"go-reference-v4", "GORACE=atexit_sleep_ms=0 " + envTestAsSiospec + "=1 " + shellQuote(exe) + " serve --fixture sio4 --ping-timeout 2s --addr 127.0.0.1:{port}",
			`\[SIO-ACK-01\]`, "none", exitOK, []string{"interoperates with Node socket.io 2.5.x: yes"}},
		{"unknown-sid-500", "GORACE=atexit_sleep_ms=0 " + envTestAsSiospec + "=badsid " + shellQuote(exe) + " {port}",
			`\[NET-LB-01\]`, "none,non-sticky-lb", exitFailures, []string{"interoperates with Node socket.io 2.5.x: no: 2 MUST failures (", "NET-LB-01,", "NET-LB-01@node-2.5/unknown-sid-500/non-sticky-lb(server)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"certify", "--protocol", "sio4", "--config", cfg, "--server-cmd", tc.cmd, "--server-ready", "^listening ",
				"--name", tc.name, "--seed", "13", "--focus", tc.focus, "--profiles", tc.profiles, "--report-dir", dir}, &stdout, &stderr)
			out := stdout.String()
			lines := strings.Split(strings.TrimSpace(out), "\n")
			last := lines[len(lines)-1]
			t.Log(last)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("outcome %q lacks %q\n%s", last, w, out)
				}
			}
			var cert certification
			b, _ := os.ReadFile(filepath.Join(dir, bundleCertify))
			if err := json.Unmarshal(b, &cert); err != nil || cert.Peer != "node-2.5" || cert.Suites != "sio4,net (partial: --focus "+tc.focus+")" {
				t.Errorf("certify.json: %v peer %q suites %q", err, cert.Peer, cert.Suites)
			}
			var o, e bytes.Buffer
			if c := run(t.Context(), []string{"certify", "verify", dir}, &o, &e); c != exitOK || !strings.Contains(o.String(), "verified: "+last) {
				t.Errorf("verify: exit %d\n%s%s", c, o.String(), e.String())
			}
			if tc.code == exitFailures && !slices.Contains(cert.Verdict.IDs, "NET-LB-01") {
				t.Errorf("verdict IDs %v lack the net suite's NET-LB-01", cert.Verdict.IDs)
			}
		})
	}
}

// TestCertifyCountsOnlyMustCellFailures: a matrix cell's failure counts
// against the certification when its requirement is a MUST or unknown; a
// SHOULD (NET-HO-02) stays out of the verdict.
func TestCertifyCountsOnlyMustCellFailures(t *testing.T) {
	cell := func(fs ...interop.Failure) interop.Cell {
		return interop.Cell{Client: "c", Server: "s", Profile: "half-open", Outcome: interop.Fail, Failures: fs}
	}
	for _, tc := range []struct {
		name  string
		cells []interop.Cell
		want  int
	}{
		{"should only", []interop.Cell{cell(interop.Failure{ID: "NET-HO-02", Side: interop.SideClient})}, 0},
		{"must", []interop.Cell{cell(interop.Failure{ID: "NET-CRASH-01", Side: interop.SideClient})}, 1},
		{"unknown counts", []interop.Cell{cell(interop.Failure{ID: "XYZ-01", Side: interop.SideServer})}, 1},
		{"mixed", []interop.Cell{cell(interop.Failure{ID: "NET-HO-02", Side: interop.SideClient}, interop.Failure{ID: "IOP-RUN-02", Side: interop.SideServer})}, 1},
		{"passing cells", []interop.Cell{{Client: "c", Server: "s", Profile: "none", Outcome: interop.Pass}}, 0},
	} {
		n, ids, err := cellMustFailures(tc.cells)
		if err != nil || n != tc.want || len(ids) != tc.want {
			t.Errorf("%s: %d MUST failures %v (err %v), want %d", tc.name, n, ids, err, tc.want)
		}
	}
	if _, _, err := cellMustFailures([]interop.Cell{{Client: "c", Server: "s", Profile: "none", Outcome: interop.HarnessError}}); err == nil {
		t.Error("a harness error in a cell is not reported")
	}
}
