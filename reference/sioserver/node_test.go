package sioserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reference/sioserver"
)

// Node proofs: the real socket.io-client 4.8.4 (and 2.5.0 for Engine.IO v3)
// runs testees/node/clients/sio-*.js against the reference server started
// in-process; the tests check what the client printed and what the server
// saw.

const nodeBudget = 90 * time.Second

// nodeOpts are the fixtures' settings for the Node client tests, with a
// long heartbeat: none of them is about the heartbeat, and with the
// contract's 300/200 ms an overloaded machine times sessions out (the
// client runs with reconnection off, so a pending ack is then lost).
var nodeOpts = &fixture.SIOOptions{Options: fixture.Options{PingInterval: 5 * time.Second, PingTimeout: 20 * time.Second}}

func nodeClients(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH: install Node 20 to run the Node client proofs")
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "testees", "node")
	for _, m := range []string{"socket.io-client", "socket.io-client-v2"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m)); err != nil {
			t.Skipf("testees/node/node_modules/%s missing: run npm ci in testees/node", m)
		}
	}
	return dir
}

type line map[string]any

func (l line) str(k string) string { s, _ := l[k].(string); return s }

// nodeRun is a running client script; lines arrive on out.
type nodeRun struct {
	out  chan line
	done chan error
	all  []line
}

func startNode(t *testing.T, script, url string, args ...string) *nodeRun {
	t.Helper()
	dir := nodeClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), nodeBudget)
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join("clients", script), url}, args...)...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &nodeRun{out: make(chan line, 256), done: make(chan error, 1)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(r.out)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Errorf("%s: bad line %q", script, sc.Text())
				continue
			}
			r.out <- l
		}
	}()
	go func() {
		wg.Wait()
		err := cmd.Wait()
		if err != nil {
			err = errors.Join(err, errors.New("stderr: "+stderr.String()))
		}
		r.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// next returns the next line, or fails.
func (r *nodeRun) next(t *testing.T) line {
	t.Helper()
	select {
	case l, ok := <-r.out:
		if !ok {
			t.Fatalf("client ended; lines so far %v", r.all)
		}
		r.all = append(r.all, l)
		if l.str("event") == "fail" {
			t.Fatalf("client failed: %v (lines %v)", l["error"], r.all)
		}
		return l
	case <-time.After(nodeBudget):
		t.Fatalf("no line from the client; lines so far %v", r.all)
	}
	return nil
}

// wait reads every remaining line and requires a "done".
func (r *nodeRun) wait(t *testing.T) []line {
	t.Helper()
	for {
		l := r.next(t)
		if l.str("event") == "done" {
			return r.all
		}
	}
}

// find returns the lines whose event is ev.
func find(lines []line, ev string) []line {
	var out []line
	for _, l := range lines {
		if l.str("event") == ev {
			out = append(out, l)
		}
	}
	return out
}

func one(t *testing.T, lines []line, ev string) line {
	t.Helper()
	f := find(lines, ev)
	if len(f) == 0 {
		t.Fatalf("no %q line in %v", ev, lines)
	}
	return f[0]
}

func jsonEq(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(got)
	_ = json.Unmarshal(gb, &g)
	if !reflect.DeepEqual(g, w) {
		g, _ := json.Marshal(got)
		t.Errorf("%s = %s, want %s", what, g, want)
	}
}

// serverLog records what the server saw on "/".
type serverLog struct {
	mu      sync.Mutex
	connect []string
	disc    chan string
}

func watch(srv *sioserver.Server) *serverLog {
	l := &serverLog{disc: make(chan string, 16)}
	srv.Sockets().OnConnection(func(s *sioserver.Socket) {
		l.mu.Lock()
		l.connect = append(l.connect, s.ID())
		l.mu.Unlock()
		s.OnDisconnect(func(r string) { l.disc <- r })
	})
	return l
}

func (l *serverLog) ids() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.connect...)
}

func serve(t *testing.T, f *fixture.SocketIO) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, f, ln)
}

func serveOn(t *testing.T, f *fixture.SocketIO, ln net.Listener) string {
	hs := &http.Server{Handler: f}
	go func() { _ = hs.Serve(ln) }()
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { stop(t, f, hs) }) })
	return "http://" + ln.Addr().String()
}

func stop(t *testing.T, f *fixture.SocketIO, hs *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := hs.Shutdown(ctx); err != nil {
		_ = hs.Close()
	}
}

