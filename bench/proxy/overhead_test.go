package proxy

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/protocol/engineio"
)

// Sizes of one run; SIOSPEC_BENCH_SCALE multiplies the byte counts and
// round trips (default 1; 0.1 for a smoke run).
var (
	pingRounds = 10000
	tcpBytes   = int64(256 << 20)
	wsBytes    = int64(128 << 20)
	rounds     = 7 // each measurement is repeated, interleaved in rotating order, and the median kept
)

// cpuTime returns the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func scale(t *testing.T) float64 {
	s := os.Getenv("SIOSPEC_BENCH_SCALE")
	if s == "" {
		return 1
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		t.Fatalf("SIOSPEC_BENCH_SCALE=%q: want a positive number", s)
	}
	return f
}

// upstreams: a TCP echo (latency), a TCP sink that reads the byte count
// announced in an 8-byte header and then reports how many it read
// (throughput; Toxiproxy does not forward half-closes), and a WebSocket server
// speaking Engine.IO framing: a text message is echoed, binary messages are
// counted, and the text message "4done" is answered with the count.
type upstreams struct {
	echo, sink net.Listener
	ws         *http.Server
	wsLn       net.Listener
	wg         sync.WaitGroup
}

func startUpstreams(t *testing.T) *upstreams {
	u := &upstreams{}
	var err error
	if u.echo, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if u.sink, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if u.wsLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	serve := func(ln net.Listener, h func(net.Conn)) {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				u.wg.Add(1)
				go func() { defer u.wg.Done(); defer c.Close(); h(c) }()
			}
		}()
	}
	serve(u.echo, func(c net.Conn) { _, _ = io.Copy(c, c) })
	serve(u.sink, func(c net.Conn) {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		want := int64(binary.BigEndian.Uint64(hdr[:]))
		n, _ := io.CopyBuffer(io.Discard, io.LimitReader(c, want), make([]byte, 64<<10))
		_, _ = io.WriteString(c, strconv.FormatInt(n, 10))
	})
	up := websocket.Upgrader{ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10}
	u.ws = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		var n int64
		for {
			mt, rd, err := c.NextReader()
			if err != nil {
				return
			}
			if mt == websocket.BinaryMessage {
				k, _ := io.Copy(io.Discard, rd)
				n += k
				continue
			}
			m, _ := io.ReadAll(rd)
			if string(m) == "4done" {
				m = []byte("4" + strconv.FormatInt(n, 10))
				n = 0
			}
			if c.WriteMessage(websocket.TextMessage, m) != nil {
				return
			}
		}
	})}
	u.wg.Add(1)
	go func() { defer u.wg.Done(); _ = u.ws.Serve(u.wsLn) }()
	t.Cleanup(func() {
		u.echo.Close()
		u.sink.Close()
		_ = u.ws.Close()
		u.wg.Wait()
	})
	return u
}

// target is one way to reach the upstreams: directly, through siospec's
// fault proxy with the protocol tap on, or through Toxiproxy's proxy.
type target struct {
	name                string
	echo, sink, wsProxy string
}

// siospecTargets starts siospec's proxies with the tap on. With decode, each
// also carries an Engine.IO fault that never fires (drop noop packets, both
// ways): every WebSocket frame is then held whole and its packet type read,
// the work any Engine.IO packet fault costs per frame.
func siospecTargets(t *testing.T, u *upstreams, decode bool) target {
	start := func(up string) string {
		p, err := faultproxy.New(up, &faultproxy.Options{Tap: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Close() })
		if decode {
			if _, err := p.Add(faultproxy.EIODropPacket{Direction: faultproxy.Both, Packets: []engineio.PacketType{engineio.Noop}}); err != nil {
				t.Fatal(err)
			}
		}
		return p.Addr()
	}
	name := "siospec faultproxy (tap on)"
	if decode {
		name = "siospec faultproxy (tap on + an eio_drop_packet that never fires: every frame held whole, its packet type read)"
	}
	return target{name, start(u.echo.Addr().String()), start(u.sink.Addr().String()), start(u.wsLn.Addr().String())}
}

