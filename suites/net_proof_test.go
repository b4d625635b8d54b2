package suites

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/internal/prooftest"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioserver"
	"github.com/siospec/siospec/reference/sioserver"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/netload"
)

// netVerdictsFile holds the expected verdicts of the net proofs.
const netVerdictsFile = "testdata/net-verdicts.txt"

// loadNetVerdicts reads netVerdictsFile: target → ID → verdict.
func loadNetVerdicts(t *testing.T) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(netVerdictsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 3 || !slices.Contains([]string{"pass", "fail", "unsupported"}, fs[2]) {
			t.Fatalf("%s:%d: want <target> <ID> <pass|fail|unsupported> [why], got %q", netVerdictsFile, n, line)
		}
		if out[fs[0]] == nil {
			out[fs[0]] = map[string]string{}
		}
		out[fs[0]][fs[1]] = fs[2]
	}
	return out
}

// netVerdict maps a spec's outcome to pass, fail or unsupported.
func netVerdict(v verdict) string {
	switch {
	case v.State == types.SpecStatePassed:
		return "pass"
	case v.State == types.SpecStateSkipped && strings.HasPrefix(v.Failure, "unsupported:"):
		return "unsupported"
	case strings.Contains(v.Failure, framework.HarnessPrefix):
		return "harness-error"
	}
	return "fail"
}

// checkNetVerdicts compares a run's verdicts with the expected ones of
// target: listed IDs get their verdict, every other spec must pass; want
// names IDs that must have run.
func checkNetVerdicts(a *prooftest.Attempt, target string, vs []verdict, expected map[string]string, want []string) {
	a.Helper()
	seen := map[string]bool{}
	for _, v := range vs {
		seen[v.ID] = true
		exp := expected[v.ID]
		if exp == "" {
			exp = "pass"
		}
		if got := netVerdict(v); got != exp {
			a.Errorf("%s %s: %s, want %s (%s)", target, v.ID, got, exp, firstLine(v.Failure))
		}
	}
	for _, id := range want {
		if !seen[id] {
			a.Errorf("%s: %s did not run", target, id)
		}
	}
	a.Judged(len(vs))
}

// netIDs lists the server-role NET requirement IDs (side S or B) of tier
// (conformance: all but NET-RES-*).
func netIDs(resilience bool) []string {
	var out []string
	for _, r := range framework.Requirements().All() {
		if r.Proto != framework.NET || !r.Bind.BindsServer() {
			continue
		}
		if strings.HasPrefix(r.ID, "NET-RES-") != resilience {
			continue
		}
		out = append(out, r.ID)
	}
	return out
}

// netFilter selects specs by requirement ID.
func netFilter(ids ...string) string {
	return "req: containsAny {" + strings.Join(ids, ", ") + "}"
}

// runNet runs the net suite against url in one child process.
func runNet(a *prooftest.Attempt, url string, n *framework.NetConfig, filter string) ([]verdict, time.Duration) {
	a.Helper()
	cfg := netConfig(url, n)
	cfg.TimeScale = 1
	return runSuites(a, cfg, filter)
}

// nodeNetCmd is a --server-cmd running a Node fixture with the proofs'
// heartbeat.
func nodeNetCmd(script string, args ...string) string {
	all := append([]string{"node", filepath.Join(nodepeer.Dir(), "fixtures", script+".js"), "--port", framework.PortPlaceholder}, args...)
	return strings.Join(all, " ")
}

// TestNetReference: every server-role NET spec, both tiers, against the
// reference fixture (recovery on, a second instance, --server-cmd the test
// binary): the verdicts of net-verdicts.txt (all pass).
func TestNetReference(t *testing.T) {
	skipProof(t)
	t.Parallel()
	expected := loadNetVerdicts(t)
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		url := serveRef(a, netRefOptions())
		url2 := serveRef(a, netRefOptions())
		n := &framework.NetConfig{Instances: []string{url2}, ServerCmd: netServerCmd(a, "ref"), Trials: 1}
		vs, wall := runNet(a, url, n, "")
		a.Logf("reference: wall %v\n%s", wall.Round(time.Millisecond), verdictTable(vs))
		checkNetVerdicts(a, "reference", vs, expected["reference"], append(netIDs(false), netIDs(true)...))
	})
}

// nodeNetArgs are the Node fixtures' flags of the net proofs.
var nodeNetArgs = []string{"--ping-interval", strconv.FormatInt(prooftest.PingInterval.Milliseconds(), 10), "--ping-timeout", strconv.FormatInt(prooftest.PingTimeout.Milliseconds(), 10)}

