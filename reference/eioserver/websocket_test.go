package eioserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

func wantCloseCode(t *testing.T, err error, code int) {
	t.Helper()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("connection ended with %v, want close code %d", err, code)
	}
}

func TestEIO_WS_01_HS_01_02_03_WebSocketHandshake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fixtureTimings(Options{}))
	c := e.mustWS("EIO=4&transport=websocket")
	mt, b, err := c.read()
	if err != nil || mt != websocket.TextMessage || b[0] != '0' {
		t.Fatalf("first frame %d %q %v", mt, b, err)
	}
	wantKeys(t, b[1:], "sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload")
	op, _ := engineio.ParseOpen(b[1:])
	if len(op.Upgrades) != 0 || op.PingInterval != testPingInterval || op.PingTimeout != testPingTimeout || op.MaxPayload != 1e6 {
		t.Fatalf("open %+v", op)
	}
	s := e.session(op.SID)
	if s.Transport() != TransportWebSocket || s.Version() != engineio.V4 {
		t.Fatalf("session %s %v", s.Transport(), s.Version())
	}
}

func TestEIO_WS_03_InvalidEIOOrTransport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// Unsupported EIO: 101, then Node writes a raw 400 into the socket and
	// destroys it; the client sees a broken connection, never a session.
	for _, q := range []string{"transport=websocket", "EIO=abc&transport=websocket", "EIO=3&transport=websocket"} {
		c, err := e.dialWS(q)
		if err != nil {
			t.Fatalf("%s: dial: %v", q, err)
		}
		if _, b, err := c.read(); err == nil {
			t.Fatalf("%s: got frame %q", q, b)
		}
	}
	// Bad or missing transport: raw 400 before the upgrade.
	for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
		c, err := e.dialWS(q)
		if err == nil || c.resp == nil || c.resp.StatusCode != 400 {
			t.Fatalf("%s: %v %v", q, err, c.resp)
		}
		body, _ := io.ReadAll(c.resp.Body)
		if string(body) != "Transport unknown" || !c.resp.Close || c.resp.Header.Get("Content-Type") != "text/html" {
			t.Fatalf("%s: %q %v", q, body, c.resp.Header)
		}
	}
	if n := e.srv.SessionCount(); n != 0 {
		t.Fatalf("%d sessions", n)
	}
}

func TestEIO_WS_04_UnknownSid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c, err := e.dialWS("EIO=4&transport=websocket&sid=bogus")
	if err == nil || c.resp == nil || c.resp.StatusCode != 400 {
		t.Fatalf("%v %v", err, c.resp)
	}
	body, _ := io.ReadAll(c.resp.Body)
	if string(body) != "Session ID unknown" {
		t.Fatalf("body %q", body)
	}
}

func TestEIO_WS_10_HS_09_AllowRequestOnWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowRequest: func(*http.Request) error { return errors.New("nope") }})
	c, err := e.dialWS("EIO=4&transport=websocket")
	if err == nil || c.resp == nil || c.resp.StatusCode != 400 {
		t.Fatalf("%v %v", err, c.resp)
	}
	body, _ := io.ReadAll(c.resp.Body)
	if string(body) != "nope" {
		t.Fatalf("body %q", body)
	}
}

func TestEIO_WS_02_BIN_03_04_PKT_02_WebSocketEcho(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.mustWS("EIO=4&transport=websocket")
	c.open()
	c.sendText("4hello")
	c.wantText("4hello")
	c.sendText("4€😀")
	c.wantText("4€😀")
	c.sendText("4a\x1e4b") // EIO-WS-02: one packet per message
	c.wantText("4a\x1e4b")
	c.sendBinary([]byte{1, 2, 3, 4})
	mt, b, err := c.read()
	if err != nil || mt != websocket.BinaryMessage || !bytes.Equal(b, []byte{1, 2, 3, 4}) {
		t.Fatalf("binary echo %d %v %v", mt, b, err)
	}
	c.sendText("bAQID") // EIO-BIN-04: base64 text frame is a binary message
	mt, b, err = c.read()
	if err != nil || mt != websocket.BinaryMessage || !bytes.Equal(b, []byte{1, 2, 3}) {
		t.Fatalf("b-text echo %d %v %v", mt, b, err)
	}
	c.sendBinary(nil) // EIO-BIN-06
	mt, b, err = c.read()
	if err != nil || mt != websocket.BinaryMessage || len(b) != 0 {
		t.Fatalf("empty binary echo %d %v %v", mt, b, err)
	}
	c.sendText("6") // EIO-PKT-05: ignored
	c.sendText("4after")
	c.wantText("4after")
}

