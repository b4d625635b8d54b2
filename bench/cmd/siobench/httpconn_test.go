package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func shortTimeouts(t *testing.T) {
	t.Helper()
	oldIO, oldSlack := ioTimeout, pollSlack
	ioTimeout, pollSlack = 2*time.Second, 0
	t.Cleanup(func() { ioTimeout, pollSlack = oldIO, oldSlack })
}

// rawServer accepts connections on loopback and serves each with serve,
// which reads requests from br and writes raw responses to c. It returns
// the address and a count of accepted connections.
func rawServer(t *testing.T, serve func(n int, br *bufio.Reader, c net.Conn)) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	accepted := 0
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepted++
			n := accepted
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				serve(n, bufio.NewReader(c), c)
			}()
		}
	}()
	return ln.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return accepted }
}

// readRequest reads one request (head and Content-Length body).
func readRequest(br *bufio.Reader) (head string, body []byte, err error) {
	var sb strings.Builder
	n := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", nil, err
		}
		sb.WriteString(l)
		if l == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(l, "Content-Length: "); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body = make([]byte, n)
	_, err = io.ReadFull(br, body)
	return sb.String(), body, err
}

// The request bytes are exactly the HTTP/1.1 requests the client is meant
// to write, and a chunked body (with an extension and a trailer) is
// reassembled; both requests use one connection.
func TestHTTPConnRequestBytesAndChunked(t *testing.T) {
	shortTimeouts(t)
	heads := make(chan string, 2)
	bodies := make(chan []byte, 2)
	addr, accepted := rawServer(t, func(_ int, br *bufio.Reader, c net.Conn) {
		for {
			h, b, err := readRequest(br)
			if err != nil {
				return
			}
			heads <- h
			bodies <- b
			if strings.HasPrefix(h, "GET") {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"+
					"3;ext=1\r\n4he\r\n4\r\nllo\x1e\r\n0a\r\nbAAECAw==\x1e\r\n1\r\n2\r\n0\r\nX-Trailer: y\r\n\r\n")
			} else {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		}
	})
	h := &httpConn{addr: addr}
	defer h.closeConn()
	got, err := h.do(context.Background(), "POST", "/engine.io/?EIO=4&transport=polling&sid=a", []byte("4x"))
	if err != nil || string(got) != "ok" {
		t.Fatalf("POST: %q %v", got, err)
	}
	wantPost := "POST /engine.io/?EIO=4&transport=polling&sid=a HTTP/1.1\r\nHost: " + addr +
		"\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 2\r\n\r\n"
	if h := <-heads; h != wantPost {
		t.Fatalf("POST head %q, want %q", h, wantPost)
	}
	if b := <-bodies; string(b) != "4x" {
		t.Fatalf("POST body %q", b)
	}
	got, err = h.do(context.Background(), "GET", "/engine.io/?sid=a", nil)
	if err != nil || string(got) != "4hello\x1ebAAECAw==\x1e2" {
		t.Fatalf("GET: %q %v", got, err)
	}
	if h := <-heads; h != "GET /engine.io/?sid=a HTTP/1.1\r\nHost: "+addr+"\r\n\r\n" {
		t.Fatalf("GET head %q", h)
	}
	if n := accepted(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

// After "Connection: close" the client dials again (the server leaves
// that connection open but answers nothing more on it); a response whose
// body ends with the connection is read to the end.
func TestHTTPConnConnectionClose(t *testing.T) {
	shortTimeouts(t)
	addr, accepted := rawServer(t, func(n int, br *bufio.Reader, c net.Conn) {
		if _, _, err := readRequest(br); err != nil {
			return
		}
		if n == 1 {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfirst")
			// Keep the connection open and silent: a client that
			// reused it would wait for an answer in vain.
			_, _ = io.Copy(io.Discard, br)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\nsecond, to the close")
	})
	h := &httpConn{addr: addr}
	defer h.closeConn()
	for i, want := range []string{"first", "second, to the close"} {
		got, err := h.do(context.Background(), "GET", "/", nil)
		if err != nil || string(got) != want {
			t.Fatalf("request %d: %q %v, want %q", i, got, err, want)
		}
	}
	if n := accepted(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	if h.nc != nil {
		t.Fatal("connection kept after a body ended by the close")
	}
}

// A reused connection the server closed without answering is retried
// once on a fresh connection; a fresh connection that fails is an error.
func TestHTTPConnStaleRetry(t *testing.T) {
	shortTimeouts(t)
	addr, _ := rawServer(t, func(n int, br *bufio.Reader, c net.Conn) {
		for i := 0; ; i++ {
			if _, _, err := readRequest(br); err != nil {
				return
			}
			if n == 1 && i == 1 || n == 3 {
				return // close without answering
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n"+strconv.Itoa(n))
		}
	})
	h := &httpConn{addr: addr}
	defer h.closeConn()
	for i, want := range []string{"1", "2"} {
		got, err := h.do(context.Background(), "GET", "/", nil)
		if err != nil || string(got) != want {
			t.Fatalf("request %d: %q %v, want %q", i, got, err, want)
		}
	}
	h.drop()
	if _, err := h.do(context.Background(), "GET", "/", nil); err == nil || errors.Is(err, errConnClosed) {
		t.Fatalf("error %v, want one from a fresh connection closed without an answer", err)
	}
}

// close ends a parked GET at once (the server never answers it) and no
// request dials after it.
func TestPollCloseEndsParkedGET(t *testing.T) {
	shortTimeouts(t)
	ioTimeout = time.Minute
	addr, _ := rawServer(t, func(_ int, br *bufio.Reader, c net.Conn) {
		for {
			h, _, err := readRequest(br)
			if err != nil {
				return
			}
			if strings.HasPrefix(h, "POST") {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			} // GETs park for ever
		}
	})
	p := &pollConn{get: httpConn{addr: addr}, post: httpConn{addr: addr}, target: "/engine.io/?sid=x"}
	errc := make(chan error, 1)
	go func() { _, err := p.recv(); errc <- err }()
	// Wait until the GET is in flight.
	for deadline := time.Now().Add(5 * time.Second); ; {
		p.get.cmu.Lock()
		inFlight := p.get.nc != nil
		p.get.cmu.Unlock()
		if inFlight {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("GET never dialled")
		}
		runtime.Gosched()
	}
	done := make(chan struct{})
	go func() { p.close(); close(done) }()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("recv returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("parked GET not ended by close")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return")
	}
	if _, err := p.get.do(context.Background(), "GET", "/", nil); !errors.Is(err, errConnClosed) {
		t.Fatalf("request after close: %v, want errConnClosed", err)
	}
}

// A status other than 200 is an error carrying status and body, and so
// are malformed responses.
func TestHTTPConnErrors(t *testing.T) {
	shortTimeouts(t)
	for _, tc := range []struct{ name, resp string }{
		{"400", "HTTP/1.1 400 Bad Request\r\nContent-Length: 41\r\n\r\n{\"code\":1,\"message\":\"Session ID unknown\"}"},
		{"garbage", "SSH-2.0-x\r\n\r\n"},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nx\r\n0\r\n\r\n"},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := rawServer(t, func(_ int, br *bufio.Reader, c net.Conn) {
				if _, _, err := readRequest(br); err == nil {
					io.WriteString(c, tc.resp)
				}
			})
			h := &httpConn{addr: addr}
			defer h.closeConn()
			_, err := h.do(context.Background(), "GET", "/", nil)
			if err == nil {
				t.Fatal("no error")
			}
			var se *HTTPStatusError
			if tc.name == "400" {
				if !errors.As(err, &se) || se.Status != 400 || !bytes.Contains(se.Body, []byte("Session ID")) {
					t.Fatalf("error %v, want an HTTPStatusError 400 with the body", err)
				}
			} else if errors.As(err, &se) {
				t.Fatalf("error %v is a status error", err)
			}
		})
	}
}

