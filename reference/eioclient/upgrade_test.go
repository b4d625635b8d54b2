package eioclient

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
)

// TestEIO_UPG_05_Upgrade walks the whole upgrade: start on polling
// (EIO-UPG-01), probe with the same sid (EIO-UPG-02), on "3probe" no new
// polling request while the GET and POST in flight finish, then "5" first on
// the WebSocket and the queued packets after it (EIO-UPG-05), nothing lost
// or reordered (EIO-UPG-12), no "2probe"/"5" on polling (EIO-PKT-04).
func TestEIO_UPG_05_Upgrade(t *testing.T) {
	s := newScriptServer(t)
	paused := make(chan struct{})
	c := s.pollSession(&Options{Transports: []string{Polling, WebSocket}, onPaused: func() { close(paused) }}, open4(WebSocket))
	g := s.get()
	sendT(t, c, text("p1"))
	post := s.post()
	w := s.ws()
	if w.Query.Get("sid") != "SID" {
		t.Fatalf("probe query %v", w.Query)
	}
	ws := s.accept(w)
	ws.expectText("2probe")
	sendT(t, c, text("q1")) // queued behind the POST in flight
	ws.sendText("3probe")
	select {
	case <-paused:
	case <-time.After(wait):
		t.Fatal("3probe did not pause polling")
	}
	// Paused: the POST in flight is not answered yet, nothing may be sent.
	s.noRequest(http.MethodPost, 50*time.Millisecond)
	if string(post.Body) != "4p1" {
		t.Fatalf("POST %q", post.Body)
	}
	post.ok("ok")
	s.noRequest(http.MethodPost, 50*time.Millisecond)
	sendT(t, c, text("q2"))
	// The server releases the GET with a noop plus a message (EIO-UPG-04).
	g.okPackets("4before", "6")
	expectMsg(t, c, text("before"))
	s.releaseUntilFrame(ws, "6", "5")
	ws.expectText("4q1")
	ws.expectText("4q2")
	if ev := nextEvent(t, c); ev.Type != EventUpgrade || ev.Transport != WebSocket {
		t.Fatalf("event %+v", ev)
	}
	if c.Transport() != WebSocket {
		t.Fatalf("transport %q", c.Transport())
	}
	s.noRequest(http.MethodGet, 50*time.Millisecond)
	ws.sendText("4after")
	ws.sendBinary([]byte{1, 2})
	expectMsg(t, c, text("after"))
	expectMsg(t, c, engineio.BinaryMessage([]byte{1, 2}))
	// EIO-HB-02 on the new transport.
	ws.sendText("2")
	ws.expectText("3")
	sendT(t, c, text("a\x1eb")) // legal on WebSocket (EIO-WS-02)
	ws.expectText("4a\x1eb")
}

func failedUpgrade(t *testing.T, s *scriptServer, c *Conn, reason string) *UpgradeError {
	t.Helper()
	ev := nextEvent(t, c)
	var ue *UpgradeError
	if ev.Type != EventUpgradeError || !errors.As(ev.Err, &ue) || (reason != "" && ue.Reason != reason) {
		t.Fatalf("event %v %v, want upgrade error %q", ev.Type, ev.Err, reason)
	}
	if c.Transport() != Polling || c.Err() != nil {
		t.Fatalf("after failed upgrade: transport %q err %v", c.Transport(), c.Err())
	}
	return ue
}

// stillPolling shows that the session works on polling after a failed probe.
func stillPolling(t *testing.T, s *scriptServer, c *Conn, g *pollReq) {
	t.Helper()
	sendT(t, c, text("ping?"))
	p := s.post()
	if string(p.Body) != "4ping?" {
		t.Fatalf("POST %q", p.Body)
	}
	p.ok("ok")
	if g == nil {
		g = s.get()
	}
	g.okPackets("4pong!")
	expectMsg(t, c, text("pong!"))
	s.get()
}

