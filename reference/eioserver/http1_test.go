package eioserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pathServer is a Server reachable through one of the two serving paths:
// net/http alone (http.Server with the Server as handler) or Serve. Both
// count the requests that reached net/http's handler for the Server's
// path (fallback), so that a test can tell which path served a request.
type pathServer struct {
	srv      *Server
	addr     string
	fallback atomic.Int64
	stop     func()
}

func startPath(t *testing.T, lean bool, opts Options) *pathServer {
	t.Helper()
	ps := &pathServer{}
	if opts.OnSession == nil {
		opts.OnSession = echo
	}
	ps.srv = NewServer(&opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps.addr = ln.Addr().String()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.RequestURI, ps.srv.opts.Path) {
			ps.fallback.Add(1)
		}
		ps.srv.ServeHTTP(w, r)
	})
	if lean {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ps.srv.Serve(ctx, ln, &ServeOptions{Fallback: h}) }()
		ps.stop = func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(waitBudget):
				t.Errorf("Serve did not return")
			}
		}
	} else {
		hs := &http.Server{Handler: h}
		go func() { _ = hs.Serve(ln) }()
		ps.stop = func() { _ = hs.Close() }
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
		defer cancel()
		_ = ps.srv.Close(ctx)
		ps.stop()
	})
	return ps
}

// rawPeer sends raw requests on named connections and records the raw
// responses.
type rawPeer struct {
	t     *testing.T
	ps    *pathServer
	conns map[string]*rawConn
	sids  []string
	out   strings.Builder
}

type rawConn struct {
	c   net.Conn
	cap bytes.Buffer
	br  *bufio.Reader
}

func newRawPeer(t *testing.T, ps *pathServer) *rawPeer {
	p := &rawPeer{t: t, ps: ps, conns: map[string]*rawConn{}}
	t.Cleanup(func() {
		for _, c := range p.conns {
			_ = c.c.Close()
		}
	})
	return p
}

func (p *rawPeer) conn(name string) *rawConn {
	p.t.Helper()
	if c, ok := p.conns[name]; ok {
		return c
	}
	nc, err := net.DialTimeout("tcp", p.ps.addr, waitBudget)
	if err != nil {
		p.t.Fatal(err)
	}
	c := &rawConn{c: nc}
	c.br = bufio.NewReader(io.TeeReader(nc, &c.cap))
	p.conns[name] = c
	return c
}

// expand replaces {sid} with the last session id and {sidN} with the
// N-th.
func (p *rawPeer) expand(s string) string {
	for i := len(p.sids) - 1; i >= 0; i-- {
		s = strings.ReplaceAll(s, fmt.Sprintf("{sid%d}", i), p.sids[i])
	}
	if len(p.sids) > 0 {
		s = strings.ReplaceAll(s, "{sid}", p.sids[len(p.sids)-1])
	}
	return s
}

// send writes a request on conn; {sid} is replaced.
func (p *rawPeer) send(conn, req string) {
	p.t.Helper()
	c := p.conn(conn)
	req = p.expand(req)
	_ = c.c.SetWriteDeadline(time.Now().Add(waitBudget))
	if _, err := io.WriteString(c.c, req); err != nil {
		p.t.Fatalf("write %s: %v", conn, err)
	}
	fmt.Fprintf(&p.out, "%s> %q\n", conn, p.unsid(req))
}

var sidRe = regexp.MustCompile(`sid\\*":\\*"([A-Za-z0-9_-]{20})`)

// recv reads n responses on conn and records their raw bytes (or how the
// connection ended).
func (p *rawPeer) recv(conn string, n int) {
	p.t.Helper()
	c := p.conn(conn)
	_ = c.c.SetReadDeadline(time.Now().Add(waitBudget))
	for range n {
		res, err := http.ReadResponse(c.br, nil)
		if err == nil {
			_, err = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				p.t.Fatalf("%s: no response", conn)
			}
			fmt.Fprintf(&p.out, "%s! %v\n", conn, err)
			break
		}
	}
	raw := c.cap.String()
	c.cap.Reset()
	// The bytes read ahead and not yet parsed stay for the next recv.
	if b := c.br.Buffered(); b > 0 {
		rest := raw[len(raw)-b:]
		raw = raw[:len(raw)-b]
		c.cap.WriteString(rest)
	}
	for _, m := range sidRe.FindAllStringSubmatch(raw, -1) {
		if len(p.sids) == 0 || p.sids[len(p.sids)-1] != m[1] {
			p.sids = append(p.sids, m[1])
		}
	}
	fmt.Fprintf(&p.out, "%s< %q\n", conn, p.unsid(raw))
}

