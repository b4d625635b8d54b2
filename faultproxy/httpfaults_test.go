package faultproxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// rawGET sends one request on a new connection and returns the status and
// body (Connection: close).
func rawGET(t *testing.T, addr, uri string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	c := dial(t, addr)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + uri + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	for _, h := range hdr {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", uri, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// holdingServer answers polling GETs: the first of each sid at once, later
// ones after release is closed (a long-poll the server holds). An overlapping
// GET gets 400, as an Engine.IO server answers (EIO-POLL-07).
type holdingServer struct {
	*httptest.Server
	release chan struct{}
	mu      sync.Mutex
	gets    map[string]int
	pending map[string]bool
}

func startHoldingServer(t *testing.T) *holdingServer {
	s := &holdingServer{release: make(chan struct{}), gets: map[string]int{}, pending: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid := r.URL.Query().Get("sid")
		s.mu.Lock()
		s.gets[sid]++
		n := s.gets[sid]
		if s.pending[sid] {
			s.mu.Unlock()
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":1,"message":"overlap"}`)
			return
		}
		s.pending[sid] = true
		s.mu.Unlock()
		defer func() { s.mu.Lock(); s.pending[sid] = false; s.mu.Unlock() }()
		if n > 1 {
			select {
			case <-s.release:
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Second):
			}
		}
		_, _ = io.WriteString(w, "2")
	}))
	t.Cleanup(func() {
		close(s.release)
		s.CloseClientConnections()
		s.Close()
	})
	return s
}

func (s *holdingServer) count(sid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets[sid]
}

const pollURI = "/engine.io/?EIO=4&transport=polling&sid=S9"

// TestHTTPResponseTimeout: the second polling GET of a session is held by
// the server longer than the proxy's read timeout and gets 504 (faults doc
// A9.4); the first one passes. The decision names the request ordinal.
func TestHTTPResponseTimeout(t *testing.T) {
	srv := startHoldingServer(t)
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	addFault(t, p, HTTPResponseTimeout{Timeout: 150 * time.Millisecond, Match: RequestMatch{Method: "GET", Nth: 2}})
	if st, body, _ := rawGET(t, p.Addr(), pollURI); st != 200 || body != "2" {
		t.Fatalf("first GET: %d %q", st, body)
	}
	start := time.Now()
	st, body, _ := rawGET(t, p.Addr(), pollURI)
	if st != http.StatusGatewayTimeout {
		t.Fatalf("second GET: got %d %q, want 504", st, body)
	}
	within(t, "504 after", time.Since(start), 140*time.Millisecond, 3*time.Second)
	ds := decisionsOf(p, "http_response_timeout", "timeout")
	if len(ds) != 1 || !strings.Contains(ds[0].Detail, "polling GET #2") {
		t.Fatalf("decisions: %+v", ds)
	}
}

// TestHTTPDuplicateRequest copies the first polling GET of a session; the
// server sees two overlapping GETs and answers the copy 400 (EIO-POLL-07),
// which the decision log reports.
func TestHTTPDuplicateRequest(t *testing.T) {
	srv := startHoldingServer(t)
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	addFault(t, p, HTTPDuplicateRequest{Match: RequestMatch{Nth: 2}, Delay: 20 * time.Millisecond})
	if st, _, _ := rawGET(t, p.Addr(), pollURI); st != 200 {
		t.Fatalf("first GET: %d", st)
	}
	done := make(chan int, 1)
	go func() {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			done <- 0
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "GET "+pollURI+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	waitFor(t, "the copy's answer", func() bool { return len(decisionsOf(p, "http_duplicate_request", "duplicate_response")) == 1 })
	d := decisionsOf(p, "http_duplicate_request", "duplicate_response")[0]
	if !strings.Contains(d.Detail, "400") || !strings.Contains(d.Detail, "polling GET #2") {
		t.Fatalf("duplicate_response: %q", d.Detail)
	}
	if n := srv.count("S9"); n != 3 {
		t.Fatalf("server saw %d GETs, want 3 (one, then the second and its copy)", n)
	}
	srv.release <- struct{}{}
	if st := <-done; st != 200 {
		t.Fatalf("original second GET: %d", st)
	}
}

func readWS(c *websocket.Conn, timeout time.Duration) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	_, m, err := c.ReadMessage()
	return string(m), err
}

