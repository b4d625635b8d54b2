package eioserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ServeOptions configures [Server.Serve]; nil means defaults.
type ServeOptions struct {
	// Fallback serves every request the lean path hands over: requests
	// outside Options.Path, WebSocket upgrades and every request form the
	// lean path leaves to net/http. nil means the Server itself.
	Fallback http.Handler
	// DrainTimeout is how long Serve, once its context ended, lets the
	// requests that net/http serves finish (http.Server.Shutdown) before
	// it closes their connections; 0 closes them at once.
	DrainTimeout time.Duration
}

// Serve accepts connections on ln until ctx ends or ln fails, and serves
// them over HTTP/1.1. Plain keep-alive Engine.IO polling requests (GET, or
// POST with a Content-Length under 256 KiB, HTTP/1.1 with a Host, to
// Options.Path, one request at a time) are parsed and answered by a lean
// path of its own that feeds [Server.ServeHTTP] with the response bytes
// net/http would write; everything else (upgrades, chunked bodies,
// Expect, HTTP/1.0, Connection: close, pipelined requests, other paths,
// anything malformed) is handed, with the bytes already read, to a
// net/http server on the same connection, which keeps the connection from
// then on. Requests under Options.Path are served by the Server even when
// Fallback is a mux.
//
// Serve closes ln and every connection it serves before it returns, and
// waits for the goroutines of the lean path; it returns nil when ctx ended
// and the listener's error otherwise. TLS is not served (hand Serve a
// plain listener).
func (srv *Server) Serve(ctx context.Context, ln net.Listener, opts *ServeOptions) error {
	var o ServeOptions
	if opts != nil {
		o = *opts
	}
	if o.Fallback == nil {
		o.Fallback = srv
	}
	s := &http1Server{
		srv:   srv,
		conns: make(map[*http1Conn]struct{}),
		handoff: &handoffListener{
			addr: ln.Addr(),
			ch:   make(chan net.Conn),
			done: make(chan struct{}),
		},
	}
	s.hs = &http.Server{
		Handler:  o.Fallback,
		ErrorLog: slog.NewLogLogger(srv.log.Handler(), slog.LevelDebug),
		// Bounds the heads net/http reads on the connections it was
		// handed, and (as IdleTimeout is zero) their idle time.
		ReadHeaderTimeout: handoffHeaderTimeout,
	}
	s.base = context.WithValue(context.Background(), http.ServerContextKey, s.hs)

	var hsDone sync.WaitGroup
	hsDone.Go(func() { _ = s.hs.Serve(s.handoff) })

	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	var err error
	var backoff time.Duration
	for {
		nc, aerr := ln.Accept()
		if aerr != nil {
			if ctx.Err() == nil {
				if d, ok := acceptRetry(aerr, backoff); ok {
					backoff = d
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
					}
					continue
				}
				err = aerr
			}
			break
		}
		backoff = 0
		c := &http1Conn{s: s, nc: nc, raddr: nc.RemoteAddr().String(), laddr: nc.LocalAddr()}
		if !s.add(c) {
			_ = nc.Close()
			break
		}
		s.wg.Add(1)
		go c.serve()
	}
	stop()
	_ = ln.Close()

	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	close(s.handoff.done)
	if o.DrainTimeout > 0 {
		dctx, cancel := context.WithTimeout(context.Background(), o.DrainTimeout)
		_ = s.hs.Shutdown(dctx)
		cancel()
	}
	_ = s.hs.Close()
	hsDone.Wait()
	return err
}

// handoffHeaderTimeout is the ReadHeaderTimeout of the net/http server
// that takes handed-over connections (what siospec's servers set before).
const handoffHeaderTimeout = 10 * time.Second

// acceptRetry reports whether Accept's err is one a server outlives, as
// net/http's does (a timeout, out of file descriptors, a connection aborted
// before it was accepted), and how long to wait before the next Accept:
// twice the last wait, from 5 ms up to 1 s.
func acceptRetry(err error, last time.Duration) (time.Duration, bool) {
	var ne net.Error
	transient := errors.As(err, &ne) && ne.Timeout() ||
		errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS)
	if !transient {
		return 0, false
	}
	return min(max(2*last, 5*time.Millisecond), time.Second), true
}