func (p *rawPeer) do(conn, req string) { p.t.Helper(); p.send(conn, req); p.recv(conn, 1) }

var dateRe = regexp.MustCompile(`Date: [^\r]*\r\n`)

// unsid normalises session ids and Date headers.
func (p *rawPeer) unsid(s string) string {
	for i, sid := range p.sids {
		s = strings.ReplaceAll(s, sid, fmt.Sprintf("<sid%d>", i))
	}
	return dateRe.ReplaceAllString(s, "Date: <date>\r\n")
}

// waitParked waits for the last session's GET to be parked.
func (p *rawPeer) waitParked() {
	p.t.Helper()
	s := p.ps.srv.lookup(p.sids[len(p.sids)-1])
	if s == nil {
		p.t.Fatal("no session")
	}
	waitParked(p.t, s)
}

func get(q string, extra ...string) string {
	return "GET /engine.io/?" + q + " HTTP/1.1\r\nHost: example.test\r\n" + strings.Join(extra, "") + "\r\n"
}

func post(q, body string, extra ...string) string {
	return fmt.Sprintf("POST /engine.io/?%s HTTP/1.1\r\nHost: example.test\r\n%sContent-Length: %d\r\n\r\n%s", q, strings.Join(extra, ""), len(body), body)
}

type pathScenario struct {
	name string
	opts Options
	run  func(p *rawPeer)
	// lean: every request under the path is served by the lean path
	// (none reaches the fallback).
	lean bool
}

