package faultproxy

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Version is reported by GET /version.
const Version = "siospec-faultproxy/0.1"

// APIOptions configures an [API]. The zero value (or nil) is valid.
type APIOptions struct {
	// Seed is the root seed; each proxy created through the API is seeded
	// with a value derived from (Seed, proxy name). Default 0.
	Seed int64
	// Logger is passed to the proxies the API creates. nil discards.
	Logger *slog.Logger
	// OnDecision, if set, receives every decision of every proxy the API
	// creates, with the proxy's name. Same rules as [Options.OnDecision].
	OnDecision func(proxy string, d Decision)
}

// API is the HTTP control API: an http.Handler managing named proxies.
// Its byte-stream subset is compatible with Toxiproxy's routes and JSON
// (so Toxiproxy clients work unchanged):
//
//	GET  /version                            {"version": "..."} (as Toxiproxy 2.6+)
//	POST /reset                              re-enable every proxy, remove every toxic
//	GET  /proxies                            {"name": proxy, ...}
//	POST /proxies                            create {"name","listen","upstream","enabled"}
//	POST /populate                           create or replace a list of proxies
//	GET|POST|PATCH|DELETE /proxies/{name}
//	GET|POST /proxies/{name}/toxics
//	GET|POST|PATCH|DELETE /proxies/{name}/toxics/{toxic}
//
// (api_toxiproxy.go). POST or PATCH /proxies/{name} with a new listen or
// upstream moves the proxy in place ([Proxy.Update]), also one registered
// with [API.AddProxy]. siospec's own routes (api_siospec.go):
//
//	GET  /siospec/faults                     the fault-type catalogue
//	GET  /siospec/proxies/{name}/decisions   {"decisions": [...], "dropped": n}
//	GET  /siospec/proxies/{name}/conns       open connections and their tags
//	GET|POST /siospec/proxies/{name}/seed    {"seed": n}; POST reseeds (see Proxy.Reseed)
//	GET  /siospec/profiles                   the profile catalogue (see Profiles)
//	POST /siospec/proxies/{name}/profiles/{profile}    apply a profile; optional body:
//	                                         ProfileOptions JSON (see ParseProfileOptions);
//	                                         its faults become toxics named "<profile>.<type>"
//	DELETE /siospec/proxies/{name}/profiles/{profile}  remove those toxics
//
// Errors are {"error": message, "status": code}; invalid input is a 400
// whose message names the offending field or attribute.
type API struct {
	opts APIOptions
	mux  *http.ServeMux

	mu      sync.Mutex
	closed  bool
	proxies map[string]*apiProxy
}

type apiProxy struct {
	name   string
	p      *Proxy
	owned  bool
	toxics []*apiToxic
}

type apiToxic struct {
	t Toxic
	h *Handle
}

// NewAPI returns an API with no proxies.
func NewAPI(opts *APIOptions) *API {
	var o APIOptions
	if opts != nil {
		o = *opts
	}
	a := &API{opts: o, proxies: map[string]*apiProxy{}, mux: http.NewServeMux()}
	a.toxiproxyRoutes(a.mux)
	a.siospecRoutes(a.mux)
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// AddProxy registers an already started proxy under name. The API manages
// its toxics and updates it in place (POST /proxies/{name} with a new
// "listen" or "upstream" calls [Proxy.Update]) but never closes it:
// DELETE /proxies/{name} only unregisters it and removes its toxics.
func (a *API) AddProxy(name string, p *Proxy) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	if _, ok := a.proxies[name]; ok {
		return fmt.Errorf("%w: proxy %q", ErrDuplicateName, name)
	}
	a.proxies[name] = &apiProxy{name: name, p: p}
	return nil
}

// AddToxic adds a parsed toxic to the named proxy, as POST
// /proxies/{name}/toxics does.
func (a *API) AddToxic(proxy string, t Toxic) error {
	body, err := json.Marshal(t)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ap, ok := a.proxies[proxy]
	if !ok {
		return fmt.Errorf("%w: proxy %q", ErrNotFound, proxy)
	}
	_, err = a.addToxicLocked(ap, body)
	return err
}

// Close closes every proxy the API created. Idempotent.
func (a *API) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	var ps []*Proxy
	for _, ap := range a.proxies {
		if ap.owned {
			ps = append(ps, ap.p)
		}
	}
	a.mu.Unlock()
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// apiError is the JSON error body.
type apiError struct {
	Message string `json:"error"`
	Status  int    `json:"status"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Message: msg, Status: status})
}

// statusOf maps an error to an HTTP status.
func statusOf(err error) int {
	var fe *FieldError
	switch {
	case errors.As(err, &fe), errors.Is(err, ErrUnknownFault):
		return http.StatusBadRequest
	case errors.Is(err, ErrDuplicateName):
		return http.StatusConflict
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 1<<20))
}

func (ap *apiProxy) json() proxyJSON {
	ts := make([]Toxic, 0, len(ap.toxics))
	for _, t := range ap.toxics {
		ts = append(ts, t.t)
	}
	return proxyJSON{Name: ap.name, Listen: ap.p.Addr(), Upstream: ap.p.Upstream(), Enabled: ap.p.Enabled(), Toxics: ts}
}

// get looks up a proxy; on failure it writes a 404 and returns nil. a.mu held.
func (a *API) get(w http.ResponseWriter, r *http.Request) *apiProxy {
	name := r.PathValue("proxy")
	ap, ok := a.proxies[name]
	if !ok {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("proxy not found: %q", name))
		return nil
	}
	return ap
}

// proxySeed derives a proxy's seed from the root seed and its name.
func proxySeed(root int64, name string) int64 {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(root))
	h.Write(b[:])
	h.Write([]byte(name))
	return int64(binary.LittleEndian.Uint64(h.Sum(nil)))
}

// startProxyLocked creates and starts a proxy. a.mu held.
func (a *API) startProxyLocked(name, listen, upstream string, seed int64) (*Proxy, error) {
	opts := &Options{Listen: listen, Seed: seed, Logger: a.opts.Logger}
	if cb := a.opts.OnDecision; cb != nil {
		opts.OnDecision = func(d Decision) { cb(name, d) }
	}
	p, err := New(upstream, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on values built by this package
	}
	return b
}

// APIServer serves an http.Handler (normally an [API]) on a TCP address.
type APIServer struct {
	h    http.Handler
	addr string
	srv  *http.Server
	ln   net.Listener
	mu   sync.Mutex
	done chan struct{}
}

// NewAPIServer returns a server for h on addr; "" means "127.0.0.1:8474"
// (Toxiproxy's port) and "127.0.0.1:0" picks a free port.
func NewAPIServer(h http.Handler, addr string) *APIServer {
	if addr == "" {
		addr = "127.0.0.1:8474"
	}
	return &APIServer{h: h, addr: addr}
}

// Start listens and serves in the background; it returns once listening.
func (s *APIServer) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return ErrAlreadyStarted
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("faultproxy: api listen: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return nil
}

// Addr returns the listening address, or "" before Start.
func (s *APIServer) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the server, waits up to 5s for in-flight requests, then
// closes every connection and waits for its goroutines. Idempotent.
func (s *APIServer) Close() error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if err != nil {
		err = srv.Close()
	}
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