func TestNodeClientBasic(t *testing.T) {
	for _, c := range []struct {
		name string
		v2   bool
		tr   string
	}{
		{"v5-polling", false, "polling"}, {"v5-websocket", false, "websocket"}, {"v5-upgrade", false, "default"},
		{"v2-polling", true, "polling"}, {"v2-websocket", true, "websocket"}, {"v2-upgrade", true, "default"},
	} {
		t.Run(c.name, func(t *testing.T) {
			nodeClients(t)
			f := fixture.NewSIO5(nodeOpts)
			args := []string{"--transport", c.tr}
			if c.v2 {
				f = fixture.NewSIO4(nodeOpts)
				args = append(args, "--v2")
			}
			seen := watch(f.Server())
			lines := startNode(t, "sio-basic.js", serve(t, f), args...).wait(t)
			open := one(t, lines, "engine-open")
			conn := one(t, lines, "connect")
			wantFirst := map[string]string{"polling": "polling", "websocket": "websocket", "default": "polling"}[c.tr]
			if open.str("transport") != wantFirst {
				t.Errorf("first transport %q, want %q", open.str("transport"), wantFirst)
			}
			if ups := find(lines, "upgrade"); (c.tr == "default") != (len(ups) == 1) {
				t.Errorf("upgrades %v for transport %s", ups, c.tr)
			}
			jsonEq(t, "auth", one(t, lines, "auth")["auth"], `{"token":"abc"}`)
			jsonEq(t, "ext:hello ack (the client's ack id 0)", one(t, lines, "ack")["args"], `[{"extended":1}]`)
			jsonEq(t, "message-back", one(t, lines, "message-back")["args"], `[{"hex":"010203"},"x",{"nested":[{"hex":"0405"}]}]`)
			jsonEq(t, "message-with-ack", find(lines, "ack")[1]["args"], `[1,"2",{"3":[false]},{"hex":"ff"}]`)
			jsonEq(t, "server's ack request", one(t, lines, "q")["args"], `[7]`)
			jsonEq(t, "server-ack result", one(t, lines, "ext:server-ack-result")["args"], `["answer",{"hex":"09"}]`)
			info := one(t, lines, "info")["info"].(map[string]any)
			if info["id"] != conn.str("id") {
				t.Errorf("ext:info id %v, client id %v", info["id"], conn.str("id"))
			}
			if ids := seen.ids(); len(ids) != 1 || ids[0] != conn.str("id") {
				t.Errorf("server saw sockets %v, client %v", ids, conn.str("id"))
			}
			if c.v2 {
				if info["eioSid"] != info["id"] || info["eioProtocol"] != float64(3) {
					t.Errorf("v2 info %v: want id = eioSid, protocol 3 (SIO4-04)", info)
				}
			} else if info["eioSid"] == info["id"] || info["eioProtocol"] != float64(4) {
				t.Errorf("v5 info %v: want id != eioSid, protocol 4 (SIO-CONN-03)", info)
			}
			if r := waitReason(t, seen); r != sioserver.ReasonClientNamespaceDisconnect && r != sioserver.ReasonTransportClose {
				t.Errorf("server disconnect reason %q", r)
			}
		})
	}
}

func waitReason(t *testing.T, l *serverLog) string {
	t.Helper()
	select {
	case r := <-l.disc:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("server saw no disconnect")
	}
	return ""
}

func TestNodeClientNamespaces(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		name := map[bool]string{false: "v5", true: "v2"}[v2]
		t.Run(name, func(t *testing.T) {
			nodeClients(t)
			f, args := fixture.NewSIO5(nodeOpts), []string{}
			if v2 {
				f, args = fixture.NewSIO4(nodeOpts), []string{"--v2"}
			}
			lines := startNode(t, "sio-namespaces.js", serve(t, f), args...).wait(t)
			c := one(t, lines, "connect")
			jsonEq(t, "/custom auth", c["auth"], `{"token":"abc"}`)
			if c["sameEngine"] != true || c.str("id") == c.str("mainId") {
				t.Errorf("multiplexing: %v", c)
			}
			if v2 && c.str("id") != "/custom#"+c.str("mainId") {
				t.Errorf("v2 /custom id %q, want /custom#<eio sid> (SIO4-04)", c.str("id"))
			}
			ref := find(lines, "refused")
			if len(ref) != 3 {
				t.Fatalf("refusals %v", ref)
			}
			if v2 {
				for i, want := range []string{"Invalid namespace", "x", "refused"} {
					if ref[i].str("message") != want {
						t.Errorf("refusal %d: %v, want %q (SIO4-05)", i, ref[i], want)
					}
				}
				return
			}
			jsonEq(t, "unknown namespace", ref[0], `{"event":"refused","nsp":"/random","message":"Invalid namespace","data":null}`)
			jsonEq(t, "middleware refusal", ref[1], `{"event":"refused","nsp":"/ext-refuse","message":"refused","data":{"code":1}}`)
			jsonEq(t, "refusal without data", ref[2], `{"event":"refused","nsp":"/ext-refuse","plainRefuse":true,"message":"refused","data":null}`)
		})
	}
}