func toxiproxyTargets(t *testing.T, u *upstreams) target {
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	n := 0
	start := func(up string) string {
		n++
		p := toxiproxy.NewProxy(srv, "bench"+strconv.Itoa(n), "127.0.0.1:0", up)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		return p.Listen
	}
	return target{"Toxiproxy v2.5.0 (no toxic)", start(u.echo.Addr().String()), start(u.sink.Addr().String()), start(u.wsLn.Addr().String())}
}

// pingPong measures n round trips of one byte over TCP.
func pingPong(addr string, n int) ([]time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	b := []byte{'x'}
	out := make([]time.Duration, 0, n)
	for i := range n + n/10 {
		start := time.Now()
		if _, err := c.Write(b); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return nil, err
		}
		if i >= n/10 { // the first tenth warms up
			out = append(out, time.Since(start))
		}
	}
	return out, nil
}

// wsDial opens an Engine.IO-style WebSocket through addr.
func wsDial(addr string) (*websocket.Conn, error) {
	d := websocket.Dialer{ReadBufferSize: 64 << 10, WriteBufferSize: 64 << 10, HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial("ws://"+addr+"/engine.io/?EIO=4&transport=websocket", nil)
	return c, err
}

// wsPingPong measures n round trips of a one-byte Engine.IO message ("4").
func wsPingPong(addr string, n int) ([]time.Duration, error) {
	c, err := wsDial(addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	msg := []byte("4")
	out := make([]time.Duration, 0, n)
	for i := range n + n/10 {
		start := time.Now()
		if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
			return nil, err
		}
		if _, m, err := c.ReadMessage(); err != nil || string(m) != "4" {
			return nil, fmt.Errorf("echo %q: %v", m, err)
		}
		if i >= n/10 {
			out = append(out, time.Since(start))
		}
	}
	return out, nil
}

// tcpThroughput streams total bytes in 64 KiB writes to the sink and waits
// for its count; it returns MB/s (10^6 bytes).
func tcpThroughput(addr string, total int64) (float64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Minute))
	buf := make([]byte, 64<<10)
	start := time.Now()
	var hdr [8]byte
	binary.BigEndian.PutUint64(hdr[:], uint64(total))
	if _, err := c.Write(hdr[:]); err != nil {
		return 0, err
	}
	for sent := int64(0); sent < total; sent += int64(len(buf)) {
		if _, err := c.Write(buf); err != nil {
			return 0, err
		}
	}
	want := strconv.FormatInt(total, 10)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		return 0, err
	}
	if string(got) != strconv.FormatInt(total, 10) {
		return 0, fmt.Errorf("sink counted %q bytes, want %d", got, total)
	}
	return float64(total) / time.Since(start).Seconds() / 1e6, nil
}

// wsThroughput sends total bytes as 32 KiB binary Engine.IO messages and
// waits for the server's count; MB/s.
func wsThroughput(addr string, total int64) (float64, error) {
	c, err := wsDial(addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Minute))
	frame := make([]byte, 32<<10)
	start := time.Now()
	for sent := int64(0); sent < total; sent += int64(len(frame)) {
		if err := c.WriteMessage(websocket.BinaryMessage, frame); err != nil {
			return 0, err
		}
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("4done")); err != nil {
		return 0, err
	}
	_, m, err := c.ReadMessage()
	if err != nil {
		return 0, err
	}
	if string(m) != "4"+strconv.FormatInt(total, 10) {
		return 0, fmt.Errorf("server counted %q, want %d bytes", m, total)
	}
	return float64(total) / time.Since(start).Seconds() / 1e6, nil
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

type result struct {
	tcpP50, tcpP99, wsP50, wsP99 []time.Duration
	tcpMBs, wsMBs                []float64
	tcpCPU, wsCPU                []float64 // CPU seconds (whole process) per GiB moved
}

