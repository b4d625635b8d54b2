package suites

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// verdict is one spec's outcome in a child run.
type verdict struct {
	ID, Proto, Text string
	State           types.SpecState
	Failure         string
}

// runChild runs TestServerSuite in a child process of this test binary
// with the given suite flags and returns the verdicts of the specs that ran
// and the wall time.
func runChild(t *testing.T, args ...string) ([]verdict, time.Duration) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	argv := append([]string{"-test.run=^TestServerSuite$", "-test.count=1", "-test.timeout=5m",
		"-ginkgo.no-color", "-ginkgo.json-report=" + out}, args...)
	start := time.Now()
	cmd := exec.Command(os.Args[0], argv...)
	b, err := cmd.CombinedOutput()
	wall := time.Since(start)
	data, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("child run wrote no report (%v): %v\n%s", err, rerr, b)
	}
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		t.Fatal(err)
	}
	var vs []verdict
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType != types.NodeTypeIt || s.State == types.SpecStateSkipped && s.Failure.Message == "" && s.RunTime == 0 {
				continue
			}
			v := verdict{Text: s.FullText(), State: s.State, Failure: s.Failure.Message}
			for _, l := range s.Labels() {
				if id, ok := strings.CutPrefix(l, "req:"); ok {
					v.ID = id
				}
				if p, ok := strings.CutPrefix(l, "proto:"); ok {
					v.Proto = p
				}
			}
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Text < vs[j].Text })
	return vs, wall
}

// failedIDs returns the requirement IDs of failed specs.
func failedIDs(vs []verdict) map[string]bool {
	m := map[string]bool{}
	for _, v := range vs {
		if v.State.Is(types.SpecStateFailureStates) {
			m[v.ID] = true
		}
	}
	return m
}

// startNode starts a Node fixture (testees/node/fixtures/NAME.js --port 0)
// and returns its base URL; the process is stopped by PID at cleanup.
func startNode(t *testing.T, name string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH; install Node 20 to run the Node proofs")
	}
	root := filepath.Join("..", "testees", "node")
	if _, err := os.Stat(filepath.Join(root, "node_modules", "engine.io")); err != nil {
		t.Skip("testees/node/node_modules is missing; run `npm ci` in testees/node")
	}
	cmd := exec.Command(node, filepath.Join("fixtures", name+".js"), "--port", "0")
	cmd.Dir = root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		wg.Wait()
	})
	lines := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-lines:
		u, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			t.Fatalf("unexpected fixture output %q", l)
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatalf("fixture %s did not report listening within 10s", name)
	}
	return ""
}

// loadExpected reads an expected-failures file: "<ID> <reason>" lines,
// # comments.
func loadExpected(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		id, reason, _ := strings.Cut(l, " ")
		m[id] = strings.TrimSpace(reason)
	}
	return m
}

// verdictTable renders verdicts for the test log.
func verdictTable(vs []verdict) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%-8s %-13s %s\n", v.State, v.ID, v.Text)
		if v.Failure != "" {
			msg := strings.Join(strings.Fields(v.Failure), " ")
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			fmt.Fprintf(&b, "         ↳ %s\n", msg)
		}
	}
	return b.String()
}