// TestEIO_UPG_13_ProbeFailures: every way a probe can fail leaves the session
// on polling, working, with an upgrade-error event.
func TestEIO_UPG_13_ProbeFailures(t *testing.T) {
	// answer accepts the probe, reads "2probe" and sends reply ("" = none).
	answer := func(reply string) func(*scriptServer, *wsReq) {
		return func(s *scriptServer, w *wsReq) {
			ws := s.accept(w)
			ws.expectText("2probe")
			if reply != "" {
				ws.sendText(reply)
			}
		}
	}
	hangUp := func(s *scriptServer, w *wsReq) {
		ws := s.accept(w)
		ws.expectText("2probe")
		_ = ws.c.Close()
	}
	refuse := func(status int, body string) func(*scriptServer, *wsReq) {
		return func(_ *scriptServer, w *wsReq) { w.refuse(status, body) }
	}
	for _, tc := range []struct {
		name   string
		probe  func(*scriptServer, *wsReq)
		reason string // UpgradeError.Reason
		status int    // HTTP status of the refused probe, 0 when it was accepted
		paused bool   // the probe paused polling: the GET is released after the failure
	}{
		{"wrong reply", answer("3nope"), "unexpected packet", 0, false},
		{"message instead of pong", answer("4probe"), "unexpected packet", 0, false},
		{"never answered", answer(""), "probe timeout", 0, false},
		{"GET never released", answer("3probe"), "probe timeout", 0, true},
		{"closed", hangUp, "probe error", 0, false},
		{"refused 403", refuse(http.StatusForbidden, `{"code":4,"message":"Forbidden"}`), "dial", 403, false},
		{"upgrade stripped", refuse(http.StatusOK, "ok"), "dial", 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScriptServer(t)
			c := s.pollSession(&Options{Transports: []string{Polling, WebSocket}, ProbeTimeout: 300 * time.Millisecond}, open4(WebSocket))
			g := s.get()
			tc.probe(s, s.ws())
			ue := failedUpgrade(t, s, c, tc.reason)
			var he *HandshakeError
			if tc.status != 0 && (!errors.As(ue, &he) || he.Status != tc.status) {
				t.Fatalf("upgrade error %v, want HTTP %d", ue, tc.status)
			}
			if tc.paused {
				g.okPackets("6")
				g = nil
			}
			stillPolling(t, s, c, g)
		})
	}
}

// TestNODE_TR_02_WebSocketFirst: transports ["websocket"] handshakes on the
// WebSocket without sid; the open packet is the first frame.
func TestNODE_TR_02_WebSocketFirst(t *testing.T) {
	s := newScriptServer(t)
	c, ws, r := s.wsSession(nil, openJSON("W", nil, 10000, 5000, `"maxPayload":1000000`))
	if r.Query.Has("sid") || r.Query.Get("transport") != WebSocket || r.Query.Get("EIO") != "4" || r.Query.Has("t") {
		t.Fatalf("query %v", r.Query)
	}
	if c.ID() != "W" || c.Transport() != WebSocket {
		t.Fatalf("id %q transport %q", c.ID(), c.Transport())
	}
	sendT(t, c, text("€😀"), engineio.BinaryMessage([]byte{1, 2, 3, 4}), text("a\x1eb"))
	ws.expectText("4€😀") // EIO-PKT-02
	if mt, d := ws.read(); mt != websocket.BinaryMessage || d != "\x01\x02\x03\x04" {
		t.Fatalf("EIO-BIN-03: frame %d %q", mt, d) // raw bytes, no type byte
	}
	ws.expectText("4a\x1eb") // EIO-WS-02: one packet per frame
	ws.sendBinary([]byte{9, 9})
	ws.sendText("4x\x1e4y")
	ws.sendText("bAQI=")
	ws.sendBinary(nil)
	expectMsg(t, c, engineio.BinaryMessage([]byte{9, 9}))
	expectMsg(t, c, text("x\x1e4y"))
	expectMsg(t, c, engineio.BinaryMessage([]byte{1, 2})) // EIO-BIN-04
	expectMsg(t, c, engineio.BinaryMessage([]byte{}))     // EIO-BIN-06
	ws.sendText("2")
	ws.expectText("3") // EIO-HB-02
}

// TestEIO_URL_08_ForceBase64WebSocket: b64=1 on the WebSocket URL, binary
// sent as "b"+base64 text frames.
func TestEIO_URL_08_ForceBase64WebSocket(t *testing.T) {
	s := newScriptServer(t)
	c, ws, r := s.wsSession(&Options{ForceBase64: true, TimestampRequests: true}, open4())
	if r.Query.Get("b64") != "1" || r.Query.Get("t") == "" {
		t.Fatalf("query %v", r.Query)
	}
	sendT(t, c, engineio.BinaryMessage([]byte{1, 2, 3, 4}))
	ws.expectText("bAQIDBA==")
}