var pathScenarios = []pathScenario{
	{name: "eio4", lean: true, opts: Options{CORS: &CORSOptions{Origins: []string{"http://a.test", "http://b.test"}, Credentials: true, ExposedHeaders: []string{"X-A"}}, Cookie: &CookieOptions{Name: "io", Path: "/", SameSite: http.SameSiteLaxMode}},
		run: func(p *rawPeer) {
			p.do("a", get("EIO=4&transport=polling", "Origin: http://a.test\r\nUser-Agent: x\r\n"))
			p.do("a", post("EIO=4&transport=polling&sid={sid}", "4hello\x1e4w\xc3\xb6rld\x1ebAQID", "Origin: http://b.test\r\nContent-Type: text/plain;charset=UTF-8\r\n"))
			p.do("a", get("EIO=4&transport=polling&sid={sid}", "User-Agent: Mozilla/5.0 (Windows NT 10.0; Trident/7.0)\r\n"))
			// A parked GET answered by a POST on another connection.
			p.send("a", get("EIO=4&transport=polling&sid={sid}", "Connection: keep-alive\r\n"))
			p.waitParked()
			p.do("b", post("EIO=4&transport=polling&sid={sid}", "4parked"))
			p.recv("a", 1)
			p.do("b", post("EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", "4x"))
			p.do("b", get("EIO=4&transport=nope"))
			p.do("b", post("EIO=4&transport=polling", "4x"))
			p.do("b", get("EIO=4&transport=websocket&sid={sid}"))
			p.do("b", get("EIO=3&transport=polling&sid={sid}"))
			p.do("b", get("EIO=4&transport=polling", "Origin: \x01bad\r\n"))
			p.do("b", post("EIO=4&transport=polling&sid={sid}", "4bin", "Content-Type: application/octet-stream\r\n"))
			// Overlapping GETs (EIO-POLL-07) of a fresh session.
			p.do("c", get("EIO=4&transport=polling"))
			p.send("c", get("EIO=4&transport=polling&sid={sid}"))
			p.waitParked()
			p.do("d", get("EIO=4&transport=polling&sid={sid}"))
			p.recv("c", 1)
			p.do("d", get("EIO=4&transport=polling&sid={sid}"))
			// Close by the client.
			p.do("e", get("EIO=4&transport=polling"))
			p.send("e", get("EIO=4&transport=polling&sid={sid}"))
			p.waitParked()
			p.do("f", post("EIO=4&transport=polling&sid={sid}", "1"))
			p.recv("e", 1)
			p.do("f", get("EIO=4&transport=polling&sid={sid}"))
		}},
	{name: "eio3", opts: Options{AllowEIO3: true, CompressionThreshold: 10},
		run: func(p *rawPeer) {
			p.do("a", get("EIO=3&transport=polling"))
			p.do("a", post("EIO=3&transport=polling&sid={sid}", "\x00\x06\xff4hello\x01\x04\xff\x04\x01\x02\x03", "Content-Type: application/octet-stream\r\n"))
			p.do("a", get("EIO=3&transport=polling&sid={sid}"))
			p.do("a", post("EIO=3&transport=polling&sid={sid}", "6:4hello6:4again"))
			p.do("a", get("EIO=3&transport=polling&sid={sid}", "Accept-Encoding: gzip, deflate;q=2\r\n"))
			p.do("b", get("EIO=3&transport=polling&b64=1"))
			p.do("b", post("EIO=3&transport=polling&sid={sid}&b64=1", "6:b4AQID"))
			p.do("b", get("EIO=3&transport=polling&sid={sid}&b64=1", "Accept-Encoding: gzip\r\n"))
			p.do("c", get("EIO=3&transport=polling&j=1"))
			p.do("c", post("EIO=3&transport=polling&sid={sid}&j=1", "d=6%3A4hello", "Content-Type: application/x-www-form-urlencoded\r\n"))
			p.do("c", get("EIO=3&transport=polling&sid={sid}&j=1"))
		}, lean: true},
	{name: "limits", opts: Options{MaxHTTPBufferSize: 64, AllowRequest: func(r *http.Request) error {
		if r.Header.Get("X-Deny") != "" {
			return errors.New("denied")
		}
		return nil
	}},
		run: func(p *rawPeer) {
			p.do("a", get("EIO=4&transport=polling"))
			p.do("a", post("EIO=4&transport=polling&sid={sid}", strings.Repeat("4", 100)))
			p.do("a", post("EIO=4&transport=polling&sid={sid}", strings.Repeat("4", 64)))
			p.do("a", get("EIO=4&transport=polling&sid={sid}"))
			p.do("a", get("EIO=4&transport=polling", "X-Deny: 1\r\n"))
			p.do("a", get("EIO=3&transport=polling"))
			// A body cut short: the connection is destroyed.
			p.send("b", "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n4abc")
			_ = p.conn("b").c.(*net.TCPConn).CloseWrite()
			p.recv("b", 1)
		}, lean: true},
	{name: "closed", opts: Options{},
		run: func(p *rawPeer) {
			p.do("a", get("EIO=4&transport=polling"))
			ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
			defer cancel()
			_ = p.ps.srv.Close(ctx)
			p.do("a", get("EIO=4&transport=polling&sid={sid}"))
			p.do("a", get("EIO=4&transport=polling"))
		}, lean: true},
	{name: "handoffs", opts: Options{CORS: &CORSOptions{ReflectOrigin: true}},
		run: func(p *rawPeer) {
			p.do("a", get("EIO=4&transport=polling"))
			p.do("b", "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: http://o.test\r\nAccess-Control-Request-Headers: x-a\r\n\r\n")
			p.do("c", "GET /other HTTP/1.1\r\nHost: x\r\n\r\n")
			p.do("c", "GET /engine.io/?EIO=4&transport=polling HTTP/1.0\r\nHost: x\r\n\r\n")
			p.do("d", post("EIO=4&transport=polling&sid={sid}", "4te"))
			p.do("d", "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n4ch\r\n0\r\n\r\n")
			p.do("d", "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n4ex")
			p.do("d", get("EIO=4&transport=polling&sid={sid}"))
			// Pipelined: two handshakes in one write.
			p.send("e", get("EIO=4&transport=polling")+get("EIO=4&transport=polling"))
			p.recv("e", 2)
			p.do("f", get("EIO=4&transport=polling", "Connection: close\r\n"))
			p.recv("f", 1)
			p.do("g", get("EIO=4&transport=polling", "Pragma: no-cache\r\n"))
			p.do("g", "PUT /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
			p.do("g", get("EIO=4&transport=polling&sid={sid}", "Upgrade: websocket\r\nConnection: Upgrade\r\n"))
		}},
}

// malformed are requests whose every response (or closing) must be
// net/http's: the lean path hands them over.
var malformed = []string{
	"get /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET http://x/engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nBad Key: v\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\nHost: x\n\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX: a\x01b\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
	"POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
	"POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc",
	"POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\nabc",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling%zz HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/2.0\r\nHost: x\r\n\r\n",
	"GET  /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-Long: "+strings.Repeat("a", 1000)+"\r\n", 6) + "\r\n",
	"\r\nGET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: foo\r\n\r\n",
	"GARBAGE\r\n\r\n",
}

