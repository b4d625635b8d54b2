package eioserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// Server is an Engine.IO server: an [http.Handler] serving HTTP long-polling
// and WebSocket sessions under Options.Path. Create it with [NewServer] and
// stop it with [Server.Close].
type Server struct {
	opts     Options
	log      *slog.Logger
	clock    Clock
	upgrader websocket.Upgrader
	// bufs holds *[]byte frame buffers of WebSocket readers and writers.
	bufs sync.Pool
	// evBufs and pktBufs recycle the arrays behind sessions' event
	// queues and polling send queues (*[]event, *[]engineio.Packet),
	// which would otherwise grow from nil on every POST and every GET.
	evBufs  sync.Pool
	pktBufs sync.Pool

	mu       sync.Mutex
	sessions map[string]*Session
	closed   bool
	// wg counts every goroutine running server code: ServeHTTP calls,
	// WebSocket writers and timer callbacks.
	wg sync.WaitGroup
}

// NewServer returns a server configured by opts (nil means Node's
// defaults); opts is copied.
func NewServer(opts *Options) *Server {
	o := opts.withDefaults()
	srv := &Server{
		opts:     o,
		log:      o.Logger,
		clock:    o.Clock,
		sessions: make(map[string]*Session),
	}
	srv.upgrader = websocket.Upgrader{
		// Node's ws server checks no Origin; CORS is the only origin
		// policy and it does not apply to WebSockets.
		CheckOrigin:       func(*http.Request) bool { return true },
		EnableCompression: o.PerMessageDeflate,
		// An idle WebSocket holds no write buffer: gorilla takes one
		// from the pool for each message and returns it.
		WriteBufferPool: &sync.Pool{},
		// A small read buffer (gorilla's default, 4 KiB, was a third of
		// an idle session's memory): while messages arrive, batchConn
		// reads ahead into a pooled buffer, so the buffer's size
		// decides how many frame headers one fill covers, not how many
		// read system calls there are; payloads larger than it are read
		// directly into the message buffer.
		ReadBufferSize: wsReadBufferSize,
	}
	return srv
}

// wsReadBufferSize is the size of gorilla's read buffer of each
// WebSocket; it must hold a control frame (125 bytes of payload).
const wsReadBufferSize = 512

// maxPooledBuf is the largest buffer returned to srv.bufs.
const maxPooledBuf = 64 << 10

func (srv *Server) getBuf() *[]byte {
	if bp, ok := srv.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 512)
	return &b
}

func (srv *Server) putBuf(bp *[]byte) {
	if cap(*bp) <= maxPooledBuf {
		*bp = (*bp)[:0]
		srv.bufs.Put(bp)
	}
}

// enter registers a goroutine about to run server code; it fails once the
// server is closed.
func (srv *Server) enter() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed {
		return false
	}
	srv.wg.Add(1)
	return true
}

func (srv *Server) exit() { srv.wg.Done() }

// Close closes every session with reason "server shutting down" and waits,
// bounded by ctx, until every goroutine running server code has returned
// (handlers, WebSocket readers and writers, timer callbacks); WebSockets
// get up to a second to answer the close frame, and one whose writes are
// blocked (a peer that stopped reading) is cut after that second. If ctx ends first, Close
// returns ctx.Err() and the rest finishes in the background. Requests
// arriving afterwards get 503. Close is idempotent; a second call waits
// again.
func (srv *Server) Close(ctx context.Context) error {
	srv.mu.Lock()
	already := srv.closed
	srv.closed = true
	var all []*Session
	if !already {
		all = make([]*Session, 0, len(srv.sessions))
		for _, s := range srv.sessions {
			all = append(all, s)
		}
	}
	srv.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		// A write blocked on a peer that stopped reading would hold
		// Close for the whole write timeout (pingInterval+pingTimeout):
		// such a connection gets the close frame's grace, then is cut.
		for _, t := range []transport{s.transport, s.probe} {
			if ws, ok := t.(*wsTransport); ok && ws != nil {
				ws.cutAfter(wsCloseGrace)
			}
		}
		s.closeLocked(ReasonServerShutdown, nil)
		s.mu.Unlock()
		s.runEvents()
	}
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SessionCount returns the number of open sessions.
func (srv *Server) SessionCount() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions)
}

func (srv *Server) lookup(sid string) *Session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.sessions[sid]
}

// register adds s to the session table; it fails once the server is closed.
func (srv *Server) register(s *Session) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed {
		return false
	}
	srv.sessions[s.id] = s
	return true
}

func (srv *Server) remove(s *Session) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
}

