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
	"slices"
	"strings"
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
//	GET  /version
//	POST /reset                              re-enable every proxy, remove every toxic
//	GET  /proxies                            {"name": proxy, ...}
//	POST /proxies                            create {"name","listen","upstream","enabled"}
//	POST /populate                           create or replace a list of proxies
//	GET|POST|PATCH|DELETE /proxies/{name}
//	GET|POST /proxies/{name}/toxics
//	GET|POST|PATCH|DELETE /proxies/{name}/toxics/{toxic}
//
// siospec's own routes:
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

// proxyJSON is Toxiproxy's proxy object.
type proxyJSON struct {
	Name     string  `json:"name"`
	Listen   string  `json:"listen"`
	Upstream string  `json:"upstream"`
	Enabled  bool    `json:"enabled"`
	Toxics   []Toxic `json:"toxics"`
}

// NewAPI returns an API with no proxies.
func NewAPI(opts *APIOptions) *API {
	var o APIOptions
	if opts != nil {
		o = *opts
	}
	a := &API{opts: o, proxies: map[string]*apiProxy{}, mux: http.NewServeMux()}
	m := a.mux
	m.HandleFunc("GET /version", a.version)
	m.HandleFunc("POST /reset", a.reset)
	m.HandleFunc("GET /proxies", a.proxyIndex)
	m.HandleFunc("POST /proxies", a.proxyCreate)
	m.HandleFunc("POST /populate", a.populate)
	m.HandleFunc("GET /proxies/{proxy}", a.proxyShow)
	m.HandleFunc("POST /proxies/{proxy}", a.proxyUpdate)
	m.HandleFunc("PATCH /proxies/{proxy}", a.proxyUpdate)
	m.HandleFunc("DELETE /proxies/{proxy}", a.proxyDelete)
	m.HandleFunc("GET /proxies/{proxy}/toxics", a.toxicIndex)
	m.HandleFunc("POST /proxies/{proxy}/toxics", a.toxicCreate)
	m.HandleFunc("GET /proxies/{proxy}/toxics/{toxic}", a.toxicShow)
	m.HandleFunc("POST /proxies/{proxy}/toxics/{toxic}", a.toxicUpdate)
	m.HandleFunc("PATCH /proxies/{proxy}/toxics/{toxic}", a.toxicUpdate)
	m.HandleFunc("DELETE /proxies/{proxy}/toxics/{toxic}", a.toxicDelete)
	m.HandleFunc("GET /siospec/faults", a.faultTypes)
	m.HandleFunc("GET /siospec/proxies/{proxy}/decisions", a.decisions)
	m.HandleFunc("GET /siospec/proxies/{proxy}/conns", a.conns)
	m.HandleFunc("GET /siospec/proxies/{proxy}/seed", a.seedShow)
	m.HandleFunc("POST /siospec/proxies/{proxy}/seed", a.seedSet)
	m.HandleFunc("GET /siospec/profiles", a.profileIndex)
	m.HandleFunc("POST /siospec/proxies/{proxy}/profiles/{profile}", a.profileApply)
	m.HandleFunc("DELETE /siospec/proxies/{proxy}/profiles/{profile}", a.profileRemove)
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

// version answers {"version": Version}, as Toxiproxy 2.6 and later do
// (earlier versions answered the bare string).
func (a *API) version(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]string{"version": Version})
}

func (a *API) faultTypes(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"faults": FaultTypes(), "scope_attributes": scopeAttrs})
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