// transcript runs sc through one path and returns the normalised
// exchange and how many requests under the path reached the fallback.
func transcript(t *testing.T, lean bool, sc pathScenario) (string, int64) {
	ps := startPath(t, lean, sc.opts)
	p := newRawPeer(t, ps)
	defer func() { t.Logf("lean=%v:\n%s", lean, p.out.String()) }()
	sc.run(p)
	return p.out.String(), ps.fallback.Load()
}

// TestServeBytesAsNetHTTP sends the same request sequences to a Server
// served by net/http and by Serve and compares the raw responses.
func TestServeBytesAsNetHTTP(t *testing.T) {
	for _, sc := range pathScenarios {
		t.Run(sc.name, func(t *testing.T) {
			want, _ := transcript(t, false, sc)
			got, fb := transcript(t, true, sc)
			if got != want {
				t.Errorf("bytes differ\nnet/http:\n%s\nServe:\n%s", want, got)
			}
			if sc.lean && fb != 0 {
				t.Errorf("%d requests reached net/http; want all on the lean path", fb)
			}
			if !sc.lean && fb == 0 {
				t.Errorf("no request reached net/http")
			}
		})
	}
}

// TestServeHandsMalformedToNetHTTP: each malformed request, on a fresh
// connection, gets net/http's answer through Serve.
func TestServeHandsMalformedToNetHTTP(t *testing.T) {
	for i, req := range malformed {
		sc := pathScenario{name: fmt.Sprint(i), run: func(p *rawPeer) {
			p.send("a", req)
			_ = p.conn("a").c.(*net.TCPConn).CloseWrite()
			p.recv("a", 2)
		}}
		want, _ := transcript(t, false, sc)
		got, _ := transcript(t, true, sc)
		if got != want {
			t.Errorf("%q: bytes differ\nnet/http:\n%s\nServe:\n%s", req, want, got)
		}
	}
}

// TestServeComparisonCanFail: the comparison catches one changed byte (a
// lean path that answered differently would fail the test above).
func TestServeComparisonCanFail(t *testing.T) {
	sc := pathScenarios[0]
	want, _ := transcript(t, false, sc)
	changed := sc
	changed.opts.Cookie = &CookieOptions{Name: "io", Path: "/", SameSite: http.SameSiteStrictMode}
	got, _ := transcript(t, true, changed)
	if got == want {
		t.Fatal("a different response went unnoticed")
	}
}

// TestServeClientGoneClosesSession: a parked GET whose client goes away
// closes the session (EIO-POLL-09) on the lean path too, and Serve
// returns once its context ends, with no goroutine left (TestMain).
func TestServeClientGoneClosesSession(t *testing.T) {
	closed := make(chan string, 1)
	ps := startPath(t, true, Options{OnSession: func(s *Session) {
		s.OnClose(func(reason string, _ error) { closed <- reason })
	}})
	p := newRawPeer(t, ps)
	p.do("a", get("EIO=4&transport=polling"))
	p.send("a", get("EIO=4&transport=polling&sid={sid}"))
	p.waitParked()
	_ = p.conn("a").c.Close()
	select {
	case r := <-closed:
		if r != ReasonTransportError {
			t.Fatalf("reason %q", r)
		}
	case <-time.After(waitBudget):
		t.Fatal("session not closed")
	}
}

