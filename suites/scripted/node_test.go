package scripted

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

const nodeWait = 5 * time.Second

// recvMessage returns the next message packet of ss.
func recvMessage(t *testing.T, ctx context.Context, ss *Session) Received {
	t.Helper()
	for {
		r, err := ss.Recv(ctx)
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		if r.Packet.Type == engineio.Message {
			return r
		}
	}
}

// waitTransport polls until ss is on transport.
func waitTransport(t *testing.T, ss *Session, transport string) {
	t.Helper()
	deadline := time.Now().Add(nodeWait)
	for ss.Transport() != transport {
		if time.Now().After(deadline) {
			t.Fatalf("session still on %s, want %s", ss.Transport(), transport)
		}
		time.Sleep(10 * time.Millisecond) // polling a state, not synchronising goroutines
	}
}

// TestNodeEngineIOUpgrade: engine.io-client (6.6 for v4, 3.5 for v3)
// handshakes over polling, exchanges messages, upgrades (2probe, 3probe,
// noop to the pending GET, 5) and exchanges messages over the WebSocket.
func TestNodeEngineIOUpgrade(t *testing.T) {
	nodepeer.Require(t, "engine.io-client", "engine.io-client-v3")
	for _, eio := range []int{4, 3} {
		t.Run("EIO"+strconv.Itoa(eio), func(t *testing.T) {
			srv, rec := startServer(t, &Options{EIO: eio})
			ctx := ctxT(t, 10*time.Second)
			nc := startNode(t, "eio.js", srv.URL(), "EIO="+strconv.Itoa(eio))
			ss, err := srv.NextSession(ctx)
			if err != nil {
				t.Fatal(err)
			}
			hs := ss.Handshake()
			if hs.Transport != "polling" || hs.Query["EIO"][0] != strconv.Itoa(eio) || hs.Status != 200 {
				t.Fatalf("handshake %+v", hs)
			}
			if err := EIOCommand(ss, map[string]any{"cmd": "send", "data": "from-client"}); err != nil {
				t.Fatal(err)
			}
			if r := recvMessage(t, ctx, ss); string(r.Packet.Data) != "from-client" {
				t.Fatalf("got %v", r.Packet)
			}
			nc.wait("upgrade", nodeWait)
			waitTransport(t, ss, "websocket")
			if err := ss.Send(engineio.TextPacket(engineio.Message, "over-ws")); err != nil {
				t.Fatal(err)
			}
			if e := nc.wait("message", nodeWait); e["data"] != "over-ws" {
				t.Fatalf("client got %v", e)
			}
			if err := EIOCommand(ss, map[string]any{"cmd": "send", "data": "back"}); err != nil {
				t.Fatal(err)
			}
			r := recvMessage(t, ctx, ss)
			if string(r.Packet.Data) != "back" || r.Transport != "websocket" {
				t.Fatalf("got %+v", r)
			}
			for _, want := range []struct{ dir, kind, sub string }{
				{dirC2S, kindEIOPacket, "2probe"},
				{dirS2C, kindEIOPacket, "3probe"},
				{dirC2S, kindEIOPacket, "5"},
				{dirS2C, kindWSOpen, "101"},
			} {
				if !rec.has(want.dir, want.kind, want.sub) {
					t.Errorf("transcript lacks %v", want)
				}
			}
			// The client closes the WebSocket: the session ends so.
			if err := EIOCommand(ss, map[string]any{"cmd": "close"}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ss.Done():
			case <-ctx.Done():
				t.Fatal("session did not end")
			}
			if got := ss.Reason(); got != "transport closed by the client" {
				t.Fatalf("reason %q", got)
			}
		})
	}
}

// TestNodeEngineIOPollingBinary: a batch of text and binary packets in one
// polling response is decoded whole by the Node clients (v4 b64, v3 XHR2),
// binary messages come back, and the client's close packet on polling ends
// the session with "client close packet".
func TestNodeEngineIOPollingBinary(t *testing.T) {
	nodepeer.Require(t, "engine.io-client", "engine.io-client-v3")
	for _, eio := range []int{4, 3} {
		t.Run("EIO"+strconv.Itoa(eio), func(t *testing.T) {
			srv, _ := startServer(t, &Options{EIO: eio})
			ctx := ctxT(t, 10*time.Second)
			nc := startNode(t, "eio.js", srv.URL(), "EIO="+strconv.Itoa(eio), "TRANSPORTS=polling")
			ss, err := srv.NextSession(ctx)
			if err != nil {
				t.Fatal(err)
			}
			nc.wait("open", nodeWait)
			if err := ss.Send(engineio.TextPacket(engineio.Message, "a"), engineio.BinaryMessage([]byte{1, 2, 3}), engineio.TextPacket(engineio.Message, "c")); err != nil {
				t.Fatal(err)
			}
			want := []any{"a", map[string]any{"bin": base64.StdEncoding.EncodeToString([]byte{1, 2, 3})}, "c"}
			for _, w := range want {
				e := nc.wait("message", nodeWait)
				if !equalJSON(e["data"], w) {
					t.Fatalf("client got %v, want %v", e["data"], w)
				}
			}
			if err := EIOCommand(ss, map[string]any{"cmd": "sendbin", "data": "xyz"}); err != nil {
				t.Fatal(err)
			}
			r := recvMessage(t, ctx, ss)
			if !r.Packet.Binary || string(r.Packet.Data) != "xyz" || r.Transport != "polling" {
				t.Fatalf("got %+v", r)
			}
			if err := EIOCommand(ss, map[string]any{"cmd": "close"}); err != nil {
				t.Fatal(err)
			}
			<-ss.Done()
			if got := ss.Reason(); got != "client close packet" {
				t.Fatalf("reason %q", got)
			}
		})
	}
}

