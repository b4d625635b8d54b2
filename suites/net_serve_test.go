package suites

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reference/sioserver"
)

// envNetServe makes this test binary a server under test for the net
// suite's --server-cmd proofs: "SIOSPEC_NET_SERVE=MODE suites.test PORT"
// serves the fixture of MODE on 127.0.0.1:PORT, prints "listening URL" and
// runs until SIGTERM. Modes are the keys of netServers.
const envNetServe = "SIOSPEC_NET_SERVE"

// netServers are the servers the test binary can play.
var netServers = map[string]func() (http.Handler, func()){
	// ref: the reference sio5 fixture with recovery and the proofs'
	// heartbeat.
	"ref": func() (http.Handler, func()) {
		fx := fixture.NewSIO5(netRefOptions())
		return fx, func() { _ = fx.Close(context.Background()) }
	},
	// amnesiac-ok: the reference fixture behind a front that answers a
	// polling request for a sid it never issued with 200 and an empty
	// payload instead of 400, as if it had kept the session across the
	// crash.
	"amnesiac-ok": func() (http.Handler, func()) {
		fx := fixture.NewSIO5(netRefOptions())
		return unknownSIDPollOK(fx), func() { _ = fx.Close(context.Background()) }
	},
}

// Broken servers of the net proofs that run in-process (TestNetBrokenServers).
var netBrokenServers = map[string]func() (http.Handler, func()){
	// slow-timeout: the reference fixture whose pingTimeout timers run
	// three times as long as announced: a half-open session outlives the
	// heartbeat budget (NET-HO-01).
	"slow-timeout": func() (http.Handler, func()) {
		o := netRefOptions()
		o.Clock = stretchClock{every: prooftest.PingTimeout}
		fx := fixture.NewSIO5(o)
		return fx, func() { _ = fx.Close(context.Background()) }
	},
	// slow-ping: the reference fixture whose pingInterval timers run three
	// times as long as announced: connections stay quiet past an idle
	// timeout longer than the announced pingInterval, and clients time the
	// session out (NET-IDLE-01, NET-RES-02).
	"slow-ping": func() (http.Handler, func()) {
		o := netRefOptions()
		o.Clock = stretchClock{every: prooftest.PingInterval}
		fx := fixture.NewSIO5(o)
		return fx, func() { _ = fx.Close(context.Background()) }
	},
	// keeps-cut: the reference fixture that never ends a polling session
	// by itself: it does not notice a polling request its client
	// abandoned (the request's context outlives the connection; a POST
	// whose body never arrived whole is dropped), it ignores a client's
	// close packet, and its heartbeat timers run 100 times as long as
	// announced. A session an idle timeout cut stays open and its sid
	// keeps working (NET-IDLE-03).
	"keeps-cut": func() (http.Handler, func()) {
		o := netRefOptions()
		o.Clock = stretchClock{every: prooftest.PingInterval, also: prooftest.PingTimeout, factor: 100}
		fx := fixture.NewSIO5(o)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("transport") != "polling" || q.Get("sid") == "" {
				fx.ServeHTTP(w, r)
				return
			}
			r = r.WithContext(context.WithoutCancel(r.Context()))
			if r.Method == http.MethodPost {
				body, err := io.ReadAll(r.Body)
				if err != nil {
					return // an aborted POST goes unnoticed
				}
				if pkts, err := engineio.DecodePayload(engineio.V4, false, body); err == nil && slices.ContainsFunc(pkts, func(p engineio.Packet) bool { return p.Type == engineio.Close }) {
					_, _ = io.WriteString(w, "ok") // the close packet is ignored
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			fx.ServeHTTP(w, r)
		})
		return h, func() { _ = fx.Close(context.Background()) }
	},
	// strip-ok: a GET for transport=websocket with a sid but no Upgrade
	// header is answered 200 (NET-STRIP-02).
	"strip-ok": func() (http.Handler, func()) {
		fx := fixture.NewSIO5(netRefOptions())
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			if q.Get("transport") == "websocket" && q.Get("sid") != "" && r.Header.Get("Upgrade") == "" {
				w.WriteHeader(http.StatusOK)
				return
			}
			fx.ServeHTTP(w, r)
		})
		return h, func() { _ = fx.Close(context.Background()) }
	},
	// lossy-polling: the up workload event seq 3 is lost when it comes by
	// a polling POST (NET-FW-01, NET-STRIP-01: sessions kept on polling).
	"lossy-polling": func() (http.Handler, func()) {
		fx := fixture.NewSIO5(netRefOptions())
		h := rewriteSIOPosts(fx, func(_ *sioPostState, _ sio.Version, text string) []string {
			if strings.Contains(text, `"net:seq",{"seq":3,`) {
				return nil
			}
			return []string{text}
		})
		return h, func() { _ = fx.Close(context.Background()) }
	},
}

// netRefOptions is the reference fixture of the net proofs: recovery on,
// the proofs' heartbeat.
func netRefOptions() *fixture.SIOOptions {
	return &fixture.SIOOptions{
		Options:        fixture.Options{PingInterval: prooftest.PingInterval, PingTimeout: prooftest.PingTimeout},
		ConnectTimeout: prooftest.ConnectTimeout,
		Recovery:       &sioserver.RecoveryOptions{},
	}
}

func init() {
	mode := os.Getenv(envNetServe)
	if mode == "" {
		return
	}
	os.Exit(netServe(mode, os.Args[len(os.Args)-1]))
}

// netServe is the body of the SIOSPEC_NET_SERVE mode.
func netServe(mode, port string) int {
	mk, ok := netServers[mode]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown %s mode %q\n", envNetServe, mode)
		return 4
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	h, stop := mk()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("listening http://%s\n", ln.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { _ = srv.Serve(ln) }()
	<-sig
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	return 0
}

// unknownSIDPollOK breaks NET-CRASH-03 and NET-LB-01: a polling GET naming
// a sid this instance never issued is answered 200 with a noop packet
// instead of 400, as a server that pretends to keep sessions it cannot
// have (across a crash, or issued by another instance) would.
func unknownSIDPollOK(next http.Handler) http.Handler {
	t := &sidTracker{seen: map[string]bool{}, next: next}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sid, ok := isPolling(r, http.MethodGet); ok && sid == "" {
			t.serveHandshake(w, r)
			return
		}
		if sid, ok := isPolling(r, http.MethodGet); ok && sid != "" && !t.known(sid) {
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			_, _ = w.Write([]byte("6"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