// recv answers a ping with a pong POST, skips noops and returns the
// messages of a payload, binary ones decoded; "1" ends the session.
func TestPollRecv(t *testing.T) {
	shortTimeouts(t)
	var mu sync.Mutex
	var posts []string
	gets := []string{"6", "2\x1e4hello\x1e6\x1ebAAEC/w==\x1e\x1e4a", "1"}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == "POST" {
			b, _ := io.ReadAll(r.Body)
			posts = append(posts, string(b))
			io.WriteString(w, "ok")
			return
		}
		io.WriteString(w, gets[0])
		gets = gets[1:]
	}))
	defer ts.Close()
	p := &pollConn{get: httpConn{addr: ts.Listener.Addr().String()}, post: httpConn{addr: ts.Listener.Addr().String()}, target: "/engine.io/?sid=x"}
	defer p.closeConns()
	fs, err := p.recv()
	if err != nil {
		t.Fatal(err)
	}
	want := []frame{{data: []byte("4hello")}, {binary: true, data: []byte{0, 1, 2, 0xff}}, {data: []byte("4a")}}
	if len(fs) != len(want) {
		t.Fatalf("frames %+v, want %+v", fs, want)
	}
	for i := range fs {
		if fs[i].binary != want[i].binary || !bytes.Equal(fs[i].data, want[i].data) {
			t.Fatalf("frame %d: %+v, want %+v", i, fs[i], want[i])
		}
	}
	mu.Lock()
	if len(posts) != 1 || posts[0] != "3" {
		t.Fatalf("posts %q, want one pong", posts)
	}
	mu.Unlock()
	if _, err := p.recv(); err == nil {
		t.Fatal("no error after a close packet")
	}
}

// eioPolling is an Engine.IO-shaped polling echo server (net/http, which
// sends the bin4k echo chunked) that applies bend to every message it
// sends back.
func eioPolling(t *testing.T, bend func([]byte) []byte) string {
	type session struct {
		mu   sync.Mutex
		q    [][]byte
		wake chan struct{}
	}
	var mu sync.Mutex
	sessions := map[string]*session{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid := r.URL.Query().Get("sid")
		mu.Lock()
		if sid == "" {
			sid = strconv.Itoa(len(sessions) + 1)
			sessions[sid] = &session{wake: make(chan struct{}, 1)}
			mu.Unlock()
			io.WriteString(w, `0{"sid":"`+sid+`","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
			return
		}
		s := sessions[sid]
		mu.Unlock()
		if s == nil {
			http.Error(w, `{"code":1,"message":"Session ID unknown"}`, http.StatusBadRequest)
			return
		}
		if r.Method == "POST" {
			b, _ := io.ReadAll(r.Body)
			s.mu.Lock()
			for p := range bytes.SplitSeq(b, []byte{0x1e}) {
				if len(p) > 0 && p[0] == 'b' {
					d, _ := base64.StdEncoding.DecodeString(string(p[1:]))
					p = append([]byte("b"), base64.StdEncoding.EncodeToString(bend(d))...)
				} else if len(p) > 0 && p[0] == '4' {
					p = append([]byte("4"), bend(p[1:])...)
				}
				s.q = append(s.q, p)
			}
			s.mu.Unlock()
			select {
			case s.wake <- struct{}{}:
			default:
			}
			io.WriteString(w, "ok")
			return
		}
		for {
			s.mu.Lock()
			q := s.q
			s.q = nil
			s.mu.Unlock()
			if len(q) > 0 {
				w.Write(bytes.Join(q, []byte{0x1e}))
				return
			}
			select {
			case <-s.wake:
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String()
}
