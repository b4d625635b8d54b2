package faultproxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

func wsEcho(t *testing.T, c *websocket.Conn, msgs []string) []string {
	t.Helper()
	for _, m := range msgs {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	// A sentinel message marks the end of what comes back.
	if err := c.WriteMessage(websocket.TextMessage, []byte("6end")); err != nil {
		t.Fatal(err)
	}
	var got []string
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range 2*len(msgs) + 1 {
		_, m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read after %q: %v", got, err)
		}
		if string(m) == "6end" {
			return got
		}
		got = append(got, string(m))
	}
	t.Fatalf("no sentinel, got %q", got)
	return nil
}

// TestEIODropPacketWebSocket drops the 2nd ping a client sends (masked
// frames, upstream) and every message the server sends (downstream), while
// everything else crosses the WebSocket unchanged.
func TestEIODropPacketWebSocket(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	addFault(t, p, EIODropPacket{Name: "up-ping", Direction: Upstream, Packets: []engineio.PacketType{engineio.Ping}, Nth: 2})
	c, resp, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatalf("dial: %v %v", err, resp)
	}
	got := wsEcho(t, c, []string{"2one", "2two", "4hello", "2three", "3probe"})
	if want := []string{"2one", "4hello", "2three", "3probe"}; !equalStrings(got, want) {
		t.Fatalf("upstream drop: got %q, want %q", got, want)
	}
	if ds := decisionsOf(p, "up-ping", "drop"); len(ds) != 1 || ds[0].Detail != `ping #2 "two" (websocket)` || ds[0].Direction != Upstream {
		t.Fatalf("decisions %+v", ds)
	}
	if cs := p.Conns(); len(cs) != 1 || !cs[0].Upgraded || cs[0].Transport != "websocket" {
		t.Fatalf("conn tags %+v", cs)
	}
	// Added live on the open WebSocket: drop server → client messages.
	h := addFault(t, p, EIODropPacket{Name: "down-msg", Packets: []engineio.PacketType{engineio.Message}})
	got = wsEcho(t, c, []string{"4a", "2b", "4c", "5"})
	if want := []string{"2b", "5"}; !equalStrings(got, want) {
		t.Fatalf("downstream drop: got %q, want %q", got, want)
	}
	_ = h.Remove()
	// A frame too big to buffer, and binary data, pass intact.
	big := bytes.Repeat([]byte("x"), 2<<20)
	big[0] = '4'
	if err := c.WriteMessage(websocket.TextMessage, big); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2, 0xff}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, m, err := c.ReadMessage(); err != nil || !bytes.Equal(m, big) {
		t.Fatalf("big frame: %d bytes, %v", len(m), err)
	}
	if mt, m, err := c.ReadMessage(); err != nil || mt != websocket.BinaryMessage || !bytes.Equal(m, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("binary frame: %v %v", m, err)
	}
}

// TestEIODropProbe drops the client's 2probe, the upgrade probe of
// EIO-UPG: the server never answers 3probe.
func TestEIODropProbe(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	addFault(t, p, EIODropPacket{Direction: Upstream, Packets: []engineio.PacketType{engineio.Ping}, Probe: true})
	c, _, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if got := wsEcho(t, c, []string{"2probe", "2", "2probe"}); !equalStrings(got, []string{"2"}) {
		t.Fatalf("got %q", got)
	}
}

