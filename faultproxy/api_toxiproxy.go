package faultproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// The control API's Toxiproxy-compatible routes: the same paths, JSON and
// status codes as Toxiproxy 2.x (checked with its Go client and
// toxiproxy-node-client 4.1.0), so existing clients work unchanged.

// toxiproxyRoutes registers the Toxiproxy-compatible routes
// (api_toxiproxy.go).
func (a *API) toxiproxyRoutes(m *http.ServeMux) {
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
}

// proxyJSON is Toxiproxy's proxy object.
type proxyJSON struct {
	Name     string  `json:"name"`
	Listen   string  `json:"listen"`
	Upstream string  `json:"upstream"`
	Enabled  bool    `json:"enabled"`
	Toxics   []Toxic `json:"toxics"`
}

// version answers {"version": Version}, as Toxiproxy 2.6 and later do
// (earlier versions answered the bare string).
func (a *API) version(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]string{"version": Version})
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
