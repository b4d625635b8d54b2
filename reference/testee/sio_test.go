package testee

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioserver"
	"github.com/siospec/siospec/reference/sioserver"
)

// sioPeer is a reference Socket.IO server with "/", "/admin" and a
// "/refuse" namespace whose middleware refuses every connection.
type sioPeer struct {
	t       *testing.T
	url     string
	sockets chan *sioserver.Socket
	discs   chan string  // "nsp reason"
	refuse  atomic.Int32 // handshakes still to refuse with 503
}

func newSIOPeer(t *testing.T, v4 bool) *sioPeer {
	t.Helper()
	p := &sioPeer{t: t, sockets: make(chan *sioserver.Socket, 8), discs: make(chan string, 8)}
	srv := sioserver.NewServer(&sioserver.Options{Options: eioserver.Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		AllowEIO3:    v4,
	}})
	onConn := func(s *sioserver.Socket) {
		s.On("ask", func(e *sioserver.Event) { _ = e.Ack("answer", []byte{9}) })
		s.OnDisconnect(func(reason string) { p.discs <- s.Namespace().Name() + " " + reason })
		p.sockets <- s
	}
	srv.Of("/").OnConnection(onConn)
	srv.Of("/admin").OnConnection(onConn)
	srv.Of("/refuse").Use(func(*sioserver.Socket) error { return errors.New("refused here") })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sid") == "" && p.refuse.Add(-1) >= 0 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	})
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Close(ctx)
	})
	p.url = hs.URL + "/socket.io/"
	return p
}

func (p *sioPeer) socket() *sioserver.Socket {
	p.t.Helper()
	select {
	case s := <-p.sockets:
		return s
	case <-time.After(wait):
		p.t.Fatal("no socket connected")
		return nil
	}
}

func (p *sioPeer) disconnect() string {
	p.t.Helper()
	select {
	case d := <-p.discs:
		return d
	case <-time.After(wait):
		p.t.Fatal("no socket disconnected")
		return ""
	}
}

// command emits the siospec command on s and returns its ack.
func runCommand(t *testing.T, s *sioserver.Socket, cmd map[string]any) socketio.Object {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	res, err := s.EmitWithAck(ctx, "siospec", cmd)
	if err != nil {
		t.Fatalf("command %v: %v", cmd, err)
	}
	if len(res) != 1 {
		t.Fatalf("command %v acked %v", cmd, res)
	}
	o, _ := res[0].(socketio.Object)
	return o
}

func wantOK(t *testing.T, o socketio.Object, ok bool) {
	t.Helper()
	if v, _ := o.Get("ok"); v != ok {
		t.Fatalf("command ack %v, want ok %v", o, ok)
	}
}

