package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestTapTagsFirstRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	p := startProxy(t, srv.Listener.Addr().String(), &Options{Tap: true})
	// Two requests on one keep-alive connection.
	conn := dial(t, p.Addr())
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	for _, q := range []string{"EIO=4&transport=polling&sid=abc123&t=1", "EIO=4&transport=polling&sid=zzz&t=2"} {
		if _, err := io.WriteString(conn, "GET /engine.io/?"+q+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	cs := p.Conns()
	if len(cs) != 1 {
		t.Fatalf("conns = %+v, want one keep-alive connection", cs)
	}
	c := cs[0]
	if c.Ordinal != 1 || c.Method != "GET" || c.Path != "/engine.io/" || c.SID != "abc123" || c.Transport != "polling" || c.EIO != "4" || c.Requests != 2 || c.Upgrade {
		t.Fatalf("tags = %+v", c)
	}
}

// TestTapTransparent: the tap changes no byte, whatever it is fed and however
// the bytes are cut: pipelined requests with bodies that contain CRLFCRLF, a
// chunked request (after which the tap goes opaque), and garbage.
func TestTapTransparent(t *testing.T) {
	up := startEcho(t)
	p := startProxy(t, up.addr(), &Options{Tap: true})
	r := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 5000)
	for i := range garbage {
		garbage[i] = byte(r.IntN(256))
	}
	body := "4:\r\n\r\nGET / HTTP/1.1\r\n\r\n"
	var stream bytes.Buffer
	stream.WriteString("POST /engine.io/?EIO=4&transport=polling&sid=s1 HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	stream.WriteString("GET /engine.io/?EIO=4&transport=polling&sid=s1 HTTP/1.1\r\nHost: x\r\n\r\n")
	stream.WriteString("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	stream.Write(garbage)
	cases := []struct {
		name     string
		data     []byte
		requests int // request heads the tap must have found
	}{
		{"http then garbage", stream.Bytes(), 3},
		{"garbage", garbage, 0},
		{"http-like garbage", []byte("GET nothing-like-http\r\n\r\n\x00\xff"), 0},
	}
	for i, tc := range cases {
		name, data := tc.name, tc.data
		c := dial(t, p.Addr())
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			for rest := data; len(rest) > 0; {
				n := min(len(rest), 1+r.IntN(7))
				if _, err := c.Write(rest[:n]); err != nil {
					return
				}
				rest = rest[n:]
			}
		}()
		got := make([]byte, len(data))
		n, err := io.ReadFull(c, got)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: echo through tap differs (%d of %d bytes, %v)", name, n, len(data), err)
		}
		var info ConnInfo
		for _, ci := range p.Conns() {
			if ci.Ordinal == uint64(i+1) {
				info = ci
			}
		}
		if info.Requests != tc.requests {
			t.Errorf("%s: tap found %d request heads, want %d (%+v)", name, info.Requests, tc.requests, info)
		}
		c.Close()
	}
}

// wsUpstream is an HTTP server that upgrades WebSocket requests (echoing
// messages) and answers Engine.IO-style 400 to a websocket transport request
// that arrives without an upgrade. It records the requests it saw.
type wsUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
	done bool // set at cleanup; no more echo goroutines
	wg   sync.WaitGroup
}

func startWSUpstream(t *testing.T) *wsUpstream {
	u := &wsUpstream{}
	up := websocket.Upgrader{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r)
		u.mu.Unlock()
		if websocket.IsWebSocketUpgrade(r) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			u.mu.Lock()
			if u.done {
				u.mu.Unlock()
				c.Close()
				return
			}
			u.wg.Add(1) // under mu, ordered before the cleanup's Wait
			u.mu.Unlock()
			go func() {
				defer u.wg.Done()
				defer c.Close()
				for {
					mt, m, err := c.ReadMessage()
					if err != nil || c.WriteMessage(mt, m) != nil {
						return
					}
				}
			}()
			return
		}
		if r.URL.Query().Get("transport") == "websocket" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":3,"message":"Bad request"}`)
			return
		}
		_, _ = io.WriteString(w, "polling ok")
	}))
	t.Cleanup(func() {
		u.CloseClientConnections()
		u.Close()
		u.mu.Lock()
		u.done = true
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

func (u *wsUpstream) requests() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slicesClone(u.seen)
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

const wsPath = "/engine.io/?EIO=4&transport=websocket&sid=S1"

func wsDial(t *testing.T, addr string) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+addr+wsPath, nil)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, resp, err
}

