package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/faultproxy/process"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reference/redisadapter"
	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites/framework"
)

// The proof clusters' nodes run a slower heartbeat than the fixture
// contract's 300/200 ms, so that a loaded machine (-race, two cores) cannot
// time a session out in the middle of a spec; the suite's windows derive
// from it. The broken clusters run a faster one, so that the specs they
// fail wait less.
const (
	proofPing  = 2 * time.Second
	brokenPing = 500 * time.Millisecond
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
func goNode(t *testing.T, redisURL, name string, fault redisadapter.Fault, ping time.Duration) (string, error) {
	u, _, err := goNodeKill(t, redisURL, name, fault, nil, ping)
	return u, err
}

// goNodeKill is goNode with front (when not nil) wrapped around the
// node's handler, and also returns a function that kills the node (its
// listener and sessions gone, as a crashed process).
func goNodeKill(t *testing.T, redisURL, name string, fault redisadapter.Fault, front func(http.Handler) http.Handler, ping time.Duration) (string, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := redisadapter.Dial(ctx, redisURL, &redisadapter.Options{Fault: fault})
	if err != nil {
		return "", nil, err
	}
	fx := fixture.NewSIO5(&fixture.SIOOptions{
		Options:        fixture.Options{PingInterval: ping, PingTimeout: ping},
		ConnectTimeout: 5 * time.Second,
		NewAdapter:     cl.NewAdapter,
		NodeName:       name,
	})
	var h http.Handler = fx
	if front != nil {
		h = front(h)
	}
	srv := httptest.NewServer(h)
	var once sync.Once
	kill := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Listener.Close()
			_ = fx.Close(ctx)
			srv.Close()
		})
	}
	t.Cleanup(func() {
		kill()
		_ = cl.Close()
	})
	return srv.URL, kill, nil
}

// crashingRedis is the Redis of a broken cluster: when it is stopped, one
// of the nodes dies with it, as a node that crashes when its adapter loses
// Redis.
type crashingRedis struct {
	*Redis
	crash func()
}

func (r crashingRedis) Stop(ctx context.Context) error {
	err := r.Redis.Stop(ctx)
	r.crash()
	return err
}

