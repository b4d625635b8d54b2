package faultproxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioserver"
	"github.com/siospec/siospec/reference/sioserver"
)

// Heartbeat timings of the in-process Socket.IO upstream.
const (
	sioPingInterval = 100 * time.Millisecond
	sioPingTimeout  = 100 * time.Millisecond
	// heartbeatGrace is added to every heartbeat budget: scheduling on a
	// loaded 2-core machine under -race.
	heartbeatGrace = 1500 * time.Millisecond
)

// sioUpstream is the reference Socket.IO server over HTTP, with handlers
// that make it send a known sequence of packets.
type sioUpstream struct {
	*httptest.Server
	srv *sioserver.Server
	got chan string // names of events received from clients
}

// startSIOUpstream serves sioserver with these events on "/":
//
//	"go": emits message 1, message 2, message 3 and other, then acks ["ok"]
//	"bin": emits message <01>, message <02> (binary) and done
//	anything: its name is sent on got
func startSIOUpstream(t *testing.T) *sioUpstream {
	t.Helper()
	u := &sioUpstream{got: make(chan string, 64)}
	u.srv = sioserver.NewServer(&sioserver.Options{Options: eioserver.Options{
		PingInterval: sioPingInterval, PingTimeout: sioPingTimeout,
	}})
	u.srv.Of("/").OnConnection(func(s *sioserver.Socket) {
		s.On("go", func(e *sioserver.Event) {
			u.got <- e.Name
			for _, a := range []any{1, 2, 3} {
				_ = s.Emit("message", a)
			}
			_ = s.Emit("other")
			if e.WantsAck() {
				_ = e.Ack("ok")
			}
		})
		s.On("bin", func(e *sioserver.Event) {
			u.got <- e.Name
			_ = s.Emit("message", []byte{1})
			_ = s.Emit("message", []byte{2})
			_ = s.Emit("done")
		})
		s.On("hello", func(e *sioserver.Event) { u.got <- e.Name })
	})
	u.Server = httptest.NewServer(u.srv)
	t.Cleanup(func() {
		u.CloseClientConnections()
		u.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := u.srv.Close(ctx); err != nil {
			t.Errorf("sioserver close: %v", err)
		}
	})
	return u
}

type wsMsg struct {
	binary bool
	data   string
}

func (m wsMsg) String() string {
	if m.binary {
		return fmt.Sprintf("<bin %x>", m.data)
	}
	return m.data
}

// sioDial opens a raw WebSocket to the proxy, reads the open packet, joins
// "/" and reads the CONNECT reply.
func sioDial(t *testing.T, addr string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m, err := c.ReadMessage(); err != nil || !strings.HasPrefix(string(m), "0{") {
		t.Fatalf("open packet: %q %v", m, err)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
		t.Fatal(err)
	}
	if _, m, err := c.ReadMessage(); err != nil || !strings.HasPrefix(string(m), `40{"sid":`) {
		t.Fatalf("connect reply: %q %v", m, err)
	}
	return c
}

// readUntil reads messages, answering PINGs, until one equals last
// (included in the result); bounded by a deadline.
func readUntil(t *testing.T, c *websocket.Conn, last string) []wsMsg {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []wsMsg
	for range 100 {
		mt, m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read after %v: %v", got, err)
		}
		if mt == websocket.TextMessage && string(m) == "2" {
			_ = c.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		got = append(got, wsMsg{binary: mt == websocket.BinaryMessage, data: string(m)})
		if mt == websocket.TextMessage && string(m) == last {
			return got
		}
	}
	t.Fatalf("%q never came, got %v", last, got)
	return nil
}

func wantMsgs(t *testing.T, what string, got []wsMsg, want ...wsMsg) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: message %d is %q, want %q (all: %q)", what, i, got[i], want[i], got)
		}
	}
}

func txt(s string) wsMsg { return wsMsg{data: s} }

