package eioclient

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// TestEIO_URL_07_QueryParams checks the query of every request: EIO and
// transport always (EIO-URL-02, EIO-URL-04), sid after the handshake
// (EIO-URL-05, EIO-HS-11), a fresh timestamp on polling only, the user's
// query and headers merged (EIO-URL-07), and the probe URL (EIO-UPG-02).
func TestEIO_URL_07_QueryParams(t *testing.T) {
	s := newScriptServer(t)
	o := &Options{
		Transports: []string{Polling, WebSocket},
		Query:      url.Values{"foo": {"bar"}, "EIO": {"9"}},
		Header:     http.Header{"X-Test": {"yes"}},
	}
	ch := dialAsync(s.URL()+"/?token=abc", o)
	hs := s.get()
	q := hs.Query
	if q.Get("EIO") != "4" || q.Get("transport") != "polling" || q.Has("sid") || q.Get("t") == "" ||
		q.Get("foo") != "bar" || q.Get("token") != "abc" || q.Has("b64") {
		t.Fatalf("handshake query %v", q)
	}
	if hs.Header.Get("X-Test") != "yes" {
		t.Fatalf("handshake header %v", hs.Header)
	}
	hs.ok(open4(WebSocket))
	c, err := s.dialResult(ch)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "SID" || c.Version() != engineio.V4 || c.Transport() != Polling {
		t.Fatalf("id %q version %v transport %q", c.ID(), c.Version(), c.Transport())
	}
	g := s.get()
	if g.Query.Get("sid") != "SID" || g.Query.Get("transport") != "polling" || g.Query.Get("EIO") != "4" ||
		g.Query.Get("t") == "" || g.Query.Get("t") == q.Get("t") || g.Header.Get("X-Test") != "yes" {
		t.Fatalf("poll query %v", g.Query)
	}
	sendT(t, c, text("x"))
	p := s.post()
	if p.Query.Get("sid") != "SID" || p.Query.Get("transport") != "polling" || p.Query.Get("t") == "" ||
		p.Header.Get("Content-Type") != "text/plain;charset=UTF-8" {
		t.Fatalf("post query %v header %v", p.Query, p.Header)
	}
	p.ok("ok")
	w := s.ws()
	if w.Query.Get("sid") != "SID" || w.Query.Get("transport") != "websocket" || w.Query.Get("EIO") != "4" ||
		w.Query.Has("t") || w.Query.Get("foo") != "bar" || w.Header.Get("X-Test") != "yes" {
		t.Fatalf("probe query %v", w.Query)
	}
	w.refuse(http.StatusBadRequest, "no")
	g.ok("6")
}

// TestEIO_URL_08_ForceBase64 checks b64=1 on the polling handshake only.
func TestEIO_URL_08_ForceBase64Polling(t *testing.T) {
	s := newScriptServer(t)
	ch := dialAsync(s.URL(), &Options{Transports: []string{Polling}, ForceBase64: true})
	hs := s.get()
	if hs.Query.Get("b64") != "1" {
		t.Fatalf("handshake query %v", hs.Query)
	}
	hs.ok(open4())
	if _, err := s.dialResult(ch); err != nil {
		t.Fatal(err)
	}
	if g := s.get(); g.Query.Has("b64") {
		t.Fatalf("poll query %v", g.Query)
	}
}

// TestEIO_HS_11_TolerantOpen: unknown keys and a missing maxPayload are
// accepted; without maxPayload batches are unbounded.
func TestEIO_HS_11_TolerantOpen(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, openJSON("abc_-9", nil, 10000, 5000, `"foo":{"x":[1]},"bar":true`))
	hs := c.Handshake()
	if hs.SID != "abc_-9" || hs.MaxPayload != 0 || !hs.OmitMaxPayload || hs.PingInterval != 10*time.Second {
		t.Fatalf("handshake %+v", hs)
	}
	g := s.get()
	if g.Query.Get("sid") != "abc_-9" {
		t.Fatalf("sid not sent: %v", g.Query)
	}
	big := strings.Repeat("x", 2000)
	sendT(t, c, text(big), text(big), text(big))
	if body := string(s.post().Body); body != "4"+big+"\x1e4"+big+"\x1e4"+big {
		t.Fatalf("POST body of %d bytes, want all three packets", len(body))
	}
	g.okPackets("4hi")
	expectMsg(t, c, text("hi"))
}

