package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// sample is one measurement of one implementation in one round.
type sample struct {
	Workload string
	Impl     string
	Round    int
	// Ops completed in the measured window (echoes, acks, sessions,
	// broadcasts) and its length.
	Ops  int64
	Wall time.Duration
	// CPU of the server process and of the generator in the window.
	SrvCPU time.Duration
	GenCPU time.Duration
	// Errors: sessions that failed during the run.
	Errors int64
	// Workload-specific figures (memory per session, latency, ...).
	Extra map[string]float64
}

// window measures ops, wall and CPU between two snapshots.
type window struct {
	t      time.Time
	ops    int64
	srv    time.Duration
	gen    time.Duration
	server *proc
	count  *atomic.Int64
}

func snap(p *proc, count *atomic.Int64) window {
	return window{t: time.Now(), ops: count.Load(), srv: p.cpu(), gen: procCPU("self"), server: p, count: count}
}

func (w window) end(s *sample) {
	e := snap(w.server, w.count)
	s.Ops = e.ops - w.ops
	s.Wall = e.t.Sub(w.t)
	s.SrvCPU = e.srv - w.srv
	s.GenCPU = e.gen - w.gen
}

// dialAll opens n sessions with at most 32 handshakes at a time; sessions
// that fail are counted and left out.
func dialAll[C any](ctx context.Context, n int, dial func(context.Context) (C, error)) ([]C, int64) {
	var mu sync.Mutex
	var out []C
	var failed atomic.Int64
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial(ctx)
			if err != nil {
				failed.Add(1)
				return
			}
			mu.Lock()
			out = append(out, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out, failed.Load()
}

func dialer4(transport string, addr string, im impl) func(context.Context) (conn, error) {
	if transport == "polling" {
		return func(ctx context.Context) (conn, error) { return dialPolling(ctx, addr, im) }
	}
	return func(ctx context.Context) (conn, error) { return dialWS(ctx, addr, im) }
}

// echo keeps inflight messages in flight on each of n sessions for
// warm-up + dur and counts completed echoes in the window after warm-up.
// On polling, each POST carries the inflight messages and GETs follow
// until all are echoed.
func echo(ctx context.Context, p *proc, im impl, transport string, n, inflight int, mk msgKind, warm, dur time.Duration) sample {
	s := sample{}
	conns, failed := dialAll(ctx, n, dialer4(transport, p.addr, im))
	s.Errors = failed
	var count, errs atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	fs := mk.frames(im.proto)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			var err error
			if transport == "polling" {
				err = echoPolling(c, fs, mk, im.proto, inflight, &count, &stop)
			} else {
				err = echoWS(c, fs, mk, im.proto, inflight, &count, &stop)
			}
			if err != nil {
				errs.Add(1)
			}
		}()
	}
	sleepCtx(ctx, warm)
	w := snap(p, &count)
	if profDir != "" {
		secs := max(1, int(dur/time.Second))
		go p.profile(fmt.Sprintf("echo-%s-%s-c%d", transport, mk.name, n), im, fmt.Sprintf("profile?seconds=%d", secs), "cpu")
	}
	sleepCtx(ctx, dur)
	w.end(&s)
	stop.Store(true)
	wg.Wait()
	s.Errors += errs.Load()
	return s
}

func echoWS(c conn, fs []frame, mk msgKind, proto string, inflight int, count *atomic.Int64, stop *atomic.Bool) error {
	w := c.(*wsConn)
	if err := w.sendN(fs, inflight); err != nil {
		return err
	}
	out := inflight
	for out > 0 {
		got, err := w.recv()
		if err != nil {
			return err
		}
		k := 0
		for _, f := range got {
			if mk.done(proto, f) {
				k++
			}
		}
		count.Add(int64(k))
		if stop.Load() {
			out -= k
			continue
		}
		if k > 0 {
			if err := w.sendN(fs, k); err != nil {
				return err
			}
		}
	}
	return nil
}

