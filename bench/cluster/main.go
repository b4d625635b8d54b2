// Command cluster measures cross-node broadcast latency and throughput of a
// two-node Socket.IO cluster on one Redis, for Go reference nodes (siospec
// serve --fixture sio5 --adapter) and Node nodes (testees/node/fixtures/
// cluster.js: socket.io 4.8.4 + @socket.io/redis-adapter 8.3.0), with the
// same Redis, the same load generator and the same message.
//
// A sender on node A emits ext:cluster-broadcast to every socket; R
// receivers on node B measure:
//   - latency: one broadcast at a time (the next once every receiver got
//     the previous one), send-to-receive time per receiver;
//   - throughput: N broadcasts sent back to back without acks, the time
//     until every receiver got all of them.
//
// Usage (from bench/cluster): go run . [-receivers 50] [-latency 300] [-messages 5000]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siospec/siospec/faultproxy/process"
	"github.com/siospec/siospec/reference/eioclient"
	"github.com/siospec/siospec/reference/sioclient"
	"github.com/siospec/siospec/suites/cluster"
)

func main() {
	receivers := flag.Int("receivers", 50, "receivers on node B")
	latencyN := flag.Int("latency", 300, "broadcasts in the latency phase")
	messages := flag.Int("messages", 5000, "broadcasts in the throughput phase")
	bin := flag.String("siospec", "", "a prebuilt siospec binary (default: go build ../../cmd/siospec)")
	flag.Parse()
	if err := run(*bin, *receivers, *latencyN, *messages); err != nil {
		fmt.Fprintln(os.Stderr, "cluster bench:", err)
		os.Exit(1)
	}
}

type row struct {
	kind                  string
	p50, p99, max         time.Duration
	sent, perSec, delivPS float64
}

func run(bin string, receivers, latencyN, messages int) error {
	ctx := context.Background()
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "clusterbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "siospec")
		build := exec.Command("go", "build", "-o", bin, "./cmd/siospec")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("build siospec: %v\n%s", err, out)
		}
	}
	var rows []row
	for _, kind := range []string{"go", "node"} {
		r, err := cluster.StartRedis(ctx, nil)
		if err != nil {
			return err
		}
		var urls []string
		var procs []*process.Process
		for i := range 2 {
			name := fmt.Sprintf("%s-%d", kind, i)
			spec := process.Spec{Path: bin, Args: []string{"serve", "--fixture", "sio5", "--addr", "127.0.0.1:0", "--adapter", r.URL(), "--node-name", name, "--ping-interval", "5s", "--ping-timeout", "5s"}}
			if kind == "node" {
				spec = process.Spec{Path: "node", Dir: filepath.Join(root, "testees/node"), Args: []string{"fixtures/cluster.js", "--port", "0", "--redis", r.URL(), "--node-name", name, "--ping-interval", "5000", "--ping-timeout", "5000"}}
			}
			p, err := process.New(spec, &process.Options{Ready: process.ReadyCheck{StdoutLine: regexp.MustCompile(`^listening (http://\S+)`)}})
			if err != nil {
				return err
			}
			if err := p.Start(ctx); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			procs = append(procs, p)
			urls = append(urls, p.URL())
		}
		rw, err := measure(ctx, kind, urls, receivers, latencyN, messages)
		for _, p := range procs {
			_ = p.Close()
		}
		_ = r.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
		rows = append(rows, rw)
	}
	fmt.Printf("\nCross-node broadcast, 2 nodes on one Redis, 1 sender on node A, %d receivers on node B (WebSocket, Go reference client)\n\n", receivers)
	fmt.Println("| cluster | latency p50 | latency p99 | latency max | throughput (broadcasts/s) | deliveries/s |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %v | %v | %v | %.0f | %.0f |\n", r.kind, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.max.Round(time.Microsecond), r.perSec, r.delivPS)
	}
	return nil
}

type recv struct {
	s     *sioclient.Socket
	m     *sioclient.Manager
	count atomic.Int64
	mu    sync.Mutex
	lat   []time.Duration
	last  atomic.Int64 // last latency seq seen
	gone  string       // disconnect reason, if any
}

