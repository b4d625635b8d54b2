package scripted

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// Recorder receives the wire events of a Server. *framework.Recorder
// implements it; the kinds and directions are framework's Kind*/Dir*
// constants (http-request, http-response, ws-open, ws-frame, ws-close,
// eio-packet, tcp-close, note; c2s, s2c, local).
type Recorder interface {
	NewConn() int
	Add(conn int, dir, kind, summary string, data []byte)
	Note(summary string)
}

// Directions and kinds of recorded events (framework's values).
const (
	dirC2S   = "c2s"
	dirS2C   = "s2c"
	dirLocal = "local"

	kindHTTPRequest  = "http-request"
	kindHTTPResponse = "http-response"
	kindWSOpen       = "ws-open"
	kindWSFrame      = "ws-frame"
	kindWSClose      = "ws-close"
	kindEIOPacket    = "eio-packet"
	kindTCPClose     = "tcp-close"
	kindWSControl    = "ws-control"
)

// UpgradeMode says how the server answers a WebSocket upgrade of a polling
// session (a GET with transport=websocket and a sid).
type UpgradeMode int

const (
	// UpgradeAccept answers 101 and the probe (2probe → 3probe), then
	// switches the session to the WebSocket on 5 (default).
	UpgradeAccept UpgradeMode = iota
	// UpgradeRefuse answers the upgrade request with Options.UpgradeStatus
	// (default 400) and an Engine.IO error body; the polling session stays.
	UpgradeRefuse
	// UpgradeStrip answers the upgrade request as if a proxy had removed
	// the Upgrade header: a plain HTTP 400 "Bad request" with no 101.
	UpgradeStrip
	// UpgradeStall answers 101 and then never writes or reads a frame.
	UpgradeStall
	// UpgradeNoProbe answers 101, reads 2probe and never answers it.
	UpgradeNoProbe
)

// String names the mode as the Go constant does.
func (m UpgradeMode) String() string {
	switch m {
	case UpgradeAccept:
		return "UpgradeAccept"
	case UpgradeRefuse:
		return "UpgradeRefuse"
	case UpgradeStrip:
		return "UpgradeStrip"
	case UpgradeStall:
		return "UpgradeStall"
	case UpgradeNoProbe:
		return "UpgradeNoProbe"
	}
	return "UpgradeMode(" + strconv.Itoa(int(m)) + ")"
}