func echoPolling(c conn, fs []frame, mk msgKind, proto string, inflight int, count *atomic.Int64, stop *atomic.Bool) error {
	batch := make([]frame, 0, inflight*len(fs))
	for range inflight {
		batch = append(batch, fs...)
	}
	for !stop.Load() {
		if err := c.send(batch); err != nil {
			return err
		}
		for want := inflight; want > 0; {
			got, err := c.recv()
			if err != nil {
				return err
			}
			for _, f := range got {
				if mk.done(proto, f) {
					count.Add(1)
					want--
				}
			}
		}
	}
	return nil
}

// acks runs emit-with-ack round trips: like echo, with 421["ack","hello"]
// answered by 431["hello"] (ids are not checked; one id per message).
func acks(ctx context.Context, p *proc, im impl, n, inflight int, warm, dur time.Duration) sample {
	mk := msgKind{
		name:   "ack",
		frames: func(string) []frame { return []frame{{data: []byte(`421["ack","hello"]`)}} },
		done: func(_ string, f frame) bool {
			return !f.binary && len(f.data) > 2 && f.data[0] == '4' && f.data[1] == '3'
		},
	}
	return echo(ctx, p, im, "websocket", n, inflight, mk, warm, dur)
}

// handshakes opens and closes sessions from 16 workers for dur, after a
// warm-up: a WebSocket session (open packet, CONNECT for Socket.IO) or a
// polling one (handshake GET, CONNECT for Socket.IO, then POST "1").
func handshakes(ctx context.Context, p *proc, im impl, transport string, warm, dur time.Duration) sample {
	s := sample{}
	var count, errs atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	dial := dialer4(transport, p.addr, im)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c, err := dial(ctx)
				if err != nil {
					errs.Add(1)
					if errs.Load() > 1000 {
						return
					}
					continue
				}
				c.close()
				count.Add(1)
			}
		}()
	}
	sleepCtx(ctx, warm)
	w := snap(p, &count)
	sleepCtx(ctx, dur)
	w.end(&s)
	stop.Store(true)
	wg.Wait()
	s.Errors = errs.Load()
	return s
}

// idle opens n idle sessions (each with a goroutine answering pings; on
// polling, a parked GET) and reports heap and RSS per session against the
// server before any session.
func idle(ctx context.Context, p *proc, im impl, transport string, n int) sample {
	s := sample{Extra: map[string]float64{}}
	// One session first, so that lazily built state is in the baseline.
	if c, err := dialer4(transport, p.addr, im)(ctx); err == nil {
		c.close()
	}
	sleepCtx(ctx, 500*time.Millisecond)
	heap0, stack0 := p.heap()
	rss0 := p.rss()
	conns, failed := dialAll(ctx, n, dialer4(transport, p.addr, im))
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rctx.Err() == nil {
				if _, err := c.recv(); err != nil {
					return
				}
			}
		}()
	}
	sleepCtx(ctx, 2*time.Second) // let parked GETs arrive and the server settle
	heap1, stack1 := p.heap()
	rss1 := p.rss()
	p.profile("idle-"+transport, im, "heap", "heap")
	p.profile("idle-"+transport, im, "goroutine", "goroutine")
	k := float64(len(conns))
	s.Ops = int64(len(conns))
	s.Errors = failed
	s.Extra["heap_per_session"] = float64(heap1+stack1-heap0-stack0) / k
	s.Extra["stack_per_session"] = float64(stack1-stack0) / k
	s.Extra["rss_per_session"] = float64(rss1-rss0) / k
	cancel()
	var cw sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range conns {
		cw.Add(1)
		sem <- struct{}{}
		go func() { defer cw.Done(); c.close(); <-sem }()
	}
	cw.Wait()
	wg.Wait()
	return s
}

