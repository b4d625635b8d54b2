// Command siobench compares the echo servers of bench/cmd/benchsrv and
// bench/node/echo.js (siospec's reference servers, Node engine.io 6.6 /
// socket.io 4.8.4, zishang520 v3.0.6, a raw gorilla/websocket echo) with one
// Go load generator, in interleaved rounds with the order of the servers
// rotated each round. Each measurement starts a fresh server process and
// reads its CPU time from /proc; results are medians over rounds.
//
//	cd bench && go run ./cmd/siobench -rounds 3 -out results/load.md -raw results/load.jsonl
//
// See bench/README.md for the workloads and how to read the tables.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// workload is one row group of the result tables.
type workload struct {
	name      string
	proto     string // "eio", "sio" or "" for both
	transport string
	raw       bool // the raw gorilla echo takes part
	procs     int  // GOMAXPROCS of Go servers (0: 2)
	rounds    int  // 0: -rounds
	run       func(ctx context.Context, p *proc, im impl) sample
	unit      string // what one op is
}

func main() {
	rounds := flag.Int("rounds", 3, "interleaved rounds per workload")
	dur := flag.Duration("dur", 1500*time.Millisecond, "measured window of throughput workloads")
	warm := flag.Duration("warm", 500*time.Millisecond, "warm-up before the window")
	sel := flag.String("run", ".", "regexp selecting workloads by name")
	only := flag.String("impls", ".", "regexp selecting implementations (name/proto)")
	idleN := flag.Int("idle", 10000, "sessions of the idle-memory and latency workloads")
	latEvery := flag.Duration("latency-every", 5*time.Second, "interval between two echoes of one session in the latency workload")
	latDur := flag.Duration("latency-dur", 15*time.Second, "length of the latency workload")
	out := flag.String("out", "", "write the Markdown tables here too")
	rawOut := flag.String("raw", "", "append raw samples (JSON lines) here")
	bin := flag.String("bin", "", "benchsrv binary (default: built into a temporary directory)")
	flag.StringVar(&profDir, "pprof", "", "save profiles of the Go servers in this directory")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	benchDir, _ := os.Getwd()
	if *bin == "" {
		dir, err := os.MkdirTemp("", "siobench")
		if err != nil {
			fatal(err)
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "benchsrv")
		b := exec.Command("go", "build", "-o", *bin, "./cmd/benchsrv")
		b.Stdout, b.Stderr = os.Stderr, os.Stderr
		if err := b.Run(); err != nil {
			fatal(err)
		}
	}
	impls := allImpls(*bin, benchDir)
	re := regexp.MustCompile(*sel)
	ire := regexp.MustCompile(*only)

	d, w := *dur, *warm
	var wls []workload
	for _, tr := range []string{"websocket", "polling"} {
		for _, mk := range []msgKind{smallText, bin4K} {
			for _, n := range []int{1, 100, 1000} {
				inflight := 32
				if n == 1000 {
					inflight = 4
				}
				if mk.name == "bin4k" {
					inflight = max(1, inflight/4)
				}
				wls = append(wls, workload{
					name: fmt.Sprintf("echo/%s/%s/c%d", tr, mk.name, n), transport: tr, raw: tr == "websocket", unit: "msg",
					run: func(ctx context.Context, p *proc, im impl) sample {
						return echo(ctx, p, im, tr, n, inflight, mk, w, d)
					},
				})
			}
		}
	}
	wls = append(wls, workload{name: "ack/websocket/c100", proto: "sio", unit: "ack",
		run: func(ctx context.Context, p *proc, im impl) sample { return acks(ctx, p, im, 100, 32, w, d) }})
	for _, tr := range []string{"websocket", "polling"} {
		wls = append(wls, workload{name: "handshake/" + tr, transport: tr, unit: "session",
			run: func(ctx context.Context, p *proc, im impl) sample { return handshakes(ctx, p, im, tr, w, d) }})
	}
	for _, tr := range []string{"websocket", "polling"} {
		wls = append(wls, workload{name: fmt.Sprintf("idle/%s/n%d", tr, *idleN), transport: tr, raw: tr == "websocket", rounds: 1, unit: "session",
			run: func(ctx context.Context, p *proc, im impl) sample { return idle(ctx, p, im, tr, *idleN) }})
	}
	for _, n := range []int{1000, 10000} {
		wls = append(wls, workload{name: fmt.Sprintf("broadcast/n%d", n), proto: "sio", rounds: 1, unit: "delivery",
			run: func(ctx context.Context, p *proc, im impl) sample { return broadcast(ctx, p, im, n, 7) }})
	}
	wls = append(wls, workload{name: fmt.Sprintf("latency/gomaxprocs1/n%d", *idleN), raw: true, procs: 1, rounds: 1, unit: "msg",
		run: func(ctx context.Context, p *proc, im impl) sample {
			return latency(ctx, p, im, *idleN, *latEvery, *latDur)
		}})

	var rawW io.Writer = io.Discard
	if *rawOut != "" {
		f, err := os.OpenFile(*rawOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		rawW = f
	}
	host, _ := os.Hostname()
	var md strings.Builder
	fmt.Fprintf(&md, "siobench %s, host %s, %s, rounds %d, window %s after %s warm-up\n\n",
		time.Now().UTC().Format(time.RFC3339), host, cpuInfo(), *rounds, d, w)
	for _, wl := range wls {
		if !re.MatchString(wl.name) || ctx.Err() != nil {
			continue
		}
		var ims []impl
		for _, im := range impls {
			if (wl.proto != "" && im.proto != wl.proto) || (im.raw && !wl.raw) || !ire.MatchString(im.name+"/"+im.proto) {
				continue
			}
			ims = append(ims, im)
		}
		n := wl.rounds
		if n == 0 {
			n = *rounds
		}
		procs := wl.procs
		if procs == 0 {
			procs = 2
		}
		load0 := loadAvg()
		var samples []sample
		for r := range n {
			for i := range ims {
				im := ims[(i+r)%len(ims)]
				if ctx.Err() != nil {
					break
				}
				p, err := startServer(ctx, im, procs)
				if err != nil {
					fmt.Fprintln(os.Stderr, wl.name, im.name, err)
					continue
				}
				s := wl.run(ctx, p, im)
				p.stop()
				s.Workload, s.Impl, s.Round = wl.name, im.name+"/"+im.proto, r
				samples = append(samples, s)
				b, _ := json.Marshal(s)
				fmt.Fprintln(rawW, string(b))
				fmt.Fprintf(os.Stderr, "%s %s round %d: %d ops in %s, server CPU %s, generator CPU %s, errors %d %v\n",
					wl.name, s.Impl, r, s.Ops, fmtDur(s.Wall), fmtDur(s.SrvCPU), fmtDur(s.GenCPU), s.Errors, s.Extra)
			}
		}
		writeTable(&md, wl, ims, samples, load0, loadAvg())
	}
	fmt.Print(md.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(md.String()), 0o644); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "siobench:", err)
	os.Exit(2)
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuInfo() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	n := 0
	model := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "processor") {
			n++
		}
		if v, ok := strings.CutPrefix(l, "model name"); ok && model == "" {
			model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return fmt.Sprintf("%d x %s", n, model)
}