// TestHTTPRejectUpgrade models a proxy/firewall answering the WebSocket
// upgrade itself (faults doc A9.2; a compliant client stays on polling,
// EIO-UPG requirements).
func TestHTTPRejectUpgrade(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	h := addFault(t, p, HTTPRejectUpgrade{Status: 403, Body: "no websockets here"})

	_, resp, err := wsDial(t, p.Addr())
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("ws dial through reject: %v, %v", err, resp)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "no websockets here" {
		t.Errorf("body %q", b)
	}
	for _, r := range up.requests() {
		if websocket.IsWebSocketUpgrade(r) {
			t.Fatal("the upstream saw the upgrade request")
		}
	}
	ds := decisionsOf(p, h.Name(), "reject")
	if len(ds) != 1 || !strings.Contains(ds[0].Detail, "transport=websocket") || ds[0].Transport != "websocket" || ds[0].SID != "S1" {
		t.Fatalf("reject decisions: %+v", ds)
	}
	// Polling requests pass.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err = (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://" + p.Addr() + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "polling ok" {
		t.Fatalf("polling through reject: %d %q", resp.StatusCode, b)
	}
	// Once removed, upgrades work again.
	_ = h.Remove()
	c, _, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatalf("ws dial after removal: %v", err)
	}
	_ = c.WriteMessage(websocket.TextMessage, []byte("4hello"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "4hello" {
		t.Fatalf("ws echo after removal: %q %v", m, err)
	}
}

// TestHTTPStripUpgrade models a proxy that drops hop-by-hop upgrade headers
// (faults doc A9.1): the server sees a plain GET for the websocket transport
// and answers 400 (Engine.IO error code 3).
func TestHTTPStripUpgrade(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	h := addFault(t, p, HTTPStripUpgrade{})
	_, resp, err := wsDial(t, p.Addr())
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("ws dial through strip: %v, %v", err, resp)
	}
	resp.Body.Close()
	reqs := up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream saw %d requests", len(reqs))
	}
	r := reqs[0]
	if r.URL.RequestURI() != wsPath || r.Method != "GET" {
		t.Errorf("forwarded %s %s", r.Method, r.URL.RequestURI())
	}
	for _, hd := range []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version"} {
		if v := r.Header.Get(hd); v != "" {
			t.Errorf("header %s survived: %q", hd, v)
		}
	}
	if r.Host == "" {
		t.Error("Host header was stripped")
	}
	ds := decisionsOf(p, h.Name(), "strip")
	if len(ds) != 1 || !strings.Contains(ds[0].Detail, "Upgrade") {
		t.Fatalf("strip decisions: %+v", ds)
	}
	if cs := p.Conns(); len(cs) > 0 && (cs[0].Transport != "websocket" || !cs[0].Upgrade || cs[0].SID != "S1") {
		t.Errorf("tags: %+v", cs)
	}
}

func TestStripUpgradeHeaders(t *testing.T) {
	in := "GET /x HTTP/1.1\r\nHost: h\r\nupgrade: websocket\r\nConnection: keep-alive,\r\n Upgrade\r\nSec-WebSocket-Key: k\r\nX-Keep: 1\r\n\r\n"
	out, removed := stripUpgradeHeaders([]byte(in))
	want := "GET /x HTTP/1.1\r\nHost: h\r\nX-Keep: 1\r\n\r\n"
	if string(out) != want || len(removed) != 3 {
		t.Fatalf("got %q %v", out, removed)
	}
}

func TestHTTPFaultValidation(t *testing.T) {
	if err := (HTTPRejectUpgrade{Status: 99}).Validate(); err == nil || err.(*FieldError).Attr != "status" {
		t.Errorf("status 99: %v", err)
	}
	if err := (HTTPStripUpgrade{Scope: Scope{AfterBytes: 3}}).Validate(); err == nil || err.(*FieldError).Attr != "after_bytes" {
		t.Errorf("after_bytes: %v", err)
	}
	f, tox, err := ParseToxic([]byte(`{"type":"http_reject_upgrade","attributes":{"status":502}}`))
	if err != nil || f.(HTTPRejectUpgrade).Status != 502 || tox.Stream != "upstream" || tox.Name != "http_reject_upgrade_upstream" {
		t.Fatalf("ParseToxic: %#v %+v %v", f, tox, err)
	}
}