// TestWSBufferFramesUntilBytes holds server frames until 30 bytes are
// buffered (antivirus, faults doc A9.3), then releases them in order;
// removing the fault releases a partial buffer.
func TestWSBufferFramesUntilBytes(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	h := addFault(t, p, WSBufferFrames{UntilBytes: 30})
	c, _, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	send := func(m string) {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	send("4message-1") // 12-byte frames from the server
	send("4message-2")
	if m, err := readWS(c, 200*time.Millisecond); err == nil {
		t.Fatalf("got %q before 30 bytes were held", m)
	}
	// A read deadline breaks a gorilla connection; dial again.
	c, _, err = wsDial(t, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		send(fmt.Sprintf("4message-%d", i))
	}
	for i := 1; i <= 3; i++ {
		m, err := readWS(c, 5*time.Second)
		if err != nil || m != fmt.Sprintf("4message-%d", i) {
			t.Fatalf("message %d: %q %v", i, m, err)
		}
	}
	send("4tail")
	waitFor(t, "the tail to be held", func() bool { return len(decisionsOf(p, h.Name(), "hold")) >= 3 })
	_ = h.Remove()
	if m, err := readWS(c, 5*time.Second); err != nil || m != "4tail" {
		t.Fatalf("after removal: %q %v", m, err)
	}
	if len(decisionsOf(p, h.Name(), "release")) < 2 {
		t.Fatalf("no release on removal: %+v", decisionsOf(p, h.Name(), ""))
	}
}

// TestWSBufferFramesHold delays each server frame by hold_ms.
func TestWSBufferFramesHold(t *testing.T) {
	up := startWSUpstream(t)
	p := startProxy(t, up.Listener.Addr().String(), nil)
	addFault(t, p, WSBufferFrames{Hold: 150 * time.Millisecond})
	c, _, err := wsDial(t, p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.WriteMessage(websocket.TextMessage, []byte("4x")); err != nil {
		t.Fatal(err)
	}
	if m, err := readWS(c, 5*time.Second); err != nil || m != "4x" {
		t.Fatalf("%q %v", m, err)
	}
	within(t, "frame delay", time.Since(start), 140*time.Millisecond, 3*time.Second)
}

// TestHTTPBufferResponse: until "bytes" holds a short polling response
// until the fault is removed; until "complete" with hold_ms delays each
// complete response.
func TestHTTPBufferResponse(t *testing.T) {
	srv := startPollingServer(t, "4hello", "4again")
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	h := addFault(t, p, HTTPBufferResponse{Until: BufferBytes, MaxBytes: 4096})
	c := dial(t, p.Addr())
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET "+pollURI+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	select {
	case b := <-got:
		t.Fatalf("response %q arrived while held", b)
	case <-time.After(200 * time.Millisecond):
	}
	_ = h.Remove()
	if b := <-got; b != "4hello" {
		t.Fatalf("after removal: %q", b)
	}

	addFault(t, p, HTTPBufferResponse{Hold: 150 * time.Millisecond})
	start := time.Now()
	if st, body, _ := rawGET(t, p.Addr(), pollURI); st != 200 || body != "4again" {
		t.Fatalf("GET: %d %q", st, body)
	}
	within(t, "held complete response", time.Since(start), 140*time.Millisecond, 3*time.Second)
}

// lbBackend is an Engine.IO-like backend: a GET without sid opens a session
// named after the backend; a GET with a sid it did not open gets 400
// "Session ID unknown" (EIO-POLL-06).
func startLBBackend(t *testing.T, name string) *httptest.Server {
	var mu sync.Mutex
	n := 0
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid := r.URL.Query().Get("sid")
		if sid == "" {
			mu.Lock()
			n++
			sid = fmt.Sprintf("%s-%d", name, n)
			mu.Unlock()
			_, _ = fmt.Fprintf(w, `0{"sid":%q,"upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`, sid)
			return
		}
		if !strings.HasPrefix(sid, name+"-") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":1,"message":"Session ID unknown"}`)
			return
		}
		_, _ = io.WriteString(w, "4"+name)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestLBRoundRobin: without stickiness a session's polls alternate between
// backends and half of them get 400 "Session ID unknown" (faults doc A9.5);
// sid and cookie stickiness keep them on the backend that opened the session.
func TestLBRoundRobin(t *testing.T) {
	a, b := startLBBackend(t, "a"), startLBBackend(t, "b")
	backends := []string{a.Listener.Addr().String(), b.Listener.Addr().String()}
	p := startProxy(t, "127.0.0.1:1", nil) // the proxy's own upstream is unused
	h := addFault(t, p, LBRoundRobin{Backends: backends})
	_, open, _ := rawGET(t, p.Addr(), "/engine.io/?EIO=4&transport=polling")
	if !strings.Contains(open, `"a-1"`) {
		t.Fatalf("handshake went to %q, want backend a", open)
	}
	uri := "/engine.io/?EIO=4&transport=polling&sid=a-1"
	var codes []int
	for range 4 {
		st, _, _ := rawGET(t, p.Addr(), uri)
		codes = append(codes, st)
	}
	if fmt.Sprint(codes) != "[400 200 400 200]" {
		t.Fatalf("none: statuses %v, want [400 200 400 200]", codes)
	}
	_ = h.Remove()

	addFault(t, p, LBRoundRobin{Name: "sticky", Backends: backends, Sticky: StickySID})
	_, open, _ = rawGET(t, p.Addr(), "/engine.io/?EIO=4&transport=polling")
	sid := strings.SplitN(strings.SplitN(open, `"sid":"`, 2)[1], `"`, 2)[0]
	for i := range 4 {
		if st, body, _ := rawGET(t, p.Addr(), "/engine.io/?EIO=4&transport=polling&sid="+sid); st != 200 {
			t.Fatalf("sid sticky poll %d: %d %q", i, st, body)
		}
	}
	if ds := decisionsOf(p, "sticky", "route"); len(ds) != 5 || !strings.Contains(ds[4].Detail, "sticky sid "+sid) {
		t.Fatalf("route decisions: %+v", ds)
	}
	h, _ = p.Fault("sticky")
	_ = h.Remove()
	addFault(t, p, LBRoundRobin{Name: "cookie", Backends: backends, Sticky: StickyCookie})
	_, open, hdr := rawGET(t, p.Addr(), "/engine.io/?EIO=4&transport=polling")
	cookie := hdr.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, LBCookie+"=") {
		t.Fatalf("no affinity cookie: %v", hdr)
	}
	sid = strings.SplitN(strings.SplitN(open, `"sid":"`, 2)[1], `"`, 2)[0]
	for i := range 3 {
		if st, body, _ := rawGET(t, p.Addr(), "/engine.io/?EIO=4&transport=polling&sid="+sid, "Cookie: "+strings.SplitN(cookie, ";", 2)[0]); st != 200 {
			t.Fatalf("cookie sticky poll %d: %d %q", i, st, body)
		}
	}
	// Without the cookie (a client that drops it) the session is lost half the time.
	lost := 0
	for range 2 {
		if st, _, _ := rawGET(t, p.Addr(), "/engine.io/?EIO=4&transport=polling&sid="+sid); st == 400 {
			lost++
		}
	}
	if lost != 1 {
		t.Fatalf("without the cookie %d of 2 polls lost the session, want 1", lost)
	}
}

