package eioserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

func TestEIO_URL_01_PathPrefix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{Path: "/socket.io"})
	if r := e.get("EIO=4&transport=polling"); r.status != 200 || r.body[0] != '0' {
		t.Fatalf("handshake under /socket.io/: %v", r)
	}
	// Node matches by prefix on the raw URL.
	r, err := http.Get(e.ts.URL + "/socket.io/anything?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("prefix match: %d", r.StatusCode)
	}
	for _, p := range []string{"/engine.io/?EIO=4&transport=polling", "/socket.io?EIO=4&transport=polling", "/"} {
		r, err := http.Get(e.ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 404 {
			t.Fatalf("%s: %d, want 404", p, r.StatusCode)
		}
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestEIO_HS_01_02_03_04_PollingHandshake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fixtureTimings(Options{}))
	r := e.get("EIO=4&transport=polling")
	if r.status != 200 || len(r.body) == 0 || r.body[0] != '0' {
		t.Fatalf("handshake: %v", r)
	}
	wantKeys(t, r.body[1:], "sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload")
	op, err := engineio.ParseOpen(r.body[1:])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(op.Upgrades, ",") != "websocket" || op.PingInterval != testPingInterval ||
		op.PingTimeout != testPingTimeout || op.MaxPayload != 1_000_000 {
		t.Fatalf("open packet %+v", op)
	}
	// EIO-HS-03: no upgrades when they are disabled or WebSocket is off.
	for _, o := range []*Options{{DisableUpgrades: true}, {Transports: []string{"polling"}}} {
		e2 := newEnv(t, o)
		op, _ := e2.handshake("EIO=4&transport=polling")
		if len(op.Upgrades) != 0 {
			t.Fatalf("%+v: upgrades %v", o, op.Upgrades)
		}
	}
}

func TestDefaults_NodeValues(t *testing.T) {
	t.Parallel()
	srv := NewServer(nil)
	defer srv.Close(context.Background())
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil))
	op, err := engineio.ParseOpen(rec.Body.Bytes()[1:])
	if err != nil {
		t.Fatal(err)
	}
	if op.PingInterval != 25*time.Second || op.PingTimeout != 20*time.Second || op.MaxPayload != 1e6 {
		t.Fatalf("defaults %+v", op)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("CORS or cookie on by default: %v", rec.Header())
	}
}

func TestEIO_HS_05_UniqueURLSafeIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		op, _ := e.handshake("EIO=4&transport=polling")
		if !re.MatchString(op.SID) || seen[op.SID] {
			t.Fatalf("sid %q (dup %v)", op.SID, seen[op.SID])
		}
		seen[op.SID] = true
	}
}

func TestEIO_HS_06_HandshakeCarriesOnlyOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{OnSession: func(s *Session) {
		_ = s.Send(engineio.TextPacket(engineio.Message, "welcome"))
	}})
	r := e.get("EIO=4&transport=polling")
	if bytes.IndexByte(r.body, engineio.RecordSeparator) >= 0 {
		t.Fatalf("handshake body %q has more than the open packet", r.body)
	}
	op, err := engineio.ParseOpen(r.body[1:])
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.get("EIO=4&transport=polling&sid="+op.SID), 200, "4welcome")
}