// TestEIO_HS_12_UnknownUpgrades: names the client does not support are
// ignored, websocket is still probed.
func TestEIO_HS_12_UnknownUpgrades(t *testing.T) {
	t.Run("foo and websocket", func(t *testing.T) {
		s := newScriptServer(t)
		s.pollSession(&Options{Transports: []string{Polling, WebSocket}}, open4("foo", WebSocket))
		w := s.ws()
		if w.Query.Get("transport") != WebSocket {
			t.Fatalf("probe query %v", w.Query)
		}
		w.refuse(http.StatusForbidden, "")
	})
	t.Run("foo only", func(t *testing.T) {
		s := newScriptServer(t)
		c := s.pollSession(&Options{Transports: []string{Polling, WebSocket}}, open4("foo"))
		g := s.get()
		sendT(t, c, text("a"))
		s.post().ok("ok")
		g.okPackets("4b")
		expectMsg(t, c, text("b"))
		s.get()
		select {
		case w := <-s.wss:
			t.Fatalf("unexpected WebSocket request %v", w.Query)
		default:
		}
	})
	t.Run("websocket not in Transports", func(t *testing.T) {
		s := newScriptServer(t)
		c := s.pollSession(&Options{Transports: []string{Polling}}, open4(WebSocket))
		g := s.get()
		g.okPackets("4b")
		expectMsg(t, c, text("b"))
		s.get()
		select {
		case w := <-s.wss:
			t.Fatalf("unexpected WebSocket request %v", w.Query)
		default:
		}
	})
}

// TestHandshakeRefused: a 400 with Node's JSON body is a *HandshakeError
// carrying status and code; a 200 that is not an open packet too.
func TestHandshakeRefused(t *testing.T) {
	s := newScriptServer(t)
	ch := dialAsync(s.URL(), &Options{Transports: []string{Polling}})
	s.get().respond(http.StatusBadRequest, `{"code":5,"message":"Unsupported protocol version"}`)
	_, err := s.dialResult(ch)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != 400 || !he.HasCode || he.Code != engineio.CodeUnsupportedProtocolVersion ||
		he.Message != "Unsupported protocol version" || he.Transport != Polling {
		t.Fatalf("err = %#v", err)
	}

	ch = dialAsync(s.URL(), &Options{Transports: []string{Polling}})
	s.get().ok(`4{"sid":"x"}`)
	_, err = s.dialResult(ch)
	if !errors.As(err, &he) || he.Status != 200 || !errors.Is(err, engineio.ErrBadOpenPacket) {
		t.Fatalf("err = %v", err)
	}

	for _, tc := range []struct {
		v    engineio.Version
		body string
	}{
		{engineio.V4, `0{"sid":"x","upgrades":[],"pingInterval":"a","pingTimeout":1}`},
		{engineio.V4, `0{"sid":"x","upgrades":[],"pingInterval":0,"pingTimeout":0}`},
		{engineio.V4, ""},
		{engineio.V3, "0:"},
		{engineio.V3, "2:0x"},
	} {
		ch = dialAsync(s.URL(), &Options{Transports: []string{Polling}, Version: tc.v})
		s.get().ok(tc.body)
		if _, err = s.dialResult(ch); !errors.As(err, &he) {
			t.Fatalf("v%v %q: err = %v", tc.v, tc.body, err)
		}
	}
}

// TestEIO_PKT_07_NoopAndOpenIgnored: noop anywhere and a late open packet
// are ignored; messages around them are delivered in order.
func TestEIO_PKT_07_NoopAndOpenIgnored(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	s.get().okPackets("6")
	s.get().okPackets("6", "4a", open4(), "5", "4b", "6")
	expectMsg(t, c, text("a"))
	expectMsg(t, c, text("b"))
	s.get()
	if c.Err() != nil {
		t.Fatalf("closed: %v", c.Err())
	}
}

// TestEIO_PKT_02_UTF8 round-trips multibyte text on polling.
func TestEIO_PKT_02_UTF8(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	g := s.get()
	sendT(t, c, text("€😀"))
	if p := s.post(); string(p.Body) != "4€😀" {
		t.Fatalf("POST body %q", p.Body)
	} else {
		p.ok("ok")
	}
	g.okPackets("4€😀")
	expectMsg(t, c, text("€😀"))
}