// TestSIO runs every Socket.IO command and report on both suites.
func TestSIO(t *testing.T) {
	for _, tc := range []struct{ suite, transports string }{
		{"sio5", "polling,websocket"},
		{"sio5", "websocket"},
		{"sio4", "polling,websocket"},
		{"sio4", "polling"},
	} {
		t.Run(tc.suite+"/"+tc.transports, func(t *testing.T) {
			p := newSIOPeer(t, tc.suite == "sio4")
			r := start(t, p.url, tc.suite, tc.transports, `{"ackTimeout":2000}`)
			root := p.socket()
			r.out.expect("ready", nil)
			r.out.expect("open", nil)
			r.out.expect("connect", map[string]any{"nsp": "/", "id": root.ID(), "recovered": false})

			// A server event with an ack is reported and acked with the
			// same arguments, binary included.
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			res, err := root.EmitWithAck(ctx, "hello", "a", 1.5, []byte{1, 2}, map[string]any{"k": true})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 4 || res[0] != "a" || res[1] != 1.5 || string(res[2].([]byte)) != "\x01\x02" {
				t.Fatalf("echo ack %v", res)
			}
			r.out.expect("event", map[string]any{"nsp": "/", "event": "hello", "ack": true,
				"args": []any{"a", 1.5, map[string]any{"_bin": "AQI="}, map[string]any{"k": true}}})
			if err := root.Emit("plain"); err != nil {
				t.Fatal(err)
			}
			r.out.expect("event", map[string]any{"nsp": "/", "event": "plain", "ack": false, "args": []any{}})

			// emit without and with ack; with a timeout and no ack.
			got := make(chan []any, 1)
			root.On("note", func(e *sioserver.Event) { got <- e.Args })
			wantOK(t, runCommand(t, root, map[string]any{"cmd": "emit", "event": "note", "args": []any{"n", map[string]any{"_bin": "AAE="}}, "tag": "e1"}), true)
			select {
			case args := <-got:
				if len(args) != 2 || args[0] != "n" || string(args[1].([]byte)) != "\x00\x01" {
					t.Fatalf("note args %v", args)
				}
			case <-time.After(wait):
				t.Fatal("no note")
			}
			r.out.expect("done", map[string]any{"cmd": "emit", "tag": "e1"})
			wantOK(t, runCommand(t, root, map[string]any{"cmd": "emit", "event": "ask", "ack": true, "tag": "e2"}), true)
			r.out.expect("ack", map[string]any{"nsp": "/", "tag": "e2", "args": []any{"answer", map[string]any{"_bin": "CQ=="}}})
			wantOK(t, runCommand(t, root, map[string]any{"cmd": "emit", "event": "void", "ack": true, "timeout": 50, "tag": "e3"}), true)
			r.out.expect("ack_error", map[string]any{"nsp": "/", "tag": "e3"})
			wantOK(t, runCommand(t, root, map[string]any{"cmd": "emit", "event": "note", "volatile": true, "tag": "e4"}), true)
			r.out.expect("done", map[string]any{"cmd": "emit", "tag": "e4"})

			// A namespace the testee has no socket for.
			wantOK(t, runCommand(t, root, map[string]any{"cmd": "emit", "nsp": "/nope", "event": "x"}), false)
			r.out.expect("error", map[string]any{"message": "no socket for namespace /nope"})
			// Commands the library cannot do.
			wantOK(t, runCommand(t, root, map[string]any{"cmd": "send", "data": "x", "tag": "s"}), false)
			r.out.expect("unsupported", map[string]any{"cmd": "send", "tag": "s"})

			// connect, refusal, disconnect.
			wantOK(t, runCommand(t, root, map[string]any{"cmd": "connect", "nsp": "/admin", "tag": "c1"}), true)
			admin := p.socket()
			r.out.expect("connect", map[string]any{"nsp": "/admin", "id": admin.ID()})
			r.out.expect("done", map[string]any{"cmd": "connect", "tag": "c1"})
			wantOK(t, runCommand(t, admin, map[string]any{"cmd": "connect", "nsp": "/refuse"}), true)
			r.out.expect("connect_error", map[string]any{"nsp": "/refuse", "message": "refused here"})
			wantOK(t, runCommand(t, root, map[string]any{"cmd": "disconnect", "nsp": "/admin", "tag": "d1"}), true)
			r.out.expect("disconnect", map[string]any{"nsp": "/admin", "reason": "io client disconnect"})
			if d := p.disconnect(); d != "/admin client namespace disconnect" {
				t.Fatalf("server saw %q", d)
			}

			// close: acked, then every namespace goes.
			wantOK(t, runCommand(t, root, map[string]any{"cmd": "close", "tag": "x"}), true)
			r.out.expect("disconnect", map[string]any{"nsp": "/", "reason": "io client disconnect"})
			r.out.expect("done", map[string]any{"cmd": "close", "tag": "x"})
			p.disconnect()
			r.closeStdin()
			if c := r.exitCode(); c != 0 {
				t.Fatalf("exit %d", c)
			}
		})
	}
}

// TestSIONamespacesAndAuth: the namespaces option replaces "/", auth is the
// CONNECT payload of "/", unknown options are reported, exit ends the run.
func TestSIONamespacesAndAuth(t *testing.T) {
	p := newSIOPeer(t, false)
	r := start(t, p.url, "sio5", "polling", `{"namespaces":["/admin"],"rememberUpgrade":false,"bogus":1}`)
	admin := p.socket()
	if admin.Namespace().Name() != "/admin" {
		t.Fatalf("first socket on %s", admin.Namespace().Name())
	}
	r.out.expect("unsupported", map[string]any{"cmd": "options", "message": "option rememberUpgrade is not supported by the reference client: eioclient does not remember upgrades"})
	r.out.expect("unsupported", map[string]any{"cmd": "options", "message": "option bogus is not supported by the reference client: unknown option"})
	r.out.none("connect", map[string]any{"nsp": "/"})
	// The exit's ack is not awaited: the testee cuts its connections.
	if err := admin.Emit("siospec", map[string]any{"cmd": "exit", "code": 5, "tag": "q"}); err != nil {
		t.Fatal(err)
	}
	if c := r.exitCode(); c != 5 {
		t.Fatalf("exit %d, want 5", c)
	}
	r.out.expect("done", map[string]any{"cmd": "exit", "tag": "q"})

	p2 := newSIOPeer(t, false)
	r2 := start(t, p2.url, "sio5", "polling", `{"auth":{"token":"abc"}}`)
	root := p2.socket()
	if a, _ := root.Handshake().Auth.(socketio.Object).Get("token"); a != "abc" {
		t.Fatalf("auth %v", root.Handshake().Auth)
	}
	r2.out.expect("connect", map[string]any{"nsp": "/"})
}