func TestEIO_URL_08_Base64WebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.mustWS("EIO=4&transport=websocket&b64=1")
	c.open()
	c.sendBinary([]byte{1, 2, 3, 4})
	c.wantText("bAQIDBA==")
}

func TestEIO_WS_06_PKT_03_InvalidPacketClosesWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.mustWS("EIO=4&transport=websocket")
	s := e.session(c.open().SID)
	c.sendText("abc")
	wantCloseCode(t, c.wantClosed(), websocket.CloseNoStatusReceived)
	if ev := e.waitClosed(s); ev.reason != ReasonParseError {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestEIO_WS_08_CLOSE_04_ServerCloseIsPlainCloseFrame(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.mustWS("EIO=4&transport=websocket")
	s := e.session(c.open().SID)
	if err := s.Send(engineio.TextPacket(engineio.Message, "last")); err != nil {
		t.Fatal(err)
	}
	s.Close("")
	c.wantText("4last") // EIO-CLOSE-07: flushed first, no "1" after it
	wantCloseCode(t, c.wantClosed(), websocket.CloseNoStatusReceived)
	if ev := e.waitClosed(s); ev.reason != ReasonForcedClose {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestEIO_CLOSE_02_03_ClientCloseOnWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	t.Run("close packet", func(t *testing.T) {
		c := e.mustWS("EIO=4&transport=websocket")
		s := e.session(c.open().SID)
		c.sendText("1")
		c.wantClosed()
		if ev := e.waitClosed(s); ev.reason != ReasonTransportClose {
			t.Fatalf("reason %q", ev.reason)
		}
	})
	t.Run("close frame", func(t *testing.T) {
		c := e.mustWS("EIO=4&transport=websocket")
		s := e.session(c.open().SID)
		_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		if ev := e.waitClosed(s); ev.reason != ReasonTransportClose {
			t.Fatalf("reason %q", ev.reason)
		}
	})
}

func TestEIO_WS_09_PerMessageDeflate(t *testing.T) {
	t.Parallel()
	dial := func(e *env) *websocket.Conn {
		d := websocket.Dialer{EnableCompression: true, HandshakeTimeout: waitBudget}
		conn, r, err := d.Dial("ws"+strings.TrimPrefix(e.base, "http")+"?EIO=4&transport=websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		ext := r.Header.Get("Sec-Websocket-Extensions")
		if (ext != "") != e.srv.opts.PerMessageDeflate {
			t.Fatalf("PerMessageDeflate=%v: extensions %q", e.srv.opts.PerMessageDeflate, ext)
		}
		return conn
	}
	dial(newEnv(t, nil))
	conn := dial(newEnv(t, &Options{PerMessageDeflate: true}))
	_ = conn.SetReadDeadline(time.Now().Add(waitBudget))
	_, _, _ = conn.ReadMessage()
	big := "4" + strings.Repeat("z", 5000)
	_ = conn.WriteMessage(websocket.TextMessage, []byte(big))
	if _, b, err := conn.ReadMessage(); err != nil || string(b) != big {
		t.Fatalf("compressed echo: %v", err)
	}
}

func TestEIO_WS_11_InvalidUTF8(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.mustWS("EIO=4&transport=websocket")
	s := e.session(c.open().SID)
	c.sendText("4\xff\xfe")
	wantCloseCode(t, c.wantClosed(), websocket.CloseInvalidFramePayloadData)
	e.waitClosed(s)
}

func TestEIO_LIMIT_03_OversizeWebSocketMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{MaxHTTPBufferSize: 100})
	c := e.mustWS("EIO=4&transport=websocket")
	s := e.session(c.open().SID)
	c.sendText("4" + strings.Repeat("a", 99))
	c.wantText("4" + strings.Repeat("a", 99))
	c.sendText("4" + strings.Repeat("a", 100))
	wantCloseCode(t, c.wantClosed(), websocket.CloseMessageTooBig)
	if ev := e.waitClosed(s); ev.reason != ReasonTransportError {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestEIO_HB_06_ClientPingOnV4WebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.mustWS("EIO=4&transport=websocket")
	s := e.session(c.open().SID)
	c.sendText("2")
	c.wantClosed()
	ev := e.waitClosed(s)
	var te *TransportError
	if ev.reason != ReasonTransportError || !errors.As(ev.err, &te) || te.Msg != "invalid heartbeat direction" {
		t.Fatalf("close %q %v", ev.reason, ev.err)
	}
}

func TestEIO_WS_07_ControlPingsAreNotHeartbeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fixtureTimings(Options{}))
	c := e.mustWS("EIO=4&transport=websocket")
	s := e.session(c.open().SID)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
			}
		}
	}()
	ev := e.waitClosed(s)
	close(stop)
	<-done
	if ev.reason != ReasonPingTimeout {
		t.Fatalf("reason %q", ev.reason)
	}
}