// TestEIO_PKT_06_EmptyMessages: empty text and empty binary messages both
// ways (EIO-BIN-06).
func TestEIO_PKT_06_EmptyMessages(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	g := s.get()
	sendT(t, c, text(""), engineio.BinaryMessage(nil))
	if p := s.post(); string(p.Body) != "4\x1eb" {
		t.Fatalf("POST body %q", p.Body)
	} else {
		p.ok("ok")
	}
	g.okPackets("4", "b")
	expectMsg(t, c, text(""))
	expectMsg(t, c, engineio.BinaryMessage([]byte{}))
}

// TestEIO_POLL_17_OneGetOnePost: at most one GET and one POST in flight;
// the GET is re-issued when the previous one completes; queued packets wait
// for the POST in flight and then go in one batch (EIO-POLL-18).
func TestEIO_POLL_17_OneGetOnePost(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	g := s.get()
	sendT(t, c, text("1"))
	p1 := s.post()
	sendT(t, c, text("2"))
	sendT(t, c, text("3"), engineio.BinaryMessage([]byte{1, 2, 3, 4}))
	s.noRequest(http.MethodPost, 100*time.Millisecond)
	s.noRequest(http.MethodGet, 0)
	p1.ok("ok")
	// EIO-POLL-02, EIO-BIN-01: one payload joined by the separator.
	if p2 := s.post(); string(p2.Body) != "42\x1e43\x1ebAQIDBA==" {
		t.Fatalf("second POST %q", p2.Body)
	} else {
		p2.ok("ok")
	}
	for i := 0; i < 5; i++ {
		g.okPackets("6")
		g = s.get()
	}
	if s.maxInflight(http.MethodGet) != 1 || s.maxInflight(http.MethodPost) != 1 {
		t.Fatalf("max in flight: GET %d POST %d", s.maxInflight(http.MethodGet), s.maxInflight(http.MethodPost))
	}
}

// TestEIO_BIN_02_MixedPayload: text and base64 binary mixed in one GET
// body (EIO-BIN-01).
func TestEIO_BIN_02_MixedPayload(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	s.get().okPackets("4hello", "bAQIDBA==", "4x")
	expectMsg(t, c, text("hello"))
	expectMsg(t, c, engineio.BinaryMessage([]byte{1, 2, 3, 4}))
	expectMsg(t, c, text("x"))
}

// TestEIO_LIMIT_04_SplitByMaxPayload: each POST stays within maxPayload; a
// first packet larger than the limit still goes, alone.
func TestEIO_LIMIT_04_SplitByMaxPayload(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, openJSON("SID", nil, 10000, 5000, `"maxPayload":20`))
	s.get()
	sendT(t, c, text(strings.Repeat("a", 30)))
	p := s.post()
	sendT(t, c, text("12345"), text("12345"), text("12345"), text("1"))
	p.ok("ok")
	if b := s.post(); string(b.Body) != "412345\x1e412345\x1e412345" || len(b.Body) > 20 {
		t.Fatalf("second POST %q (%d bytes)", b.Body, len(b.Body))
	} else {
		b.ok("ok")
	}
	if b := s.post(); string(b.Body) != "41" {
		t.Fatalf("third POST %q", b.Body)
	}
	if string(p.Body) != "4"+strings.Repeat("a", 30) {
		t.Fatalf("first POST %q", p.Body)
	}
}