// TestScopeTransportMatch: a fault scoped to transport=websocket applies to
// the WebSocket connection only, including on the upgrade request itself.
func TestScopeTransportMatch(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	h := addFault(t, p, Latency{Direction: Downstream, Latency: 150 * time.Millisecond, Scope: Scope{Transport: "websocket", SID: "S1"}})

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	start := time.Now()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://" + p.Addr() + "/engine.io/?EIO=4&transport=polling&sid=S1")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	within(t, "polling request not delayed", time.Since(start), 0, 140*time.Millisecond+slack)

	start = time.Now()
	c, _, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	within(t, "websocket handshake delayed", time.Since(start), 150*time.Millisecond, 150*time.Millisecond+slack)
	start = time.Now()
	_ = c.WriteMessage(websocket.TextMessage, []byte("2probe"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "2probe" {
		t.Fatalf("ws echo: %q %v", m, err)
	}
	within(t, "websocket message delayed", time.Since(start), 150*time.Millisecond, 150*time.Millisecond+slack)

	skips := decisionsOf(p, h.Name(), "skip")
	acts := decisionsOf(p, h.Name(), "activate")
	if len(skips) != 1 || skips[0].Conn != 1 || len(acts) != 1 || acts[0].Conn != 2 {
		t.Fatalf("skip %+v, activate %+v", skips, acts)
	}
	// Added after the connection was tagged, a matching fault applies at once
	// and a non-matching one is skipped.
	addFault(t, p, Slicer{Name: "ws-slicer", AverageSize: 2, Scope: Scope{Transport: "websocket"}})
	addFault(t, p, Slicer{Name: "other-sid", AverageSize: 2, Scope: Scope{SID: "nope"}})
	_ = c.WriteMessage(websocket.TextMessage, []byte("sliced"))
	if _, m, err := c.ReadMessage(); err != nil || string(m) != "sliced" {
		t.Fatalf("ws echo: %q %v", m, err)
	}
	if len(decisionsOf(p, "ws-slicer", "slice")) == 0 {
		t.Error("live-added matching fault did not act")
	}
	// Both open connections (the idle polling one and the WebSocket) skip it.
	ds := decisionsOf(p, "other-sid", "")
	if len(ds) != 2 {
		t.Errorf("non-matching fault: %+v", ds)
	}
	for _, d := range ds {
		if d.Action != "skip" {
			t.Errorf("non-matching fault acted: %+v", d)
		}
	}
}

// TestWSUpgradeThenBlackhole models a proxy that answers the upgrade with 101
// and then hangs (faults doc A9.2): the handshake succeeds, nothing comes
// back, the connection stays open, and the upstream never saw the upgrade.
func TestWSUpgradeThenBlackhole(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	h := addFault(t, p, WSUpgradeThenBlackhole{})
	c, resp, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatalf("ws dial: %v (%v)", err, resp)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	if _, m, err := c.ReadMessage(); !isTimeout(err) {
		t.Fatalf("read after fake 101: %q %v, want a timeout on an open connection", m, err)
	}
	for _, r := range up.requests() {
		if websocket.IsWebSocketUpgrade(r) {
			t.Fatal("the upstream saw the upgrade request")
		}
	}
	if ds := decisionsOf(p, h.Name(), "upgrade_then_hold"); len(ds) != 1 {
		t.Fatalf("decisions %+v", ds)
	}
	if wsAccept("dGhlIHNhbXBsZSBub25jZQ==") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatal("wsAccept does not match RFC 6455's example")
	}
}

// TestHTTPDowngrade10 models nginx without proxy_http_version 1.1 (faults
// doc A9.1): the server sees HTTP/1.0 with Connection: close, and a
// WebSocket upgrade arrives as a plain request.
func TestHTTPDowngrade10(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	addFault(t, p, HTTPDowngrade10{})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post("http://"+p.Addr()+"/engine.io/?EIO=4&transport=polling", "text/plain", strings.NewReader("4hi"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "polling ok" {
		t.Fatalf("POST through downgrade: %q", b)
	}
	_, resp, err = wsDial(t, p.Addr())
	if !errors.Is(err, websocket.ErrBadHandshake) || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("ws dial through downgrade: %v %v", err, resp)
	}
	resp.Body.Close()
	reqs := up.requests()
	if len(reqs) != 2 {
		t.Fatalf("upstream saw %d requests", len(reqs))
	}
	for _, r := range reqs {
		if r.Proto != "HTTP/1.0" || !r.Close || r.Header.Get("Upgrade") != "" {
			t.Errorf("%s %s arrived as %s close=%v upgrade=%q", r.Method, r.URL, r.Proto, r.Close, r.Header.Get("Upgrade"))
		}
	}
	if n := len(decisionsOf(p, "http_downgrade_10", "downgrade")); n != 2 {
		t.Errorf("%d downgrade decisions", n)
	}
}

// TestProtocolFaultOnUntappedConnection: a protocol fault added while an
// untapped connection is open skips it, says so, and leaves it working.
func TestProtocolFaultOnUntappedConnection(t *testing.T) {
	up := startEcho(t)
	p := startProxy(t, up.addr(), nil)
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("before"))
	h := addFault(t, p, HTTPStripUpgrade{})
	roundTrip(t, c, []byte("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"))
	if ds := decisionsOf(p, h.Name(), "skip"); len(ds) != 1 || ds[0].Conn != 1 || !strings.Contains(ds[0].Detail, "not tapped") {
		t.Fatalf("decisions %+v", ds)
	}
}