func TestEIO_URL_02_04_ERR_01_02_03_Rejections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowRequest: func(r *http.Request) error {
		if r.URL.Query().Get("deny") != "" {
			return errors.New("go away")
		}
		return nil
	}})
	cases := []struct {
		id, method, query string
		status            int
		code              engineio.ErrorCode
		msg               string
	}{
		{"EIO-URL-02 missing EIO", "GET", "transport=polling", 400, 5, ""},
		{"EIO-URL-02 EIO=abc", "GET", "EIO=abc&transport=polling", 400, 5, ""},
		{"EIO-URL-02 EIO=3 without AllowEIO3", "GET", "EIO=3&transport=polling", 400, 5, ""},
		{"EIO-URL-04 missing transport", "GET", "EIO=4", 400, 0, ""},
		{"EIO-URL-04 unknown transport", "GET", "EIO=4&transport=abc", 400, 0, ""},
		{"EIO-URL-04 webtransport", "GET", "EIO=4&transport=webtransport", 400, 0, ""},
		{"EIO-ERR-03 POST unknown transport", "POST", "transport=abc", 400, 0, ""},
		{"EIO-ERR-03 POST without EIO is code 2", "POST", "transport=polling", 400, 2, ""},
		{"EIO-URL-05 POST without sid", "POST", "EIO=4&transport=polling", 400, 2, ""},
		{"EIO-HS-07 PUT", "PUT", "EIO=4&transport=polling", 400, 2, ""},
		{"EIO-HS-07 OPTIONS without CORS", "OPTIONS", "EIO=4&transport=polling", 400, 2, ""},
		{"EIO-HS-07 DELETE", "DELETE", "EIO=4&transport=polling", 400, 2, ""},
		{"EIO-POLL-06 unknown sid GET", "GET", "EIO=4&transport=polling&sid=bogus", 400, 1, ""},
		{"EIO-POLL-06 unknown sid POST", "POST", "EIO=4&transport=polling&sid=bogus", 400, 1, ""},
		{"EIO-HS-08 websocket without Upgrade", "GET", "EIO=4&transport=websocket", 400, 3, ""},
		{"EIO-HS-09 allowRequest rejects", "GET", "EIO=4&transport=polling&deny=1", 403, 4, "go away"},
		{"EIO-ERR-03 GET EIO=3 is 5 after allowRequest", "GET", "EIO=3&transport=polling", 400, 5, ""},
	}
	for _, c := range cases {
		r := e.mustDo(c.method, c.query, nil, nil)
		want := engineio.NewHTTPError(c.code)
		if c.msg != "" {
			want.Message = c.msg
		}
		if r.status != c.status || string(r.body) != string(want.AppendJSON(nil)) || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: got %d %q (%s), want %d %q", c.id, r.status, r.body, r.header.Get("Content-Type"), c.status, want.AppendJSON(nil))
		}
	}
}

func TestEIO_URL_06_IgnoresCacheBusterAndUnknownParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling&t=x&foo=bar")
	if s.Request().URL.Query().Get("foo") != "bar" {
		t.Fatal("handshake query not exposed")
	}
	q := "EIO=4&transport=polling&t=y&foo=baz&sid=" + op.SID
	wantStatus(t, e.post(q, "4hi"), 200, "ok")
	wantStatus(t, e.get(q+"&t=z"), 200, "4hi")
}

func TestEIO_POLL_01_HB_01_GetHeldUntilPing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fixtureTimings(Options{}))
	// start before the handshake: the ping timer starts while it is
	// answered, so a slow answer cannot make the ping look early.
	start := time.Now()
	op, _ := e.handshake("EIO=4&transport=polling")
	wantStatus(t, e.get("EIO=4&transport=polling&sid="+op.SID), 200, "2")
	if d := time.Since(start); d < testPingInterval-10*time.Millisecond {
		t.Fatalf("GET answered after %v, before the ping was due", d)
	}
}

func TestEIO_POLL_02_03_04_BatchedEcho(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, _ := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	r := e.post(q, "4test1\x1e4test2\x1e4test3")
	wantStatus(t, r, 200, "ok")
	if r.header.Get("Content-Type") != "text/html" || r.header.Get("Content-Length") != "2" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("POST headers %v", r.header)
	}
	wantStatus(t, e.get(q), 200, "4test1\x1e4test2\x1e4test3")
}