// upgradeSession opens a polling session and a probe WebSocket for it.
func upgradeSession(t *testing.T, e *env) (engineio.OpenPacket, *Session, *ws, string) {
	t.Helper()
	op, s := e.handshake("EIO=4&transport=polling")
	c := e.mustWS("EIO=4&transport=websocket&sid=" + op.SID)
	return op, s, c, "EIO=4&transport=polling&sid=" + op.SID
}

func TestEIO_UPG_03_04_06_Upgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, s, c, q := upgradeSession(t, e)
	c.sendText("2probe")
	c.wantText("3probe")
	// TS-E4-23: a GET sent after the probe is released with a noop.
	start := time.Now()
	wantStatus(t, e.get(q), 200, "6")
	// Within the 100 ms check, plus a grace for a loaded machine; without
	// the check the GET would wait for the 10 s ping.
	if d, limit := time.Since(start), upgradeCheckInterval+2*time.Second; d > limit {
		t.Fatalf("noop after %v, want within %v", d, limit)
	}
	c.sendText("5")
	c.sendText("4hello")
	c.wantText("4hello")
	if s.Transport() != TransportWebSocket {
		t.Fatalf("transport %s", s.Transport())
	}
	// EIO-UPG-07 / EIO-POLL-16: polling is refused with code 3.
	wantError(t, e.get(q), 400, engineio.CodeBadRequest)
	wantError(t, e.post(q, "4x"), 400, engineio.CodeBadRequest)
	// EIO-UPG-08 / EIO-WS-05: another WebSocket for the sid is closed.
	c2 := e.mustWS("EIO=4&transport=websocket&sid=" + s.ID())
	wantCloseCode(t, c2.wantClosed(), websocket.CloseNoStatusReceived)
	c.sendText("4still")
	c.wantText("4still")
}

func TestEIO_WS_05_SecondProbeWhileUpgrading(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, s, c, _ := upgradeSession(t, e)
	c.sendText("2probe")
	c.wantText("3probe")
	c2 := e.mustWS("EIO=4&transport=websocket&sid=" + s.ID())
	c2.wantClosed()
	c.sendText("5")
	c.sendText("4x")
	c.wantText("4x")
}

func TestEIO_UPG_11_15_UpgradeWithoutWaiting(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, _, c, q := upgradeSession(t, e)
	c.sendText("2probe")
	c.sendText("52") // EIO-UPG-15: data on the upgrade packet is tolerated
	c.sendText("4hello")
	c.wantText("3probe")
	c.wantText("4hello")
	wantError(t, e.get(q), 400, engineio.CodeBadRequest)
}

func TestEIO_UPG_09_ProbeSendsOtherPacket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	_, s, c, q := upgradeSession(t, e)
	c.sendText("2probe")
	c.wantText("3probe")
	c.sendText("4x")
	wantCloseCode(t, c.wantClosed(), websocket.CloseNoStatusReceived)
	wantStatus(t, e.post(q, "4poll"), 200, "ok")
	wantStatus(t, e.get(q), 200, "4poll")
	if s.Transport() != TransportPolling {
		t.Fatal("session left polling")
	}
	// A new probe may follow.
	c2 := e.mustWS("EIO=4&transport=websocket&sid=" + s.ID())
	c2.sendText("2probe")
	c2.wantText("3probe")
}

func TestEIO_UPG_10_UpgradeTimeout(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, &Options{Clock: clock, PingInterval: time.Hour, PingTimeout: time.Hour})
	_, s, c, q := upgradeSession(t, e)
	c.sendText("2probe")
	c.wantText("3probe")
	clock.Advance(DefaultUpgradeTimeout - time.Millisecond)
	s.mu.Lock()
	upgrading := s.upgrading
	s.mu.Unlock()
	if !upgrading {
		t.Fatal("upgrade ended early")
	}
	clock.Advance(time.Millisecond)
	wantCloseCode(t, c.wantClosed(), websocket.CloseNoStatusReceived)
	wantStatus(t, e.post(q, "4poll"), 200, "ok")
	wantStatus(t, e.get(q), 200, "4poll")
}