func dial(ctx context.Context, u string) (*sioclient.Manager, *sioclient.Socket, error) {
	m, err := sioclient.NewManager(u, &sioclient.ManagerOptions{Engine: &eioclient.Options{Transports: []string{"websocket"}}, NoReconnection: true})
	if err != nil {
		return nil, nil, err
	}
	s := m.Socket("/", nil)
	return m, s, nil
}

func measure(ctx context.Context, kind string, urls []string, receivers, latencyN, messages int) (row, error) {
	out := row{kind: kind}
	mA, sender, err := dial(ctx, urls[0])
	if err != nil {
		return out, err
	}
	defer mA.Close()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sender.Connect(cctx); err != nil {
		return out, err
	}
	var rs []*recv
	defer func() {
		for _, r := range rs {
			_ = r.m.Close()
		}
	}()
	for range receivers {
		m, s, err := dial(ctx, urls[1])
		if err != nil {
			return out, err
		}
		r := &recv{s: s, m: m}
		s.On("lat", func(msg sioclient.Message, _ sioclient.AckFunc) {
			var seq, at int64
			_ = msg.Unmarshal(0, &seq)
			_ = msg.Unmarshal(1, &at)
			d := time.Duration(time.Now().UnixNano() - at)
			r.mu.Lock()
			r.lat = append(r.lat, d)
			r.mu.Unlock()
			r.last.Store(seq)
		})
		s.On("tp", func(sioclient.Message, sioclient.AckFunc) { r.count.Add(1) })
		s.OnDisconnect(func(reason string, err error) {
			r.mu.Lock()
			r.gone = fmt.Sprintf("%s %v", reason, err)
			r.mu.Unlock()
		})
		if err := s.Connect(cctx); err != nil {
			return out, err
		}
		rs = append(rs, r)
	}
	target := map[string]any{}
	// Warm-up: until one broadcast reaches every receiver.
	for seq := int64(-1); ; seq-- {
		if err := sender.Emit(ctx, "ext:cluster-broadcast", target, "lat", seq, time.Now().UnixNano()); err != nil {
			return out, err
		}
		if waitAll(rs, func(r *recv) bool { return r.last.Load() == seq }, 2*time.Second) {
			break
		}
		if seq < -20 {
			return out, fmt.Errorf("warm-up broadcasts never reached every receiver")
		}
	}
	for _, r := range rs {
		r.mu.Lock()
		r.lat = r.lat[:0]
		r.mu.Unlock()
	}
	for seq := int64(1); seq <= int64(latencyN); seq++ {
		if err := sender.Emit(ctx, "ext:cluster-broadcast", target, "lat", seq, time.Now().UnixNano()); err != nil {
			return out, err
		}
		if !waitAll(rs, func(r *recv) bool { return r.last.Load() >= seq }, 5*time.Second) {
			return out, fmt.Errorf("latency broadcast %d lost", seq)
		}
	}
	var all []time.Duration
	for _, r := range rs {
		all = append(all, r.lat...)
	}
	slices.Sort(all)
	out.p50, out.p99, out.max = all[len(all)/2], all[len(all)*99/100], all[len(all)-1]

	start := time.Now()
	for i := range messages {
		if err := sender.Emit(ctx, "ext:cluster-broadcast", target, "tp", i); err != nil {
			return out, err
		}
	}
	if !waitAll(rs, func(r *recv) bool { return r.count.Load() >= int64(messages) }, 30*time.Second) {
		var got []string
		for _, r := range rs[:3] {
			r.mu.Lock()
			got = append(got, strconv.FormatInt(r.count.Load(), 10)+" "+r.gone)
			r.mu.Unlock()
		}
		return out, fmt.Errorf("throughput phase: receivers got %v of %d", got, messages)
	}
	el := time.Since(start)
	out.perSec = float64(messages) / el.Seconds()
	out.delivPS = float64(messages*receivers) / el.Seconds()
	return out, nil
}

// waitAll polls cond over every receiver until it holds or d passes.
func waitAll(rs []*recv, cond func(*recv) bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		ok := true
		for _, r := range rs {
			if !cond(r) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Microsecond)
	}
}