func TestNodeClientRooms(t *testing.T) {
	for _, tr := range []string{"polling", "websocket", "v2"} {
		t.Run(tr, func(t *testing.T) {
			nodeClients(t)
			f, args := fixture.NewSIO5(nodeOpts), []string{"--transport", tr}
			if tr == "v2" {
				f, args = fixture.NewSIO4(nodeOpts), []string{"--v2"}
			}
			lines := startNode(t, "sio-rooms.js", serve(t, f), args...).wait(t)
			jsonEq(t, "received", lines[len(lines)-1]["got"],
				`{"A":["to-both","to-all"],"B":["to-r1","to-both","after-leave"],"C":["to-both","to-all"]}`)
			for _, r := range find(lines, "received") {
				if r.str("name") == "to-both" {
					jsonEq(t, "binary broadcast", r["args"], `[{"hex":"07"}]`)
				}
			}
		})
	}
}

func TestNodeClientServerRestart(t *testing.T) {
	for _, tr := range []string{"polling", "websocket", "default"} {
		t.Run(tr, func(t *testing.T) {
			nodeClients(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			f1 := fixture.NewSIO5(nodeOpts)
			seen := watch(f1.Server())
			hs1 := &http.Server{Handler: f1}
			go func() { _ = hs1.Serve(ln) }()
			run := startNode(t, "sio-reconnect.js", "http://"+addr, "--transport", tr)
			// Wait for the connection (and, by default, the upgrade, so
			// that the close the client sees is deterministic).
			connected, upgraded := false, tr != "default"
			for !connected || !upgraded {
				switch run.next(t).str("event") {
				case "connect":
					connected = true
				case "upgrade":
					upgraded = true
				}
			}
			stop(t, f1, hs1)
			if r := waitReason(t, seen); r != sioserver.ReasonServerShuttingDown {
				t.Errorf("server-side reason %q, want %q (SIO-DISC-06)", r, sioserver.ReasonServerShuttingDown)
			}
			// A new server on the same port.
			var ln2 net.Listener
			for range 50 {
				if ln2, err = net.Listen("tcp", addr); err == nil {
					break
				}
				<-time.After(20 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("listen again on %s: %v", addr, err)
			}
			f2 := fixture.NewSIO5(nodeOpts)
			seen2 := watch(f2.Server())
			serveOn(t, f2, ln2)
			lines := run.wait(t)
			// A WebSocket is closed ("transport close"); over polling
			// the parked poll either carries the close packet or fails
			// ("transport error", what Node's io.close() usually gives),
			// depending on timing. Both make the client reconnect.
			reason := one(t, lines, "disconnect").str("reason")
			if reason != "transport close" && !(tr == "polling" && reason == "transport error") {
				t.Errorf("client disconnect reason %q", reason)
			}
			second := find(lines, "connect")
			if len(second) != 2 || second[1]["newId"] != true {
				t.Fatalf("reconnection: %v", second)
			}
			if ids := seen2.ids(); len(ids) != 1 || ids[0] != second[1].str("id") {
				t.Errorf("new server saw %v, client %v", ids, second[1].str("id"))
			}
			jsonEq(t, "ack after reconnect", one(t, lines, "ack")["args"], `[{"extended":1}]`)
		})
	}
}

func TestNodeClientRecovery(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			nodeClients(t)
			srv := sioserver.NewServer(&sioserver.Options{ConnectionStateRecovery: &sioserver.RecoveryOptions{}})
			recovered := make(chan bool, 4)
			srv.Sockets().OnConnection(func(s *sioserver.Socket) {
				recovered <- s.Recovered()
				if !s.Recovered() {
					_ = s.Emit("hello")
				}
				s.On("ping-ack", func(e *sioserver.Event) { _ = e.Ack() })
				s.OnDisconnect(func(reason string) {
					if reason == sioserver.ReasonTransportClose {
						_ = srv.Sockets().Emit("missed", 1)
						_ = srv.Sockets().Emit("missed", 2)
					}
				})
			})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			hs := &http.Server{Handler: srv}
			go func() { _ = hs.Serve(ln) }()
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Close(ctx)
				_ = hs.Shutdown(ctx)
			})
			lines := startNode(t, "sio-recovery.js", "http://"+ln.Addr().String(), "--transport", tr).wait(t)
			conns := find(lines, "connect")
			if len(conns) != 2 || conns[1]["recovered"] != true || conns[1]["sameId"] != true {
				t.Fatalf("connects %v: want the second recovered with the same id", conns)
			}
			jsonEq(t, "missed events", lines[len(lines)-1]["missed"], `[1,2]`)
			if a, b := <-recovered, <-recovered; a || !b {
				t.Errorf("server-side Recovered: %v then %v", a, b)
			}
		})
	}
}
