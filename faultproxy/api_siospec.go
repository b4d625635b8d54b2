package faultproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// siospec's own control routes, under /siospec/: the fault catalogue,
// decisions, connections, seeds and profiles.

// siospecRoutes registers siospec's own routes under /siospec/
// (api_siospec.go).
func (a *API) siospecRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /siospec/faults", a.faultTypes)
	m.HandleFunc("GET /siospec/proxies/{proxy}/decisions", a.decisions)
	m.HandleFunc("GET /siospec/proxies/{proxy}/conns", a.conns)
	m.HandleFunc("GET /siospec/proxies/{proxy}/seed", a.seedShow)
	m.HandleFunc("POST /siospec/proxies/{proxy}/seed", a.seedSet)
	m.HandleFunc("GET /siospec/profiles", a.profileIndex)
	m.HandleFunc("POST /siospec/proxies/{proxy}/profiles/{profile}", a.profileApply)
	m.HandleFunc("DELETE /siospec/proxies/{proxy}/profiles/{profile}", a.profileRemove)
}

func (a *API) faultTypes(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"faults": FaultTypes(), "scope_attributes": scopeAttrs})
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