// TestServeParkedGETsUnderLoad runs many sessions' round trips through the
// lean path concurrently (watcher handover, keep-alive reuse).
func TestServeParkedGETsUnderLoad(t *testing.T) {
	ps := startPath(t, true, Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: waitBudget}
			base := "http://" + ps.addr + "/engine.io/?EIO=4&transport=polling"
			res, err := cl.Get(base)
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			m := sidRe.FindSubmatch(b)
			if m == nil {
				t.Errorf("handshake %q", b)
				return
			}
			q := base + "&sid=" + string(m[1])
			for j := range 50 {
				msg := fmt.Sprintf("4m%d-%d", i, j)
				got := make(chan string, 1)
				go func() {
					res, err := cl.Get(q)
					if err != nil {
						got <- err.Error()
						return
					}
					b, err := io.ReadAll(res.Body)
					res.Body.Close()
					if err != nil {
						got <- fmt.Sprintf("status %d: %v", res.StatusCode, err)
						return
					}
					if res.StatusCode != http.StatusOK {
						got <- fmt.Sprintf("status %d: %q %v", res.StatusCode, b, res.Header)
						return
					}
					got <- string(b)
				}()
				res, err := cl.Post(q, "text/plain", strings.NewReader(msg))
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				select {
				case g := <-got:
					if g != msg && g != "6" {
						t.Errorf("got %q want %q", g, msg)
						return
					}
					if g == "6" {
						// The GET was answered before the echo: get it.
						res, err := cl.Get(q)
						if err != nil {
							t.Error(err)
							return
						}
						b, _ := io.ReadAll(res.Body)
						res.Body.Close()
						if string(b) != msg {
							t.Errorf("got %q want %q", b, msg)
							return
						}
					}
				case <-time.After(waitBudget):
					t.Error("no echo")
					return
				}
			}
		})
	}
	wg.Wait()
	if n := ps.fallback.Load(); n != 0 {
		t.Errorf("%d requests reached net/http", n)
	}
}

// FuzzHTTP1Parse: a request head the lean parser takes is one net/http
// reads the same way (method, target, host, header fields, length); the
// parser never panics.
func FuzzHTTP1Parse(f *testing.F) {
	f.Add([]byte(get("EIO=4&transport=polling", "Origin: http://a.test\r\n")))
	f.Add([]byte(post("EIO=4&transport=polling&sid=x", "4hello", "Content-Type: text/plain\r\n")))
	for _, m := range malformed {
		f.Add([]byte(m))
	}
	srv := NewServer(nil)
	hs := &http1Server{srv: srv}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > http1BufSize {
			return
		}
		buf := make([]byte, http1BufSize)
		c := &http1Conn{s: hs, bufp: &buf, w: copy(buf, data), raddr: "127.0.0.1:1"}
		req, cl, ok, more := c.parse()
		if more || !ok {
			return
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatalf("lean path took %q, net/http refuses it: %v", data, err)
		}
		switch {
		case req.Method != want.Method, req.RequestURI != want.RequestURI, req.Host != want.Host,
			cl != want.ContentLength, req.URL.String() != want.URL.String(),
			want.Close, len(want.TransferEncoding) != 0:
			t.Fatalf("%q: lean %s %s %s %d, net/http %s %s %s %d close=%v te=%v", data,
				req.Method, req.RequestURI, req.Host, cl, want.Method, want.RequestURI, want.Host, want.ContentLength, want.Close, want.TransferEncoding)
		}
		if fmt.Sprint(req.Header) != fmt.Sprint(want.Header) {
			t.Fatalf("%q: headers %v, net/http %v", data, req.Header, want.Header)
		}
	})
}

// TestServeReturnsWithParkedGET: when its context ends, Serve closes the
// connections it serves, a waiting GET's handler returns (its session
// closes) and Serve returns; TestMain checks that no goroutine is left.
func TestServeReturnsWithParkedGET(t *testing.T) {
	closed := make(chan string, 1)
	srv := NewServer(&Options{OnSession: func(s *Session) {
		s.OnClose(func(reason string, _ error) { closed <- reason })
	}})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
		defer cancel()
		_ = srv.Close(ctx)
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	p := newRawPeer(t, &pathServer{srv: srv, addr: ln.Addr().String()})
	p.do("a", get("EIO=4&transport=polling"))
	p.send("a", get("EIO=4&transport=polling&sid={sid}"))
	p.waitParked()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(waitBudget):
		t.Fatal("Serve did not return")
	}
	select {
	case r := <-closed:
		if r != ReasonTransportError {
			t.Fatalf("reason %q", r)
		}
	case <-time.After(waitBudget):
		t.Fatal("session not closed")
	}
	p.recv("a", 1)
	if !strings.Contains(p.out.String(), "a! ") {
		t.Fatalf("the parked GET got an answer: %s", p.out.String())
	}
}