// TestNetNode: every conformance-tier server-role NET spec against Node:
// socket.io 4.8.4 (sio5.js --recovery) and 2.5.1 (sio4.js, the v3 path),
// each with a second instance and --server-cmd the same script: the
// verdicts of net-verdicts.txt. The sio5 run is also the speed proof: the
// whole conformance tier in under 2 minutes.
func TestNetNode(t *testing.T) {
	skipProof(t)
	needNode(t)
	t.Parallel()
	expected := loadNetVerdicts(t)
	for _, tc := range []struct {
		target, script string
		args           []string
	}{
		{"node-sio5", "sio5", []string{"--recovery", "--connect-timeout", "5000"}},
		{"node-sio4", "sio4", nil},
	} {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			prooftest.Run(t, nil, func(a *prooftest.Attempt) {
				args := append(slices.Clone(nodeNetArgs), tc.args...)
				url := startNode(a, tc.script, args...)
				url2 := startNode(a, tc.script, args...)
				n := &framework.NetConfig{Instances: []string{url2}, ServerCmd: nodeNetCmd(tc.script, args...), ServerReady: `^listening (http://\S+)`}
				vs, wall := runNet(a, url, n, "tier:conformance")
				a.Logf("%s: wall %v\n%s", tc.target, wall.Round(time.Millisecond), verdictTable(vs))
				checkNetVerdicts(a, tc.target, vs, expected[tc.target], netIDs(false))
				if wall > 2*time.Minute {
					a.Errorf("%s: the conformance tier took %v, budget 2m", tc.target, wall)
				}
			})
		})
	}
}

// TestNetBrokenServers: servers of our own that break one NET rule fail
// that rule's specs and pass the others run with them.
func TestNetBrokenServers(t *testing.T) {
	skipProof(t)
	t.Parallel()
	expected := loadNetVerdicts(t)
	t.Run("amnesiac", func(t *testing.T) {
		t.Parallel()
		prooftest.Run(t, nil, func(a *prooftest.Attempt) {
			h, stop := netServers["amnesiac-ok"]()
			url := serve(a, h, stop)
			ids := []string{"NET-CRASH-03", "NET-LB-01", "NET-LB-02", "NET-STRIP-02"}
			n := &framework.NetConfig{ServerCmd: netServerCmd(a, "amnesiac-ok")}
			vs, _ := runNet(a, url, n, netFilter(ids...))
			a.Logf("amnesiac:\n%s", verdictTable(vs))
			checkNetVerdicts(a, "amnesiac", vs, expected["amnesiac"], ids)
		})
	})
	for _, tc := range []struct {
		mode string
		ids  []string
	}{
		{"slow-timeout", []string{"NET-HO-01", "NET-STRIP-02"}},
		{"slow-ping", []string{"NET-IDLE-01", "NET-RES-02", "NET-STRIP-02"}},
		{"strip-ok", []string{"NET-STRIP-02", "NET-FW-01"}},
		{"keeps-cut", []string{"NET-IDLE-03", "NET-STRIP-02"}},
		{"lossy-polling", []string{"NET-FW-01", "NET-STRIP-01", "NET-STRIP-02"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			prooftest.Run(t, nil, func(a *prooftest.Attempt) {
				h, stop := netBrokenServers[tc.mode]()
				url := serve(a, h, stop)
				vs, _ := runNet(a, url, &framework.NetConfig{Trials: 1}, netFilter(tc.ids...))
				a.Logf("%s:\n%s", tc.mode, verdictTable(vs))
				checkNetVerdicts(a, tc.mode, vs, expected[tc.mode], tc.ids)
			})
		})
	}
	t.Run("dup-down", func(t *testing.T) {
		t.Parallel()
		prooftest.Run(t, nil, func(a *prooftest.Attempt) {
			srv, stop := brokenRecoveryServer("dup-down")
			url := serve(a, srv, stop)
			srv2, stop2 := brokenRecoveryServer("dup-down")
			url2 := serve(a, srv2, stop2)
			ids := []string{"NET-AV-01", "NET-LB-02", "NET-LB-03", "NET-3G-01", "NET-RES-01", "NET-STRIP-02"}
			vs, _ := runNet(a, url, &framework.NetConfig{Instances: []string{url2}, Trials: 1}, netFilter(ids...))
			a.Logf("dup-down:\n%s", verdictTable(vs))
			checkNetVerdicts(a, "dup-down", vs, expected["dup-down"], ids)
		})
	})
	for _, mode := range []string{"replay-none", "replay-twice"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			prooftest.Run(t, nil, func(a *prooftest.Attempt) {
				srv, stop := brokenRecoveryServer(mode)
				url := serve(a, srv, stop)
				ids := []string{"NET-HO-04", "NET-CRASH-04", "NET-STRIP-02", "NET-IDLE-03"}
				vs, _ := runNet(a, url, nil, netFilter(ids...))
				a.Logf("%s:\n%s", mode, verdictTable(vs))
				checkNetVerdicts(a, mode, vs, expected[mode], ids)
			})
		})
	}
}