func TestEIO_POLL_05_ManyPacketsInOnePost(t *testing.T) {
	t.Parallel()
	var got []string
	done := make(chan struct{})
	e := newEnv(t, &Options{OnSession: func(s *Session) {
		s.OnMessage(func(p engineio.Packet) {
			got = append(got, string(p.Data))
			if len(got) == 200 {
				close(done)
			}
		})
	}})
	op, _ := e.handshake("EIO=4&transport=polling")
	var segs [][]byte
	for i := 0; i < 200; i++ {
		segs = append(segs, []byte("4m"+itoa(i)))
	}
	wantStatus(t, e.post("EIO=4&transport=polling&sid="+op.SID, string(engineio.AppendRawPayload(nil, segs...))), 200, "ok")
	select {
	case <-done:
	case <-time.After(waitBudget):
		t.Fatalf("delivered %d of 200", len(got))
	}
	for i, s := range got {
		if s != "m"+itoa(i) {
			t.Fatalf("message %d is %q", i, s)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestEIO_POLL_07_ConcurrentGET(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	first := e.asyncGet(context.Background(), q)
	waitParked(t, s)
	r2 := e.get(q + "&t=burst")
	wantStatus(t, r2, 400, "")
	r1 := recv(t, first)
	if r1.err != nil {
		t.Fatal(r1.err)
	}
	wantStatus(t, r1.resp, 200, "1")
	if ev := e.waitClosed(s); ev.reason != ReasonTransportError {
		t.Fatalf("reason %q", ev.reason)
	}
	wantError(t, e.get(q), 400, engineio.CodeUnknownSID)
}

// slowBody is a request body that sends prefix and then blocks until
// release is closed.
type slowBody struct {
	prefix  []byte
	release chan struct{}
}

func (b *slowBody) Read(p []byte) (int, error) {
	if len(b.prefix) > 0 {
		n := copy(p, b.prefix)
		b.prefix = b.prefix[n:]
		return n, nil
	}
	<-b.release
	return 0, io.ErrUnexpectedEOF
}

// waitPosting waits until a POST of s is being read.
func waitPosting(t *testing.T, s *Session) {
	t.Helper()
	for i := 0; i < 5000; i++ {
		s.mu.Lock()
		pt, ok := s.transport.(*pollingTransport)
		posting := ok && pt.post != nil
		s.mu.Unlock()
		if posting {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("POST never started")
}

func TestEIO_POLL_08_ConcurrentPOST(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	body := &slowBody{prefix: []byte("4par"), release: make(chan struct{})}
	defer close(body.release)
	go func() {
		req, _ := http.NewRequest("POST", e.base+"?"+q, body)
		req.ContentLength = 100
		if r, err := e.client.Do(req); err == nil {
			r.Body.Close()
		}
	}()
	waitPosting(t, s)
	wantStatus(t, e.post(q, "4second"), 400, "")
	if ev := e.waitClosed(s); ev.reason != ReasonTransportError {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestEIO_POLL_09_AbortedGETClosesSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	ctx, cancel := context.WithCancel(context.Background())
	ch := e.asyncGet(ctx, q)
	waitParked(t, s)
	cancel()
	if r := recv(t, ch); r.err == nil {
		t.Fatalf("aborted GET returned %v", r.resp)
	}
	ev := e.waitClosed(s)
	var te *TransportError
	if ev.reason != ReasonTransportError || !errors.As(ev.err, &te) || te.Msg != "poll connection closed prematurely" {
		t.Fatalf("close %q %v", ev.reason, ev.err)
	}
	wantError(t, e.get(q), 400, engineio.CodeUnknownSID)
}

func TestEIO_POLL_10_AbortedPOSTClosesSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(conn, "POST /engine.io/?"+q+" HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4partial")
	waitPosting(t, s)
	conn.Close()
	if ev := e.waitClosed(s); ev.reason != ReasonTransportError {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestEIO_POLL_11_PKT_03_InvalidPacketClosesSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	// Errata 1: Node answers 200 "ok", then the session is gone.
	wantStatus(t, e.post(q, "abc"), 200, "ok")
	ev := e.waitClosed(s)
	if ev.reason != ReasonParseError || !errors.Is(ev.err, engineio.ErrUnknownType) {
		t.Fatalf("close %q %v", ev.reason, ev.err)
	}
	wantError(t, e.get(q), 400, engineio.CodeUnknownSID)
}

func TestEIO_POLL_11_PacketsBeforeTheErrorAreDelivered(t *testing.T) {
	t.Parallel()
	msgs := make(chan string, 10)
	e := newEnv(t, &Options{OnSession: func(s *Session) {
		s.OnMessage(func(p engineio.Packet) { msgs <- string(p.Data) })
	}})
	op, s := e.handshake("EIO=4&transport=polling")
	wantStatus(t, e.post("EIO=4&transport=polling&sid="+op.SID, "4a\x1e4b\x1ex\x1e4c"), 200, "ok")
	e.waitClosed(s)
	close(msgs)
	var got []string
	for m := range msgs {
		got = append(got, m)
	}
	if strings.Join(got, ",") != "a,b" {
		t.Fatalf("delivered %v", got)
	}
}

func TestEIO_POLL_12_EmptyPostIsParseError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	wantStatus(t, e.post("EIO=4&transport=polling&sid="+op.SID, ""), 200, "ok")
	if ev := e.waitClosed(s); ev.reason != ReasonParseError {
		t.Fatalf("reason %q", ev.reason)
	}
}

func TestEIO_POLL_13_OctetStreamPostOnV4(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	r := e.mustDo("POST", q, []byte{1, 2, 3}, http.Header{"Content-Type": {"application/octet-stream"}})
	wantStatus(t, r, 400, "")
	if ev := e.waitClosed(s); ev.reason != ReasonTransportError {
		t.Fatalf("reason %q", ev.reason)
	}
	// Any other content type is text.
	op2, _ := e.handshake("EIO=4&transport=polling")
	q2 := "EIO=4&transport=polling&sid=" + op2.SID
	for _, ct := range []string{"", "text/plain;charset=UTF-8", "application/octet-stream; x=y"} {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		wantStatus(t, e.mustDo("POST", q2, []byte("4x"), h), 200, "ok")
		wantStatus(t, e.get(q2), 200, "4x")
	}
}

func TestEIO_POLL_14_ResponseHeadersAndCompression(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, _ := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	wantStatus(t, e.post(q, "4small"), 200, "ok")
	r := e.get(q)
	if r.header.Get("Content-Type") != "text/plain; charset=UTF-8" || r.header.Get("Cache-Control") != "no-store" ||
		r.header.Get("Content-Length") != "6" || r.header.Get("Content-Encoding") != "" {
		t.Fatalf("GET headers %v", r.header)
	}
	big := "4" + strings.Repeat("x", 2000)
	wantStatus(t, e.post(q, big), 200, "ok")
	r = e.mustDo("GET", q, nil, http.Header{"Accept-Encoding": {"gzip, deflate"}})
	if r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("large body not compressed: %v", r.header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != big {
		t.Fatalf("decompressed %d bytes", len(plain))
	}
	// Without Accept-Encoding: identity.
	wantStatus(t, e.post(q, big), 200, "ok")
	wantStatus(t, e.get(q), 200, big)
	if negotiateEncoding("deflate;q=1, gzip;q=0.5") != "deflate" || negotiateEncoding("identity") != "" || negotiateEncoding("*") != "gzip" {
		t.Fatal("negotiateEncoding")
	}
	// Internet Explorer gets X-XSS-Protection: 0.
	r = e.mustDo("POST", q, []byte("4x"), http.Header{"User-Agent": {"Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0)"}})
	if r.header.Get("X-XSS-Protection") != "0" {
		t.Fatalf("no X-XSS-Protection: %v", r.header)
	}
}

func TestEIO_POLL_15_OtherMethodWithSid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	for _, m := range []string{"PUT", "OPTIONS", "DELETE"} {
		wantStatus(t, e.mustDo(m, q, nil, nil), 500, "")
	}
	select {
	case <-s.Done():
		t.Fatal("session closed by a 500")
	default:
	}
	wantStatus(t, e.post(q, "4still"), 200, "ok")
	wantStatus(t, e.get(q), 200, "4still")
}

func TestEIO_POLL_19_SeparatorInsideText(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{OnSession: func(s *Session) {
		s.OnMessage(func(p engineio.Packet) { _ = s.Send(engineio.TextPacket(engineio.Message, "a\x1e4b")) })
	}})
	op, _ := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	wantStatus(t, e.post(q, "4go"), 200, "ok")
	// Node writes it unchanged; the receiver splits it.
	wantStatus(t, e.get(q), 200, "4a\x1e4b")
}

func TestEIO_POLL_20_CLOSE_04_07_ServerClose(t *testing.T) {
	t.Parallel()
	t.Run("pending GET gets 1", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		op, s := e.handshake("EIO=4&transport=polling")
		q := "EIO=4&transport=polling&sid=" + op.SID
		ch := e.asyncGet(context.Background(), q)
		waitParked(t, s)
		s.Close("")
		r := recv(t, ch)
		wantStatus(t, r.resp, 200, "1")
		if ev := e.waitClosed(s); ev.reason != ReasonForcedClose {
			t.Fatalf("reason %q", ev.reason)
		}
		wantError(t, e.get(q), 400, engineio.CodeUnknownSID)
	})
	t.Run("queued packets flushed first, then 6 and 1", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		op, s := e.handshake("EIO=4&transport=polling")
		q := "EIO=4&transport=polling&sid=" + op.SID
		if err := s.Send(engineio.TextPacket(engineio.Message, "bye")); err != nil {
			t.Fatal(err)
		}
		s.Close("server namespace disconnect")
		if err := s.Send(engineio.TextPacket(engineio.Message, "late")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Send after Close: %v", err)
		}
		wantStatus(t, e.get(q), 200, "4bye")
		wantStatus(t, e.get(q), 200, "6\x1e1")
		if ev := e.waitClosed(s); ev.reason != "server namespace disconnect" {
			t.Fatalf("reason %q", ev.reason)
		}
		wantError(t, e.get(q), 400, engineio.CodeUnknownSID)
	})
}

func TestEIO_CLOSE_01_06_ClientClosePolling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	ch := e.asyncGet(context.Background(), q)
	waitParked(t, s) // Errata 4: the GET is parked before the close.
	wantStatus(t, e.post(q, "1"), 200, "ok")
	wantStatus(t, recv(t, ch).resp, 200, "6")
	if ev := e.waitClosed(s); ev.reason != ReasonTransportClose {
		t.Fatalf("reason %q", ev.reason)
	}
	wantError(t, e.get(q), 400, engineio.CodeUnknownSID)
	wantError(t, e.post(q, "4x"), 400, engineio.CodeUnknownSID)
	// EIO-CLOSE-06: a WebSocket upgrade with the sid is refused too.
	c, err := e.dialWS("EIO=4&transport=websocket&sid=" + op.SID)
	if err == nil {
		t.Fatal("upgrade with a closed sid succeeded")
	}
	if c.resp == nil || c.resp.StatusCode != 400 {
		t.Fatalf("upgrade response %v", c.resp)
	}
}

func TestEIO_LIMIT_01_02_06_OversizePost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{MaxHTTPBufferSize: 100})
	op, s := e.handshake("EIO=4&transport=polling")
	if op.MaxPayload != 100 {
		t.Fatalf("maxPayload %d", op.MaxPayload)
	}
	q := "EIO=4&transport=polling&sid=" + op.SID
	// 100 bytes exactly pass; the limit counts UTF-8 bytes (€ is 3).
	wantStatus(t, e.post(q, "4"+strings.Repeat("€", 33)), 200, "ok")
	wantStatus(t, e.get(q), 200, "4"+strings.Repeat("€", 33))
	wantStatus(t, e.post(q, "4"+strings.Repeat("€", 34)), 413, "")
	// Node leaves the session open after a 413.
	select {
	case <-s.Done():
		t.Fatal("session closed by 413")
	default:
	}
	wantStatus(t, e.post(q, "4ok"), 200, "ok")
}

