// Command benchsrv is the echo server of every Go implementation that
// bench/cmd/siobench compares, one process per run so that its CPU time
// and memory can be read from /proc:
//
//	benchsrv -kind eio|sio|zeio|zsio|gorilla
//
// eio and sio are siospec's reference servers (reference/eioserver,
// reference/sioserver), zeio and zsio zishang520's servers v3.0.6, gorilla
// a raw gorilla/websocket echo (no Engine.IO framing: every message goes
// back as it came). All use their defaults. eio and sio serve the
// listener through eioserver's Serve (its lean HTTP/1.1 path for polling
// requests, net/http for the rest); -nethttp serves them through net/http
// alone. The server listens on
// 127.0.0.1 at a free port (or -addr), prints "listening ADDR" and exits
// when stdin closes.
//
// Engine.IO kinds send every message back. Socket.IO kinds, on "/":
// "echo" is emitted back with the same arguments, "ack" is acknowledged
// with its arguments, "join" joins room "r" and acks, "bcast" emits "tick"
// with its arguments to room "r". GET /_bench/mem collects garbage and
// answers {"heap": HeapAlloc, "stack": StackInuse, "goroutines": n};
// /debug/pprof/ serves the profiles. BENCHSRV_MEMPROFILERATE, if set, is
// runtime.MemProfileRate (1 records every allocation: exact heap profiles
// of idle sessions).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/reference/eioserver"
	"github.com/siospec/siospec/reference/sioserver"
)

func main() {
	kind := flag.String("kind", "eio", "eio, sio, zeio, zsio or gorilla")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	netHTTP := flag.Bool("nethttp", false, "eio, sio: serve through net/http alone instead of eioserver's Serve")
	flag.Parse()
	if v, err := strconv.Atoi(os.Getenv("BENCHSRV_MEMPROFILERATE")); err == nil && v > 0 {
		runtime.MemProfileRate = v
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/_bench/mem", mem)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	var closeFn func()
	// engine, if set, serves the listener (eioserver.Server.Serve: a lean
	// path for polling requests, net/http with mux for the rest).
	var engine *eioserver.Server
	switch *kind {
	case "eio":
		srv := eioserver.NewServer(&eioserver.Options{OnSession: func(s *eioserver.Session) {
			s.OnMessage(func(p engineio.Packet) { _ = s.Send(p) })
		}})
		mux.Handle("/engine.io/", srv)
		closeFn = func() { shutdown(srv.Close) }
		engine = srv
	case "sio":
		srv := sioserver.NewServer(nil)
		root := srv.Of("/")
		root.OnConnection(func(s *sioserver.Socket) {
			s.On("echo", func(e *sioserver.Event) { _ = s.Emit("echo", e.Args...) })
			s.On("ack", func(e *sioserver.Event) { _ = e.Ack(e.Args...) })
			s.On("join", func(e *sioserver.Event) { s.Join("r"); _ = e.Ack() })
			s.On("bcast", func(e *sioserver.Event) { _ = root.To("r").Emit("tick", e.Args...) })
		})
		mux.Handle("/socket.io/", srv)
		closeFn = func() { shutdown(srv.Close) }
		engine = srv.Engine()
	case "zeio":
		closeFn = zishangEngine(mux)
	case "zsio":
		closeFn = zishangSocket(mux)
	case "gorilla":
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		mux.HandleFunc("/engine.io/", func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer c.Close()
			for {
				mt, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				if err := c.WriteMessage(mt, data); err != nil {
					return
				}
			}
		})
		closeFn = func() {}
	default:
		fmt.Fprintln(os.Stderr, "benchsrv: unknown kind", *kind)
		os.Exit(4)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsrv:", err)
		os.Exit(2)
	}
	if engine != nil && !*netHTTP {
		ctx, stop := context.WithCancel(context.Background())
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = engine.Serve(ctx, ln, &eioserver.ServeOptions{Fallback: mux, DrainTimeout: 2 * time.Second})
		}()
		fmt.Println("listening", ln.Addr())
		_, _ = io.Copy(io.Discard, os.Stdin)
		closeFn()
		stop()
		select {
		case <-served:
		case <-time.After(3 * time.Second):
		}
		return
	}
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	fmt.Println("listening", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	closeFn()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
}

func shutdown(f func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = f(ctx)
}

func mem(w http.ResponseWriter, _ *http.Request) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]uint64{
		"heap":       ms.HeapAlloc,
		"stack":      ms.StackInuse,
		"goroutines": uint64(runtime.NumGoroutine()),
	})
}