// TestNODE_TR_03_TryAllTransports: with TryAllTransports a refused or
// stripped WebSocket handshake falls back to polling; without it, the
// failure is final.
func TestNODE_TR_03_TryAllTransports(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
	}{{"refused 403", http.StatusForbidden}, {"stripped 200", http.StatusOK}, {"stripped 400", http.StatusBadRequest}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScriptServer(t)
			ch := dialAsync(s.URL(), &Options{Transports: []string{WebSocket, Polling}, TryAllTransports: true})
			s.ws().refuse(tc.status, "no")
			s.get().ok(open4(WebSocket))
			c, err := s.dialResult(ch)
			if err != nil {
				t.Fatal(err)
			}
			if c.Transport() != Polling {
				t.Fatalf("transport %q", c.Transport())
			}
		})
	}
	t.Run("without TryAllTransports", func(t *testing.T) {
		s := newScriptServer(t)
		ch := dialAsync(s.URL(), &Options{Transports: []string{WebSocket, Polling}})
		s.ws().refuse(http.StatusForbidden, "no")
		_, err := s.dialResult(ch)
		var he *HandshakeError
		if !errors.As(err, &he) || he.Transport != WebSocket || he.Status != 403 || string(he.Body) != "no" {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("all fail", func(t *testing.T) {
		s := newScriptServer(t)
		ch := dialAsync(s.URL(), &Options{Transports: []string{WebSocket, Polling}, TryAllTransports: true})
		s.ws().refuse(http.StatusForbidden, "no")
		s.get().respond(http.StatusForbidden, `{"code":4,"message":"nope"}`)
		_, err := s.dialResult(ch)
		var he *HandshakeError
		if !errors.As(err, &he) || he.Transport != WebSocket {
			t.Fatalf("err %v", err)
		}
	})
}

// TestEIO_CLOSE_02_ClientCloseWebSocket: on WebSocket, Close sends queued
// packets and closes the connection without a "1" packet.
func TestEIO_CLOSE_02_ClientCloseWebSocket(t *testing.T) {
	s := newScriptServer(t)
	c, ws, _ := s.wsSession(nil, open4())
	sendT(t, c, text("bye"))
	ws.expectText("4bye")
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	_, b, err := ws.readErr()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("server read %q %v, want a close frame", b, err)
	}
	if cl := waitClosed(t, c); cl.Reason != ReasonForcedClose {
		t.Fatalf("close %v", cl)
	}
}

// TestWebSocketServerClose: a close frame from the server is "transport
// close" (EIO-WS-08), a "1" packet too.
func TestWebSocketServerClose(t *testing.T) {
	t.Run("close frame", func(t *testing.T) {
		s := newScriptServer(t)
		c, ws, _ := s.wsSession(nil, open4())
		ws.sendText("4last")
		_ = ws.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
		expectMsg(t, c, text("last"))
		if ce := waitClosed(t, c); ce.Reason != ReasonTransportClose {
			t.Fatalf("close %v", ce)
		}
	})
	t.Run("close packet", func(t *testing.T) {
		s := newScriptServer(t)
		c, ws, _ := s.wsSession(nil, open4())
		ws.sendText("1")
		if ce := waitClosed(t, c); ce.Reason != ReasonTransportClose {
			t.Fatalf("close %v", ce)
		}
	})
	t.Run("TCP close", func(t *testing.T) {
		s := newScriptServer(t)
		c, ws, _ := s.wsSession(nil, open4())
		_ = ws.c.NetConn().Close()
		if ce := waitClosed(t, c); ce.Reason != ReasonTransportClose {
			t.Fatalf("close %v", ce)
		}
	})
}

// TestProbeHoldIsBounded: a GET released with a noop while the probe is out
// holds polling (EIO-UPG-05), but only for probeHold: when the 3probe is
// held back (a buffering middlebox, NET-AV-01) the client polls again,
// fetches the server's ping and answers it within pingTimeout, and the
// session survives the probe's failure on polling.
func TestProbeHoldIsBounded(t *testing.T) {
	s := newScriptServer(t)
	// pingTimeout 800 ms: the hold is 200 ms; the probe may take 4 s.
	c := s.pollSession(&Options{Transports: []string{Polling, WebSocket}, ProbeTimeout: 4 * time.Second},
		openJSON("SID", []string{WebSocket}, 10000, 800, `"maxPayload":1000000`))
	g := s.get()
	ws := s.accept(s.ws())
	ws.expectText("2probe") // never answered
	g.okPackets("6")
	s.noRequest(http.MethodGet, 100*time.Millisecond) // held
	start := time.Now()
	g = s.get() // the hold ran out
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("polling resumed %v after the hold began, with the probe still out: the hold is 200 ms and the server's ping is due within pingTimeout", d)
	}
	g.okPackets("2")
	if p := s.post(); string(p.Body) != "3" {
		t.Fatalf("the ping was answered with %q, want 3", p.Body)
	} else {
		p.ok("ok")
	}
	if c.Transport() != Polling {
		t.Fatalf("transport %q during the probe, want polling", c.Transport())
	}
	ue := failedUpgrade(t, s, c, "probe timeout")
	if ue == nil {
		t.Fatal("no upgrade error")
	}
}