func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalJSON(x[k], y[k]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// TestNodeSilence: a silent server is detected by engine.io-client as a
// ping timeout after about pingInterval+pingTimeout.
func TestNodeSilence(t *testing.T) {
	nodepeer.Require(t, "engine.io-client")
	for _, transports := range []string{"polling", "websocket"} {
		t.Run(transports, func(t *testing.T) {
			srv, _ := startServer(t, &Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
			ctx := ctxT(t, 10*time.Second)
			nc := startNode(t, "eio.js", srv.URL(), "TRANSPORTS="+transports)
			ss, err := srv.NextSession(ctx)
			if err != nil {
				t.Fatal(err)
			}
			nc.wait("open", nodeWait)
			ss.Silence()
			start := time.Now()
			e := nc.wait("close", nodeWait)
			took := time.Since(start)
			if e["reason"] != "ping timeout" {
				t.Fatalf("close %v", e)
			}
			// The client's budget runs from its last ping (or the open):
			// at most pingInterval+pingTimeout after Silence, plus grace.
			if took > 500*time.Millisecond+1500*time.Millisecond {
				t.Fatalf("ping timeout after %v", took)
			}
			// The server never times a silent session out: on polling the
			// client may still POST its close packet (engine.io-client 6
			// does, racing with this check); on WebSocket it closes the
			// connection.
			if transports == "websocket" {
				<-ss.Done()
				if r := ss.Reason(); r != "transport closed by the client" {
					t.Fatalf("reason %q", r)
				}
			} else if r := ss.Reason(); r != "" && r != "client close packet" {
				t.Fatalf("a silent session ended on the server: %s", r)
			}
		})
	}
}

// TestNodeUpgradeMisbehaviours: a refused, stripped, stalled or unanswered
// upgrade leaves engine.io-client on polling, still exchanging messages.
func TestNodeUpgradeMisbehaviours(t *testing.T) {
	nodepeer.Require(t, "engine.io-client")
	for _, tc := range []struct {
		mode   UpgradeMode
		status int
		note   string
	}{
		{UpgradeRefuse, 403, "upgrade refused with 403 (UpgradeRefuse)"},
		{UpgradeStrip, 400, "UpgradeStrip"},
		{UpgradeStall, 101, "UpgradeStall"},
		{UpgradeNoProbe, 101, "UpgradeNoProbe"},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			srv, rec := startServer(t, &Options{Upgrade: tc.mode, UpgradeStatus: 403})
			ctx := ctxT(t, 10*time.Second)
			nc := startNode(t, "eio.js", srv.URL())
			ss, err := srv.NextSession(ctx)
			if err != nil {
				t.Fatal(err)
			}
			nc.wait("open", nodeWait)
			// Wait for the upgrade attempt to be answered.
			deadline := time.Now().Add(nodeWait)
			for {
				var up *Request
				for _, r := range srv.Requests() {
					if r.Upgrade && r.Status != 0 {
						up = &r
					}
				}
				if up != nil {
					if up.Status != tc.status {
						t.Fatalf("upgrade answered %d, want %d", up.Status, tc.status)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no upgrade request answered")
				}
				time.Sleep(10 * time.Millisecond) // polling recorded state
			}
			if !rec.has(dirLocal, "note", tc.note) {
				t.Errorf("no note %q", tc.note)
			}
			for i := range 3 {
				m := "m" + strconv.Itoa(i)
				if err := ss.Send(engineio.TextPacket(engineio.Message, m)); err != nil {
					t.Fatal(err)
				}
				if e := nc.wait("message", nodeWait); e["data"] != m {
					t.Fatalf("client got %v", e)
				}
				if err := EIOCommand(ss, map[string]any{"cmd": "send", "data": "c" + m}); err != nil {
					t.Fatal(err)
				}
				r := recvMessage(t, ctx, ss)
				if string(r.Packet.Data) != "c"+m || r.Transport != "polling" {
					t.Fatalf("got %+v", r)
				}
			}
			if ss.Transport() != "polling" || nc.sawEvent("upgrade") {
				t.Fatalf("upgraded: transport %s", ss.Transport())
			}
			// The heartbeat still runs: a few pings later the session lives.
			timer := time.NewTimer(800 * time.Millisecond)
			defer timer.Stop()
			select {
			case <-ss.Done():
				t.Fatalf("session ended: %s", ss.Reason())
			case <-timer.C:
			}
		})
	}
}

// TestNodeForget: a forgotten sid makes engine.io-client close with
// "transport error".
func TestNodeForget(t *testing.T) {
	nodepeer.Require(t, "engine.io-client")
	srv, _ := startServer(t, nil)
	ctx := ctxT(t, 10*time.Second)
	nc := startNode(t, "eio.js", srv.URL(), "TRANSPORTS=polling")
	ss, err := srv.NextSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nc.wait("open", nodeWait)
	ss.Forget()
	if e := nc.wait("close", nodeWait); e["reason"] != "transport error" {
		t.Fatalf("close %v", e)
	}
	if ss.Reason() != "forgotten" {
		t.Fatalf("reason %q", ss.Reason())
	}
}

// TestNodeSocketIO: socket.io-client 4.8 (v5) and 2.5 (v4 over EIO3)
// connect, run commands, and exchange plain and binary events.
func TestNodeSocketIO(t *testing.T) {
	nodepeer.Require(t, "socket.io-client", "socket.io-client-v2")
	for _, tc := range []struct {
		name string
		eio  int
		v    socketio.Version
	}{{"SIO5", 4, socketio.V5}, {"SIO4", 3, socketio.V4}} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := startServer(t, &Options{EIO: tc.eio, Path: "/socket.io/"})
			ctx := ctxT(t, 15*time.Second)
			nc := startNode(t, "sio.js", srv.URL(), "SIO="+strconv.Itoa(int(tc.v)))
			ss, err := srv.NextSession(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c := NewSIO(ss, tc.v)
			conn, skipped, err := c.Accept(ctx, "/")
			if err != nil {
				t.Fatal(err)
			}
			if len(skipped) != 0 {
				t.Fatalf("skipped %v", skipped)
			}
			if tc.v == socketio.V5 && conn.Type != socketio.Connect {
				t.Fatalf("connect %v", conn)
			}
			nc.wait("connect", nodeWait)
			if err := c.Command(ctx, "/", map[string]any{"cmd": "emit", "event": "hello", "args": []any{"x", 1}}); err != nil {
				t.Fatal(err)
			}
			r, err := c.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if name, _ := r.Packet.EventName(); name != "hello" || string(r.Packet.Data) != `["hello","x",1]` {
				t.Fatalf("got %v", r.Packet)
			}
			if err := c.Command(ctx, "/", map[string]any{"cmd": "emitbin", "event": "bin", "text": "abc"}); err != nil {
				t.Fatal(err)
			}
			r, err = c.Recv(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.Packet.Type != socketio.BinaryEvent || len(r.Packet.Binary) != 1 || string(r.Packet.Binary[0]) != "abc" {
				t.Fatalf("got %v", r.Packet)
			}
			p, err := socketio.NewEvent("/", "bin", []byte{9, 8}, "t")
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Send(p); err != nil {
				t.Fatal(err)
			}
			e := nc.wait("event", nodeWait)
			args, _ := e["args"].([]any)
			if e["event"] != "bin" || len(args) != 2 || !equalJSON(args[0], map[string]any{"bin": base64.StdEncoding.EncodeToString([]byte{9, 8})}) {
				t.Fatalf("client got %v", e)
			}
		})
	}
}