func send(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func wantEvent(t *testing.T, u *sioUpstream, name string) {
	t.Helper()
	select {
	case got := <-u.got:
		if got != name {
			t.Fatalf("server got event %q, want %q", got, name)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("server never got event %q", name)
	}
}

// TestSIODropPacketWebSocketEvent drops the 2nd EVENT named "message" the
// server sends and shows that the other events and the ACK arrive, in
// order: what the client still sees keeps SIO-EVT-06 (send order) and
// SIO-ACK-01 (the ack arrives with its id).
func TestSIODropPacketWebSocketEvent(t *testing.T) {
	u := startSIOUpstream(t)
	p := startProxy(t, u.Listener.Addr().String(), nil)
	addFault(t, p, SIODropPacket{Name: "drop-msg-2", Types: []socketio.PacketType{socketio.Event}, Event: "message", Nth: 2})
	c := sioDial(t, p.Addr())
	send(t, c, `421["go"]`)
	wantEvent(t, u, "go")
	got := readUntil(t, c, `431["ok"]`)
	wantMsgs(t, "2nd message dropped", got,
		txt(`42["message",1]`), txt(`42["message",3]`), txt(`42["other"]`), txt(`431["ok"]`))
	// Nth counts over the connection: a second round loses nothing.
	send(t, c, `422["go"]`)
	wantEvent(t, u, "go")
	got = readUntil(t, c, `432["ok"]`)
	wantMsgs(t, "second round", got,
		txt(`42["message",1]`), txt(`42["message",2]`), txt(`42["message",3]`), txt(`42["other"]`), txt(`432["ok"]`))
	ds := decisionsOf(p, "drop-msg-2", "drop")
	if len(ds) != 1 || ds[0].Detail != `EVENT #2 nsp / event "message" (websocket)` || ds[0].Direction != Downstream {
		t.Fatalf("decisions %+v", ds)
	}
}

// TestSIODropPacketWebSocketAck drops every ACK the server sends: the
// client's acks never arrive while the events still do: on the wire the
// server looks as if it broke SIO-ACK-01, which is what ack-timeout specs
// need.
func TestSIODropPacketWebSocketAck(t *testing.T) {
	u := startSIOUpstream(t)
	p := startProxy(t, u.Listener.Addr().String(), nil)
	addFault(t, p, SIODropPacket{Name: "drop-ack", Types: []socketio.PacketType{socketio.Ack}})
	c := sioDial(t, p.Addr())
	send(t, c, `427["go"]`)
	// A last "go" without an ack id: the server handles events in order, so
	// once its "other" arrives an ack for id 7 would already have come.
	send(t, c, `42["go"]`)
	got := readUntil(t, c, `42["other"]`)
	got = append(got, readUntil(t, c, `42["other"]`)...)
	round := []wsMsg{txt(`42["message",1]`), txt(`42["message",2]`), txt(`42["message",3]`), txt(`42["other"]`)}
	wantMsgs(t, "acks dropped", got, append(round, round...)...)
	ds := decisionsOf(p, "drop-ack", "drop")
	if len(ds) != 1 || ds[0].Detail != `ACK #1 nsp / id 7 (websocket)` {
		t.Fatalf("decisions %+v", ds)
	}
}

// TestSIODropPacketWebSocketBinary drops the first BINARY_EVENT: its header
// and its attachment frame go together, the second binary event arrives
// whole: header and exactly N attachments stay together (SIO-BIN-02).
func TestSIODropPacketWebSocketBinary(t *testing.T) {
	u := startSIOUpstream(t)
	p := startProxy(t, u.Listener.Addr().String(), nil)
	addFault(t, p, SIODropPacket{Name: "drop-bin", Types: []socketio.PacketType{socketio.BinaryEvent}, Nth: 1})
	c := sioDial(t, p.Addr())
	send(t, c, `42["bin"]`)
	got := readUntil(t, c, `42["done"]`)
	wantMsgs(t, "first binary event dropped whole", got,
		txt(`451-["message",{"_placeholder":true,"num":0}]`), wsMsg{binary: true, data: "\x02"}, txt(`42["done"]`))
	ds := decisionsOf(p, "drop-bin", "drop")
	if len(ds) != 2 || !strings.HasPrefix(ds[0].Detail, `BINARY_EVENT #1 nsp / event "message" with 1 attachment(s)`) ||
		!strings.HasPrefix(ds[1].Detail, "attachment of a dropped binary packet, 1 bytes (websocket), 0 more") {
		t.Fatalf("decisions %+v", ds)
	}
}

// TestSIODropPacketPolling rewrites v4 polling payloads in both directions:
// the 2nd "message" event and a binary event with its attachment (which
// arrives in the next response) are cut out downstream, ACKs upstream; every
// Content-Length stays right and an emptied payload becomes a noop
// (EIO-POLL-12).
func TestSIODropPacketPolling(t *testing.T) {
	srv := startPollingServer(t,
		`42["message",1]`+"\x1e"+`42["message",2]`+"\x1e"+`451-["message",{"_placeholder":true,"num":0}]`+"\x1ebAQI=\x1e"+`42["other"]`,
		`451-["x",{"_placeholder":true,"num":0}]`,
		"bAQI=\x1e"+`42["after"]`,
		`42["message",3]`+"\x1e"+`451-["y",{"_placeholder":true,"num":0}]`+"\x1ebAw==",
	)
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	addFault(t, p, SIODropPacket{Name: "msg2", Event: "message", Nth: 2})
	bin := addFault(t, p, SIODropPacket{Name: "bin", Types: []socketio.PacketType{socketio.BinaryEvent}, Nth: 0})
	addFault(t, p, SIODropPacket{Name: "ack-up", Direction: Upstream, Types: []socketio.PacketType{socketio.Ack, socketio.BinaryAck}})
	pc := &pollingClient{t: t, c: dial(t, p.Addr())}
	pc.br = bufio.NewReader(pc.c)

	for i, want := range []string{`42["message",1]` + "\x1e" + `42["other"]`, "6", `42["after"]`} {
		if got := pc.do("GET", ""); got != want {
			t.Fatalf("GET %d = %q, want %q", i+1, got, want)
		}
	}
	_ = bin.Remove()
	if got, want := pc.do("GET", ""), `42["message",3]`+"\x1e"+`451-["y",{"_placeholder":true,"num":0}]`+"\x1ebAw=="; got != want {
		t.Fatalf("GET 4 after removal = %q, want %q", got, want)
	}
	for _, b := range []string{`431["ok"]` + "\x1e" + `42["e"]`, `431["ok"]`, `461-[{"_placeholder":true,"num":0}]` + "\x1ebAQI=\x1e3"} {
		if got := pc.do("POST", b); got != "ok" {
			t.Fatalf("POST = %q", got)
		}
	}
	srv.mu.Lock()
	posts := slicesClone(srv.posts)
	srv.mu.Unlock()
	if want := []string{`42["e"]`, "6", "3"}; !equalStrings(posts, want) {
		t.Fatalf("server got POST bodies %q, want %q", posts, want)
	}
	if ds := decisionsOf(p, "msg2", "drop"); len(ds) != 1 || ds[0].Detail != `EVENT #2 nsp / event "message" (polling)` {
		t.Fatalf("msg2 decisions %+v", ds)
	}
	if ds := decisionsOf(p, "bin", "drop"); len(ds) != 4 {
		t.Fatalf("bin decisions (2 headers, 2 attachments) %+v", ds)
	}
	if ds := decisionsOf(p, "ack-up", "drop"); len(ds) != 4 {
		t.Fatalf("ack-up decisions (2 acks, 1 binary ack + attachment) %+v", ds)
	}
}

func TestSIODropPacketValidationAndJSON(t *testing.T) {
	cases := []struct {
		f    Fault
		attr string
	}{
		{SIODropPacket{}, "packet"},
		{SIODropPacket{Types: []socketio.PacketType{9}}, "packet"},
		{SIODropPacket{Namespace: "admin"}, "namespace"},
		{SIODropPacket{Types: []socketio.PacketType{socketio.Ack}, Event: "x"}, "event"},
		{SIODropPacket{Event: "x", Nth: -1}, "nth"},
		{SIODropPacket{Event: "x", Scope: Scope{AfterBytes: 1}}, "after_bytes"},
		{WSDropDirection{Direction: Both}, "stream"},
		{WSDropDirection{Direction: 7}, "stream"},
	}
	for _, tc := range cases {
		var fe *FieldError
		if err := tc.f.Validate(); !errors.As(err, &fe) || fe.Attr != tc.attr {
			t.Errorf("%#v: %v, want a FieldError on %q", tc.f, err, tc.attr)
		}
	}
	f, tox, err := ParseToxic([]byte(`{"type":"sio_drop_packet","attributes":{"packet":["event","binary_event"],"namespace":"/admin","event":"message","nth":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := f.(SIODropPacket)
	if d.Direction != Downstream || len(d.Types) != 2 || d.Types[1] != socketio.BinaryEvent || d.Namespace != "/admin" || d.Event != "message" || d.Nth != 2 || tox.Name != "sio_drop_packet_downstream" {
		t.Fatalf("%+v %+v", d, tox)
	}
	if f2, err := tox.Fault(); err != nil || f2.(SIODropPacket).Event != "message" {
		t.Fatalf("round trip: %v %v", f2, err)
	}
	if f, _, err := ParseToxic([]byte(`{"type":"sio_drop_packet","attributes":{"packet":"error"}}`)); err != nil || f.(SIODropPacket).Types[0] != socketio.ConnectError {
		t.Fatalf("v4 name error: %v %v", f, err)
	}
	for _, bad := range []string{`{"packet":"evnt"}`, `{"packet":2}`, `{"event":7}`, `{"event":"x","nth":-1}`, `{"namespace":"admin"}`, `{}`} {
		var fe *FieldError
		if _, _, err := ParseToxic([]byte(`{"type":"sio_drop_packet","attributes":` + bad + `}`)); !errors.As(err, &fe) {
			t.Errorf("%s: %v, want a FieldError", bad, err)
		}
	}
	f, tox, err = ParseToxic([]byte(`{"type":"ws_drop_direction","attributes":{"control":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if w := f.(WSDropDirection); w.Direction != Downstream || !w.Control || tox.Stream != "downstream" || tox.Attributes["control"] != true {
		t.Fatalf("%+v %+v", w, tox)
	}
	var fe *FieldError
	if _, _, err := ParseToxic([]byte(`{"type":"ws_drop_direction","stream":"both"}`)); !errors.As(err, &fe) || fe.Attr != "stream" {
		t.Errorf("stream both: %v", err)
	}
	if _, _, err := ParseToxic([]byte(`{"type":"ws_drop_direction","attributes":{"control":"yes"}}`)); !errors.As(err, &fe) || fe.Attr != "control" {
		t.Errorf("control yes: %v", err)
	}
}

// TestWSDropDirectionDownstream black-holes server → client frames after
// the handshake: the client's events still reach the server, but no PING
// reaches the client, which is how a compliant client detects it
// (EIO-HB-04). The server, which never gets a PONG, ends the session; its
// close frame is a control frame and passes by default.
func TestWSDropDirectionDownstream(t *testing.T) {
	u := startSIOUpstream(t)
	p := startProxy(t, u.Listener.Addr().String(), &Options{Tap: true}) // the fault is added to an open connection
	c := sioDial(t, p.Addr())
	addFault(t, p, WSDropDirection{Name: "hole-down"})
	send(t, c, `42["hello"]`)
	wantEvent(t, u, "hello")
	budget := sioPingInterval + sioPingTimeout + heartbeatGrace
	_ = c.SetReadDeadline(time.Now().Add(budget))
	mt, m, err := c.ReadMessage()
	if err == nil {
		t.Fatalf("client received %d %q through a downstream black hole", mt, m)
	}
	// A timeout, or the end of the session the server closed for want of
	// a PONG (its close frame passes): either way no packet arrived.
	t.Logf("client read ended with: %v", err)
	ds := decisionsOf(p, "hole-down", "drop")
	if len(ds) == 0 || !strings.HasPrefix(ds[0].Detail, "websocket frame #1 (text,") {
		t.Fatalf("decisions %+v", ds)
	}
	for _, d := range ds {
		if d.Direction != Downstream || strings.Contains(d.Detail, "close") {
			t.Fatalf("decision %+v", d)
		}
	}
}

// TestWSDropDirectionUpstream black-holes client → server frames: the
// client still gets PINGs but its PONGs vanish, so the server closes the
// session within pingInterval + pingTimeout (EIO-HB-03), and an event sent
// meanwhile never reaches it.
func TestWSDropDirectionUpstream(t *testing.T) {
	u := startSIOUpstream(t)
	p := startProxy(t, u.Listener.Addr().String(), &Options{Tap: true}) // the fault is added to an open connection
	c := sioDial(t, p.Addr())
	addFault(t, p, WSDropDirection{Name: "hole-up", Direction: Upstream})
	start := time.Now()
	send(t, c, `42["hello"]`)
	pings := 0
	_ = c.SetReadDeadline(time.Now().Add(sioPingInterval + sioPingTimeout + heartbeatGrace))
	var err error
	for range 100 {
		var m []byte
		if _, m, err = c.ReadMessage(); err != nil {
			break
		}
		if string(m) == "2" {
			pings++
			send(t, c, "3")
		}
	}
	if err == nil || isTimeout(err) {
		t.Fatalf("server did not close the session within %v: %v", sioPingInterval+sioPingTimeout+heartbeatGrace, err)
	}
	elapsed := time.Since(start)
	// The earliest close is pingTimeout after a PING sent just before the
	// fault (its PONG is dropped); 50 ms of timer slack.
	if elapsed < sioPingTimeout-50*time.Millisecond {
		t.Fatalf("session closed after %v, before pingTimeout %v", elapsed, sioPingTimeout)
	}
	if pings == 0 {
		t.Fatalf("no PING reached the client (err %v after %v)", err, elapsed)
	}
	select {
	case ev := <-u.got:
		t.Fatalf("server got %q through an upstream black hole", ev)
	default:
	}
	if ds := decisionsOf(p, "hole-up", "drop"); len(ds) < 2 || ds[0].Direction != Upstream {
		t.Fatalf("decisions %+v", ds)
	}
	t.Logf("session closed %v after the fault, %d ping(s) seen", elapsed, pings)
}

// TestWSDropDirectionControlFrames: by default a WebSocket ping from the
// client is still answered (the pong is a control frame), while data is
// dropped; with Control the pong is dropped too.
func TestWSDropDirectionControlFrames(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	for _, control := range []bool{false, true} {
		name := fmt.Sprintf("hole-%v", control)
		h := addFault(t, p, WSDropDirection{Name: name, Control: control})
		c, _, err := wsDial(t, p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		pongs := 0
		c.SetPongHandler(func(string) error { mu.Lock(); pongs++; mu.Unlock(); return nil })
		send(t, c, "4data")
		if err := c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// The echo server answers the ping at once; wait long enough for it.
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, m, err := c.ReadMessage(); err == nil || !isTimeout(err) {
			t.Fatalf("control=%v: read %q %v, want a timeout (data dropped)", control, m, err)
		}
		mu.Lock()
		n := pongs
		mu.Unlock()
		if want := map[bool]int{false: 1, true: 0}[control]; n != want {
			t.Fatalf("control=%v: %d pong(s), want %d", control, n, want)
		}
		kinds := map[string]int{}
		for _, d := range decisionsOf(p, name, "drop") {
			_, k, _ := strings.Cut(d.Detail, "(")
			k, _, _ = strings.Cut(k, ",")
			kinds[k]++
		}
		if kinds["text"] != 1 || (control && kinds["pong"] != 1) || (!control && kinds["pong"] != 0) {
			t.Fatalf("control=%v: dropped %v", control, kinds)
		}
		_ = h.Remove()
		c.Close()
	}
}

// TestWSDropDirectionOversizedFrame: a frame above the tap's 1 MiB limit is
// streamed, not held, and is dropped all the same; after removal the
// stream is still well framed.
func TestWSDropDirectionOversizedFrame(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	h := addFault(t, p, WSDropDirection{Name: "hole-big"})
	c, _, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 2<<20)
	send(t, c, "4"+big)
	// The echo server has read the whole frame once it echoes the next.
	send(t, c, "4marker")
	waitFor(t, "the marker dropped", func() bool {
		for _, d := range decisionsOf(p, "hole-big", "drop") {
			if strings.HasPrefix(d.Detail, "websocket frame #1 (text, 9 bytes)") {
				return true
			}
		}
		return false
	})
	raw := 0
	for _, d := range decisionsOf(p, "hole-big", "drop") {
		if n, _, ok := strings.Cut(d.Detail, " bytes of websocket data"); ok {
			var k int
			_, _ = fmt.Sscan(n, &k)
			raw += k
		}
	}
	if want := 2<<20 + 1 + 10; raw != want { // payload + "4" + 10-byte header
		t.Fatalf("dropped %d raw bytes, want %d", raw, want)
	}
	_ = h.Remove()
	send(t, c, "4after")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "4after" {
		t.Fatalf("after removal: %q %v", m, err)
	}
}
