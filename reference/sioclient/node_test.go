package sioclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
)

// nodeProc is a Node server started by a test and stopped by its PID.
type nodeProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	url    string
}

// startNode starts testees/node/servers/<script> with args and waits for
// its "listening URL" line. The test is skipped when node or the
// installed node_modules are missing.
func startNode(t *testing.T, script string, args ...string) *nodeProc {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping Node interop in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not on PATH: Node interop proof skipped")
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "testees", "node"))
	if err != nil {
		t.Fatal(err)
	}
	for _, mod := range []string{"socket.io", "socket.io-v2"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", mod, "package.json")); err != nil {
			t.Skipf("testees/node/node_modules/%s missing (run npm ci in testees/node): Node interop proof skipped", mod)
		}
	}
	cmd := exec.Command(node, append([]string{filepath.Join("servers", script)}, args...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	np := &nodeProc{cmd: cmd, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		_ = cmd.Wait()
		close(np.exited)
	}()
	t.Cleanup(np.stop)
	select {
	case l := <-lines:
		u, ok := strings.CutPrefix(l, "listening ")
		if !ok {
			t.Fatalf("unexpected first line from %s: %q", script, l)
		}
		np.url = u
		return np
	case <-np.exited:
		t.Fatalf("%s exited before listening", script)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not print its address within 10s", script)
	}
	return nil
}

// stop ends the process gracefully (SIGTERM, then SIGKILL after 3 s).
func (np *nodeProc) stop() {
	select {
	case <-np.exited:
		return
	default:
	}
	_ = np.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-np.exited:
	case <-time.After(3 * time.Second):
		_ = np.cmd.Process.Kill()
		<-np.exited
	}
}

// kill ends the process at once (SIGKILL), as a crashed server.
func (np *nodeProc) kill() {
	_ = np.cmd.Process.Kill()
	<-np.exited
}

func (np *nodeProc) port() string { return np.url[strings.LastIndexByte(np.url, ':')+1:] }

