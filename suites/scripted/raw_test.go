package scripted

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// get performs one request and returns status and body.
func do(t *testing.T, method, url, ctype string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// handshake opens a polling session by hand and returns it.
func handshake(t *testing.T, srv *Server, eio string) *Session {
	t.Helper()
	st, body := do(t, "GET", srv.URL()+"?EIO="+eio+"&transport=polling", "", nil)
	if st != 200 {
		t.Fatalf("handshake %d %s", st, body)
	}
	ss, err := srv.NextSession(ctxT(t, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func pollURL(srv *Server, ss *Session, eio string) string {
	return srv.URL() + "?EIO=" + eio + "&transport=polling&sid=" + ss.ID()
}

// asyncGET starts a GET and returns a channel with its status and body.
func asyncGET(t *testing.T, url string) <-chan [2]string {
	ch := make(chan [2]string, 1)
	go func() {
		// A connection of its own: a dropped GET is not retried.
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(url)
		if err != nil {
			ch <- [2]string{"error", err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- [2]string{http.StatusText(resp.StatusCode), string(b)}
	}()
	return ch
}

// waitGETPending waits until the server holds a GET of ss.
func waitGETPending(t *testing.T, ss *Session) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		ss.s.mu.Lock()
		p := ss.getActive
		ss.s.mu.Unlock()
		if p {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("GET never pending")
		}
		time.Sleep(5 * time.Millisecond) // polling state
	}
}

func recvRes(t *testing.T, ch <-chan [2]string) [2]string {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(3 * time.Second):
		t.Fatal("GET never answered")
		return [2]string{}
	}
}

func TestErrorPaths(t *testing.T) {
	srv, _ := startServer(t, nil)
	u := srv.URL()
	for _, tc := range []struct {
		method, query string
		status        int
		body          string
	}{
		{"GET", "?EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"POST", "?EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"GET", "?EIO=4&transport=carrier-pigeon", 400, `{"code":0,"message":"Transport unknown"}`},
		{"GET", "?EIO=4", 400, `{"code":0,"message":"Transport unknown"}`},
		{"GET", "?EIO=3&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"POST", "?EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"GET", "?EIO=4&transport=websocket", 400, `{"code":3,"message":"Bad request"}`},
	} {
		st, body := do(t, tc.method, u+tc.query, "", nil)
		if st != tc.status || body != tc.body {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.query, st, body, tc.status, tc.body)
		}
	}
	if st, _ := do(t, "GET", strings.TrimSuffix(u, "/engine.io/")+"/other/?EIO=4&transport=polling", "", nil); st != 404 {
		t.Errorf("other path: %d", st)
	}
	reqs := srv.Requests()
	if len(reqs) != 8 || reqs[0].SID != "nope" || reqs[0].Status != 400 || reqs[0].Finished.IsZero() {
		t.Fatalf("requests %+v", reqs)
	}
}

// TestDoubleGET: a second GET while one is pending is answered 400, the
// pending one gets a close packet and the session ends.
func TestDoubleGET(t *testing.T) {
	srv, rec := startServer(t, &Options{NoPings: true})
	ss := handshake(t, srv, "4")
	first := asyncGET(t, pollURL(srv, ss, "4"))
	waitGETPending(t, ss)
	st, body := do(t, "GET", pollURL(srv, ss, "4"), "", nil)
	if st != 400 || body != `{"code":3,"message":"Bad request"}` {
		t.Fatalf("second GET %d %s", st, body)
	}
	if r := recvRes(t, first); r[1] != "1" {
		t.Fatalf("first GET %v", r)
	}
	<-ss.Done()
	if ss.Reason() != "transport error" || !rec.has(dirLocal, "note", "overlapping GET") {
		t.Fatalf("reason %q", ss.Reason())
	}
	if st, _ := do(t, "GET", pollURL(srv, ss, "4"), "", nil); st != 400 {
		t.Fatalf("after close %d", st)
	}
	// Two requests in flight at once are visible in Requests.
	var gets []Request
	for _, r := range srv.Requests() {
		if r.Method == "GET" && r.SID == ss.ID() {
			gets = append(gets, r)
		}
	}
	if len(gets) < 2 || !gets[1].Started.Before(gets[0].Finished) {
		t.Fatalf("GETs %+v", gets)
	}
}

// TestClientClosePacket: POST 1 with a GET pending: the GET gets 6, the
// POST 200 ok, later requests 400 (EIO-CLOSE-01).
func TestClientClosePacket(t *testing.T) {
	srv, _ := startServer(t, &Options{NoPings: true})
	ss := handshake(t, srv, "4")
	get := asyncGET(t, pollURL(srv, ss, "4"))
	waitGETPending(t, ss)
	if st, body := do(t, "POST", pollURL(srv, ss, "4"), "text/plain", []byte("4bye\x1e1")); st != 200 || body != "ok" {
		t.Fatalf("POST %d %s", st, body)
	}
	if r := recvRes(t, get); r[1] != "6" {
		t.Fatalf("GET %v", r)
	}
	<-ss.Done()
	if ss.Reason() != "client close packet" {
		t.Fatalf("reason %q", ss.Reason())
	}
	ctx := ctxT(t, time.Second)
	var got []string
	for {
		r, err := ss.Recv(ctx)
		if err != nil {
			var sce *SessionClosedError
			if !errors.Is(err, ErrSessionClosed) || !errors.As(err, &sce) || sce.Reason != "client close packet" {
				t.Fatalf("err %v", err)
			}
			break
		}
		got = append(got, summary(r.Packet))
	}
	if strings.Join(got, " ") != "4bye 1" {
		t.Fatalf("received %v", got)
	}
	if st, _ := do(t, "GET", pollURL(srv, ss, "4"), "", nil); st != 400 {
		t.Fatalf("after close %d", st)
	}
	if err := ss.Send(engineio.TextPacket(engineio.Message, "x")); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

// TestPingTimeoutV4: a client that never answers pings is timed out
// after pingInterval+pingTimeout; one that pongs is kept.
func TestPingTimeoutV4(t *testing.T) {
	srv, _ := startServer(t, &Options{PingInterval: 100 * time.Millisecond, PingTimeout: time.Second})
	start := time.Now()
	bad := handshake(t, srv, "4")
	good := handshake(t, srv, "4")
	ctx := ctxT(t, 5*time.Second)
	for range 4 {
		if _, body := do(t, "GET", pollURL(srv, good, "4"), "", nil); body != "2" {
			t.Fatalf("ping payload %q", body)
		}
		if st, _ := do(t, "POST", pollURL(srv, good, "4"), "text/plain", []byte("3")); st != 200 {
			t.Fatal("pong POST")
		}
	}
	select {
	case <-bad.Done():
	case <-ctx.Done():
		t.Fatal("no ping timeout")
	}
	if took := time.Since(start); bad.Reason() != "ping timeout" || took < 1100*time.Millisecond {
		t.Fatalf("reason %q after %v", bad.Reason(), took)
	}
	select {
	case <-good.Done():
		t.Fatalf("ponging session ended: %s", good.Reason())
	default:
	}
}

// TestPingV3: the server answers a v3 ping with a pong carrying the same
// data and times out a client that stops pinging; StopPings stops both.
func TestPingV3(t *testing.T) {
	srv, _ := startServer(t, &Options{EIO: 3, PingInterval: 100 * time.Millisecond, PingTimeout: 900 * time.Millisecond})
	ss := handshake(t, srv, "3")
	if st, _ := do(t, "POST", pollURL(srv, ss, "3"), "text/plain;charset=UTF-8", []byte("5:2ping")); st != 200 {
		t.Fatal("ping POST")
	}
	if _, body := do(t, "GET", pollURL(srv, ss, "3"), "", nil); body != "5:3ping" {
		t.Fatalf("pong payload %q", body)
	}
	<-ss.Done()
	if ss.Reason() != "ping timeout" {
		t.Fatalf("reason %q", ss.Reason())
	}
	quiet := handshake(t, srv, "3")
	quiet.StopPings()
	do(t, "POST", pollURL(srv, quiet, "3"), "text/plain", []byte("1:2"))
	timer := time.NewTimer(1500 * time.Millisecond)
	defer timer.Stop()
	get := asyncGET(t, pollURL(srv, quiet, "3"))
	select {
	case r := <-get:
		t.Fatalf("GET answered %v with pings stopped", r)
	case <-quiet.Done():
		t.Fatalf("ended: %s", quiet.Reason())
	case <-timer.C:
	}
	quiet.Close()
	if r := recvRes(t, get); r[1] != "1:1" {
		t.Fatalf("close payload %v", r)
	}
}

// TestBatchesRawAndLimits: Send batches into one response, SendRaw is a
// body of its own, an oversized POST is 413, a pending GET is dropped by
// CloseTransport.
func TestBatchesRawAndLimits(t *testing.T) {
	srv, _ := startServer(t, &Options{NoPings: true, MaxPayload: 10})
	ss := handshake(t, srv, "4")
	_ = ss.Send(engineio.TextPacket(engineio.Message, "a"), engineio.BinaryMessage([]byte{1}))
	_ = ss.SendRaw([]byte("garbage"), false)
	_ = ss.Send(engineio.Packet{Type: 9, Data: []byte("x")})
	for _, want := range []string{"4a\x1ebAQ==", "garbage", "9x"} {
		if _, body := do(t, "GET", pollURL(srv, ss, "4"), "", nil); body != want {
			t.Fatalf("GET %q, want %q", body, want)
		}
	}
	if st, _ := do(t, "POST", pollURL(srv, ss, "4"), "text/plain", []byte("4xxxxxxxxxxxxxxxxxx")); st != 413 {
		t.Fatalf("oversized POST %d", st)
	}
	get := asyncGET(t, pollURL(srv, ss, "4"))
	waitGETPending(t, ss)
	ss.CloseTransport()
	if r := recvRes(t, get); r[0] != "error" {
		t.Fatalf("aborted GET answered %v", r)
	}
	if ss.Reason() != "transport closed" {
		t.Fatalf("reason %q", ss.Reason())
	}
}

// TestWebSocketRaw: a WebSocket handshake gets the open packet first with
// no upgrades; a second WebSocket for an upgraded session is closed;
// Close sends 1 and a close frame.
func TestWebSocketRaw(t *testing.T) {
	srv, _ := startServer(t, &Options{NoPings: true})
	wsURL := "ws" + strings.TrimPrefix(srv.URL(), "http") + "?EIO=4&transport=websocket"
	c, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, open, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	op, err := engineio.ParseOpen(open[1:])
	if err != nil || len(op.Upgrades) != 0 || open[0] != '0' {
		t.Fatalf("open %s %v", open, err)
	}
	ss, err := srv.NextSession(ctxT(t, time.Second))
	if err != nil || ss.Transport() != "websocket" || ss.ID() != op.SID {
		t.Fatalf("session %v %v", ss, err)
	}
	c2, _, err := websocket.DefaultDialer.Dial(wsURL+"&sid="+ss.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c2.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, _, err := c2.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNoStatusReceived) {
		t.Fatalf("second WebSocket: %v", err)
	}
	c2.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte("4hi")); err != nil {
		t.Fatal(err)
	}
	if r := recvMessage(t, ctxT(t, time.Second), ss); string(r.Packet.Data) != "hi" {
		t.Fatalf("got %v", r.Packet)
	}
	ss.Close()
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "1" {
		t.Fatalf("close packet %q %v", m, err)
	}
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNoStatusReceived) {
		t.Fatalf("close frame: %v", err)
	}
	if ss.Reason() != "server close" {
		t.Fatalf("reason %q", ss.Reason())
	}
}

// TestCloseWaitsForGoroutines: Close returns with every goroutine of the
// server gone, with a long poll, a WebSocket and a stalled upgrade open.
func TestCloseWaitsForGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	srv, err := Start(context.Background(), &Options{Upgrade: UpgradeStall})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := do(t, "GET", srv.URL()+"?EIO=4&transport=polling", "", nil)
	if st != 200 {
		t.Fatal(st)
	}
	ss, _ := srv.NextSession(ctxT(t, time.Second))
	get := asyncGET(t, pollURL(srv, ss, "4"))
	waitGETPending(t, ss)
	wsURL := "ws" + strings.TrimPrefix(srv.URL(), "http") + "?EIO=4&transport=websocket"
	c, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c3, _, err := websocket.DefaultDialer.Dial(wsURL+"&sid="+ss.ID(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	recvRes(t, get)
	c.Close()
	c3.Close()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		time.Sleep(10 * time.Millisecond) // polling the goroutine count
	}
	// Sessions opened before Close are still handed out, then ErrServerClosed.
	var err2 error
	for range 3 {
		if _, err2 = srv.NextSession(context.Background()); err2 != nil {
			break
		}
	}
	if !errors.Is(err2, ErrServerClosed) {
		t.Fatalf("NextSession after Close: %v", err2)
	}
}

// TestV3BinaryAndHooks: a v3 client without b64 gets the XHR2 binary
// payload for a batch with binary, and its octet-stream POST is decoded;
// Open and OpenJSON edit the handshake.
func TestV3BinaryAndHooks(t *testing.T) {
	srv, _ := startServer(t, &Options{
		EIO:      3,
		NoPings:  true,
		Open:     func(o *engineio.OpenPacket) { o.SID = "fixed-sid" },
		OpenJSON: func(sid string, j []byte) []byte { return append(j[:len(j)-1], []byte(`,"extra":1}`)...) },
	})
	st, body := do(t, "GET", srv.URL()+"?EIO=3&transport=polling", "", nil)
	if st != 200 || !strings.Contains(body, `"sid":"fixed-sid"`) || !strings.HasSuffix(body, `,"extra":1}`) {
		t.Fatalf("handshake %d %s", st, body)
	}
	ss, err := srv.NextSession(ctxT(t, time.Second))
	if err != nil || ss.ID() != "fixed-sid" {
		t.Fatalf("session %v %v", ss, err)
	}
	_ = ss.Send(engineio.TextPacket(engineio.Message, "a"), engineio.BinaryMessage([]byte{7}))
	resp, err := http.Get(pollURL(srv, ss, "3"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := engineio.AppendBinaryPayloadV3(nil, []engineio.Packet{engineio.TextPacket(engineio.Message, "a"), engineio.BinaryMessage([]byte{7})})
	if resp.Header.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(got, want) {
		t.Fatalf("GET %s %q, want %q", resp.Header.Get("Content-Type"), got, want)
	}
	post, _ := engineio.AppendBinaryPayloadV3(nil, []engineio.Packet{engineio.BinaryMessage([]byte{1, 2})})
	if st, _ := do(t, "POST", pollURL(srv, ss, "3"), "application/octet-stream", post); st != 200 {
		t.Fatal(st)
	}
	r := recvMessage(t, ctxT(t, time.Second), ss)
	if !r.Packet.Binary || !bytes.Equal(r.Packet.Data, []byte{1, 2}) {
		t.Fatalf("got %v", r.Packet)
	}
}

// TestSIODecodeError: a message that is no Socket.IO packet comes out of
// SIO.Recv as a *socketio.DecodeError with the raw message; a binary event
// sent over polling is reassembled.
func TestSIODecodeError(t *testing.T) {
	srv, _ := startServer(t, &Options{NoPings: true, Path: "/socket.io/"})
	ss := handshake(t, srv, "4")
	c := NewSIO(ss, socketio.V5)
	ctx := ctxT(t, 2*time.Second)
	do(t, "POST", pollURL(srv, ss, "4"), "text/plain", []byte("4garbage\x1e451-[\"b\",{\"_placeholder\":true,\"num\":0}]\x1ebAQI="))
	r, err := c.Recv(ctx)
	var de *socketio.DecodeError
	if !errors.As(err, &de) || string(r.Raw.Packet.Data) != "garbage" {
		t.Fatalf("recv %v %v", r, err)
	}
	r, err = c.Recv(ctx)
	if err != nil || r.Packet.Type != socketio.BinaryEvent || !bytes.Equal(r.Packet.Binary[0], []byte{1, 2}) {
		t.Fatalf("recv %v %v", r.Packet, err)
	}
}

// TestPollDuringUpgrade: with PollDuringUpgrade, polling keeps carrying
// queued packets while the probe waits for 5, and a GET with nothing to
// carry gets a noop after upgradeNoopAfter; without it, a noop at once.
func TestPollDuringUpgrade(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(map[bool]string{true: "on", false: "off"}[on], func(t *testing.T) {
			srv, _ := startServer(t, &Options{NoPings: true, PollDuringUpgrade: on})
			ss := handshake(t, srv, "4")
			wsURL := "ws" + strings.TrimPrefix(srv.URL(), "http") + "?EIO=4&transport=websocket&sid=" + ss.ID()
			c, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			if _, m, err := c.ReadMessage(); err != nil || string(m) != "3probe" {
				t.Fatalf("probe answer %q %v", m, err)
			}
			start := time.Now()
			st, body := do(t, "GET", pollURL(srv, ss, "4"), "", nil)
			empty := time.Since(start)
			if st != 200 || body != "6" {
				t.Fatalf("empty GET during the upgrade: %d %q", st, body)
			}
			if on && empty < upgradeNoopAfter/2 {
				t.Errorf("the noop came after %v, want about %v", empty, upgradeNoopAfter)
			}
			if err := ss.Send(engineio.TextPacket(engineio.Message, "during")); err != nil {
				t.Fatal(err)
			}
			_, body = do(t, "GET", pollURL(srv, ss, "4"), "", nil)
			if want := map[bool]string{true: "4during", false: "6"}[on]; body != want {
				t.Fatalf("GET with a queued message during the upgrade: %q, want %q", body, want)
			}
		})
	}
}
