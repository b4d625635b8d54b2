package cluster

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/faultproxy/process"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reference/redisadapter"
)

// The nodes of these tests run a slower heartbeat than the fixture
// contract's 300/200 ms, so that a loaded machine (-race, two cores) cannot
// time a session out in the middle of a spec; the cluster specs do not
// depend on it.
const (
	testPingInterval = 2 * time.Second
	testPingTimeout  = 2 * time.Second
)

func startRedis(t *testing.T) *Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r, err := StartRedis(ctx, nil)
	if err != nil {
		// Never a skip: a missing redis-server is a broken test machine.
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// goNode starts a Go reference node (fixture sio5 + redisadapter) in
// process.
func goNode(t *testing.T, redisURL, name string, fault redisadapter.Fault) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := redisadapter.Dial(ctx, redisURL, &redisadapter.Options{Fault: fault})
	if err != nil {
		t.Fatal(err)
	}
	fx := fixture.NewSIO5(&fixture.SIOOptions{
		Options:        fixture.Options{PingInterval: testPingInterval, PingTimeout: testPingTimeout},
		ConnectTimeout: 5 * time.Second,
		NewAdapter:     cl.NewAdapter,
		NodeName:       name,
	})
	srv := httptest.NewServer(fx)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = fx.Close(ctx)
		srv.Close()
		_ = cl.Close()
	})
	return srv.URL
}

// nodeNode starts testees/node/fixtures/cluster.js (socket.io 4.8.4 with
// @socket.io/redis-adapter 8.3.0).
func nodeNode(t *testing.T, redisURL, name string) string {
	t.Helper()
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH: %v", err)
	}
	dir, err := filepath.Abs("../../testees/node")
	if err != nil {
		t.Fatal(err)
	}
	p, err := process.New(process.Spec{Path: nodeBin, Dir: dir, Args: []string{
		"fixtures/cluster.js", "--port", "0", "--redis", redisURL, "--node-name", name,
		"--ping-interval", strconv.Itoa(int(testPingInterval.Milliseconds())),
		"--ping-timeout", strconv.Itoa(int(testPingTimeout.Milliseconds())),
		"--connect-timeout", "5000",
	}}, &process.Options{Ready: process.ReadyCheck{StdoutLine: regexp.MustCompile(`^listening (http://\S+)`)}, ReadyTimeout: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatalf("start %s: %v\n%s", name, err, p.Output().Stderr)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p.URL()
}

// stickyLB starts a balancer sticky by sid in front of urls and returns its
// URL.
func stickyLB(t *testing.T, urls []string) string {
	t.Helper()
	var backends []string
	for _, u := range urls {
		backends = append(backends, strings.TrimPrefix(u, "http://"))
	}
	p, err := faultproxy.New(backends[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if _, err := p.Add(faultproxy.LBRoundRobin{Backends: backends, Sticky: faultproxy.StickySID}); err != nil {
		t.Fatal(err)
	}
	return "http://" + p.Addr()
}

func run(t *testing.T, o *Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		t.Logf("%-8s %-13s %s", r.Outcome, r.ID, r.Detail)
	}
	return rep
}

// allPass fails t unless every spec passed (none failed, none skipped).
func allPass(t *testing.T, rep *Report, want int) {
	t.Helper()
	var bad []string
	for _, r := range rep.Results {
		if r.Outcome != Pass {
			bad = append(bad, fmt.Sprintf("%s %s: %s", r.ID, r.Outcome, r.Detail))
		}
	}
	if len(bad) > 0 || len(rep.Results) != want {
		t.Fatalf("%d results (want %d), not passed:\n%s", len(rep.Results), want, strings.Join(bad, "\n"))
	}
}

type nodeKind int

const (
	goKind nodeKind = iota
	nodeJSKind
)

// proof runs every cluster spec on a cluster of the given nodes: once
// against the node URLs (balancer specs and Redis faults included), then
// through one balancer sticky by sid (the specs that need node URLs are
// skipped there).
func proof(t *testing.T, kinds ...nodeKind) {
	r := startRedis(t)
	var urls []string
	for i, k := range kinds {
		switch k {
		case goKind:
			urls = append(urls, goNode(t, r.URL(), fmt.Sprintf("go-%d", i), redisadapter.FaultNone))
		case nodeJSKind:
			urls = append(urls, nodeNode(t, r.URL(), fmt.Sprintf("node-%d", i)))
		}
	}
	all := len(specIDs())
	allPass(t, run(t, &Options{URLs: urls, Redis: r}), all)
	rep := run(t, &Options{URLs: []string{stickyLB(t, urls)}, Only: []string{"CLU-BC", "CLU-ROOM", "CLU-JOIN", "CLU-DISC", "CLU-FETCH", "CLU-SSE", "CLU-ACK"}})
	allPass(t, rep, 11)
}

func TestClusterNode3(t *testing.T) { proof(t, nodeJSKind, nodeJSKind, nodeJSKind) }
func TestClusterGo3(t *testing.T)   { proof(t, goKind, goKind, goKind) }
func TestClusterMixed(t *testing.T) { proof(t, nodeJSKind, nodeJSKind, goKind) }

// TestClusterBrokenAdapter: Go clusters whose adapters are broken on
// purpose fail exactly the specs about what they break. The Redis fault
// specs are left out (FaultDropBroadcasts also fails CLU-FAULT-03, after
// its 10 s budget); the balancer specs do not involve the adapter.
func TestClusterBrokenAdapter(t *testing.T) {
	only := []string{"CLU-BC", "CLU-ROOM", "CLU-JOIN", "CLU-DISC", "CLU-FETCH", "CLU-SSE", "CLU-ACK"}
	for _, tc := range []struct {
		fault redisadapter.Fault
		want  []string
	}{
		{redisadapter.FaultDropBroadcasts, []string{"CLU-ACK-01", "CLU-BC-01", "CLU-BC-02", "CLU-BC-03", "CLU-BC-04"}},
		{redisadapter.FaultLoseRooms, []string{"CLU-BC-02", "CLU-JOIN-01", "CLU-JOIN-02"}},
	} {
		t.Run(fmt.Sprint(tc.fault), func(t *testing.T) {
			r := startRedis(t)
			var urls []string
			for i := range 3 {
				urls = append(urls, goNode(t, r.URL(), fmt.Sprintf("broken-%d", i), tc.fault))
			}
			rep := run(t, &Options{URLs: urls, Only: only, DeliverBudget: time.Second})
			if rep.HarnessErrors() > 0 {
				t.Fatalf("%d harness errors", rep.HarnessErrors())
			}
			if got := rep.FailedIDs(); !slices.Equal(got, tc.want) {
				t.Fatalf("failed %v, want exactly %v", got, tc.want)
			}
		})
	}
}

// TestPreflightAlone: a single node on its own Redis is not a cluster.
func TestPreflightAlone(t *testing.T) {
	r := startRedis(t)
	u := goNode(t, r.URL(), "alone", redisadapter.FaultNone)
	_, err := Run(context.Background(), &Options{URLs: []string{u}})
	if pe, ok := err.(*PreflightError); !ok || !strings.Contains(pe.Reason, "not a cluster") {
		t.Fatalf("Run on one node: %v, want a PreflightError (not a cluster)", err)
	}
}

func specIDs() []string {
	var ids []string
	for _, sp := range specs() {
		ids = append(ids, sp.ids...)
	}
	return ids
}