// TestOverhead measures, in one run, the latency a proxy adds (p50/p99 of a
// one-byte ping-pong over TCP and over an Engine.IO WebSocket) and its
// throughput (TCP bulk, WebSocket binary messages), directly, through
// siospec's fault proxy with the protocol tap on, and through Toxiproxy's
// proxy (the library, in process, no toxic), and prints a Markdown table.
// Each measurement runs `rounds` times, interleaved between the targets,
// and the median is reported.
func TestOverhead(t *testing.T) {
	if os.Getenv("SIOSPEC_BENCH_PROXY") == "" {
		t.Skip("set SIOSPEC_BENCH_PROXY=1 to measure the proxies' overhead (about 1-3 minutes)")
	}
	f := scale(t)
	pings := max(100, int(float64(pingRounds)*f))
	tcpTotal := max(1<<20, int64(float64(tcpBytes)*f)) &^ (64<<10 - 1)
	wsTotal := max(1<<20, int64(float64(wsBytes)*f)) &^ (32<<10 - 1)
	u := startUpstreams(t)
	targets := []target{
		{"direct", u.echo.Addr().String(), u.sink.Addr().String(), u.wsLn.Addr().String()},
		siospecTargets(t, u, false),
		toxiproxyTargets(t, u),
		siospecTargets(t, u, true),
	}
	res := make([]result, len(targets))
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for r := range rounds {
		for k := range targets {
			i := (k + r) % len(targets) // rotate the order between rounds
			tg := targets[i]
			ds, err := pingPong(tg.echo, pings)
			check(err)
			res[i].tcpP50 = append(res[i].tcpP50, pct(ds, 0.50))
			res[i].tcpP99 = append(res[i].tcpP99, pct(ds, 0.99))
			ds, err = wsPingPong(tg.wsProxy, pings)
			check(err)
			res[i].wsP50 = append(res[i].wsP50, pct(ds, 0.50))
			res[i].wsP99 = append(res[i].wsP99, pct(ds, 0.99))
			c0 := cpuTime()
			mbs, err := tcpThroughput(tg.sink, tcpTotal)
			check(err)
			res[i].tcpMBs = append(res[i].tcpMBs, mbs)
			res[i].tcpCPU = append(res[i].tcpCPU, (cpuTime()-c0).Seconds()/(float64(tcpTotal)/(1<<30)))
			c0 = cpuTime()
			mbs, err = wsThroughput(tg.wsProxy, wsTotal)
			check(err)
			res[i].wsMBs = append(res[i].wsMBs, mbs)
			res[i].wsCPU = append(res[i].wsCPU, (cpuTime()-c0).Seconds()/(float64(wsTotal)/(1<<30)))
			t.Logf("round %d %s: tcp p50 %v, ws p50 %v, tcp %.0f MB/s, ws %.0f MB/s", r+1, tg.name,
				res[i].tcpP50[r], res[i].wsP50[r], res[i].tcpMBs[r], res[i].wsMBs[r])
		}
	}
	md := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	us := func(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }
	var b strings.Builder
	fmt.Fprintf(&b, "%d round trips per latency run, %d MiB TCP and %d MiB WebSocket per throughput run, median of %d interleaved runs (order rotated each round)\n\n",
		pings, tcpTotal>>20, wsTotal>>20, rounds)
	b.WriteString("| path | TCP 1-byte RTT p50 | p99 | WS 1-byte message RTT p50 | p99 | TCP MB/s | WS MB/s (32 KiB binary messages) | CPU s/GiB TCP | CPU s/GiB WS |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for i, tg := range targets {
		r := res[i]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %.0f | %.0f | %.2f | %.2f |\n", tg.name, us(md(r.tcpP50)), us(md(r.tcpP99)),
			us(md(r.wsP50)), us(md(r.wsP99)), median(r.tcpMBs), median(r.wsMBs), median(r.tcpCPU), median(r.wsCPU))
	}
	b.WriteString("\nCPU s/GiB is the whole test process (client, upstream and proxy) per GiB moved; the direct row is the baseline without a proxy.\n")
	t.Log("\n" + b.String())
	if out := os.Getenv("SIOSPEC_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sio, tox := res[1], res[2] // the tap-on row against Toxiproxy
	if median(sio.tcpMBs) < median(tox.tcpMBs) || median(sio.wsMBs) < median(tox.wsMBs) {
		t.Logf("NOTE: siospec's throughput is below Toxiproxy's in this run")
	}
}
