package suites

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/suites/framework"
)

// brokenClientsDir holds the broken clients: Node scripts that patch one
// rule out of a real client library and then run the shipped testee.
const brokenClientsDir = "testdata/broken-clients"

// brokenClient is one broken client and what its header promises.
type brokenClient struct {
	File   string
	What   string
	Suite  framework.Proto
	Expect []string
	Run    string
}

// loadBrokenClients parses the header of every broken client:
//
//	// broken client: <what it breaks>
//	// suite: sio5
//	// expect: EIO-HB-02 [ID ...]
//	// run: <label filter of the specs to run>
func loadBrokenClients(t *testing.T) []brokenClient {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(brokenClientsDir, "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	var out []brokenClient
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		b := brokenClient{File: f}
		sc := bufio.NewScanner(fh)
		for n := 0; sc.Scan() && n < 20; n++ {
			line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "//")
			if !ok {
				continue
			}
			k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.TrimSpace(k) {
			case "broken client":
				b.What = v
			case "suite":
				b.Suite = framework.Proto(strings.ToUpper(v))
			case "expect":
				b.Expect = strings.Fields(v)
			case "run":
				b.Run = v
			}
		}
		fh.Close()
		if b.What == "" || !slices.Contains(framework.SelectableSuites, b.Suite) || len(b.Expect) == 0 || b.Run == "" {
			t.Errorf("%s: header needs '// broken client:', '// suite:' (eio4, eio3, sio5, sio4, net), '// expect:' and '// run:' lines", f)
			continue
		}
		out = append(out, b)
	}
	return out
}

// failingIDs returns the requirement IDs of the specs of rep that did not
// pass (failed or timed out), sorted and unique, and how many specs ran.
func failingIDs(rep types.Report) ([]string, int) {
	seen := map[string]bool{}
	ran := 0
	for _, s := range rep.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt || s.State.Is(types.SpecStateSkipped|types.SpecStatePending) {
			continue
		}
		ran++
		if s.State.Is(types.SpecStateFailureStates) {
			seen[labelOf(s.Labels(), "req")] = true
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, ran
}

// TestBrokenClients runs the client specs each broken client's header
// names against it and requires exactly its expected IDs to fail: the
// proof that every client check can fail, on the right ID and no other.
func TestBrokenClients(t *testing.T) {
	nodepeer.Require(t, "socket.io-client", "engine.io-client")
	if testing.Short() {
		t.Skip("-short: the broken clients spawn a client per case")
	}
	bcs := loadBrokenClients(t)
	if len(bcs) == 0 {
		t.Fatalf("no broken clients in %s", brokenClientsDir)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	// Broken clients mostly wait (heartbeats, reconnection delays), so
	// several run at once; t.Run may be called from several goroutines.
	sem := make(chan struct{}, brokenClientsAtOnce)
	var wg sync.WaitGroup
	for _, b := range bcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t.Run(filepath.Base(b.File), func(t *testing.T) { runBrokenClient(t, root, b) })
		}()
	}
	wg.Wait()
}

// brokenClientsAtOnce is how many broken clients TestBrokenClients runs at
// the same time.
const brokenClientsAtOnce = 4

// runBrokenClient runs the specs b names against it and checks that
// exactly its expected IDs fail.
func runBrokenClient(t *testing.T, root string, b brokenClient) {
	// A loaded machine can make a spec that the broken client should pass
	// fail too; such a run is retried once, then the test fails. A run
	// whose expected IDs did not fail is never retried: the check missed
	// the broken rule.
	for attempt := 1; ; attempt++ {
		got, ran, logs := brokenClientRun(t, root, b)
		if ran == 0 {
			t.Fatalf("%s: run %q selected no spec", b.File, b.Run)
		}
		want := sortedCopy(b.Expect)
		if slices.Equal(got, want) {
			return
		}
		missed := false
		for _, id := range want {
			missed = missed || !slices.Contains(got, id)
		}
		if attempt == 1 && !missed {
			t.Logf("%s: attempt 1 failed %v besides %v (load average %s); retrying once", b.File, got, want, loadAverage())
			continue
		}
		t.Errorf("%s (%s): %d specs ran (%s); failing IDs %v, want exactly %v", b.File, b.What, ran, b.Run, got, b.Expect)
		for _, l := range logs {
			t.Log(l)
		}
		return
	}
}

// brokenClientRun runs the specs b names against it once.
func brokenClientRun(t *testing.T, root string, b brokenClient) (failing []string, ran int, logs []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cfg := framework.ClientConfig{Exec: "node " + filepath.Join("suites", b.File), Dir: root, Suites: []framework.Proto{b.Suite}, Seed: 1}
	if b.Suite == framework.NET {
		cfg.Trials = 2 // the resilience tier's seeded trials per spec
	}
	rep, err := RunClient(ctx, cfg, &RunOptions{LabelFilter: b.Run, Procs: 1})
	if err != nil {
		t.Fatal(err)
	}
	failing, ran = failingIDs(rep)
	for _, s := range rep.SpecReports {
		if s.State.Is(types.SpecStateFailureStates) {
			logs = append(logs, fmt.Sprintf("failed: %s\n%s", s.FullText(), tail(s.Failure.Message, 600)))
		}
	}
	return failing, ran, logs
}

// loadAverage returns the 1-minute load average, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}