func TestEIO_LIMIT_05_LargeBurstInOneGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{MaxHTTPBufferSize: 100})
	op, s := e.handshake("EIO=4&transport=polling")
	chunk := strings.Repeat("y", 1000)
	for i := 0; i < 50; i++ {
		if err := s.Send(engineio.TextPacket(engineio.Message, chunk)); err != nil {
			t.Fatal(err)
		}
	}
	r := e.get("EIO=4&transport=polling&sid=" + op.SID)
	if n := bytes.Count(r.body, []byte{engineio.RecordSeparator}); n != 49 {
		t.Fatalf("%d packets in one GET, want 50", n+1)
	}
}

func TestSendQueueLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{SendQueueLimit: 3})
	op, s := e.handshake("EIO=4&transport=polling")
	m := engineio.TextPacket(engineio.Message, "m")
	if err := s.Send(m, m, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(m); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("fourth Send: %v", err)
	}
	wantStatus(t, e.get("EIO=4&transport=polling&sid="+op.SID), 200, "4m\x1e4m\x1e4m")
	if err := s.Send(m); err != nil {
		t.Fatalf("Send after drain: %v", err)
	}
	if err := s.Send(engineio.Packet{Type: engineio.Ping, Binary: true}); !errors.Is(err, engineio.ErrBinaryNotMessage) {
		t.Fatalf("binary ping: %v", err)
	}
	if err := s.Send(engineio.Packet{Type: 9}); !errors.Is(err, engineio.ErrUnknownType) {
		t.Fatalf("type 9: %v", err)
	}
}