func (a *API) proxyIndex(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	out := make(map[string]proxyJSON, len(a.proxies))
	for n, ap := range a.proxies {
		out[n] = ap.json()
	}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// proxyIn is the accepted proxy input; pointers tell absent from zero.
type proxyIn struct {
	Name     string          `json:"name"`
	Listen   *string         `json:"listen"`
	Upstream *string         `json:"upstream"`
	Enabled  *bool           `json:"enabled"`
	Toxics   json.RawMessage `json:"toxics"` // sent back by clients on Save; ignored
}

func decodeProxy(data []byte) (proxyIn, error) {
	var in proxyIn
	if err := json.Unmarshal(data, &in); err != nil {
		return in, jsonFieldError("proxy", err)
	}
	return in, nil
}

func validateProxyIn(in proxyIn) error {
	if in.Name == "" {
		return &FieldError{Fault: "proxy", Field: "Name", Attr: "name", Reason: "missing"}
	}
	if in.Upstream == nil || *in.Upstream == "" {
		return &FieldError{Fault: "proxy", Field: "Upstream", Attr: "upstream", Reason: "missing"}
	}
	if _, _, err := net.SplitHostPort(*in.Upstream); err != nil {
		return &FieldError{Fault: "proxy", Field: "Upstream", Attr: "upstream", Reason: "want host:port: " + err.Error()}
	}
	if in.Listen != nil && *in.Listen != "" {
		if _, _, err := net.SplitHostPort(*in.Listen); err != nil {
			return &FieldError{Fault: "proxy", Field: "Listen", Attr: "listen", Reason: "want host:port: " + err.Error()}
		}
	}
	return nil
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

func (a *API) createLocked(in proxyIn) (*apiProxy, int, error) {
	if a.closed {
		return nil, http.StatusServiceUnavailable, ErrClosed
	}
	if _, ok := a.proxies[in.Name]; ok {
		return nil, http.StatusConflict, fmt.Errorf("proxy already exists: %q", in.Name)
	}
	listen := ""
	if in.Listen != nil {
		listen = *in.Listen
	}
	p, err := a.startProxyLocked(in.Name, listen, *in.Upstream, proxySeed(a.opts.Seed, in.Name))
	if err != nil {
		return nil, http.StatusConflict, err
	}
	if in.Enabled != nil && !*in.Enabled {
		_ = p.SetEnabled(false)
	}
	ap := &apiProxy{name: in.Name, p: p, owned: true}
	a.proxies[in.Name] = ap
	return ap, 0, nil
}

func (a *API) proxyCreate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	in, err := decodeProxy(body)
	if err == nil {
		err = validateProxyIn(in)
	}
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ap, status, err := a.createLocked(in)
	if err != nil {
		writeErr(w, status, err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, ap.json())
}

func (a *API) populate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		writeErr(w, http.StatusBadRequest, "populate: want a JSON array of proxies: "+err.Error())
		return
	}
	ins := make([]proxyIn, 0, len(raws))
	for i, raw := range raws {
		in, err := decodeProxy(raw)
		if err == nil {
			err = validateProxyIn(in)
		}
		if err != nil {
			writeErr(w, http.StatusBadRequest, fmt.Sprintf("proxy #%d: %v", i, err))
			return
		}
		ins = append(ins, in)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []proxyJSON{}
	for _, in := range ins {
		if old, ok := a.proxies[in.Name]; ok {
			same := *in.Upstream == old.p.Upstream() && (in.Listen == nil || *in.Listen == old.p.Addr())
			if same {
				if in.Enabled != nil {
					_ = old.p.SetEnabled(*in.Enabled)
				}
				out = append(out, old.json())
				continue
			}
			if !old.owned {
				// Registered with AddProxy: move it in place.
				ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
				err := old.p.Update(ctx, deref(in.Listen), *in.Upstream)
				cancel()
				if err == nil && in.Enabled != nil {
					err = old.p.SetEnabled(*in.Enabled)
				}
				if err != nil {
					status := statusOrConflict(err)
					writeJSON(w, status, map[string]any{"error": err.Error(), "status": status, "proxies": out})
					return
				}
				out = append(out, old.json())
				continue
			}
			if err := a.deleteLocked(old); err != nil {
				writeJSON(w, http.StatusConflict, map[string]any{"error": err.Error(), "status": http.StatusConflict, "proxies": out})
				return
			}
		}
		ap, status, err := a.createLocked(in)
		if err != nil {
			writeJSON(w, status, map[string]any{"error": err.Error(), "status": status, "proxies": out})
			return
		}
		out = append(out, ap.json())
	}
	writeJSON(w, http.StatusCreated, map[string]any{"proxies": out})
}

func (a *API) proxyShow(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ap := a.get(w, r); ap != nil {
		writeJSON(w, http.StatusOK, ap.json())
	}
}

func (a *API) proxyUpdate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	in, err := decodeProxy(body)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.get(w, r)
	if ap == nil {
		return
	}
	listen, upstream := "", ""
	if in.Listen != nil {
		listen = *in.Listen
	}
	if in.Upstream != nil {
		upstream = *in.Upstream
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := ap.p.Update(ctx, listen, upstream); err != nil {
		writeErr(w, statusOrConflict(err), err.Error())
		return
	}
	if in.Enabled != nil {
		if err := ap.p.SetEnabled(*in.Enabled); err != nil {
			writeErr(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, ap.json())
}

func statusOrConflict(err error) int {
	if s := statusOf(err); s != http.StatusInternalServerError {
		return s
	}
	return http.StatusConflict
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on values built by this package
	}
	return b
}

func (a *API) deleteLocked(ap *apiProxy) error {
	delete(a.proxies, ap.name)
	if ap.owned {
		return ap.p.Close()
	}
	ap.p.RemoveAll()
	return nil
}

func (a *API) proxyDelete(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.get(w, r)
	if ap == nil {
		return
	}
	if err := a.deleteLocked(ap); err != nil {
		writeErr(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) reset(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ap := range a.proxies {
		for _, t := range ap.toxics {
			_ = t.h.Remove()
		}
		ap.toxics = nil
		if err := ap.p.SetEnabled(true); err != nil {
			writeErr(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) toxicIndex(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ap := a.get(w, r); ap != nil {
		writeJSON(w, http.StatusOK, ap.json().Toxics)
	}
}

func (a *API) addToxicLocked(ap *apiProxy, body []byte) (Toxic, error) {
	f, t, err := ParseToxic(body)
	if err != nil {
		return Toxic{}, err
	}
	for _, x := range ap.toxics {
		if x.t.Name == t.Name {
			return Toxic{}, fmt.Errorf("%w: toxic %q", ErrDuplicateName, t.Name)
		}
	}
	h, err := ap.p.Add(f)
	if err != nil {
		return Toxic{}, err
	}
	ap.toxics = append(ap.toxics, &apiToxic{t: t, h: h})
	return t, nil
}

func (a *API) toxicCreate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.get(w, r)
	if ap == nil {
		return
	}
	t, err := a.addToxicLocked(ap, body)
	if err != nil {
		writeErr(w, statusOf(err), err.Error())
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (ap *apiProxy) toxic(w http.ResponseWriter, r *http.Request) (int, *apiToxic) {
	name := r.PathValue("toxic")
	for i, t := range ap.toxics {
		if t.t.Name == name {
			return i, t
		}
	}
	writeErr(w, http.StatusNotFound, fmt.Sprintf("toxic not found: %q", name))
	return -1, nil
}

func (a *API) toxicShow(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ap := a.get(w, r); ap != nil {
		if _, t := ap.toxic(w, r); t != nil {
			writeJSON(w, http.StatusOK, t.t)
		}
	}
}

// toxicUpdate merges attributes (and toxicity) into a toxic and replaces the
// fault on the live proxy. Because random streams are keyed by the fault's
// name, the replacement makes the same per-connection decisions.
func (a *API) toxicUpdate(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	var upd struct {
		Toxicity   *float64                   `json:"toxicity"`
		Attributes map[string]json.RawMessage `json:"attributes"`
		Stream     *string                    `json:"stream"`
	}
	if err := json.Unmarshal(body, &upd); err != nil {
		writeErr(w, http.StatusBadRequest, jsonFieldError("toxic", err).Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.get(w, r)
	if ap == nil {
		return
	}
	i, old := ap.toxic(w, r)
	if old == nil {
		return
	}
	in := toxicIn{Name: old.t.Name, Type: old.t.Type, Stream: old.t.Stream, Attributes: map[string]json.RawMessage{}}
	tox := old.t.Toxicity
	in.Toxicity = &tox
	for k, v := range old.t.Attributes {
		in.Attributes[k] = mustJSON(v)
	}
	for k, v := range upd.Attributes {
		in.Attributes[k] = v
	}
	if upd.Toxicity != nil {
		in.Toxicity = upd.Toxicity
	}
	if upd.Stream != nil {
		in.Stream = *upd.Stream
	}
	f, t, err := toxicFromInput(in)
	if err != nil {
		writeErr(w, statusOf(err), err.Error())
		return
	}
	_ = old.h.Remove()
	h, err := ap.p.Add(f)
	if err != nil {
		ap.toxics = slices.Delete(ap.toxics, i, i+1)
		writeErr(w, statusOf(err), err.Error())
		return
	}
	ap.toxics[i] = &apiToxic{t: t, h: h}
	writeJSON(w, http.StatusOK, t)
}

func (a *API) toxicDelete(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.get(w, r)
	if ap == nil {
		return
	}
	i, t := ap.toxic(w, r)
	if t == nil {
		return
	}
	_ = t.h.Remove()
	ap.toxics = slices.Delete(ap.toxics, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) profileIndex(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"profiles": Profiles()})
}

// ApplyProfile adds the named profile's faults to the named proxy as
// toxics, as POST /siospec/proxies/{proxy}/profiles/{profile} does.
// Process faults (server-crash with a process) have no toxic form: use
// [Proxy.ApplyProfile] for those.
func (a *API) ApplyProfile(proxy string, pr Profile) ([]Toxic, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ap, ok := a.proxies[proxy]
	if !ok {
		return nil, fmt.Errorf("%w: proxy %q", ErrNotFound, proxy)
	}
	return a.applyProfileLocked(ap, pr)
}

func (a *API) applyProfileLocked(ap *apiProxy, pr Profile) ([]Toxic, error) {
	if pr.Crash != nil {
		return nil, fmt.Errorf("faultproxy: profile %s: a process fault has no toxic form", pr.Name)
	}
	var added []Toxic
	for _, f := range pr.Faults {
		t, err := a.addToxicLocked(ap, mustJSON(ToxicOf(f, "")))
		if err != nil {
			a.removeToxicsLocked(ap, added)
			return nil, fmt.Errorf("profile %s: %w", pr.Name, err)
		}
		added = append(added, t)
	}
	ap.p.noteCrashMode(pr)
	return added, nil
}

func (a *API) removeToxicsLocked(ap *apiProxy, ts []Toxic) {
	for _, t := range ts {
		for i, x := range ap.toxics {
			if x.t.Name == t.Name {
				_ = x.h.Remove()
				ap.toxics = slices.Delete(ap.toxics, i, i+1)
				break
			}
		}
	}
}

func (a *API) profileApply(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	opts, err := ParseProfileOptions(body)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	name := r.PathValue("profile")
	pr, err := NewProfile(name, opts)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrUnknownProfile) {
			status = http.StatusNotFound
		}
		writeErr(w, status, err.Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.get(w, r)
	if ap == nil {
		return
	}
	ts, err := a.applyProfileLocked(ap, pr)
	if err != nil {
		writeErr(w, statusOf(err), err.Error())
		return
	}
	out := map[string]any{"profile": name, "toxics": ts}
	if pr.CrashMode != "" {
		out["crash_mode"] = pr.CrashMode
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) profileRemove(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.get(w, r)
	if ap == nil {
		return
	}
	prefix := r.PathValue("profile") + "."
	var ts []Toxic
	for _, x := range ap.toxics {
		if strings.HasPrefix(x.t.Name, prefix) {
			ts = append(ts, x.t)
		}
	}
	if len(ts) == 0 {
		writeErr(w, http.StatusNotFound, fmt.Sprintf("profile %q is not applied to proxy %q", r.PathValue("profile"), ap.name))
		return
	}
	a.removeToxicsLocked(ap, ts)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) decisions(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	ap := a.get(w, r)
	a.mu.Unlock()
	if ap == nil {
		return
	}
	ds, dropped := ap.p.Decisions()
	writeJSON(w, http.StatusOK, map[string]any{"proxy": ap.name, "seed": ap.p.Seed(), "decisions": ds, "dropped": dropped})
}

func (a *API) conns(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	ap := a.get(w, r)
	a.mu.Unlock()
	if ap != nil {
		writeJSON(w, http.StatusOK, map[string]any{"proxy": ap.name, "conns": ap.p.Conns()})
	}
}

func (a *API) seedShow(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ap := a.get(w, r); ap != nil {
		writeJSON(w, http.StatusOK, map[string]int64{"seed": ap.p.Seed()})
	}
}

func (a *API) seedSet(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, err.Error())
		return
	}
	var in struct {
		Seed *int64 `json:"seed"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeErr(w, http.StatusBadRequest, jsonFieldError("seed", err).Error())
		return
	}
	if in.Seed == nil {
		writeErr(w, http.StatusBadRequest, (&FieldError{Fault: "seed", Field: "Seed", Attr: "seed", Reason: "missing"}).Error())
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if ap := a.get(w, r); ap != nil {
		ap.p.Reseed(*in.Seed)
		writeJSON(w, http.StatusOK, map[string]int64{"seed": *in.Seed})
	}
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