// Options configure a Server. Nil means defaults.
type Options struct {
	// EIO is the Engine.IO revision: 4 (default) or 3.
	EIO int
	// Path is the endpoint path, default "/engine.io/"; "/socket.io/" for
	// the Socket.IO suites. The path without its trailing slash is served
	// too.
	Path string
	// PingInterval and PingTimeout are advertised in the open packet and
	// drive the heartbeat (v4: the server pings every PingInterval and
	// closes a session whose pong is PingTimeout late; v3: the server
	// answers pings and closes a session with no ping for
	// PingInterval+PingTimeout). Defaults 300 ms and 200 ms.
	PingInterval, PingTimeout time.Duration
	// MaxPayload is advertised (v4) and enforced on POST bodies (413 above
	// it). Default 1e6.
	MaxPayload int
	// Upgrades is advertised in the open packet; nil means ["websocket"]
	// for a polling handshake and [] for a WebSocket handshake, an empty
	// non-nil slice advertises none. A non-nil slice is advertised on both.
	Upgrades []string
	// Open, when set, edits the open packet of every handshake before it
	// is sent (extra keys are not possible through OpenPacket: use
	// OpenJSON). The session is registered under the SID it leaves.
	Open func(*engineio.OpenPacket)
	// OpenJSON, when set, replaces the JSON of the open packet: it gets
	// the JSON the server would send and returns what to send instead
	// (e.g. with an unknown key added).
	OpenJSON func(sid string, json []byte) []byte
	// Upgrade and UpgradeStatus say how upgrades are answered.
	Upgrade       UpgradeMode
	UpgradeStatus int
	// PollDuringUpgrade makes polling keep carrying queued packets while an
	// upgrade is pending (the probe answered, 5 not yet received), and
	// answers a GET with nothing to carry with a noop after 100 ms, as
	// Node's server does; by default every GET during the upgrade gets a
	// noop at once.
	PollDuringUpgrade bool
	// NoPings: the server never pings (v4) / never answers pings (v3).
	NoPings bool
	// Recorder receives every wire event; nil records nothing.
	Recorder Recorder
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.EIO == 0 {
		c.EIO = 4
	}
	if c.Path == "" {
		c.Path = "/engine.io/"
	}
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 300 * time.Millisecond
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 200 * time.Millisecond
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = engineio.DefaultMaxPayload
	}
	if c.UpgradeStatus == 0 {
		c.UpgradeStatus = http.StatusBadRequest
	}
	if c.Recorder == nil {
		c.Recorder = &nopRecorder{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// nopRecorder numbers connections and drops events.
type nopRecorder struct {
	mu sync.Mutex
	n  int
}

func (r *nopRecorder) NewConn() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	return r.n
}
func (r *nopRecorder) Add(int, string, string, string, []byte) {}
func (r *nopRecorder) Note(string)                             {}

// maxBody caps the request bodies kept in Requests.
const maxBody = 1 << 20

// Server is a scripted Engine.IO server on 127.0.0.1 (port chosen at
// Start, kept across Stop/Restart).
type Server struct {
	opts    Options
	version engineio.Version
	rec     Recorder
	log     *slog.Logger
	addr    string

	// mu guards everything below and the mutable state of every Session.
	mu       sync.Mutex
	closed   bool
	stopped  bool
	hs       *http.Server
	gen      chan struct{} // closed at Stop: wakes this generation's handlers
	sessions map[string]*Session
	newQ     []*Session
	changed  chan struct{} // closed and replaced when newQ grows or the server stops
	requests []*Request
	conns    map[net.Conn]int // open, not hijacked connections
	hijacked map[net.Conn]int // WebSocket connections
	connGone chan struct{}    // closed and replaced when conns shrinks
	wg       sync.WaitGroup   // Serve loops, handlers, session goroutines, ws writers
}

type ctxKey struct{}

// Start listens on 127.0.0.1:0 and serves until Close.
func Start(ctx context.Context, opts *Options) (*Server, error) {
	o := opts.withDefaults()
	if o.EIO != 3 && o.EIO != 4 {
		return nil, fmt.Errorf("scripted: unsupported EIO %d", o.EIO)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("scripted: listen: %w", err)
	}
	s := &Server{
		opts:     o,
		version:  engineio.Version(o.EIO),
		rec:      o.Recorder,
		log:      o.Logger,
		addr:     ln.Addr().String(),
		sessions: make(map[string]*Session),
		changed:  make(chan struct{}),
		conns:    make(map[net.Conn]int),
		hijacked: make(map[net.Conn]int),
		connGone: make(chan struct{}),
	}
	s.serve(ln)
	return s, nil
}

// serve starts a new generation on ln. The caller must not hold s.mu.
func (s *Server) serve(ln net.Listener) {
	hs := &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			id := s.rec.NewConn()
			s.mu.Lock()
			s.conns[c] = id
			s.mu.Unlock()
			return context.WithValue(ctx, ctxKey{}, id)
		},
		ConnState: s.connState,
	}
	s.mu.Lock()
	s.hs = hs
	s.gen = make(chan struct{})
	s.stopped = false
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		_ = hs.Serve(ln)
	}()
}

func (s *Server) connState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateHijacked:
		s.mu.Lock()
		if id, ok := s.conns[c]; ok {
			delete(s.conns, c)
			s.hijacked[c] = id
			s.connGoneLocked()
		}
		s.mu.Unlock()
	case http.StateClosed:
		s.mu.Lock()
		id, ok := s.conns[c]
		delete(s.conns, c)
		if ok {
			s.connGoneLocked()
		}
		s.mu.Unlock()
		if ok {
			s.rec.Add(id, dirLocal, kindTCPClose, "connection closed", nil)
		}
	}
}

func (s *Server) connGoneLocked() {
	close(s.connGone)
	s.connGone = make(chan struct{})
}

// URL is the base URL with the path, e.g. http://127.0.0.1:41234/engine.io/.
func (s *Server) URL() string { return "http://" + s.addr + s.opts.Path }

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// NextSession returns the next session a client opened by handshake (in
// handshake order), waiting until ctx ends. A rejected handshake is not a
// session.
func (s *Server) NextSession(ctx context.Context) (*Session, error) {
	for {
		s.mu.Lock()
		if len(s.newQ) > 0 {
			ss := s.newQ[0]
			s.newQ = s.newQ[1:]
			s.mu.Unlock()
			return ss, nil
		}
		if s.closed {
			s.mu.Unlock()
			return nil, ErrServerClosed
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("scripted: wait for a session: %w", ctx.Err())
		}
	}
}