func TestEIO_PKT_02_05_06_BIN_01_02_06_PollingEcho(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, _ := e.handshake("EIO=4&transport=polling")
	q := "EIO=4&transport=polling&sid=" + op.SID
	for _, c := range []struct{ id, in, out string }{
		{"EIO-PKT-02", "4€😀", "4€😀"},
		{"EIO-BIN-01/02", "4hello\x1ebAQIDBA==", "4hello\x1ebAQIDBA=="},
		{"EIO-PKT-05 0/5/6 ignored", "6\x1e5\x1e0\x1e4after", "4after"},
		{"EIO-PKT-06 empty message", "4", "4"},
		{"EIO-BIN-06 empty binary", "b", "b"},
	} {
		wantStatus(t, e.post(q, c.in), 200, "ok")
		if r := e.get(q); r.status != 200 || string(r.body) != c.out {
			t.Errorf("%s: got %q, want %q", c.id, r.body, c.out)
		}
	}
}

func TestEIO_HS_10_Cookie(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{Cookie: &CookieOptions{}})
	r := e.get("EIO=4&transport=polling")
	op, _ := engineio.ParseOpen(r.body[1:])
	if got := r.header.Get("Set-Cookie"); got != "io="+op.SID+"; Path=/; HttpOnly; SameSite=Lax" {
		t.Fatalf("Set-Cookie %q", got)
	}
	r = e.post("EIO=4&transport=polling&sid="+op.SID, "4x")
	if r.header.Get("Set-Cookie") != "" {
		t.Fatal("cookie on a later request")
	}
}