func TestEIO_UPG_04_NoopEvery100ms(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newEnv(t, &Options{Clock: clock, PingInterval: time.Hour, PingTimeout: time.Hour})
	_, s, c, q := upgradeSession(t, e)
	ch := e.asyncGet(context.Background(), q)
	waitParked(t, s)
	c.sendText("2probe")
	c.wantText("3probe")
	clock.Advance(99 * time.Millisecond)
	select {
	case r := <-ch:
		t.Fatalf("GET released before 100 ms: %v", r.resp)
	default:
	}
	clock.Advance(time.Millisecond)
	wantStatus(t, recv(t, ch).resp, 200, "6")
	// Every GET during the upgrade gets one.
	ch = e.asyncGet(context.Background(), q)
	waitParked(t, s)
	clock.Advance(100 * time.Millisecond)
	wantStatus(t, recv(t, ch).resp, 200, "6")
}

func TestEIO_UPG_12_14_OrderAndHeartbeatAcrossUpgrade(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	got := make(chan string, 1000)
	e := newEnv(t, fixtureTimings(Options{Clock: clock, OnSession: func(s *Session) {
		s.OnMessage(func(p engineio.Packet) { got <- string(p.Data) })
	}}))
	op, s, c, q := upgradeSession(t, e)
	for i := 0; i < 50; i++ {
		_ = s.Send(engineio.TextPacket(engineio.Message, "s"+itoa(i)))
	}
	wantStatus(t, e.post(q, "4c0\x1e4c1"), 200, "ok")
	c.sendText("2probe")
	c.wantText("3probe")
	for i := 50; i < 100; i++ {
		_ = s.Send(engineio.TextPacket(engineio.Message, "s"+itoa(i)))
	}
	// A ping falls due mid-upgrade (EIO-UPG-14): queued behind the
	// messages, sent on the WebSocket after "5".
	clock.Advance(testPingInterval)
	c.sendText("5")
	for i := 2; i < 4; i++ {
		c.sendText("4c" + itoa(i))
	}
	for i := 0; i < 100; i++ {
		c.wantText("4s" + itoa(i))
	}
	c.wantText("2")
	c.sendText("3")
	for i := 0; i < 4; i++ {
		select {
		case m := <-got:
			if m != "c"+itoa(i) {
				t.Fatalf("message %d is %q", i, m)
			}
		case <-time.After(waitBudget):
			t.Fatalf("message %d missing", i)
		}
	}
	_ = op
}

// TestEIO_UPG_14_PongDeadlineRestartedByUpgrade: a ping that falls due
// mid-upgrade waits in the queue (no GET pending: the client has paused
// polling) and reaches the client only after "5". The pong deadline,
// running since the ping was queued, is restarted at the upgrade, so a
// client that answers within pingTimeout of the upgrade is not timed out
// however long the upgrade took (Node clears the deadline); one that never
// answers still is.
func TestEIO_UPG_14_PongDeadlineRestartedByUpgrade(t *testing.T) {
	t.Parallel()
	for _, answer := range []bool{true, false} {
		clock := newFakeClock()
		e := newEnv(t, fixtureTimings(Options{Clock: clock}))
		_, s, c, _ := upgradeSession(t, e)
		c.sendText("2probe")
		c.wantText("3probe")
		clock.Advance(testPingInterval) // the ping is queued
		// The upgrade takes most of pingTimeout.
		clock.Advance(testPingTimeout - 10*time.Millisecond)
		c.sendText("5")
		c.wantText("2")
		// Wait until the server has taken "5" (the ping came after it),
		// then let the original deadline pass.
		clock.Advance(20 * time.Millisecond)
		select {
		case <-s.Done():
			t.Fatalf("answer=%v: timed out by the deadline of a ping queued before the upgrade", answer)
		default:
		}
		if answer {
			c.sendText("3")
			c.sendText("4still")
			c.wantText("4still") // the pong was handled before the echo
			clock.Advance(testPingTimeout)
			select {
			case <-s.Done():
				t.Fatal("closed although the pong came in time")
			default:
			}
			continue
		}
		clock.Advance(testPingTimeout)
		if ev := e.waitClosed(s); ev.reason != ReasonPingTimeout {
			t.Fatalf("silent client closed with %q, want %q", ev.reason, ReasonPingTimeout)
		}
	}
}
