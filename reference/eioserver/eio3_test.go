package eioserver

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

func TestEIO3_01_03_08_PollingHandshake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fixtureTimings(Options{AllowEIO3: true}))
	r := e.get("EIO=3&transport=polling&b64=1")
	if r.status != 200 {
		t.Fatal(r)
	}
	// "<len>:0{...}" with the length in UTF-16 units.
	i := bytes.IndexByte(r.body, ':')
	if i < 0 || string(r.body[:i]) != itoa(len(r.body)-i-1) || r.body[i+1] != '0' {
		t.Fatalf("body %q", r.body)
	}
	op, s := e.handshake("EIO=3&transport=polling&b64=1")
	if s.Version() != engineio.V3 || op.PingInterval != testPingInterval || len(op.Upgrades) != 1 {
		t.Fatalf("%+v", op)
	}
	// EIO-URL-03: missing or odd EIO opens v3 on an AllowEIO3 server.
	for _, q := range []string{"transport=polling", "EIO=abc&transport=polling"} {
		_, s := e.handshake(q)
		if s.Version() != engineio.V3 {
			t.Fatalf("%s: version %v", q, s.Version())
		}
	}
	// v4 still works alongside.
	if _, s := e.handshake("EIO=4&transport=polling"); s.Version() != engineio.V4 {
		t.Fatal("v4 session")
	}
	wantError(t, e.get("EIO=3"), 400, engineio.CodeTransportUnknown)
	wantError(t, e.post("EIO=3&transport=polling", ""), 400, engineio.CodeBadHandshakeMethod)
}

func TestEIO3_03_04_Base64SessionEcho(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowEIO3: true})
	op, _ := e.handshake("EIO=3&transport=polling&b64=1")
	q := "EIO=3&transport=polling&sid=" + op.SID
	for _, c := range []struct{ in, out string }{
		{"6:4hello", "6:4hello"},
		{"6:4test16:4test26:4test3", "6:4test16:4test26:4test3"},
		{"6:4hello10:b4AQIDBA==", "6:4hello10:b4AQIDBA=="},
		{"2:4€", "2:4€"},
	} {
		wantStatus(t, e.post(q, c.in), 200, "ok")
		wantStatus(t, e.get(q), 200, c.out)
	}
}

func TestEIO3_05_06_BinarySessionXHR2(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowEIO3: true})
	op, _ := e.handshake("EIO=3&transport=polling")
	q := "EIO=3&transport=polling&sid=" + op.SID
	wantStatus(t, e.post(q, "6:4hello10:b4AQIDBA=="), 200, "ok")
	r := e.get(q)
	want := []byte{0x00, 0x06, 0xFF, '4', 'h', 'e', 'l', 'l', 'o', 0x01, 0x05, 0xFF, 0x04, 1, 2, 3, 4}
	if !bytes.Equal(r.body, want) || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("got % x (%s)", r.body, r.header.Get("Content-Type"))
	}
	// EIO3-06: the client may POST the same binary payload.
	r = e.mustDo("POST", q, want, http.Header{"Content-Type": {"application/octet-stream"}})
	wantStatus(t, r, 200, "ok")
	if r := e.get(q); !bytes.Equal(r.body, want) {
		t.Fatalf("echo of binary POST: % x", r.body)
	}
	// Text only: a text payload.
	wantStatus(t, e.post(q, "6:4hello"), 200, "ok")
	wantStatus(t, e.get(q), 200, "6:4hello")
}

func TestEIO3_02_PollingHeartbeat(t *testing.T) {
	t.Parallel()
	// A 2 s grace so that a loaded machine keeps the session between pings.
	e := newEnv(t, &Options{AllowEIO3: true, PingInterval: testPingInterval, PingTimeout: 2 * time.Second})
	op, s := e.handshake("EIO=3&transport=polling&b64=1")
	q := "EIO=3&transport=polling&sid=" + op.SID
	for i := 0; i < 3; i++ { // TS-E3-16
		wantStatus(t, e.post(q, "1:2"), 200, "ok")
		wantStatus(t, e.get(q), 200, "1:3")
	}
	// TS-E3-17: no ping within pingInterval+pingTimeout.
	if ev := e.waitClosed(s); ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
	wantError(t, e.post(q, "1:2"), 400, engineio.CodeUnknownSID)
}

