package interop

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reference/testee"
)

// TestMain lets this test binary play the implementations of the tests'
// matrices: "{siospec}" in their commands is this binary, and its first
// argument picks the role (see peerMain).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		if code, ok := peerMain(os.Args[1], os.Args[2:]); ok {
			os.Exit(code)
		}
	}
	os.Exit(m.Run())
}

// peerMain runs one peer role:
//
//   - serve PROTO PORT [strict]: the reference fixture (sio5 or sio4), with
//     pingTimeout 2 s so that a loaded test machine cannot time a session
//     out; "strict" keeps the contract's 300/200 ms heartbeat;
//   - serve-drop PORT: the sio5 reference fixture behind a fault layer that
//     drops the 3rd net:seq event it sends: a broken server;
//   - serve-crash PORT: the sio5 reference fixture that exits with status 3
//     when up event 5 of the workload reaches it: a crashing server;
//   - serve-once PORT MARKER: the sio5 reference fixture that refuses to
//     start a second time (MARKER exists): a server that does not come
//     back after server-crash;
//   - testee: the reference client as a testee;
//   - testee-crash: the same, exiting with status 3 when it sends up event 5
//     of the workload: a crashing client;
//   - testee-nopong: the reference client behind a fault layer that drops
//     every pong it sends: a broken client;
//   - serve-badsid PORT: the sio5 reference fixture answering a polling
//     request with an unknown sid with HTTP 500 instead of 400 (NET-LB-01):
//     a broken server;
//   - testee-polling: the reference client ignoring SIOSPEC_TRANSPORTS=
//     websocket (it polls first, then upgrades): a broken client behind a
//     non-sticky balancer (NET-LB-02).
func peerMain(role string, args []string) (int, bool) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch role {
	case "serve":
		return serveFixture(ctx, args[0], args[1], nil, len(args) > 2 && args[2] == "strict"), true
	case "serve-drop":
		return serveFixture(ctx, "sio5", args[0], faultproxy.SIODropPacket{Types: []socketio.PacketType{socketio.Event, socketio.BinaryEvent}, Event: "net:seq", Nth: 3}, false), true
	case "serve-crash":
		return serveFixture(ctx, "sio5", args[0], exitAtSeq5(), false), true
	case "serve-once":
		// A server that does not come back after a crash: its second
		// start (the marker file exists) fails.
		if _, err := os.Stat(args[1]); err == nil {
			fmt.Fprintln(os.Stderr, "serve-once: started before, refusing to start again")
			return 2, true
		}
		if err := os.WriteFile(args[1], nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2, true
		}
		return serveFixture(ctx, "sio5", args[0], nil, false), true
	case "serve-badsid":
		return serveFixtureWith(ctx, "sio5", args[0], nil, false, unknownSIDIs500), true
	case "testee":
		return runRefTestee(ctx, ""), true
	case "testee-polling":
		_ = os.Setenv("SIOSPEC_TRANSPORTS", "polling,websocket")
		return runRefTestee(ctx, ""), true
	case "testee-crash", "testee-nopong":
		u, err := url.Parse(os.Getenv("SIOSPEC_URL"))
		if err != nil {
			return 1, true
		}
		px, err := faultproxy.New(u.Host, &faultproxy.Options{Tap: true})
		if err != nil || px.Start(ctx) != nil {
			return 1, true
		}
		defer px.Close()
		var f faultproxy.Fault = faultproxy.EIODropPacket{Direction: faultproxy.Upstream, Packets: []engineio.PacketType{engineio.Pong}}
		if role == "testee-crash" {
			f = exitAtSeq5()
		}
		if _, err := px.Add(f); err != nil {
			return 1, true
		}
		u.Host = px.Addr()
		return runRefTestee(ctx, u.String()), true
	}
	return 0, false
}

func runRefTestee(ctx context.Context, urlOverride string) int {
	o, err := testee.OptionsFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if urlOverride != "" {
		o.URL = urlOverride
	}
	b, err := os.ReadFile(os.Getenv("SIOSPEC_CASES"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	known := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if f := strings.Fields(line); len(f) == 2 {
			known[f[0]+" "+f[1]] = true
		}
	}
	o.Cases = func(suite, name string) bool { return known[suite+" "+name] }
	o.Stdin, o.Stdout = os.Stdin, os.Stdout
	return testee.Run(ctx, &o)
}

func serveFixture(ctx context.Context, proto, port string, fault faultproxy.Fault, strict bool) int {
	return serveFixtureWith(ctx, proto, port, fault, strict, nil)
}

// unknownSIDIs500 breaks NET-LB-01: a polling request with a sid that the
// fixture refuses with 400 gets 500 instead.
func unknownSIDIs500(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("transport") != "polling" || q.Get("sid") == "" {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&statusRewriter{ResponseWriter: w}, r)
	})
}

type statusRewriter struct{ http.ResponseWriter }

func (s *statusRewriter) WriteHeader(code int) {
	if code == http.StatusBadRequest {
		code = http.StatusInternalServerError
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRewriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func serveFixtureWith(ctx context.Context, proto, port string, fault faultproxy.Fault, strict bool, wrap func(http.Handler) http.Handler) int {
	opts := fixture.Options{PingInterval: 300 * time.Millisecond, PingTimeout: 2 * time.Second}
	if strict {
		opts = fixture.Options{}
	}
	var fx fixture.Fixture
	if proto == "sio4" {
		fx = fixture.NewSIO4(&fixture.SIOOptions{Options: opts})
	} else {
		fx = fixture.NewSIO5(&fixture.SIOOptions{Options: opts})
	}
	addr := "127.0.0.1:" + port
	if fault != nil {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var h http.Handler = fx
	if wrap != nil {
		h = wrap(fx)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = fx.Close(sctx)
		_ = hs.Shutdown(sctx)
	}()
	if fault != nil {
		px, err := faultproxy.New(ln.Addr().String(), &faultproxy.Options{Listen: "127.0.0.1:" + port, Tap: true})
		if err != nil || px.Start(ctx) != nil {
			fmt.Fprintln(os.Stderr, "fault layer:", err)
			return 2
		}
		defer px.Close()
		if _, err := px.Add(fault); err != nil {
			fmt.Fprintln(os.Stderr, "fault layer:", err)
			return 2
		}
	}
	fmt.Printf("listening http://127.0.0.1:%s\n", port)
	<-ctx.Done()
	return 0
}

// exitAtSeq5 is a fault layer that ends its process (status 3) when up
// event 5 of the workload passes: a crash at a fixed point of the cell.
func exitAtSeq5() faultproxy.Fault {
	return faultproxy.EIODropIf{Direction: faultproxy.Upstream, DropIf: func(_ faultproxy.Direction, p engineio.Packet) bool {
		if p.Type == engineio.Message && strings.Contains(string(p.Data), `{"seq":5,"dir":"up"}`) {
			os.Exit(3)
		}
		return false
	}}
}