// TestSIOReconnect: the first handshake is refused; the testee reports the
// connect error, the attempt and the reconnection with Node's names.
func TestSIOReconnect(t *testing.T) {
	p := newSIOPeer(t, false)
	p.refuse.Store(1)
	r := start(t, p.url, "sio5", "polling", `{"reconnectionDelay":20,"reconnectionDelayMax":40,"randomizationFactor":0}`)
	p.socket()
	r.out.expect("connect_error", map[string]any{"nsp": "/"})
	r.out.expect("reconnect_attempt", map[string]any{"attempt": 1})
	r.out.expect("reconnect", map[string]any{"attempt": 1})
	r.out.expect("connect", map[string]any{"nsp": "/"})
}

// TestSIOReconnectFailed: with a server that is never up, the attempts are
// reported until reconnect_failed.
func TestSIOReconnectFailed(t *testing.T) {
	p := newSIOPeer(t, false)
	p.refuse.Store(1 << 20)
	r := start(t, p.url, "sio5", "polling", `{"reconnectionDelay":10,"reconnectionDelayMax":20,"reconnectionAttempts":2}`)
	r.out.expect("reconnect_attempt", map[string]any{"attempt": 2})
	r.out.expect("reconnect_error", nil)
	r.out.expect("reconnect_failed", nil)
	r.out.none("reconnect_attempt", map[string]any{"attempt": 3})
}

// TestEndLikeAProcess: at the end of stdin and on cancellation (SIGTERM in
// siospec testee) the run ends promptly with 0, and the server never sees a
// DISCONNECT or a close packet: the connections just go.
func TestEndLikeAProcess(t *testing.T) {
	for _, how := range []string{"stdin", "cancel"} {
		t.Run(how, func(t *testing.T) {
			p := newSIOPeer(t, false)
			r := start(t, p.url, "sio5", "polling,websocket", `{}`)
			p.socket()
			r.out.expect("upgrade", nil)
			began := time.Now()
			if how == "stdin" {
				r.closeStdin()
			} else {
				r.cancel()
			}
			if c := r.exitCode(); c != 0 {
				t.Fatalf("exit %d", c)
			}
			if d := time.Since(began); d > time.Second {
				t.Fatalf("Run took %v to end", d)
			}
			if d := p.disconnect(); d == "/ client namespace disconnect" {
				t.Fatalf("server saw %q: the testee disconnected instead of dying", d)
			}
			r.out.none("disconnect", nil)
		})
	}
}

// TestSIOStream: the stream command emits seq 0..count-1 with acks and
// binary where ack_every and binary_every say, reports them, and the
// server's net:seq events are reported as net_recv and acked with the seq.
func TestSIOStream(t *testing.T) {
	p := newSIOPeer(t, false)
	r := start(t, p.url, "sio5", "websocket", `{}`)
	root := p.socket()
	r.out.expect("connect", map[string]any{"nsp": "/"})
	type up struct {
		seq     float64
		bin     []byte
		withAck bool
	}
	got := make(chan up, 16)
	root.On("net:seq", func(e *sioserver.Event) {
		o, _ := e.Args[0].(socketio.Object)
		seq, _ := o.Get("seq")
		u := up{seq: seq.(float64), withAck: e.WantsAck()}
		if len(e.Args) > 1 {
			u.bin, _ = e.Args[1].([]byte)
		}
		if u.withAck {
			_ = e.Ack(seq)
		}
		got <- u
	})
	wantOK(t, runCommand(t, root, map[string]any{"cmd": "stream", "count": 6, "interval_ms": 5, "ack_every": 2, "binary_every": 3, "tag": "s1"}), true)
	r.out.expect("done", map[string]any{"cmd": "stream", "tag": "s1"})
	for n := range 6 {
		select {
		case u := <-got:
			if u.seq != float64(n) || u.withAck != (n%2 == 1) || (u.bin != nil) != (n%3 == 2) {
				t.Fatalf("event %d: %+v", n, u)
			}
			if u.bin != nil && (len(u.bin) != 4 || u.bin[3] != byte(n)) {
				t.Fatalf("event %d: attachment %x", n, u.bin)
			}
		case <-time.After(wait):
			t.Fatalf("no stream event %d", n)
		}
		r.out.expect("net_sent", map[string]any{"seq": float64(n), "ack": n%2 == 1, "bin": n%3 == 2, "connected": true})
	}
	r.out.expect("stream_done", map[string]any{"tag": "s1", "count": float64(6)})
	for _, n := range []float64{1, 3, 5} {
		r.out.expect("net_ack", map[string]any{"seq": n, "args": []any{n}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	res, err := root.EmitWithAck(ctx, "net:seq", socketio.Object{{Key: "seq", Value: 4}, {Key: "dir", Value: "down"}}, []byte{0, 0, 0, 4}, "off-4")
	if err != nil || len(res) != 1 || res[0] != float64(4) {
		t.Fatalf("ack of the down event: %v %v", res, err)
	}
	r.out.expect("net_recv", map[string]any{"nsp": "/", "seq": float64(4), "dir": "down", "bin": true})
	r.out.none("event", map[string]any{"event": "net:seq"})
	r.closeStdin()
	if c := r.exitCode(); c != 0 {
		t.Fatalf("exit %d", c)
	}
}