// TestNodeStopRestart: a crashed server that comes back on the same port
// gets socket.io-client back with a new session.
func TestNodeStopRestart(t *testing.T) {
	nodepeer.Require(t, "socket.io-client")
	srv, _ := startServer(t, &Options{Path: "/socket.io/"})
	ctx := ctxT(t, 15*time.Second)
	nc := startNode(t, "sio.js", srv.URL(), `OPTS={"reconnectionDelay":100,"reconnectionDelayMax":200,"randomizationFactor":0}`)
	ss1, err := srv.NextSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewSIO(ss1, socketio.V5).Accept(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	nc.wait("connect", nodeWait)
	url := srv.URL()
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	<-ss1.Done()
	if ss1.Reason() != "server stopped" {
		t.Fatalf("reason %q", ss1.Reason())
	}
	nc.wait("disconnect", nodeWait)
	nc.wait("reconnect_attempt", nodeWait)
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if srv.URL() != url {
		t.Fatalf("url %s, was %s", srv.URL(), url)
	}
	ss2, err := srv.NextSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ss2.ID() == ss1.ID() {
		t.Fatal("same sid after restart")
	}
	if _, _, err := NewSIO(ss2, socketio.V5).Accept(ctx, "/"); err != nil {
		t.Fatal(err)
	}
	e := nc.wait("connect", nodeWait)
	if e["sid"] != ss2.ID() {
		t.Fatalf("client connected on %v, want %s", e["sid"], ss2.ID())
	}
	// The old sid is unknown to the restarted server.
	resp, err := http.Get(srv.URL() + "?EIO=4&transport=polling&sid=" + ss1.ID())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("old sid: %d", resp.StatusCode)
	}
	_ = context.Canceled
}