// TestNewFaultValidationAndJSON: bad parameters of the new faults are
// FieldErrors naming the Go field and the JSON attribute; good toxics parse
// to the expected values and render back unchanged.
func TestNewFaultValidationAndJSON(t *testing.T) {
	cases := []struct {
		f     Fault
		field string
	}{
		{HTTPResponseTimeout{}, "Timeout"},
		{HTTPResponseTimeout{Timeout: time.Second, Status: 99}, "Status"},
		{HTTPResponseTimeout{Timeout: time.Second, Match: RequestMatch{Nth: -1}}, "Match.Nth"},
		{HTTPResponseTimeout{Timeout: time.Second, Match: RequestMatch{Method: "get"}}, "Match.Method"},
		{HTTPResponseTimeout{Timeout: time.Second, Scope: Scope{AfterBytes: 1}}, "Scope.AfterBytes"},
		{HTTPDuplicateRequest{Delay: -1}, "Delay"},
		{HTTPBufferResponse{Until: BufferBytes}, "MaxBytes"},
		{HTTPBufferResponse{Until: 5}, "Until"},
		{HTTPBufferResponse{Hold: -1}, "Hold"},
		{WSBufferFrames{}, "Hold"},
		{WSBufferFrames{Hold: time.Second, UntilBytes: 10}, "Hold"},
		{WSBufferFrames{UntilBytes: -1}, "UntilBytes"},
		{LBRoundRobin{}, "Backends"},
		{LBRoundRobin{Backends: []string{"nohost"}}, "Backends"},
		{LBRoundRobin{Backends: []string{"127.0.0.1:1"}, Sticky: 9}, "Sticky"},
		{LBRoundRobin{Backends: []string{"127.0.0.1:1"}, Scope: Scope{For: time.Second}}, "Scope"},
	}
	for _, tc := range cases {
		var fe *FieldError
		if err := tc.f.Validate(); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("Validate(%#v) = %v, want a FieldError on %s", tc.f, err, tc.field)
		}
	}
	for _, tc := range []struct {
		json string
		want Fault
	}{
		{`{"type":"http_response_timeout","attributes":{"timeout_ms":1500,"nth":3,"method":"GET"}}`,
			HTTPResponseTimeout{Name: "http_response_timeout_upstream", Timeout: 1500 * time.Millisecond, Match: RequestMatch{Method: "GET", Nth: 3}}},
		{`{"type":"http_duplicate_request","attributes":{"nth":2,"delay_ms":10}}`,
			HTTPDuplicateRequest{Name: "http_duplicate_request_upstream", Match: RequestMatch{Nth: 2}, Delay: 10 * time.Millisecond}},
		{`{"type":"http_buffer_response","attributes":{"until":"bytes","max_bytes":4096,"hold_ms":5}}`,
			HTTPBufferResponse{Name: "http_buffer_response_downstream", Until: BufferBytes, MaxBytes: 4096, Hold: 5 * time.Millisecond}},
		{`{"type":"ws_buffer_frames","attributes":{"until_bytes":100}}`,
			WSBufferFrames{Name: "ws_buffer_frames_downstream", Direction: Downstream, UntilBytes: 100}},
		{`{"type":"lb_round_robin","attributes":{"backends":["127.0.0.1:1","127.0.0.1:2"],"sticky":"sid"}}`,
			LBRoundRobin{Name: "lb_round_robin_downstream", Backends: []string{"127.0.0.1:1", "127.0.0.1:2"}, Sticky: StickySID}},
	} {
		f, tox, err := ParseToxic([]byte(tc.json))
		if err != nil {
			t.Fatalf("%s: %v", tc.json, err)
		}
		if fmt.Sprintf("%#v", f) != fmt.Sprintf("%#v", tc.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tc.json, f, tc.want)
		}
		if _, back, err := ParseToxic(mustJSON(tox)); err != nil || string(mustJSON(back)) != string(mustJSON(tox)) {
			t.Errorf("%s: round trip %s -> %s (%v)", tc.json, mustJSON(tox), mustJSON(back), err)
		}
	}
	for _, bad := range []string{
		`{"type":"http_buffer_response","attributes":{"until":"never"}}`,
		`{"type":"lb_round_robin","attributes":{"backends":"127.0.0.1:1"}}`,
		`{"type":"lb_round_robin","attributes":{"backends":["127.0.0.1:1"],"sticky":"ip"}}`,
		`{"type":"http_response_timeout","attributes":{"timeout_ms":10,"nth":"x"}}`,
	} {
		var fe *FieldError
		if _, _, err := ParseToxic([]byte(bad)); !errors.As(err, &fe) {
			t.Errorf("%s: got %v, want a FieldError", bad, err)
		}
	}
}