func TestEIODropPacketValidationAndJSON(t *testing.T) {
	if err := (EIODropPacket{}).Validate(); err == nil || err.(*FieldError).Attr != "packet" {
		t.Errorf("no packets: %v", err)
	}
	if err := (EIODropPacket{Packets: []engineio.PacketType{9}}).Validate(); err == nil {
		t.Error("type 9 accepted")
	}
	f, tox, err := ParseToxic([]byte(`{"type":"eio_drop_packet","stream":"upstream","attributes":{"packet":["ping","pong"],"nth":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := f.(EIODropPacket)
	if d.Direction != Upstream || len(d.Packets) != 2 || d.Packets[1] != engineio.Pong || d.Nth != 2 || tox.Name != "eio_drop_packet_upstream" {
		t.Fatalf("%+v %+v", d, tox)
	}
	for _, bad := range []string{`{"packet":"pingg"}`, `{"packet":3}`, `{"packet":"ping","probe":"yes"}`, `{"packet":"ping","nth":-1}`} {
		if _, _, err := ParseToxic([]byte(`{"type":"eio_drop_packet","attributes":` + bad + `}`)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// pollingServer answers polling GETs with queued v4 payloads and records
// POST bodies.
type pollingServer struct {
	*httptest.Server
	mu    sync.Mutex
	out   []string
	posts []string
}

func startPollingServer(t *testing.T, out ...string) *pollingServer {
	s := &pollingServer{out: out}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			s.posts = append(s.posts, string(b))
			_, _ = io.WriteString(w, "ok")
			return
		}
		body := "6"
		if len(s.out) > 0 {
			body, s.out = s.out[0], s.out[1:]
		}
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

// pollingClient sends requests on one keep-alive connection.
type pollingClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (pc *pollingClient) do(method, body string) string {
	pc.t.Helper()
	_ = pc.c.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " /engine.io/?EIO=4&transport=polling&sid=P1 HTTP/1.1\r\nHost: x\r\n"
	if method == "POST" {
		req += "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
	}
	if _, err := io.WriteString(pc.c, req+"\r\n"+body); err != nil {
		pc.t.Fatal(err)
	}
	resp, err := http.ReadResponse(pc.br, nil)
	if err != nil {
		pc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		pc.t.Fatalf("body: %v", err)
	}
	if resp.ContentLength != int64(len(b)) {
		pc.t.Fatalf("Content-Length %d, body %d bytes", resp.ContentLength, len(b))
	}
	return string(b)
}

// TestEIODropPacketPolling drops packets inside long-polling payloads in both
// directions, keeping Content-Length right and keeping the payload non-empty
// (EIO-POLL-12).
func TestEIODropPacketPolling(t *testing.T) {
	srv := startPollingServer(t, "2\x1e4hello\x1e2", "2", "4a\x1e4b", "2")
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	down := addFault(t, p, EIODropPacket{Packets: []engineio.PacketType{engineio.Ping}})
	addFault(t, p, EIODropPacket{Direction: Upstream, Packets: []engineio.PacketType{engineio.Pong}, Nth: 2})
	pc := &pollingClient{t: t, c: dial(t, p.Addr())}
	pc.br = bufio.NewReader(pc.c)

	if got := pc.do("GET", ""); got != "4hello" {
		t.Fatalf("GET 1 = %q", got)
	}
	if got := pc.do("GET", ""); got != "6" {
		t.Fatalf("GET 2 (only a ping) = %q, want a noop", got)
	}
	for _, b := range []string{"3", "3\x1e4x", "3"} {
		if got := pc.do("POST", b); got != "ok" {
			t.Fatalf("POST = %q", got)
		}
	}
	_ = down.Remove()
	if got := pc.do("GET", ""); got != "4a\x1e4b" {
		t.Fatalf("GET 3 = %q", got)
	}
	if got := pc.do("GET", ""); got != "2" {
		t.Fatalf("GET 4 after removal = %q, want the ping", got)
	}
	srv.mu.Lock()
	posts := slicesClone(srv.posts)
	srv.mu.Unlock()
	if want := []string{"3", "4x", "3"}; !equalStrings(posts, want) {
		t.Fatalf("server got POST bodies %q, want %q", posts, want)
	}
	if ds := decisionsOf(p, "eio_drop_packet", "drop"); len(ds) != 3 {
		t.Fatalf("downstream drops %+v", ds)
	}
	if ds := decisionsOf(p, "eio_drop_packet_2", "drop"); len(ds) != 1 || ds[0].Detail != `pong #2 "" (polling)` {
		t.Fatalf("upstream drops %+v", ds)
	}
	if cs := p.Conns(); len(cs) != 1 || cs[0].Requests != 7 || cs[0].SID != "P1" {
		t.Fatalf("conns %+v", cs)
	}
}

func TestEIODelayAndDuplicateWebSocket(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	addFault(t, p, EIODelayPacket{Direction: Upstream, Packets: []engineio.PacketType{engineio.Pong}, Delay: 200 * time.Millisecond})
	addFault(t, p, EIODuplicatePacket{Packets: []engineio.PacketType{engineio.Message}, Nth: 1})
	c, _, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got := wsEcho(t, c, []string{"3", "4a", "4b"})
	within(t, "pong delayed 200ms (and what follows it)", time.Since(start), 200*time.Millisecond, 200*time.Millisecond+slack)
	if want := []string{"3", "4a", "4a", "4b"}; !equalStrings(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if ds := decisionsOf(p, "eio_delay_packet", "delay"); len(ds) != 1 || ds[0].Detail != `pong #1 "" (websocket) by 200ms` {
		t.Fatalf("delay decisions %+v", ds)
	}
}

func TestEIODelayAndDuplicatePolling(t *testing.T) {
	srv := startPollingServer(t, "2\x1e4z", "2")
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	// Unit stages run in the order added: the delay counts the server's
	// pings before the duplicate adds one.
	addFault(t, p, EIODelayPacket{Packets: []engineio.PacketType{engineio.Ping}, Nth: 2, Delay: 150 * time.Millisecond})
	addFault(t, p, EIODuplicatePacket{Packets: []engineio.PacketType{engineio.Ping}, Nth: 1})
	pc := &pollingClient{t: t, c: dial(t, p.Addr())}
	pc.br = bufio.NewReader(pc.c)
	if got := pc.do("GET", ""); got != "2\x1e2\x1e4z" {
		t.Fatalf("GET 1 = %q", got)
	}
	start := time.Now()
	if got := pc.do("GET", ""); got != "2" {
		t.Fatalf("GET 2 = %q", got)
	}
	within(t, "second ping's response delayed", time.Since(start), 150*time.Millisecond, 150*time.Millisecond+slack)
}

func TestEIODropIf(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	var mu sync.Mutex
	var saw []string
	addFault(t, p, EIODropIf{Direction: Both, DropIf: func(d Direction, pk engineio.Packet) bool {
		mu.Lock()
		saw = append(saw, d.String()+":"+pk.String())
		mu.Unlock()
		return d == Downstream && pk.Type == engineio.Message && string(pk.Data) == "secret"
	}})
	c, _, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if got := wsEcho(t, c, []string{"4secret", "4public"}); !equalStrings(got, []string{"4public"}) {
		t.Fatalf("got %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(saw) != 6 { // 3 messages (with the sentinel) each way
		t.Fatalf("callback saw %q", saw)
	}
	if _, err := p.Add(EIODropIf{}); err == nil {
		t.Error("nil DropIf accepted")
	}
}

// TestPollingPOSTExpectContinue: a POST that waits for 100 Continue is not
// held by the tap (holding it would deadlock).
func TestPollingPOSTExpectContinue(t *testing.T) {
	srv := startPollingServer(t)
	p := startProxy(t, srv.Listener.Addr().String(), &Options{Tap: true})
	c := dial(t, p.Addr())
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "POST /engine.io/?EIO=4&transport=polling&sid=E HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("want 100 Continue, got %v %v", resp, err)
	}
	if _, err := io.WriteString(c, "4x"); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("final response %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestDelayPollResponse(t *testing.T) {
	srv := startPollingServer(t, "4a", "4b", "4c")
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	addFault(t, p, DelayPollResponse{Nth: 2, Delay: 150 * time.Millisecond})
	pc := &pollingClient{t: t, c: dial(t, p.Addr())}
	pc.br = bufio.NewReader(pc.c)
	for i, want := range []string{"4a", "4b", "4c"} {
		start := time.Now()
		if got := pc.do("GET", ""); got != want {
			t.Fatalf("GET %d = %q", i+1, got)
		}
		if i == 1 {
			within(t, "2nd polling response delayed", time.Since(start), 150*time.Millisecond, 150*time.Millisecond+slack)
		}
	}
	if ds := decisionsOf(p, "delay_poll_response", "delay"); len(ds) != 1 || ds[0].Detail != "polling response #2 by 150ms" {
		t.Fatalf("%+v", ds)
	}
}

func TestWSCloseMidFrame(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	addFault(t, p, WSCloseMidFrame{Nth: 2, Close: CloseRST})
	c, _, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if got := wsEcho(t, c, nil); len(got) != 0 { // the sentinel is frame #1
		t.Fatalf("got %q", got)
	}
	_ = c.WriteMessage(websocket.TextMessage, []byte("4 this frame is cut in half"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, m, err := c.ReadMessage()
	if err == nil || isTimeout(err) {
		t.Fatalf("read = %q, %v; want the connection cut", m, err)
	}
	if ds := decisionsOf(p, "ws_close_mid_frame", "close"); len(ds) != 1 {
		t.Fatalf("%+v", ds)
	}
}