// brokenRecoveryServer is a recovery-enabled reference server with the
// minimum of the extended contract the net specs use (ext:hello,
// message-with-ack, net:seq, ext:tally, ext:stream) and a broken stream:
// "replay-none" emits nothing while the client is away (so nothing is
// logged or replayed); "replay-twice" streams through the adapter as it
// should and, once the client is recovered, sends again what it emitted
// while the client was away; "dup-down" emits every down event twice.
func brokenRecoveryServer(mode string) (*sioserver.Server, func()) {
	srv := sioserver.NewServer(&sioserver.Options{
		Options:                 eioserver.Options{PingInterval: prooftest.PingInterval, PingTimeout: prooftest.PingTimeout},
		ConnectTimeout:          prooftest.ConnectTimeout,
		ConnectionStateRecovery: &sioserver.RecoveryOptions{},
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	missed := map[string][]int{}
	ups := map[string][]int{}
	binEvery := 0 // the last stream's binaryEvery
	srv.Sockets().OnConnection(func(s *sioserver.Socket) {
		if s.Recovered() && mode == "replay-twice" {
			mu.Lock()
			seqs, every := missed[s.ID()], binEvery
			delete(missed, s.ID())
			mu.Unlock()
			for _, seq := range seqs {
				_ = s.Emit("net:seq", brokenSeqArgs(seq, every)...)
			}
		}
		s.On("ext:hello", func(e *sioserver.Event) { _ = e.Ack(map[string]any{"extended": 1}) })
		s.On("message-with-ack", func(e *sioserver.Event) { _ = e.Ack(e.Args...) })
		// The up half of the workload, kept per run as the fixtures do.
		run := ""
		if a, ok := s.Handshake().Auth.(sio.Object); ok {
			if v, ok := a.Get("netRun"); ok {
				run, _ = v.(string)
			}
		}
		s.On("net:seq", func(e *sioserver.Event) {
			p, ok := e.Args[0].(sio.Object)
			if !ok {
				return
			}
			v, _ := p.Get("seq")
			seq, _ := v.(float64)
			mu.Lock()
			ups[run] = append(ups[run], int(seq))
			mu.Unlock()
			if e.WantsAck() {
				_ = e.Ack(int(seq))
			}
		})
		s.On("ext:tally", func(e *sioserver.Event) {
			mu.Lock()
			out := make([]any, 0, len(ups[run]))
			for _, v := range ups[run] {
				out = append(out, v)
			}
			mu.Unlock()
			_ = e.Ack(out)
		})
		s.On("ext:stream", func(e *sioserver.Event) {
			if len(e.Args) == 0 {
				return
			}
			req, ok := e.Args[0].(sio.Object)
			if !ok {
				return
			}
			c, _ := req.Get("count")
			m, _ := req.Get("intervalMs")
			b, _ := req.Get("binaryEvery")
			count, _ := c.(float64)
			ms, _ := m.(float64)
			every, _ := b.(float64)
			if count < 1 || ms < 1 {
				return
			}
			_ = e.Ack()
			mu.Lock()
			binEvery = int(every)
			mu.Unlock()
			nsp, id := s.Namespace(), s.ID()
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.NewTicker(time.Duration(ms) * time.Millisecond)
				defer t.Stop()
				for seq := 0; seq < int(count); seq++ {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
					cur, ok := nsp.Socket(id)
					away := !ok || !cur.Connected()
					if away && mode == "replay-none" {
						continue
					}
					if away {
						mu.Lock()
						missed[id] = append(missed[id], seq)
						mu.Unlock()
					}
					_ = nsp.To(id).Emit("net:seq", brokenSeqArgs(seq, int(every))...)
					if mode == "dup-down" {
						_ = nsp.To(id).Emit("net:seq", brokenSeqArgs(seq, int(every))...)
					}
				}
			}()
		})
	})
	return srv, func() {
		cancel()
		wg.Wait()
		_ = srv.Close(context.Background())
	}
}

// brokenSeqArgs are the arguments of down event seq (binary every
// every-th, as the workload expects).
func brokenSeqArgs(seq, every int) []any {
	args := []any{sio.Object{{Key: "seq", Value: seq}, {Key: "dir", Value: "down"}}}
	if every > 0 && seq%every == every-1 {
		args = append(args, netload.SeqBytes(seq))
	}
	return args
}

// netVariantKills maps each NET requirement to the broken servers of the
// net proofs whose failure its specs catch (the "fail" lines of
// net-verdicts.txt for targets other than the shipped servers), for the
// kill matrix (TestKillMatrix's kills).
func netVariantKills(t *testing.T) map[string][]string {
	t.Helper()
	shipped := map[string]bool{"reference": true, "node-sio5": true, "node-sio4": true}
	out := map[string][]string{}
	for target, ids := range loadNetVerdicts(t) {
		if shipped[target] {
			continue
		}
		for id, v := range ids {
			if v == "fail" {
				out[id] = append(out[id], "net:"+target)
			}
		}
	}
	return out
}

// TestNetVariantKills: every server-binding NET requirement has a broken
// server its specs catch.
func TestNetVariantKills(t *testing.T) {
	kills := netVariantKills(t)
	for _, id := range append(netIDs(false), netIDs(true)...) {
		if len(kills[id]) == 0 {
			t.Errorf("%s: no broken server of the net proofs fails it", id)
		}
	}
}
