package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/siospec/siospec/interop"
	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites/framework"
)

// Files of a certification bundle.
const (
	bundleManifest = "MANIFEST.sha256"
	bundleCertify  = "certify.json"
	bundleOutcome  = "outcome.txt"
	bundleDesc     = "descriptor.yaml"
	bundleMatrix   = "matrix"
)

// defaultPeers is the implementation of testees/impls.yaml a protocol is
// certified against when --peer is not given.
var defaultPeers = map[string]string{interop.ProtoSIO5: "node-4.8.4", interop.ProtoSIO4: "node-2.5"}

// peerLabel names the peer in the outcome line, from its library and
// version in the implementations file: the first library named (before
// " / "), without a version of its own, then the version ("Node socket.io /
// socket.io-client", "4.8.4" gives "Node socket.io 4.8.4"). Without a
// library, the implementation's name.
func peerLabel(name, library, version string) string {
	lib, _, _ := strings.Cut(library, " / ")
	f := strings.Fields(lib)
	if len(f) == 0 {
		f = []string{name}
	}
	if n := len(f); n > 1 && version != "" && f[n-1][0] >= '0' && f[n-1][0] <= '9' {
		f = f[:n-1]
	}
	if version != "" {
		f = append(f, version)
	}
	return strings.Join(f, " ")
}

// certification is certify.json: what was certified, how, and the verdict.
type certification struct {
	Schema         string   `json:"schema"`
	HarnessVersion string   `json:"harness_version"`
	Command        []string `json:"command"`
	Seed           int64    `json:"seed"`
	Role           string   `json:"role"`
	Name           string   `json:"name"`
	Version        string   `json:"version,omitempty"`
	Peer           string   `json:"peer"`
	Suites         string   `json:"suites"`
	NetTier        string   `json:"net_tier"`
	Created        string   `json:"created"`
	Verdict        verdict  `json:"verdict"`
}

type verdict struct {
	Interoperates bool     `json:"interoperates"`
	MustFailures  int      `json:"must_failures"`
	IDs           []string `json:"ids,omitempty"`
	Line          string   `json:"line"`
}

const certifySchema = "siospec.certify/v1"