func TestEIO_CORS_01_Off(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.mustDo("GET", "EIO=4&transport=polling", nil, http.Header{"Origin": {"http://a.example"}})
	for k := range r.header {
		if strings.HasPrefix(k, "Access-Control") {
			t.Fatalf("CORS header %s with CORS off", k)
		}
	}
	op, _ := e.handshake("EIO=4&transport=polling")
	wantError(t, e.mustDo("OPTIONS", "EIO=4&transport=polling", nil, nil), 400, engineio.CodeBadHandshakeMethod)
	wantStatus(t, e.mustDo("OPTIONS", "EIO=4&transport=polling&sid="+op.SID, nil, nil), 500, "")
}

func TestEIO_CORS_02_Wildcard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{CORS: &CORSOptions{Origins: []string{"*"}}})
	origin := http.Header{"Origin": {"http://a.example"}}
	r := e.mustDo("GET", "EIO=4&transport=polling", nil, origin)
	op, _ := engineio.ParseOpen(r.body[1:])
	check := func(what string, r resp) {
		t.Helper()
		if r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: ACAO %q", what, r.header.Get("Access-Control-Allow-Origin"))
		}
	}
	check("handshake", r)
	check("POST", e.mustDo("POST", "EIO=4&transport=polling&sid="+op.SID, []byte("4x"), origin))
	check("GET", e.mustDo("GET", "EIO=4&transport=polling&sid="+op.SID, nil, origin))
	check("400", e.mustDo("GET", "EIO=4&transport=polling&sid=bogus", nil, origin))
	pre := e.mustDo("OPTIONS", "EIO=4&transport=polling", nil, http.Header{
		"Origin": {"http://a.example"}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type,x-y"},
	})
	wantStatus(t, pre, 204, "")
	check("preflight", pre)
	if pre.header.Get("Access-Control-Allow-Methods") != "GET,HEAD,PUT,PATCH,POST,DELETE" ||
		pre.header.Get("Access-Control-Allow-Headers") != "content-type,x-y" ||
		pre.header.Get("Vary") != "Access-Control-Request-Headers" {
		t.Fatalf("preflight headers %v", pre.header)
	}
	// The 101 carries the header too.
	c := e.mustWS("EIO=4&transport=websocket")
	if c.resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("101 headers %v", c.resp.Header)
	}
}