// newID returns a session id as Node makes them: 15 random bytes in
// URL-safe base64, 20 characters (EIO-HS-05).
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// isUpgrade reports whether r asks for a protocol upgrade (what makes Node
// emit "upgrade" instead of "request").
func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// ServeHTTP handles one Engine.IO request.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	if !strings.HasPrefix(uri, srv.opts.Path) {
		http.NotFound(w, r)
		return
	}
	if !srv.enter() {
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	defer srv.exit()

	q, _ := url.ParseQuery(r.URL.RawQuery)
	upgrade := isUpgrade(r) && srv.opts.hasTransport(TransportWebSocket)
	header := w.Header()
	if upgrade {
		header = http.Header{}
	}
	if srv.opts.CORS != nil && applyCORS(srv.opts.CORS, header, r, !upgrade) {
		header.Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return
	}

	s, herr := srv.verify(r, q, upgrade)
	if herr != nil {
		srv.log.Debug("request rejected", "code", int(herr.Code), "method", r.Method, "url", r.URL.String())
		if upgrade {
			abortUpgrade(w, herr.Message)
		} else {
			writeError(w, herr)
		}
		return
	}
	if upgrade {
		srv.serveWebSocket(w, r, q, s, header)
		return
	}
	if s != nil {
		s.servePolling(w, r)
		return
	}
	srv.handshakePolling(w, r, q)
}

// verify runs Node's request checks in Node's order (EIO-ERR-03) and
// returns the session a request with sid belongs to.
func (srv *Server) verify(r *http.Request, q url.Values, upgrade bool) (*Session, *engineio.HTTPError) {
	transport, _ := lastValue(q, "transport")
	if !srv.opts.hasTransport(transport) {
		return nil, engineio.NewHTTPError(engineio.CodeTransportUnknown)
	}
	if origin, ok := r.Header["Origin"]; ok && len(origin) > 0 && !validHeaderValue(origin[0]) {
		return nil, engineio.NewHTTPError(engineio.CodeBadRequest)
	}
	if sid, _ := lastValue(q, "sid"); sid != "" {
		s := srv.lookup(sid)
		if s == nil {
			return nil, engineio.NewHTTPError(engineio.CodeUnknownSID)
		}
		if !upgrade && s.Transport() != transport {
			return nil, engineio.NewHTTPError(engineio.CodeBadRequest)
		}
		if protocolOf(q) != s.version {
			return nil, engineio.NewHTTPError(engineio.CodeBadRequest)
		}
		return s, nil
	}
	if r.Method != http.MethodGet {
		return nil, engineio.NewHTTPError(engineio.CodeBadHandshakeMethod)
	}
	if transport == TransportWebSocket && !upgrade {
		return nil, engineio.NewHTTPError(engineio.CodeBadRequest)
	}
	if srv.opts.AllowRequest != nil {
		if err := srv.opts.AllowRequest(r); err != nil {
			return nil, &engineio.HTTPError{Code: engineio.CodeForbidden, Message: err.Error()}
		}
	}
	return nil, nil
}

// handshakePolling opens a polling session (EIO-HS-01).
func (srv *Server) handshakePolling(w http.ResponseWriter, r *http.Request, q url.Values) {
	v := protocolOf(q)
	if v == engineio.V3 && !srv.opts.AllowEIO3 {
		writeError(w, engineio.NewHTTPError(engineio.CodeUnsupportedProtocolVersion))
		return
	}
	b64, _ := lastValue(q, "b64")
	s := newSession(srv, v, r)
	t := &pollingTransport{s: s, supportsBinary: b64 == ""}
	if j, ok := lastValue(q, "j"); ok {
		// EIO-URL-09: JSONP, whatever the protocol version; the callback
		// index is fixed at the handshake, non-digits dropped.
		t.jsonpHead = "___eio[" + strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, j) + "]("
	}
	s.transport = t
	if !srv.register(s) {
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	// The handshake GET is parked before the open packet is queued, so the
	// response carries the open packet alone; whatever OnSession sends
	// waits for the next GET (EIO-HS-06).
	s.mu.Lock()
	if s.state == stateClosed {
		// Server.Close closed it right after register: nothing would
		// ever answer the parked GET.
		s.mu.Unlock()
		http.Error(w, "server closed", http.StatusServiceUnavailable)
		return
	}
	g := t.park()
	s.startLocked()
	s.mu.Unlock()
	srv.log.Debug("session open", "sid", s.id, "transport", TransportPolling, "eio", int(v))
	if srv.opts.OnSession != nil {
		srv.opts.OnSession(s)
	}
	s.runEvents()
	t.waitAndRespond(w, r, g, true)
}