// http1Server is one Serve call.
type http1Server struct {
	srv     *Server
	hs      *http.Server
	handoff *handoffListener
	base    context.Context

	mu     sync.Mutex
	conns  map[*http1Conn]struct{}
	closed bool
	// wg counts the goroutines that serve lean connections (a
	// connection's own goroutine and its watchers).
	wg sync.WaitGroup

	date atomic.Pointer[http1Date]
}

type http1Date struct {
	sec int64
	b   []byte
}

// dateValue returns the Date header value net/http would write now.
func (s *http1Server) dateValue() []byte {
	now := time.Now()
	sec := now.Unix()
	if d := s.date.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &http1Date{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	s.date.Store(d)
	return d.b
}

func (s *http1Server) add(c *http1Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *http1Server) remove(c *http1Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// handoffListener hands connections to the fallback net/http server.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error   { return nil }
func (l *handoffListener) Addr() net.Addr { return l.addr }

// prefixConn is a connection whose first reads return bytes already read.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

const (
	// http1BufSize is the read buffer of a lean connection: a request
	// head that does not fit is handed to net/http.
	http1BufSize = 4096
	// http1MaxBody is the largest body the lean path reads: net/http
	// closes the connection after a handler that leaves 256 KiB
	// (maxPostHandlerReadBytes) or more unread, which the lean path does
	// not imitate.
	http1MaxBody = 256<<10 - 1
	// http1SmallBuf is the buffer an idle connection (or the watcher of
	// a waiting GET) reads into.
	http1SmallBuf = 512
)

var http1Bufs = sync.Pool{New: func() any { b := make([]byte, http1BufSize); return &b }}

// http1Conn is a connection served by the lean path.
type http1Conn struct {
	s     *http1Server
	nc    net.Conn
	raddr string
	laddr net.Addr

	// buf[r:w] holds bytes read and not yet used; buf is taken from
	// http1Bufs while bytes are read and returned when empty.
	bufp *[]byte
	r, w int
	// bodyLeft is what the handler has not read of the request body.
	bodyLeft int64
	bodyErr  error
	// deadline: a handler set a read or write deadline (a session's
	// close may set one from another goroutine while a POST is read).
	deadline atomic.Bool
	werr     error
	hbuf     []byte // response head, reused
	small    *[http1SmallBuf]byte
	// tmpl, rh and resp are reused by every request of the connection:
	// the request handed to the handler is a copy of tmpl (the Server's
	// sessions keep theirs), the response's header map and writer are
	// done with once the response is written.
	tmpl http.Request
	rh   http.Header
	resp http1Response

	mu       sync.Mutex
	running  bool // a handler runs
	watching bool // a watcher goroutine waits for bytes or EOF
	watchErr error
}

// serve reads and answers requests until the connection closes or is
// handed to net/http. It runs on the connection's goroutine, which may be
// a former watcher.
func (c *http1Conn) serve() {
	defer c.s.wg.Done()
	for {
		if c.r == c.w {
			// An idle connection waits with a small buffer only.
			if c.readSmall() == 0 {
				c.close()
				return
			}
		}
		req, cl, ok, more := c.parse()
		if more {
			if err := c.fill(); err != nil || c.w == len(*c.bufp) && c.r == 0 {
				c.handOff()
				return
			}
			continue
		}
		if !ok {
			c.handOff()
			return
		}
		if !c.serveRequest(req, cl) {
			return
		}
	}
}

// fill reads once into the free part of the buffer, moving unread bytes to
// its start first.
func (c *http1Conn) fill() error {
	if c.bufp == nil {
		c.bufp = http1Bufs.Get().(*[]byte)
		c.r, c.w = 0, 0
	}
	buf := *c.bufp
	if c.r > 0 {
		c.w = copy(buf, buf[c.r:c.w])
		c.r = 0
	}
	if c.w == len(buf) {
		return nil
	}
	n, err := c.nc.Read(buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readSmall waits for the next bytes of an idle connection (nothing
// buffered) in the connection's small buffer, so that an idle connection
// holds no 4 KiB buffer, and moves them to a pooled buffer. It returns how
// many bytes came; 0 means the connection failed or closed.
func (c *http1Conn) readSmall() int {
	c.releaseBuf()
	if c.small == nil {
		c.small = new([http1SmallBuf]byte)
	}
	n, _ := c.nc.Read(c.small[:])
	if n > 0 {
		c.bufp = http1Bufs.Get().(*[]byte)
		c.r, c.w = 0, copy(*c.bufp, c.small[:n])
	}
	return n
}

func (c *http1Conn) releaseBuf() {
	if c.bufp != nil && c.r == c.w {
		http1Bufs.Put(c.bufp)
		c.bufp = nil
		c.r, c.w = 0, 0
	}
}

func (c *http1Conn) close() {
	_ = c.nc.Close()
	c.releaseBuf()
	c.s.remove(c)
}

// handOff gives the connection, with the bytes read and not used, to the
// fallback net/http server.
func (c *http1Conn) handOff() {
	var pre []byte
	if c.bufp != nil && c.r < c.w {
		pre = bytes.Clone((*c.bufp)[c.r:c.w])
	}
	c.r = c.w
	c.releaseBuf()
	c.s.remove(c)
	if c.deadline.Swap(false) {
		_ = c.nc.SetDeadline(time.Time{})
	}
	select {
	case c.s.handoff.ch <- &prefixConn{Conn: c.nc, pre: pre}:
	case <-c.s.handoff.done:
		_ = c.nc.Close()
	}
}

// parse parses the request head in buf[r:w]. more: the head is not
// complete yet; ok false: the request is for net/http.
func (c *http1Conn) parse() (req *http.Request, cl int64, ok, more bool) {
	data := (*c.bufp)[c.r:c.w]
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, 0, false, true
	}
	head := data[:end+2]
	// Only CRLF line ends: a lone CR or LF is net/http's to judge.
	if bytes.Count(head, []byte("\r")) != bytes.Count(head, []byte("\n")) {
		return nil, 0, false, false
	}
	line, rest, _ := bytes.Cut(head, []byte("\r\n"))
	method, line, ok1 := bytes.Cut(line, []byte(" "))
	uri, proto, ok2 := bytes.Cut(line, []byte(" "))
	if !ok1 || !ok2 || string(proto) != "HTTP/1.1" {
		return nil, 0, false, false
	}
	var m string
	switch string(method) {
	case http.MethodGet:
		m = http.MethodGet
	case http.MethodPost:
		m = http.MethodPost
	default:
		return nil, 0, false, false
	}
	if !bytes.HasPrefix(uri, []byte(c.s.srv.opts.Path)) || len(uri) == 0 || uri[0] != '/' {
		return nil, 0, false, false
	}
	for _, b := range uri {
		if b <= ' ' || b >= 0x7f {
			return nil, 0, false, false
		}
	}
	rawURI := string(uri)
	u, err := url.ParseRequestURI(rawURI)
	if err != nil {
		return nil, 0, false, false
	}
	n := bytes.Count(rest, []byte("\r\n"))
	h := make(http.Header, n)
	var host string
	hosts := 0
	cl = 0
	cls := 0
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		k, v, found := bytes.Cut(l, []byte(":"))
		if !found || len(k) == 0 {
			return nil, 0, false, false
		}
		for _, b := range k {
			if !isTokenByte(b) {
				return nil, 0, false, false
			}
		}
		v = bytes.Trim(v, " \t")
		for _, b := range v {
			if b != '\t' && (b < 0x20 || b == 0x7f) {
				return nil, 0, false, false
			}
		}
		key := textproto.CanonicalMIMEHeaderKey(string(k))
		switch key {
		case "Host":
			hosts++
			host = string(v)
			if !validHostValue(v) {
				return nil, 0, false, false
			}
			continue
		case "Content-Length":
			cls++
			if len(v) == 0 {
				return nil, 0, false, false
			}
			for _, b := range v {
				if b < '0' || b > '9' {
					return nil, 0, false, false
				}
			}
			x, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || x > http1MaxBody || (m == http.MethodGet && x != 0) {
				return nil, 0, false, false
			}
			cl = x
		case "Connection":
			if !asciiEqualFold(v, "keep-alive") {
				return nil, 0, false, false
			}
		case "Transfer-Encoding", "Expect", "Upgrade", "Pragma", "Trailer", "Te":
			return nil, 0, false, false
		}
		h[key] = append(h[key], string(v))
	}
	if hosts != 1 || cls > 1 {
		return nil, 0, false, false
	}
	if rem := len(data) - (end + 4); int64(rem) > cl {
		// Pipelined: net/http's.
		return nil, 0, false, false
	}
	c.r += end + 4
	req = &c.tmpl
	*req = http.Request{
		Method:        m,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          http.NoBody,
		ContentLength: cl,
		Host:          host,
		RemoteAddr:    c.raddr,
		RequestURI:    rawURI,
	}
	return req, cl, true, false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// isTokenByte reports whether b may appear in a header name (RFC 9110
// tchar).
func isTokenByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0
}

// validHostValue is a conservative subset of what net/http accepts as a
// Host: letters, digits and ".-_:[]"; anything else goes to net/http.
func validHostValue(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, b := range v {
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case b == '.' || b == '-' || b == '_' || b == ':' || b == '[' || b == ']':
		default:
			return false
		}
	}
	return true
}

// serveRequest runs the handler for req and writes its response; it
// reports whether this goroutine keeps serving the connection.
func (c *http1Conn) serveRequest(req *http.Request, cl int64) bool {
	x := &http1Ctx{base: c.s.base, laddr: c.laddr, c: c}
	c.bodyLeft = cl
	c.bodyErr = nil
	if cl > 0 {
		req.Body = &http1Body{c: c}
	}
	r := req.WithContext(x)
	if c.rh == nil {
		c.rh = make(http.Header, 4)
	} else {
		clear(c.rh)
	}
	w := &c.resp
	*w = http1Response{c: c, req: r, h: c.rh, cl: -1}
	c.mu.Lock()
	c.running = true
	c.mu.Unlock()

	aborted := c.runHandler(w, r)
	if !aborted {
		w.finish()
		// Before the connection may pass to a watcher: deadlines the
		// handler set end with its request.
		if c.deadline.Swap(false) {
			_ = c.nc.SetDeadline(time.Time{})
		}
	}
	x.mu.Lock()
	x.c = nil
	x.mu.Unlock()
	// Read before running turns false: from then on a watcher may own
	// the connection, its writer and its errors.
	closeAfter, writeErr := w.closeAfter, c.werr
	c.mu.Lock()
	c.running = false
	watching := c.watching
	werr := c.watchErr
	c.mu.Unlock()
	if aborted || closeAfter || writeErr != nil {
		if watching {
			_ = c.nc.Close()
			return false
		}
		if !aborted && writeErr == nil {
			if tc, ok := c.nc.(interface{ CloseWrite() error }); ok {
				_ = tc.CloseWrite()
			}
		}
		c.close()
		return false
	}
	if watching {
		// The watcher owns the connection from now on.
		return false
	}
	if werr != nil {
		c.close()
		return false
	}
	return true
}

// runHandler calls the handler; it reports whether the handler panicked
// (the connection is then closed without a response, as net/http does).
func (c *http1Conn) runHandler(w *http1Response, r *http.Request) (aborted bool) {
	defer func() {
		if p := recover(); p != nil {
			aborted = true
			if p != http.ErrAbortHandler {
				c.s.srv.log.Error("eioserver: panic serving request", "remote", c.raddr, "panic", fmt.Sprint(p))
			}
		}
	}()
	c.s.srv.ServeHTTP(w, r)
	return false
}

// http1Body is a request body of known length.
type http1Body struct{ c *http1Conn }

func (b *http1Body) Read(p []byte) (int, error) {
	c := b.c
	if c.bodyLeft == 0 {
		return 0, io.EOF
	}
	if c.bodyErr != nil {
		return 0, c.bodyErr
	}
	if int64(len(p)) > c.bodyLeft {
		p = p[:c.bodyLeft]
	}
	var n int
	if c.bufp != nil && c.r < c.w {
		n = copy(p, (*c.bufp)[c.r:c.w])
		c.r += n
	} else {
		var err error
		n, err = c.nc.Read(p)
		if n == 0 && err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			c.bodyErr = err
			return 0, err
		}
	}
	c.bodyLeft -= int64(n)
	if c.bodyLeft == 0 {
		return n, io.EOF
	}
	return n, nil
}

func (b *http1Body) Close() error { return nil }

// discardBody reads what the handler left of the body; it reports whether
// the connection can serve another request.
func (c *http1Conn) discardBody() bool {
	if c.bodyLeft == 0 {
		return true
	}
	if c.bodyErr != nil {
		return false
	}
	_, err := io.Copy(io.Discard, &http1Body{c: c})
	return err == nil
}

// http1Ctx is a request's context: cancelled when the client goes away
// while the handler waits (a watcher goroutine, started by the first
// call to Done, reads the connection).
type http1Ctx struct {
	base  context.Context
	laddr net.Addr
	c     *http1Conn // nil once the handler returned

	once sync.Once
	mu   sync.Mutex
	done chan struct{}
	err  error
}

func (x *http1Ctx) Deadline() (time.Time, bool) { return time.Time{}, false }

func (x *http1Ctx) Value(key any) any {
	if key == http.LocalAddrContextKey {
		return x.laddr
	}
	return x.base.Value(key)
}

func (x *http1Ctx) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

func (x *http1Ctx) Done() <-chan struct{} {
	x.once.Do(x.watch)
	return x.done
}

func (x *http1Ctx) cancel() {
	x.mu.Lock()
	if x.err == nil {
		x.err = context.Canceled
		close(x.done)
	}
	x.mu.Unlock()
}

// watch starts the watcher: only while a handler runs with no request
// bytes left to read (one request at a time), as net/http's background
// read does.
func (x *http1Ctx) watch() {
	x.done = make(chan struct{})
	x.mu.Lock()
	c := x.c
	x.mu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	if !c.running || c.watching || c.bodyLeft > 0 || (c.bufp != nil && c.r < c.w) {
		c.mu.Unlock()
		return
	}
	c.watching = true
	c.mu.Unlock()
	c.s.wg.Add(1)
	go c.watchLoop(x)
}

// watchLoop waits for the connection's next bytes. If the handler still
// runs, it records what came (bytes, or the error that cancels the
// request) and ends; if the handler has returned, it serves the
// connection from now on.
func (c *http1Conn) watchLoop(x *http1Ctx) {
	// A waiting GET holds no read buffer of 4 KiB either.
	n := c.readSmall()
	c.mu.Lock()
	c.watching = false
	if c.running {
		if n == 0 {
			c.watchErr = io.ErrUnexpectedEOF
			x.cancel()
		}
		c.mu.Unlock()
		c.s.wg.Done()
		return
	}
	c.mu.Unlock()
	if n == 0 {
		c.close()
		c.s.wg.Done()
		return
	}
	c.serve()
}

// http1Response writes a response as net/http's HTTP/1.1 server would
// for a keep-alive request.
type http1Response struct {
	c           *http1Conn
	req         *http.Request
	h           http.Header
	status      int
	wroteHeader bool // WriteHeader called
	sentHeader  bool // the head is on the wire
	cl          int64
	written     int64
	body        []byte // written before the head went out
	bodyp       *[]byte
	closeAfter  bool
	done        bool
}

func (w *http1Response) Header() http.Header { return w.h }

func (w *http1Response) WriteHeader(code int) {
	if w.wroteHeader || code < 100 || code > 999 {
		return
	}
	w.wroteHeader = true
	w.status = code
	if v := w.h.Get("Content-Length"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil && n >= 0 {
			w.cl = n
		} else {
			w.h.Del("Content-Length")
		}
	}
	// net/http clones the map here, so that later changes do not show;
	// the Server makes none after WriteHeader, and the clone was 4 % of
	// the lean path's CPU.
}

func (w *http1Response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(len(p))
	if w.cl != -1 && w.written > w.cl {
		return 0, http.ErrContentLength
	}
	if w.c.werr != nil {
		return 0, w.c.werr
	}
	if w.sentHeader {
		return w.c.write(p)
	}
	if w.cl == -1 || len(w.body)+len(p) <= http1BufSize-512 {
		// As net/http's buffers would, a small response stays here
		// until the handler returns: a client cannot see it (and send
		// its next request) before the handler's last step.
		if w.bodyp == nil {
			w.bodyp = http1Bufs.Get().(*[]byte)
			w.body = (*w.bodyp)[:0]
		}
		w.body = append(w.body, p...)
		return len(p), nil
	}
	if len(w.body) > 0 {
		hd := w.head(w.body)
		if err := w.c.write2(hd, w.body); err != nil {
			return 0, err
		}
		return w.c.write(p)
	}
	// A large body: the head and the body go out now, in one write.
	hd := w.head(p)
	if err := w.c.write2(hd, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *http1Response) SetReadDeadline(t time.Time) error {
	w.c.deadline.Store(true)
	return w.c.nc.SetReadDeadline(t)
}

func (w *http1Response) SetWriteDeadline(t time.Time) error {
	w.c.deadline.Store(true)
	return w.c.nc.SetWriteDeadline(t)
}

// finish ends the response after the handler returned.
func (w *http1Response) finish() {
	w.done = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sentHeader {
		hd := w.head(w.body)
		_ = w.c.write2(hd, w.body)
	}
	if w.bodyp != nil {
		if cap(w.body) == http1BufSize {
			http1Bufs.Put(w.bodyp)
		}
		w.bodyp, w.body = nil, nil
	}
	if w.cl != -1 && bodyAllowedForStatus(w.status) && w.cl != w.written {
		w.closeAfter = true
	}
}

// head builds the status line and header fields as net/http's
// chunkWriter.writeHeader does for an HTTP/1.1 keep-alive request; p is
// the start of the body.
func (w *http1Response) head(p []byte) []byte {
	w.sentHeader = true
	h := w.h
	var exclude map[string]bool
	var clen []byte
	var ctype, conn string
	if w.done && bodyAllowedForStatus(w.status) && !has(h, "Content-Length") && !has(h, "Transfer-Encoding") {
		w.cl = int64(len(p))
		clen = strconv.AppendInt(nil, int64(len(p)), 10)
	}
	if h.Get("Connection") == "close" {
		w.closeAfter = true
	}
	if w.req.ContentLength != 0 && !w.closeAfter {
		if !w.c.discardBody() {
			w.closeAfter = true
		}
	}
	if bodyAllowedForStatus(w.status) {
		if _, ok := h["Content-Type"]; !ok && h.Get("Content-Encoding") == "" && !has(h, "Transfer-Encoding") && len(p) > 0 {
			ctype = http.DetectContentType(p)
		}
	} else {
		exclude = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}
	}
	if w.closeAfter && !hasCloseToken(h.Get("Connection")) {
		if exclude == nil {
			exclude = map[string]bool{}
		}
		exclude["Connection"] = true
		conn = "close"
	}
	b := w.c.hbuf[:0]
	b = append(b, "HTTP/1.1 "...)
	if text := http.StatusText(w.status); text != "" {
		b = strconv.AppendInt(b, int64(w.status), 10)
		b = append(b, ' ')
		b = append(b, text...)
		b = append(b, "\r\n"...)
	} else {
		b = fmt.Appendf(b, "%03d status code %d\r\n", w.status, w.status)
	}
	buf := bytes.NewBuffer(b)
	_ = h.WriteSubset(buf, exclude)
	b = buf.Bytes()
	if !has(h, "Date") {
		b = append(b, "Date: "...)
		b = append(b, w.c.s.dateValue()...)
		b = append(b, "\r\n"...)
	}
	if clen != nil {
		b = append(b, "Content-Length: "...)
		b = append(b, clen...)
		b = append(b, "\r\n"...)
	}
	if ctype != "" {
		b = append(b, "Content-Type: "...)
		b = append(b, ctype...)
		b = append(b, "\r\n"...)
	}
	if conn != "" {
		b = append(b, "Connection: "...)
		b = append(b, conn...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	if cap(b) <= 1024 {
		w.c.hbuf = b
	}
	return b
}

// has is net/http's Header.has: the key is present, whatever its values.
func has(h http.Header, key string) bool {
	_, ok := h[key]
	return ok
}

func hasCloseToken(v string) bool {
	for f := range bytes.SplitSeq([]byte(v), []byte(",")) {
		if asciiEqualFold(bytes.TrimSpace(f), "close") {
			return true
		}
	}
	return false
}

// bodyAllowedForStatus is net/http's rule: no body for 1xx, 204 and 304.
func bodyAllowedForStatus(status int) bool {
	switch {
	case status >= 100 && status <= 199:
		return false
	case status == 204, status == 304:
		return false
	}
	return true
}

func (c *http1Conn) write(p []byte) (int, error) {
	if c.werr != nil {
		return 0, c.werr
	}
	n, err := c.nc.Write(p)
	if err != nil {
		c.werr = err
	}
	return n, err
}

// write2 writes a and b with one system call where the connection allows.
func (c *http1Conn) write2(a, b []byte) error {
	if c.werr != nil {
		return c.werr
	}
	var err error
	if len(b) == 0 {
		_, err = c.nc.Write(a)
	} else if len(a)+len(b) <= http1BufSize {
		// A small response: a copy and a plain write cost less than
		// writev.
		bp := http1Bufs.Get().(*[]byte)
		buf := append(append((*bp)[:0], a...), b...)
		_, err = c.nc.Write(buf)
		http1Bufs.Put(bp)
	} else {
		bufs := net.Buffers{a, b}
		_, err = bufs.WriteTo(c.nc)
	}
	if err != nil {
		c.werr = err
	}
	return err
}