func TestEIO_CORS_03_Credentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{CORS: &CORSOptions{Origins: []string{"http://a.example", "http://b.example"}, Credentials: true}})
	r := e.mustDo("GET", "EIO=4&transport=polling", nil, http.Header{"Origin": {"http://b.example"}})
	if r.header.Get("Access-Control-Allow-Origin") != "http://b.example" || r.header.Get("Access-Control-Allow-Credentials") != "true" ||
		r.header.Get("Vary") != "Origin" {
		t.Fatalf("headers %v", r.header)
	}
	r = e.mustDo("GET", "EIO=4&transport=polling", nil, http.Header{"Origin": {"http://evil.example"}})
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("unlisted origin allowed: %v", r.header)
	}
	e2 := newEnv(t, &Options{CORS: &CORSOptions{ReflectOrigin: true, Credentials: true}})
	r = e2.mustDo("GET", "EIO=4&transport=polling", nil, http.Header{"Origin": {"http://x.example"}})
	if r.header.Get("Access-Control-Allow-Origin") != "http://x.example" {
		t.Fatalf("reflect: %v", r.header)
	}
}

func TestEIO_CORS_04_InvalidOrigin(t *testing.T) {
	t.Parallel()
	// Go's HTTP server refuses such header values itself, so drive the
	// handler directly.
	srv := NewServer(nil)
	defer srv.Close(context.Background())
	req := httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil)
	req.Header.Set("Origin", "http://a\x01b")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	wantError(t, resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 400, engineio.CodeBadRequest)
	// The transport check comes first (EIO-ERR-03).
	req = httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=abc", nil)
	req.Header.Set("Origin", "http://a\x01b")
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	wantError(t, resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}, 400, engineio.CodeTransportUnknown)
}

func TestEIO_POLL_16_ERR_03_TransportAndProtocolMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowEIO3: true})
	op, _ := e.handshake("EIO=4&transport=polling")
	// The same sid with another EIO is a protocol mismatch: code 3.
	wantError(t, e.get("EIO=3&transport=polling&sid="+op.SID), 400, engineio.CodeBadRequest)
	// A plain GET naming websocket for a polling session: code 3.
	wantError(t, e.get("EIO=4&transport=websocket&sid="+op.SID), 400, engineio.CodeBadRequest)
}

func TestServerCloseAnswersParkedGetAndRefusesNewRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	ch := e.asyncGet(context.Background(), "EIO=4&transport=polling&sid="+op.SID)
	waitParked(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
	defer cancel()
	if err := e.srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, recv(t, ch).resp, 200, "1")
	if ev := e.waitClosed(s); ev.reason != ReasonServerShutdown {
		t.Fatalf("reason %q", ev.reason)
	}
	if r := e.get("EIO=4&transport=polling"); r.status != 503 {
		t.Fatalf("after Close: %v", r)
	}
	if err := e.srv.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestEIO_URL_09_JSONP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.get("EIO=4&transport=polling&j=7x")
	body := string(r.body)
	if !strings.HasPrefix(body, `___eio[7]("0{\"sid\":\"`) || !strings.HasSuffix(body, `");`) ||
		r.header.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Fatalf("handshake %q %v", body, r.header)
	}
	sid := body[len(`___eio[7]("0{\"sid\":\"`):][:20]
	q := "EIO=4&transport=polling&sid=" + sid
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	// "\n" (backslash n) is a newline, "\\n" a literal backslash n.
	wantStatus(t, e.mustDo("POST", q, []byte("d="+url.QueryEscape("4a\\nb\x1e4c\\\\nd\x1e4\u2028\"")), form), 200, "ok")
	wantStatus(t, e.get(q), 200, `___eio[7]("4a\nb\u001e4c\\nd\u001e4\u2028\"");`)
	// No d field: ignored, still "ok", session alive.
	wantStatus(t, e.mustDo("POST", q, []byte("x=1"), form), 200, "ok")
	wantStatus(t, e.mustDo("POST", q, []byte("d=4z"), form), 200, "ok")
	wantStatus(t, e.get(q), 200, `___eio[7]("4z");`)
}