func runCertify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "verify" {
		return runCertifyVerify(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("siospec certify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		serverCmd   = fs.String("server-cmd", "", "certify a server: a shell command that starts it with {port} where its port goes")
		serverReady = fs.String("server-ready", "", "when the server is ready: a path or URL answering 200, or a regular expression for a stdout line (default: its port accepts TCP)")
		clientExec  = fs.String("client-exec", "", "certify a client: its testee command (testees/CLIENT-CONTRACT.md)")
		name        = fs.String("name", "candidate", "the implementation's name")
		version     = fs.String("version", "", "the implementation's version")
		protocol    = fs.String("protocol", interop.ProtoSIO5, "the protocol certified: sio5 (socket.io 3/4) or sio4 (socket.io 2)")
		config      = fs.String("config", defaultImpls, "the implementations file holding the Node peer")
		peer        = fs.String("peer", "", "the implementation in --config to interoperate with (default: node-4.8.4 for sio5, node-2.5 for sio4)")
		bundle      = fs.String("report-dir", "", "the bundle directory (default certify-NAME)")
		seed        = fs.Int64("seed", 0, "root seed (default: from the clock)")
		timeScale   = fs.Float64("time-scale", 1, "multiply every budget by this factor")
		focus       = fs.String("focus", "", "only the specs whose text matches this regular expression (a partial certification; the bundle says so)")
		profiles    = fs.String("profiles", interop.ProfileNone, "network profiles of the matrix excerpt")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: siospec certify --server-cmd CMD [--server-ready R] | --client-exec CMD  [--protocol sio5|sio4] [--name N --version V] [--report-dir DIR]")
		fmt.Fprintln(stderr, "       siospec certify verify BUNDLE")
		fmt.Fprint(stderr, `
Runs the role's conformance suites (the protocol's, sio5 or sio4, and the net tier), then the matrix
column (a server) or row (a client) against the peer (--peer: by default the Node socket.io 4.8.4
peers for sio5, the socket.io 2.5.x ones for sio4), and writes a bundle: report.json, junit.xml,
index.html, summary.md, matrix/ (the excerpt), descriptor.yaml, certify.json (harness version, seed,
exact command, verdict), outcome.txt and MANIFEST.sha256 (SHA-256 of every file). The last line
printed is the outcome. Exit 0 when it interoperates, 1 when not, 2 on a harness error.
'siospec certify verify BUNDLE' checks the manifest and re-derives the verdict from report.json and
matrix/matrix.json: exit 0 when the bundle is intact and its verdict stands, 1 otherwise.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "siospec certify: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected arguments %q", fs.Args())
	}
	if (*serverCmd == "") == (*clientExec == "") {
		return usage("give exactly one of --server-cmd and --client-exec")
	}
	if *serverReady != "" && *serverCmd == "" {
		return usage("--server-ready needs --server-cmd")
	}
	if _, ok := defaultPeers[*protocol]; !ok {
		return usage("--protocol %q: want sio5 or sio4", *protocol)
	}
	if *peer == "" {
		*peer = defaultPeers[*protocol]
	}
	cfg, err := interop.LoadConfig(*config)
	if err != nil {
		return usage("%v", err)
	}
	peerImpl, ok := cfg.Impl(*peer)
	if !ok {
		return usage("no implementation %q in %s", *peer, *config)
	}
	if *name == *peer {
		return usage("--name %q is the peer's name", *name)
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "siospec certify: %v\n", err)
		return exitHarness
	}
	cand := interop.Impl{Name: *name, Version: *version, Library: *name, Dir: wd}
	role := "server"
	if *serverCmd != "" {
		cand.Server = &interop.ServerSpec{Cmd: *serverCmd, Ready: *serverReady, Protocols: []string{*protocol}}
		if peerImpl.Client == nil || !slices.Contains(peerImpl.Client.Protocols, *protocol) {
			return usage("the peer %s has no %s client", *peer, *protocol)
		}
	} else {
		role = "client"
		cand.Client = &interop.ClientSpec{Exec: *clientExec, Protocols: []string{*protocol}}
		if peerImpl.Server == nil || !slices.Contains(peerImpl.Server.Protocols, *protocol) {
			return usage("the peer %s has no %s server", *peer, *protocol)
		}
	}
	// The candidate joins the peer in a two-implementation file, so that
	// the matrix excerpt is exactly its row or column against the peer.
	pair := &interop.Config{Version: interop.ConfigVersion, Impls: []interop.Impl{cand, *peerImpl}}
	pairYAML, err := yaml.Marshal(pair)
	if err != nil {
		return usage("descriptor: %v", err)
	}
	pairCfg, err := interop.ParseConfig(pairYAML, cfg.Dir())
	if err != nil {
		return usage("%v", err)
	}
	profs, err := parseProfiles(*profiles)
	if err != nil {
		return usage("--profiles: %v", err)
	}
	dir := *bundle
	if dir == "" {
		dir = "certify-" + *name
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "siospec certify: %v\n", err)
		return exitHarness
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano() & (1<<53 - 1)
	}
	cert := certification{
		Schema: certifySchema, HarnessVersion: harnessVersion(), Command: append([]string{"siospec", "certify"}, args...),
		Seed: *seed, Role: role, Name: *name, Version: *version, Peer: *peer, Created: time.Now().UTC().Format(time.RFC3339),
	}
	desc := cand
	desc.Dir = ""
	descYAML, _ := yaml.Marshal(map[string]any{"version": interop.ConfigVersion, "impls": []interop.Impl{desc}})
	if err := os.WriteFile(filepath.Join(dir, bundleDesc), descYAML, 0o644); err != nil {
		fmt.Fprintf(stderr, "siospec certify: %v\n", err)
		return exitHarness
	}

	// 1. The role's suites, through the CLI's own code paths.
	suiteArgs := []string{"--suite", *protocol + ",net", "--seed", strconv.FormatInt(*seed, 10),
		"--time-scale", strconv.FormatFloat(*timeScale, 'g', -1, 64), "--report-dir", dir}
	if *focus != "" {
		suiteArgs = append(suiteArgs, "--focus", *focus)
	}
	cert.Suites = *protocol + ",net"
	var code int
	if role == "server" {
		srv, host, err := interop.StartServer(ctx, pairCfg.Impls[0].Server, wd, &interop.Options{TimeScale: *timeScale})
		if err != nil {
			if srv != nil {
				_ = srv.Close()
			}
			fmt.Fprintf(stderr, "siospec certify: %v\n", err)
			return exitPreflight
		}
		sargs := append([]string{"--sio-url", "http://" + host}, suiteArgs...)
		// The net suite starts (and kills) its own instances with the same
		// command, as `siospec server --suite net --server-cmd` does.
		sargs = append(sargs, "--server-cmd", *serverCmd)
		if *serverReady != "" {
			sargs = append(sargs, "--server-ready", *serverReady)
		}
		cert.NetTier = "run (siospec server --suite net --server-cmd: the net suite starts and kills its own instances)"
		fmt.Fprintf(stdout, "siospec certify: siospec server %s\n", strings.Join(quoteArgs(sargs), " "))
		code = runServer(ctx, sargs, stdout, stderr)
		_ = srv.Close()
	} else {
		cargs := append([]string{"--exec", *clientExec}, suiteArgs...)
		cert.NetTier = "run (siospec client --suite net)"
		fmt.Fprintf(stdout, "siospec certify: siospec client %s\n", strings.Join(quoteArgs(cargs), " "))
		code = runClient(ctx, cargs, stdout, stderr)
	}
	if *focus != "" {
		cert.Suites += " (partial: --focus " + *focus + ")"
	}
	if code != exitOK && code != exitFailures {
		fmt.Fprintf(stderr, "siospec certify: the %s suites ended with exit code %d; no verdict\n", role, code)
		return code
	}

	// 2. The matrix row or column against the peer.
	mr := matrixRun{cfg: pairCfg, profiles: profs, seed: *seed, shard: interop.Shard{K: 1, N: 1},
		opts: interop.Options{TimeScale: *timeScale}, command: "siospec " + strings.Join(quoteArgs(cert.Command[1:]), " ")}
	mr.only = func(p interop.Planned) bool {
		return (p.Client.Name == *name) != (p.Server.Name == *name) // the row or column, without peer × peer
	}
	m, err := mr.run(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "siospec certify: matrix: %v\n", err)
		return exitHarness
	}
	for _, c := range m.Cells {
		fmt.Fprintf(stdout, "  matrix %-40s %s\n", c.Key(), c.Short())
	}
	if err := interop.WriteDir(filepath.Join(dir, bundleMatrix), m); err != nil {
		fmt.Fprintf(stderr, "siospec certify: %v\n", err)
		return exitHarness
	}

	// 3. The verdict, the outcome line and the manifest.
	v, err := deriveVerdict(dir, *peer)
	if err != nil {
		fmt.Fprintf(stderr, "siospec certify: %v\n", err)
		return exitHarness
	}
	cert.Verdict = v
	b, _ := json.MarshalIndent(cert, "", "  ")
	if err := errors.Join(
		os.WriteFile(filepath.Join(dir, bundleCertify), append(b, '\n'), 0o644),
		os.WriteFile(filepath.Join(dir, bundleOutcome), []byte(v.Line+"\n"), 0o644),
		writeManifest(dir),
	); err != nil {
		fmt.Fprintf(stderr, "siospec certify: %v\n", err)
		return exitHarness
	}
	fmt.Fprintf(stdout, "bundle: %s\nnet tier: %s\n%s\n", dir, cert.NetTier, v.Line)
	if !v.Interoperates {
		return exitFailures
	}
	return exitOK
}

// deriveVerdict reads report.json (reports.Load recomputes its derived
// fields) and matrix/matrix.json and counts the MUST failures: failed MUST
// specs and the failures of the matrix cells, each an ID. The outcome line
// names the peer (an implementation of matrix.json) by its library and
// version (peerLabel).
func deriveVerdict(dir, peer string) (verdict, error) {
	rep, err := reports.Load(filepath.Join(dir, "report.json"))
	if err != nil {
		return verdict{}, fmt.Errorf("report.json: %w", err)
	}
	m, err := interop.Load(filepath.Join(dir, bundleMatrix, interop.FileJSON))
	if err != nil {
		return verdict{}, err
	}
	label := ""
	for _, im := range m.Impls {
		if im.Name == peer {
			label = peerLabel(im.Name, im.Library, im.Version)
		}
	}
	if label == "" {
		return verdict{}, fmt.Errorf("matrix.json lists no peer %q", peer)
	}
	var v verdict
	for _, s := range rep.Specs {
		if s.Outcome == reports.Fail && s.Level == "MUST" {
			v.MustFailures++
			v.IDs = append(v.IDs, s.ID)
		}
	}
	n, ids, err := cellMustFailures(m.Cells)
	if err != nil {
		return verdict{}, err
	}
	v.MustFailures += n
	v.IDs = append(v.IDs, ids...)
	slices.Sort(v.IDs)
	v.IDs = slices.Compact(v.IDs)
	v.Interoperates = v.MustFailures == 0
	if v.Interoperates {
		v.Line = "interoperates with " + label + ": yes"
	} else {
		v.Line = fmt.Sprintf("interoperates with %s: no: %d MUST failures (%s)", label, v.MustFailures, strings.Join(v.IDs, ", "))
	}
	return v, nil
}

// cellMustFailures counts the failures of the matrix cells that count
// against a certification: those of a MUST requirement (an ID the registry
// does not know counts too). A SHOULD failure (NET-HO-02 under half-open)
// stays in matrix.json but not in the verdict. Each is named ID@CELL(side).
func cellMustFailures(cells []interop.Cell) (n int, ids []string, err error) {
	for _, c := range cells {
		switch c.Outcome {
		case interop.Fail:
			for _, f := range c.Failures {
				if r, ok := framework.Requirements().Lookup(f.ID); ok && r.Level != framework.MUST {
					continue
				}
				n++
				ids = append(ids, f.ID+"@"+c.Key()+"("+f.Side+")")
			}
		case interop.HarnessError:
			return 0, nil, fmt.Errorf("matrix cell %s: harness error: %s", c.Key(), c.Reason)
		}
	}
	return n, ids, nil
}

// bundleFiles lists the bundle's files (slash paths, sorted), the manifest
// left out.
func bundleFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); rel != bundleManifest {
			files = append(files, rel)
		}
		return nil
	})
	slices.Sort(files)
	return files, err
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeManifest writes MANIFEST.sha256 in sha256sum's format ("HEX  PATH"),
// so `sha256sum -c MANIFEST.sha256` checks it too.
func writeManifest(dir string) error {
	files, err := bundleFiles(dir)
	if err != nil {
		return err
	}
	var sb strings.Builder
	for _, f := range files {
		sum, err := fileSHA256(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return err
		}
		fmt.Fprintf(&sb, "%s  %s\n", sum, f)
	}
	return os.WriteFile(filepath.Join(dir, bundleManifest), []byte(sb.String()), 0o644)
}

// verifyBundle checks the manifest (every file listed, unchanged, nothing
// added) and that certify.json's and outcome.txt's verdict is the one
// report.json and matrix.json give.
func verifyBundle(dir string) (verdict, error) {
	f, err := os.Open(filepath.Join(dir, bundleManifest))
	if err != nil {
		return verdict{}, err
	}
	defer f.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			return verdict{}, fmt.Errorf("%s: malformed line %q", bundleManifest, sc.Text())
		}
		got, err := fileSHA256(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return verdict{}, fmt.Errorf("%s: %w", name, err)
		}
		if got != sum {
			return verdict{}, fmt.Errorf("%s: SHA-256 %s, the manifest says %s: the file changed", name, got, sum)
		}
		listed[name] = true
	}
	files, err := bundleFiles(dir)
	if err != nil {
		return verdict{}, err
	}
	for _, name := range files {
		if !listed[name] {
			return verdict{}, fmt.Errorf("%s is not in the manifest", name)
		}
	}
	for _, need := range []string{"report.json", bundleCertify, bundleOutcome, bundleDesc, bundleMatrix + "/" + interop.FileJSON} {
		if !listed[need] {
			return verdict{}, fmt.Errorf("%s is missing from the bundle", need)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, bundleCertify))
	if err != nil {
		return verdict{}, err
	}
	var cert certification
	if err := json.Unmarshal(b, &cert); err != nil || cert.Schema != certifySchema {
		return verdict{}, fmt.Errorf("%s: not a %s file (%v)", bundleCertify, certifySchema, err)
	}
	v, err := deriveVerdict(dir, cert.Peer)
	if err != nil {
		return verdict{}, err
	}
	line, _ := os.ReadFile(filepath.Join(dir, bundleOutcome))
	if cert.Verdict.Line != v.Line || strings.TrimSpace(string(line)) != v.Line {
		return v, fmt.Errorf("the bundle says %q, its evidence says %q", strings.TrimSpace(string(line)), v.Line)
	}
	return v, nil
}

func runCertifyVerify(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: siospec certify verify BUNDLE")
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			return exitOK
		}
		return exitUsage
	}
	v, err := verifyBundle(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "siospec certify verify: %s: %v\n", args[0], err)
		return exitFailures
	}
	fmt.Fprintf(stdout, "verified: %s\n", v.Line)
	return exitOK
}