// Requests returns every HTTP request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
	}
	return out
}

// Stop closes the listener and every connection at once, like a crashed
// server: pending requests are aborted, WebSockets are closed without a
// close frame. Sessions end with reason "server stopped".
func (s *Server) Stop() error {
	s.mu.Lock()
	if s.stopped || s.closed {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	hs := s.hs
	hij := make(map[net.Conn]int, len(s.hijacked))
	for c, id := range s.hijacked {
		hij[c] = id
	}
	s.mu.Unlock()

	err := hs.Close()
	for c := range hij {
		_ = c.Close()
	}
	s.rec.Note("server stopped (listener and connections closed)")

	s.mu.Lock()
	close(s.gen)
	for sid, ss := range s.sessions {
		ss.endLocked("server stopped", endAbort)
		delete(s.sessions, sid)
	}
	s.signalLocked()
	s.mu.Unlock()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Restart listens again on the same port after Stop (new sessions only;
// old sids are unknown). It retries the bind for up to 2 s.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if !s.stopped {
		s.mu.Unlock()
		return errors.New("scripted: restart: server is running")
	}
	s.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	var lc net.ListenConfig
	for {
		ln, err := lc.Listen(ctx, "tcp", s.addr)
		if err == nil {
			s.rec.Note("server restarted on " + s.addr)
			s.serve(ln)
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("scripted: restart on %s: %w", s.addr, err)
		}
		t := time.NewTimer(20 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// Close stops the server and waits for every goroutine it started.
func (s *Server) Close() error {
	err := s.Stop()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.signalLocked()
	s.mu.Unlock()
	s.wg.Wait()
	// net/http reports closed connections from its own goroutines; give
	// them a bounded moment so that nothing is recorded after Close.
	deadline := time.NewTimer(2 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		n, ch := len(s.conns), s.connGone
		s.mu.Unlock()
		if n == 0 {
			return err
		}
		select {
		case <-ch:
		case <-deadline.C:
			return err
		}
	}
}

func (s *Server) signalLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// newSID returns a random session id of 20 URL-safe characters.
func newSID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// connID returns the connection ordinal of r.
func connID(r *http.Request) int {
	id, _ := r.Context().Value(ctxKey{}).(int)
	return id
}

// serveHTTP is the server's handler.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed || s.stopped {
		s.mu.Unlock()
		s.abort(w)
		return
	}
	s.wg.Add(1)
	gen := s.gen
	s.mu.Unlock()
	defer s.wg.Done()

	req := &Request{
		Conn:      connID(r),
		Method:    r.Method,
		URL:       r.URL.RequestURI(),
		Query:     r.URL.Query(),
		Header:    r.Header.Clone(),
		Started:   time.Now(),
		Upgrade:   isWebSocketUpgrade(r),
		SID:       r.URL.Query().Get("sid"),
		Transport: r.URL.Query().Get("transport"),
	}
	var tooLarge bool
	if r.Method == http.MethodPost {
		limit := int64(max(s.opts.MaxPayload, maxBody))
		b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			s.addRequest(req)
			s.rec.Add(req.Conn, dirLocal, kindTCPClose, "body read failed: "+err.Error(), nil)
			s.finish(req, 0)
			return
		}
		tooLarge = len(b) > s.opts.MaxPayload
		if len(b) > maxBody {
			b = b[:maxBody]
		}
		req.Body = b
	}
	s.addRequest(req)
	sum := r.Method + " " + req.URL
	if ct := r.Header.Get("Content-Type"); ct != "" {
		sum += " content-type=" + ct
	}
	if up := r.Header.Get("Upgrade"); up != "" {
		sum += " upgrade=" + up
	}
	s.rec.Add(req.Conn, dirC2S, kindHTTPRequest, sum, req.Body)

	h := &handler{s: s, w: w, r: r, req: req, gen: gen, tooLarge: tooLarge}
	h.route()
}

func (s *Server) addRequest(req *Request) {
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
}

// finish records the answer to req.
func (s *Server) finish(req *Request, status int) {
	s.mu.Lock()
	req.Status = status
	req.Finished = time.Now()
	s.mu.Unlock()
}

// abort drops the connection of w without an answer.
func (s *Server) abort(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// net/http's own way to drop a connection without an answer.
		panic(http.ErrAbortHandler)
	}
	_ = c.Close()
	s.mu.Lock()
	delete(s.hijacked, c)
	s.mu.Unlock()
}

func isWebSocketUpgrade(r *http.Request) bool {
	return headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