func nodeManager(t *testing.T, url string, o *ManagerOptions) *Manager {
	t.Helper()
	m, err := NewManager(url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func nodeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// whoami asks the server who the socket is.
func whoami(t *testing.T, ctx context.Context, s *Socket) map[string]any {
	t.Helper()
	msg, err := s.Timeout(5*time.Second).EmitWithAck(ctx, "whoami")
	if err != nil {
		t.Fatalf("whoami: %v", err)
	}
	var r map[string]any
	if err := msg.Unmarshal(0, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// events returns a channel receiving the Message of every event name.
func events(s *Socket, name string) chan Message {
	ch := make(chan Message, 64)
	s.On(name, func(msg Message, _ AckFunc) { ch <- msg })
	return ch
}

func nextMsg(t *testing.T, ch chan Message) Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
		return Message{}
	}
}

// echoRoundTrip checks events, acks and binary both ways on s.
func echoRoundTrip(t *testing.T, ctx context.Context, s *Socket, echo chan Message) {
	t.Helper()
	if err := s.Emit(ctx, "echo", 1, "two", map[string]any{"3": []any{true, nil}}); err != nil {
		t.Fatal(err)
	}
	if got := nextMsg(t, echo).String(); got != `[1,"two",{"3":[true,null]}]` {
		t.Fatalf("echo %s", got)
	}
	// Binary both ways (SIO-BIN-01/02/10/11).
	if err := s.Emit(ctx, "echo", []byte{1, 2, 3}, map[string]any{"b": []byte("xy")}); err != nil {
		t.Fatal(err)
	}
	msg := nextMsg(t, echo)
	b0, ok := msg.Bytes(0)
	v1, _ := msg.Value(1)
	if o, _ := v1.(socketio.Object); !ok || !bytes.Equal(b0, []byte{1, 2, 3}) || o == nil {
		t.Fatalf("binary echo %v", msg)
	} else if b, _ := o.Get("b"); !bytes.Equal(b.([]byte), []byte("xy")) {
		t.Fatalf("nested attachment %v", b)
	}
	// Acks, text and binary (SIO-ACK-01/03).
	res, err := s.Timeout(5*time.Second).EmitWithAck(ctx, "echo-ack", "a", []byte{9})
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := res.Bytes(1); res.String() != `["a",{"_placeholder":true,"num":0}] +1 attachment(s)` || !ok || !bytes.Equal(b, []byte{9}) {
		t.Fatalf("ack %v", res)
	}
}

func TestNodePollingOnly(t *testing.T) {
	np := startNode(t, "sio-echo.js")
	ctx := nodeCtx(t)
	m := nodeManager(t, np.url, &ManagerOptions{Engine: &eioclient.Options{Transports: []string{eioclient.Polling}}})
	s := m.Socket("/", nil)
	welcome, echo := events(s, "welcome"), events(s, "echo")
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if w := nextMsg(t, welcome); !strings.Contains(w.String(), `"id":"`+s.ID()+`"`) {
		t.Fatalf("welcome %v for %s", w, s.ID())
	}
	echoRoundTrip(t, ctx, s, echo)
	if tr := whoami(t, ctx, s)["transport"]; tr != "polling" {
		t.Fatalf("transport %v", tr)
	}
}

func TestNodeWebSocketOnly(t *testing.T) {
	np := startNode(t, "sio-echo.js")
	ctx := nodeCtx(t)
	m := nodeManager(t, np.url, &ManagerOptions{Engine: &eioclient.Options{Transports: []string{eioclient.WebSocket}}})
	s := m.Socket("/custom", nil)
	echo := events(s, "echo")
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	echoRoundTrip(t, ctx, s, echo)
	if tr := whoami(t, ctx, s)["transport"]; tr != "websocket" {
		t.Fatalf("transport %v", tr)
	}
}

func TestNodeUpgrade(t *testing.T) {
	np := startNode(t, "sio-echo.js")
	ctx := nodeCtx(t)
	m := nodeManager(t, np.url, nil)
	s := m.Socket("/", nil)
	echo := events(s, "echo")
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-m.Engine().Events():
		if ev.Type != eioclient.EventUpgrade {
			t.Fatalf("engine event %v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no upgrade")
	}
	echoRoundTrip(t, ctx, s, echo)
	if tr := whoami(t, ctx, s)["transport"]; tr != "websocket" {
		t.Fatalf("transport %v", tr)
	}
}

// Acks both ways with timeouts, and retries with a new ack id each time.
func TestNodeAckTimeouts(t *testing.T) {
	np := startNode(t, "sio-echo.js")
	ctx := nodeCtx(t)
	m := nodeManager(t, np.url, nil)
	s := m.Socket("/", nil)
	answer := events(s, "answer")
	var noAnswer atomic.Bool
	s.On("question", func(msg Message, ack AckFunc) {
		if !noAnswer.Load() {
			_ = ack("re", []byte{4, 2})
		}
	})
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Timeout(200*time.Millisecond).EmitWithAck(ctx, "no-ack"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("no-ack: %v", err)
	}
	if err := s.Emit(ctx, "ask", map[string]any{"timeout": 2000, "args": []any{"q"}}); err != nil {
		t.Fatal(err)
	}
	a := nextMsg(t, answer)
	v, _ := a.Value(0)
	ok, _ := v.(socketio.Object).Get("ok")
	if arr, _ := ok.([]any); len(arr) != 2 || arr[0] != "re" || !bytes.Equal(arr[1].([]byte), []byte{4, 2}) {
		t.Fatalf("answer %v", a)
	}
	noAnswer.Store(true)
	if err := s.Emit(ctx, "ask", map[string]any{"timeout": 200}); err != nil {
		t.Fatal(err)
	}
	if a := nextMsg(t, answer).String(); a != `[{"error":"operation has timed out"}]` {
		t.Fatalf("answer %s", a)
	}
	// NODE-ACK-02 against Node: acked on the third receipt.
	r := m.Socket("/custom", &SocketOptions{Retries: 3, AckTimeout: 300 * time.Millisecond})
	if err := r.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := r.EmitWithAck(ctx, "flaky", 3)
	if err != nil || res.String() != `[{"attempts":3}]` {
		t.Fatalf("flaky: %v %v", res, err)
	}
}

// Namespaces on one session; /admin refuses a bad token (SIO-CONN-14).
func TestNodeNamespacesAuth(t *testing.T) {
	np := startNode(t, "sio-echo.js")
	ctx := nodeCtx(t)
	m := nodeManager(t, np.url, nil)
	root := m.Socket("/", nil)
	if err := root.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	bad := m.Socket("/admin", &SocketOptions{Auth: map[string]any{"token": "nope"}})
	var ce *ConnectError
	if err := bad.Connect(ctx); !errors.As(err, &ce) || ce.Message != "not authorized" || string(ce.Data) != `{"reason":"bad token"}` {
		t.Fatalf("Connect = %v", err)
	}
	if bad.Active() {
		t.Fatal("refused socket still active")
	}
	m2 := nodeManager(t, np.url, nil)
	good := m2.Socket("/admin", &SocketOptions{Auth: map[string]any{"token": "secret"}})
	custom := m2.Socket("/custom", nil)
	if err := good.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := custom.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	w := whoami(t, ctx, good)
	if auth, _ := json.Marshal(w["auth"]); string(auth) != `{"token":"secret"}` || w["id"] != good.ID() {
		t.Fatalf("whoami %v", w)
	}
	if good.ID() == custom.ID() {
		t.Fatal("namespaces share a sid")
	}
}

// Server restart: the client reconnects with backoff (attempts and delays
// observed), re-joins, and gets a new sid.
func TestNodeServerRestart(t *testing.T) {
	np := startNode(t, "sio-echo.js")
	ctx := nodeCtx(t)
	const seed = 42
	m := nodeManager(t, np.url, &ManagerOptions{
		ReconnectionDelay: 100 * time.Millisecond, ReconnectionDelayMax: 400 * time.Millisecond,
		Rand: rand.New(rand.NewPCG(seed, seed)),
	})
	type attempt struct {
		n int
		d time.Duration
	}
	attempts := make(chan attempt, 64)
	reconnected := make(chan int, 1)
	m.OnReconnectAttempt(func(n int, d time.Duration) { attempts <- attempt{n, d} })
	m.OnReconnect(func(n int) { reconnected <- n })
	s := m.Socket("/", nil)
	rec := watch(s)
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	rec.until(t, "connect /")
	first := s.ID()
	np.kill()
	if e := rec.until(t, "disconnect /"); e != "disconnect / transport close" && e != "disconnect / transport error" {
		t.Fatalf("disconnect %q", e)
	}
	want := rand.New(rand.NewPCG(seed, seed))
	for i := range 3 {
		select {
		case a := <-attempts:
			exp := backoffDelay(100*time.Millisecond, 400*time.Millisecond, 0.5, i, want.Float64)
			if a.n != i+1 || a.d != exp {
				t.Fatalf("attempt %+v, want n=%d delay %v", a, i+1, exp)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no reconnect_attempt")
		}
	}
	np2 := startNode(t, "sio-echo.js", "--port", np.port())
	_ = np2
	select {
	case n := <-reconnected:
		if n < 3 {
			t.Fatalf("reconnect after %d attempts", n)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no reconnect")
	}
	rec.until(t, "connect /")
	if s.ID() == first || s.ID() == "" {
		t.Fatalf("sid %q after restart (was %q)", s.ID(), first)
	}
}

// Connection state recovery: events emitted while the client was away are
// delivered on reconnection, and Recovered() is true.
func TestNodeRecovery(t *testing.T) {
	np := startNode(t, "sio-echo.js", "--csr")
	ctx := nodeCtx(t)
	m := nodeManager(t, np.url, &ManagerOptions{ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond})
	s := m.Socket("/", nil)
	rec := watch(s)
	welcome := events(s, "welcome")
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	w := nextMsg(t, welcome)
	if w.Len() != 1 {
		t.Fatalf("welcome %v: the offset was not removed", w)
	}
	id := s.ID()
	if err := s.Emit(ctx, "drop-me"); err != nil {
		t.Fatal(err)
	}
	rec.until(t, "disconnect / transport close")
	rec.want(t, "event / missed [1]")
	rec.want(t, "event / missed [2]")
	rec.want(t, "connect /")
	if !s.Recovered() || s.ID() != id {
		t.Fatalf("recovered %v, id %q (was %q)", s.Recovered(), s.ID(), id)
	}
	if r := whoami(t, ctx, s)["recovered"]; r != true {
		t.Fatalf("server recovered %v", r)
	}
}

// A server-side namespace disconnect: "io server disconnect", no
// reconnection, the session closes.
func TestNodeServerDisconnect(t *testing.T) {
	np := startNode(t, "sio-echo.js")
	ctx := nodeCtx(t)
	m := nodeManager(t, np.url, &ManagerOptions{ReconnectionDelay: 20 * time.Millisecond})
	mr := watchManager(m)
	s := m.Socket("/", nil)
	rec := watch(s)
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	rec.until(t, "connect /")
	if err := s.Emit(ctx, "disconnect-me"); err != nil {
		t.Fatal(err)
	}
	rec.until(t, "disconnect / io server disconnect")
	mr.until(t, "close forced close")
	mr.none(t, 500*time.Millisecond)
	if m.Engine() != nil || s.Active() {
		t.Fatal("still connected")
	}
}

// A socket.io 2.5.1 server over Engine.IO v3 (protocol v4).
func TestNodeV2Server(t *testing.T) {
	np := startNode(t, "sio-v2.js")
	ctx := nodeCtx(t)
	for _, tr := range [][]string{{eioclient.Polling}, {eioclient.WebSocket}, nil} {
		name := strings.Join(tr, "+")
		if tr == nil {
			name = "upgrade"
		}
		t.Run(name, func(t *testing.T) {
			m := nodeManager(t, np.url, &ManagerOptions{Version: socketio.V4, Engine: &eioclient.Options{Transports: tr}})
			root := m.Socket("/", &SocketOptions{Auth: map[string]any{"token": "r"}})
			echo := events(root, "echo")
			if err := root.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			w := whoami(t, ctx, root)
			if q, _ := w["query"].(map[string]any); q["token"] != "r" || w["id"] != root.ID() {
				t.Fatalf("whoami %v (id %s)", w, root.ID())
			}
			echoRoundTrip(t, ctx, root, echo)
			bad := m.Socket("/admin", &SocketOptions{Auth: map[string]any{"token": "x"}})
			var ce *ConnectError
			if err := bad.Connect(ctx); !errors.As(err, &ce) || ce.Message != "not authorized" {
				t.Fatalf("Connect = %v", err)
			}
			m2 := nodeManager(t, np.url, &ManagerOptions{Version: socketio.V4, Engine: &eioclient.Options{Transports: tr}})
			admin := m2.Socket("/admin", &SocketOptions{Auth: map[string]any{"token": "secret"}})
			aecho := events(admin, "echo")
			if err := admin.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if w := whoami(t, ctx, admin); w["id"] != admin.ID() || !strings.HasPrefix(admin.ID(), "/admin#") {
				t.Fatalf("whoami %v (id %s)", w, admin.ID())
			}
			echoRoundTrip(t, ctx, admin, aecho)
		})
	}
}