func TestEIO3_02_PongFromClientCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowEIO3: true})
	op, s := e.handshake("EIO=3&transport=polling&b64=1")
	wantStatus(t, e.post("EIO=3&transport=polling&sid="+op.SID, "1:3"), 200, "ok")
	ev := e.waitClosed(s)
	var te *TransportError
	if ev.reason != ReasonTransportError || !errors.As(ev.err, &te) {
		t.Fatalf("close %q %v", ev.reason, ev.err)
	}
}

func TestEIO3_02_NoServerPings(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t, Options{AllowEIO3: true})
	rec := f.serve("GET", "EIO=3&transport=polling&b64=1", "")
	pkts, err := engineio.DecodePayload(engineio.V3, false, rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	op, _ := engineio.ParseOpen(pkts[0].Data)
	s := f.srv.lookup(op.SID)
	q := "EIO=3&transport=polling&sid=" + op.SID
	f.clock.Advance(testPingInterval + testPingTimeout - 1)
	if queued(s) != "" || closed(s) {
		t.Fatalf("queued %q closed %v", queued(s), closed(s))
	}
	f.serve("POST", q, "1:2") // refreshes the deadline
	f.clock.Advance(testPingInterval + testPingTimeout - 1)
	if closed(s) {
		t.Fatal("closed although pinged")
	}
	f.clock.Advance(1)
	if !closed(s) {
		t.Fatal("not closed")
	}
}

func TestEIO3_09_10_CloseAndInvalidPayload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowEIO3: true})
	op, s := e.handshake("EIO=3&transport=polling&b64=1")
	q := "EIO=3&transport=polling&sid=" + op.SID
	ch := e.asyncGet(t.Context(), q)
	waitParked(t, s)
	wantStatus(t, e.post(q, "1:1"), 200, "ok") // TS-E3-20
	wantStatus(t, recv(t, ch).resp, 200, "1:6")
	wantError(t, e.get(q), 400, engineio.CodeUnknownSID)

	for _, bad := range []string{"abc", "2:4", "1:4x", "x:4"} { // TS-E3-11
		op, s := e.handshake("EIO=3&transport=polling&b64=1")
		q := "EIO=3&transport=polling&sid=" + op.SID
		wantStatus(t, e.post(q, bad), 200, "ok")
		if ev := e.waitClosed(s); ev.reason != ReasonParseError {
			t.Fatalf("%q: reason %q", bad, ev.reason)
		}
	}
}

func TestEIO3_07_WebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowEIO3: true})
	c := e.mustWS("EIO=3&transport=websocket")
	op := c.open()
	if len(op.Upgrades) != 0 {
		t.Fatal(op.Upgrades)
	}
	c.sendText("4hello") // TS-E3-13
	c.wantText("4hello")
	c.sendBinary([]byte{4, 1, 2, 3, 4}) // TS-E3-14
	mt, b, err := c.read()
	if err != nil || mt != websocket.BinaryMessage || !bytes.Equal(b, []byte{4, 1, 2, 3, 4}) {
		t.Fatalf("%d % x %v", mt, b, err)
	}
	for i := 0; i < 3; i++ { // TS-E3-18
		c.sendText("2")
		c.wantText("3")
	}
	c.sendText("abc") // TS-E3-15
	c.wantClosed()
	// b64 WebSocket: binary goes out as "b4..." text.
	c2 := e.mustWS("EIO=3&transport=websocket&b64=1")
	c2.open()
	c2.sendBinary([]byte{4, 1, 2})
	c2.wantText("b4AQI=")
}

func TestEIO3_12_Upgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowEIO3: true})
	op, _ := e.handshake("EIO=3&transport=polling&b64=1")
	q := "EIO=3&transport=polling&sid=" + op.SID
	c := e.mustWS("EIO=3&transport=websocket&sid=" + op.SID)
	c.sendText("2probe")
	c.wantText("3probe")
	wantStatus(t, e.get(q), 200, "1:6")
	c.sendText("5")
	c.sendText("4hello")
	c.wantText("4hello")
	wantError(t, e.get(q), 400, engineio.CodeBadRequest)
}