// nodeNode starts testees/node/fixtures/cluster.js (socket.io 4.8.4 with
// @socket.io/redis-adapter 8.3.0).
func nodeNode(t *testing.T, redisURL, name string, ping time.Duration) (string, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("node not found in PATH: %w", err)
	}
	dir, err := filepath.Abs("../../testees/node")
	if err != nil {
		return "", err
	}
	ms := strconv.Itoa(int(ping.Milliseconds()))
	p, err := process.New(process.Spec{Path: nodeBin, Dir: dir, Args: []string{
		// socket.io 4.8.4 with @socket.io/redis-adapter 8.3.0 leaves the
		// promise of a broadcast's PUBLISH unhandled: when it races Redis
		// going away (EPIPE), Node's default --unhandled-rejections=throw
		// kills the node, and CLU-FAULT-01 fails (seen under load). A
		// deployment that survives a Redis outage runs with warn (or an
		// unhandledRejection handler), and so does the proof.
		"--unhandled-rejections=warn",
		"fixtures/cluster.js", "--port", "0", "--redis", redisURL, "--node-name", name,
		"--ping-interval", ms, "--ping-timeout", ms, "--connect-timeout", "5000",
	}}, &process.Options{Ready: process.ReadyCheck{StdoutLine: regexp.MustCompile(`^listening (http://\S+)`)}, ReadyTimeout: 40 * time.Second})
	if err != nil {
		return "", err
	}
	t.Cleanup(func() {
		_ = p.Close()
		if t.Failed() {
			out := p.Output()
			t.Logf("%s stdout (last lines):\n%s\nstderr:\n%s", name, out.Stdout, out.Stderr)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		return "", fmt.Errorf("start %s: %w\n%s", name, err, p.Output().Stderr)
	}
	return p.URL(), nil
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

type nodeKind int

const (
	goKind nodeKind = iota
	nodeJSKind
)

// testCluster is one cluster of the proof: its nodes, its suite
// configuration, and the verdicts it must get.
type testCluster struct {
	name  string
	kinds []nodeKind
	fault redisadapter.Fault
	front func(http.Handler) http.Handler
	ping  time.Duration
	// crash: the first Go node dies when Redis is stopped.
	crash bool
	// lb: the suite is given one sticky balancer URL in front of the
	// nodes of cluster lb (started already), and no Redis control.
	lb *testCluster
	// want maps requirement IDs to their expected outcome; IDs not named
	// must pass.
	want map[string]reports.Outcome
	// skipIDs are left out of the run (label filter).
	skipIDs []string

	cfg *framework.Config
	cc  *Config
}

var (
	lbIDs    = []string{"CLU-LB-01", "CLU-LB-02", "CLU-LB-03"}
	faultIDs = []string{"CLU-FAULT-01", "CLU-FAULT-02", "CLU-FAULT-03"}
)

func outcomes(o reports.Outcome, ids ...string) map[string]reports.Outcome {
	m := map[string]reports.Outcome{}
	for _, id := range ids {
		m[id] = o
	}
	return m
}

// nodeStarts bounds how many Node processes start at a time: on a loaded
// two-core machine six at once can take more than their ready timeout.
var nodeStarts = make(chan struct{}, 2)

// start starts the cluster's Redis and nodes (or, for a balancer cluster,
// the balancer) and preflights them.
func (tc *testCluster) start(t *testing.T) error {
	if tc.lb != nil {
		tc.cc = &Config{URLs: []string{stickyLB(t, tc.lb.cc.URLs)}, NoRedisWhy: "the balancer proof gives the suite no Redis control"}
		return tc.preflight()
	}
	r := startRedis(t)
	urls := make([]string, len(tc.kinds))
	var crash func()
	errs := make([]error, len(tc.kinds))
	var wg sync.WaitGroup
	for i, k := range tc.kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("%s-%d", tc.name, i)
			if k == goKind {
				var kill func()
				urls[i], kill, errs[i] = goNodeKill(t, r.URL(), name, tc.fault, tc.front, tc.ping)
				if i == 0 {
					crash = kill
				}
			} else {
				nodeStarts <- struct{}{}
				urls[i], errs[i] = nodeNode(t, r.URL(), name, tc.ping)
				<-nodeStarts
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	tc.cc = &Config{URLs: urls, Redis: r}
	if tc.crash {
		tc.cc.Redis = crashingRedis{r, crash}
	}
	return tc.preflight()
}

func (tc *testCluster) preflight() error {
	base := &framework.Config{}
	base.Normalize()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := Preflight(ctx, tc.cc, base)
	if err != nil {
		return fmt.Errorf("%s: %w", tc.name, err)
	}
	tc.cfg = base
	tc.cfg.Targets = map[framework.Proto]*framework.Config{framework.CLUSTER: cfg}
	return nil
}

// TestCluster is the cluster suite's proof, in one Ginkgo run (Ginkgo runs
// once per process): three Node nodes, three Go nodes and a mixed cluster
// (two Node, one Go) pass every spec against their node URLs (balancer
// specs and Redis faults included) and, for the mixed cluster, every
// cross-node spec through one balancer sticky by sid (where the balancer
// and Redis specs are unsupported, with the reason); Go clusters broken on
// purpose (BrokenAdapters: an adapter Fault or a node front) fail exactly
// the specs about what they break and pass a control spec run beside them
// (brokenRun), and a cluster whose node dies with Redis fails the
// CLU-FAULT specs; nothing ends as a harness error.
func TestCluster(t *testing.T) {
	clusters := []*testCluster{
		{name: "node3", kinds: []nodeKind{nodeJSKind, nodeJSKind, nodeJSKind}, ping: proofPing},
		{name: "go3", kinds: []nodeKind{goKind, goKind, goKind}, ping: proofPing},
		{name: "mixed", kinds: []nodeKind{nodeJSKind, nodeJSKind, goKind}, ping: proofPing},
		{name: "mixed-lb", want: outcomes(reports.Unsupported, append(slices.Clone(lbIDs), faultIDs...)...)},
	}
	// A node that crashes when Redis goes away fails the Redis specs (the
	// later ones find it refusing connections: a failure of the cluster,
	// not a harness error).
	var notFault []string
	for _, r := range framework.ClusterRequirements() {
		if !slices.Contains(faultIDs, r.ID) {
			notFault = append(notFault, r.ID)
		}
	}
	// The other broken clusters run the specs they must fail and one
	// control spec that must pass (brokenRun), or, with
	// SIOSPEC_TEST_BROKEN_ALL=1, every spec but the Redis ones (to check by
	// hand that they fail nothing else).
	all := os.Getenv("SIOSPEC_TEST_BROKEN_ALL") == "1"
	for _, b := range BrokenAdapters() {
		skip := notFault
		if !b.CrashOnRedisLoss {
			run := brokenRun(b)
			skip = nil
			for _, r := range framework.ClusterRequirements() {
				if slices.Contains(faultIDs, r.ID) || !all && !slices.Contains(run, r.ID) {
					skip = append(skip, r.ID)
				}
			}
		}
		clusters = append(clusters, &testCluster{name: b.Name, kinds: []nodeKind{goKind, goKind, goKind}, fault: b.Fault, front: b.Front, ping: brokenPing,
			crash: b.CrashOnRedisLoss, skipIDs: skip, want: outcomes(reports.Fail, b.Fails...)})
	}
	if only := os.Getenv("SIOSPEC_TEST_CLUSTERS"); only != "" { // debugging: a subset
		clusters = slices.DeleteFunc(clusters, func(tc *testCluster) bool { return !slices.Contains(strings.Split(only, ","), tc.name) })
	}
	var lbs []*testCluster
	for _, tc := range clusters {
		if tc.name == "mixed-lb" {
			lbs = append(lbs, tc)
			for _, o := range clusters {
				if o.name == "mixed" {
					tc.lb = o
				}
			}
		}
	}
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, tc := range clusters {
		if tc.lb != nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = tc.start(t) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range lbs {
		if tc.lb == nil {
			t.Fatalf("%s: its cluster is not in the run (SIOSPEC_TEST_CLUSTERS)", tc.name)
		}
		if err := tc.start(t); err != nil {
			t.Fatal(err)
		}
	}

	var skip []string
	for _, tc := range clusters {
		s := framework.NewSuite(tc.cfg)
		defer s.Close()
		Describe(tc.name, Label("cluster-"+tc.name), func() { Register(s, tc.cc) })
		for _, id := range tc.skipIDs {
			skip = append(skip, fmt.Sprintf("(cluster-%s && req:%s)", tc.name, id))
		}
	}
	var mu sync.Mutex
	var got []types.SpecReport
	ReportAfterEach(func(r SpecReport) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r)
	})
	sc, rc := GinkgoConfiguration()
	if len(skip) > 0 {
		sc.LabelFilter = "!(" + strings.Join(skip, " || ") + ")"
	}
	sc.Timeout = 3 * time.Minute
	rc.Succinct = true
	gomega.RegisterFailHandler(Fail)
	start := time.Now()
	RunSpecs(&quietT{}, "cluster proof", sc, rc)
	t.Logf("%d specs in %v", len(got), time.Since(start).Round(time.Millisecond))

	rep := reports.FromGinkgo(types.Report{SpecReports: got}, reports.Meta{})
	byCluster := map[string]map[string]reports.Outcome{}
	for _, sp := range rep.Specs {
		name := ""
		for _, l := range sp.Labels {
			if n, ok := strings.CutPrefix(l, "cluster-"); ok {
				name = n
			}
		}
		if byCluster[name] == nil {
			byCluster[name] = map[string]reports.Outcome{}
		}
		if sp.Outcome == reports.Skipped {
			continue
		}
		byCluster[name][sp.ID] = sp.Outcome
		if sp.Outcome != reports.Pass {
			t.Logf("%s %s %s: %s %+v", name, sp.ID, sp.Outcome, sp.Reason, sp.Failure)
		}
	}
	nreq := len(framework.ClusterRequirements())
	for _, tc := range clusters {
		res := byCluster[tc.name]
		if want := nreq - len(tc.skipIDs); len(res) != want {
			t.Errorf("%s: %d specs ran, want %d", tc.name, len(res), want)
		}
		for id, o := range res {
			want := tc.want[id]
			if want == "" {
				want = reports.Pass
			}
			if o != want {
				t.Errorf("%s: %s %s, want %s", tc.name, id, o, want)
			}
		}
	}
}

// brokenRun returns the specs a broken cluster (not CrashOnRedisLoss) runs
// in the proof: the ones it must fail and one control that must pass, a
// balancer spec for a broken front (the same path through the balancer,
// another requirement) and the first other cross-node spec for a broken
// adapter.
func brokenRun(b BrokenAdapter) []string {
	run := slices.Clone(b.Fails)
	var cands []string
	if b.Front != nil {
		cands = lbIDs
	} else {
		for _, r := range framework.ClusterRequirements() {
			if !slices.Contains(lbIDs, r.ID) && !slices.Contains(faultIDs, r.ID) {
				cands = append(cands, r.ID)
			}
		}
	}
	for _, id := range cands {
		if !slices.Contains(b.Fails, id) {
			return append(run, id)
		}
	}
	return run
}

// TestBrokenAdapters: every broken cluster names known requirements,
// sorted, is run with a control spec it does not claim to fail, and has
// exactly one way of being broken.
func TestBrokenAdapters(t *testing.T) {
	known := map[string]bool{}
	for _, r := range framework.ClusterRequirements() {
		known[r.ID] = true
	}
	names := map[string]bool{}
	for _, b := range BrokenAdapters() {
		if names[b.Name] {
			t.Errorf("%s: name used twice", b.Name)
		}
		names[b.Name] = true
		if len(b.Fails) == 0 || !slices.IsSorted(b.Fails) {
			t.Errorf("%s: Fails %v empty or not sorted", b.Name, b.Fails)
		}
		for _, id := range b.Fails {
			if !known[id] {
				t.Errorf("%s: unknown requirement %s", b.Name, id)
			}
		}
		ways := 0
		for _, on := range []bool{b.Fault != redisadapter.FaultNone, b.Front != nil, b.CrashOnRedisLoss} {
			if on {
				ways++
			}
		}
		if ways != 1 {
			t.Errorf("%s: broken %d ways, want exactly one (Fault, Front or CrashOnRedisLoss)", b.Name, ways)
		}
		if b.CrashOnRedisLoss {
			continue
		}
		run := brokenRun(b)
		if len(run) != len(b.Fails)+1 || slices.Contains(b.Fails, run[len(run)-1]) {
			t.Errorf("%s: runs %v, want Fails %v and one control outside them", b.Name, run, b.Fails)
		}
	}
}

// quietT lets RunSpecs report failures to TestCluster's checks instead of
// failing the test itself.
type quietT struct{}

func (quietT) Fail() {}

// TestPreflightAlone: a single node on its own Redis is not a cluster.
func TestPreflightAlone(t *testing.T) {
	r := startRedis(t)
	u, err := goNode(t, r.URL(), "alone", redisadapter.FaultNone, proofPing)
	if err != nil {
		t.Fatal(err)
	}
	base := &framework.Config{}
	base.Normalize()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = Preflight(ctx, &Config{URLs: []string{u}}, base)
	var pe *framework.PreflightError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "not a cluster") {
		t.Fatalf("Preflight of one node: %v, want a PreflightError (not a cluster)", err)
	}
}