// broadcast joins n WebSocket sockets to room "r" and times rounds of one
// "bcast" until every socket got its "tick".
func broadcast(ctx context.Context, p *proc, im impl, n, rounds int) sample {
	s := sample{Extra: map[string]float64{}}
	conns, failed := dialAll(ctx, n, func(ctx context.Context) (*wsConn, error) {
		c, err := dialWS(ctx, p.addr, im)
		if err != nil {
			return nil, err
		}
		if err := c.send([]frame{{data: []byte(`421["join"]`)}}); err != nil {
			c.close()
			return nil, err
		}
		for {
			fs, err := c.recv()
			if err != nil {
				c.close()
				return nil, err
			}
			if len(fs[0].data) > 1 && fs[0].data[1] == '3' {
				return c, nil
			}
		}
	})
	s.Errors = failed
	if len(conns) == 0 {
		return s
	}
	var pending atomic.Int64
	done := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				fs, err := c.recv()
				if err != nil {
					return
				}
				if len(fs[0].data) > 8 && string(fs[0].data[:9]) == `42["tick"` {
					if pending.Add(-1) == 0 {
						done <- struct{}{}
					}
				}
			}
		}()
	}
	var times []time.Duration
	var count atomic.Int64
	w := snap(p, &count)
	if profDir != "" {
		go p.profile(fmt.Sprintf("broadcast-n%d", n), im, "profile?seconds=2", "cpu")
	}
	for range rounds {
		pending.Store(int64(len(conns)))
		t0 := time.Now()
		if err := conns[0].send([]frame{{data: []byte(`42["bcast","hello"]`)}}); err != nil {
			s.Errors++
			break
		}
		select {
		case <-done:
			times = append(times, time.Since(t0))
			count.Add(1)
		case <-time.After(30 * time.Second):
			s.Errors++
		}
		if len(times) < rounds {
			sleepCtx(ctx, 200*time.Millisecond)
		}
	}
	w.end(&s)
	for _, c := range conns {
		c.close()
	}
	wg.Wait()
	s.Ops = int64(len(times) * len(conns)) // deliveries
	if len(times) > 0 {
		s.Extra["last_delivery_ms"] = float64(median(times)) / 1e6
	}
	return s
}

// latency opens n WebSocket sessions, each echoing one message every
// interval (random phase) for dur, and reports p50/p99 of the round trips.
func latency(ctx context.Context, p *proc, im impl, n int, interval, dur time.Duration) sample {
	s := sample{Extra: map[string]float64{}}
	conns, failed := dialAll(ctx, n, func(ctx context.Context) (conn, error) { return dialWS(ctx, p.addr, im) })
	s.Errors = failed
	fs := smallText.frames(im.proto)
	var mu sync.Mutex
	var lats []time.Duration
	var count, errs atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(dur)
	w := snap(p, &count)
	if secs := int(dur/time.Second) - 2; secs > 0 {
		// CPU and allocations of the window (-pprof).
		go p.profile("latency", im, fmt.Sprintf("profile?seconds=%d", secs), "cpu")
		go p.profile("latency", im, fmt.Sprintf("allocs?seconds=%d", secs), "allocs")
	}
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.close()
			var mine []time.Duration
			next := time.Now().Add(time.Duration(rand.Int64N(int64(interval))))
			for next.Before(deadline) {
				sleepCtx(ctx, time.Until(next))
				t0 := time.Now()
				if err := c.send(fs); err != nil {
					errs.Add(1)
					break
				}
				ok := false
				for !ok {
					got, err := c.recv()
					if err != nil {
						errs.Add(1)
						break
					}
					for _, f := range got {
						ok = ok || smallText.done(im.proto, f)
					}
				}
				if !ok {
					break
				}
				mine = append(mine, time.Since(t0))
				count.Add(1)
				next = next.Add(interval)
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	w.end(&s)
	s.Errors += errs.Load()
	if len(lats) > 0 {
		slices.Sort(lats)
		s.Extra["p50_ms"] = float64(lats[len(lats)/2]) / 1e6
		s.Extra["p99_ms"] = float64(lats[len(lats)*99/100]) / 1e6
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func median(ds []time.Duration) time.Duration {
	c := slices.Clone(ds)
	slices.Sort(c)
	return c[len(c)/2]
}

func fmtDur(d time.Duration) string { return fmt.Sprint(d.Round(time.Millisecond)) }