// TestScopePollNth scopes a fault to the connection that carries the 2nd
// polling GET of a session: only that request's answer is held.
func TestScopePollNth(t *testing.T) {
	srv := startPollingServer(t)
	p := startProxy(t, srv.Listener.Addr().String(), nil)
	h := addFault(t, p, Blackhole{Scope: Scope{Poll: RequestMatch{Method: "GET", Nth: 2}}})
	get := func() (string, error) {
		c := dial(t, p.Addr())
		_ = c.SetDeadline(time.Now().Add(400 * time.Millisecond))
		if _, err := io.WriteString(c, "GET "+pollURI+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			return "", err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if b, err := get(); err != nil || b != "6" {
		t.Fatalf("GET #1: %q %v", b, err)
	}
	if b, err := get(); !isTimeout(err) {
		t.Fatalf("GET #2: got %q %v, want it held", b, err)
	}
	if b, err := get(); err != nil || b != "6" {
		t.Fatalf("GET #3: %q %v", b, err)
	}
	if n := len(decisionsOf(p, h.Name(), "hold")); n != 1 {
		t.Fatalf("%d hold decisions, want 1", n)
	}
	if n := len(decisionsOf(p, h.Name(), "skip")); n != 2 {
		t.Fatalf("%d skip decisions, want 2", n)
	}
	tox := ToxicOf(h.Fault(), "")
	if tox.Attributes["poll_nth"] != 2 || tox.Attributes["poll_method"] != "GET" {
		t.Fatalf("toxic form: %+v", tox)
	}
	var fe *FieldError
	if err := (Latency{Scope: Scope{Poll: RequestMatch{Nth: -1}}}).Validate(); !errors.As(err, &fe) || fe.Attr != "poll_nth" {
		t.Fatalf("negative poll_nth: %v", err)
	}
}