func TestBatchLen(t *testing.T) {
	m := func(n int) engineio.Packet { return text(strings.Repeat("x", n)) }
	b := func(n int) engineio.Packet { return engineio.BinaryMessage(make([]byte, n)) }
	for _, tc := range []struct {
		name string
		q    []engineio.Packet
		max  int64
		want int
	}{
		{"empty", nil, 10, 0},
		{"no limit", []engineio.Packet{m(100), m(100)}, 0, 2},
		{"first over limit", []engineio.Packet{m(100), m(1)}, 10, 1},
		{"exact fit", []engineio.Packet{m(4), m(4)}, 11, 2}, // "4xxxx␞4xxxx" = 11
		{"one over", []engineio.Packet{m(4), m(4)}, 10, 1},
		{"binary as base64", []engineio.Packet{m(1), b(3)}, 8, 2},            // "4x␞bAAAA" = 8
		{"binary over", []engineio.Packet{m(1), b(4)}, 11, 1},                // "4x␞bAAAAAA==" = 12
		{"multibyte counts bytes", []engineio.Packet{m(1), text("€")}, 5, 1}, // "4x␞4€" = 7
	} {
		if got := batchLen(tc.q, engineio.V4, tc.max); got != tc.want {
			t.Errorf("%s: batchLen = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestEIO_POLL_19_RecordSeparatorRefused: a v4 text message containing 0x1E
// cannot be sent on polling; only messages can be sent at all.
func TestEIO_POLL_19_RecordSeparatorRefused(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	if err := c.Send(context.Background(), text("a\x1eb")); !errors.Is(err, ErrBadPacket) {
		t.Fatalf("Send = %v", err)
	}
	if err := c.Send(context.Background(), engineio.TextPacket(engineio.Ping, "")); !errors.Is(err, ErrBadPacket) {
		t.Fatalf("Send ping = %v", err)
	}
}

// TestEIO_HB_02_PongOnPolling: every ping is answered with exactly "3"
// (EIO-HB-07) in the next POST.
func TestEIO_HB_02_PongOnPolling(t *testing.T) {
	s := newScriptServer(t)
	s.pollSession(nil, open4())
	for i := 0; i < 3; i++ {
		s.get().okPackets("2")
		p := s.post()
		if string(p.Body) != "3" {
			t.Fatalf("pong POST %q", p.Body)
		}
		p.ok("ok")
	}
}

// TestEIO_CLOSE_01_ClientClosePolling: Close flushes the queue, POSTs "1",
// and the reason is "forced close".
func TestEIO_CLOSE_01_ClientClosePolling(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	g := s.get()
	sendT(t, c, text("last"))
	p := s.post()
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	if string(p.Body) != "4last" {
		t.Fatalf("POST %q", p.Body)
	}
	p.ok("ok")
	cp := s.post()
	if string(cp.Body) != "1" {
		t.Fatalf("close POST %q", cp.Body)
	}
	g.ok("6")
	cp.ok("ok")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close = %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Close did not return")
	}
	if ce := waitClosed(t, c); ce.Reason != ReasonForcedClose || ce.Err != nil {
		t.Fatalf("close %v", ce)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := c.Send(context.Background(), text("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v", err)
	}
	var evs []EventType
	for ev := range c.Events() {
		evs = append(evs, ev.Type)
	}
	if len(evs) != 1 || evs[0] != EventClose {
		t.Fatalf("events %v", evs)
	}
}

// TestEIO_CLOSE_05_ClosePacketInPayload: "1" in a payload ends the session
// with "transport close"; packets after it are ignored; polling stops.
func TestEIO_CLOSE_05_ClosePacketInPayload(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	s.get().okPackets("4a", "1", "4b")
	expectMsg(t, c, text("a"))
	ce := waitClosed(t, c)
	if ce.Reason != ReasonTransportClose || !errors.Is(ce, ErrClosed) || !errors.Is(ce, ErrServerClosed) {
		t.Fatalf("close %v", ce)
	}
	if _, err := c.Recv(context.Background()); err != ce {
		t.Fatalf("Recv after close = %v", err)
	}
	s.noRequest(http.MethodGet, 50*time.Millisecond)
	if err := c.Send(context.Background(), text("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after close = %v", err)
	}
}

// TestEIO_CLOSE_08_Non200: a non-200 GET or POST is a transport error with
// Node's operation name (EIO-ERR-06).
func TestEIO_CLOSE_08_Non200(t *testing.T) {
	t.Run("GET 502", func(t *testing.T) {
		s := newScriptServer(t)
		c := s.pollSession(nil, open4())
		s.get().respond(http.StatusBadGateway, "bad gateway")
		ce := waitClosed(t, c)
		var te *TransportError
		if ce.Reason != ReasonTransportError || !errors.As(ce, &te) || te.Op != OpPoll || te.Status != 502 {
			t.Fatalf("close %v", ce)
		}
	})
	t.Run("GET 400 unknown sid", func(t *testing.T) {
		s := newScriptServer(t)
		c := s.pollSession(nil, open4())
		s.get().respond(http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
		var te *TransportError
		if ce := waitClosed(t, c); !errors.As(ce, &te) || te.Status != 400 {
			t.Fatalf("close %v", ce)
		}
	})
	t.Run("POST 413", func(t *testing.T) {
		s := newScriptServer(t)
		c := s.pollSession(nil, open4())
		s.get()
		sendT(t, c, text("x"))
		s.post().respond(http.StatusRequestEntityTooLarge, "")
		ce := waitClosed(t, c)
		var te *TransportError
		if ce.Reason != ReasonTransportError || !errors.As(ce, &te) || te.Op != OpPost || te.Status != 413 {
			t.Fatalf("close %v", ce)
		}
	})
}
