package faultproxy

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func profileOpts() *ProfileOptions {
	return &ProfileOptions{Backends: []string{"127.0.0.1:3001", "127.0.0.1:3002"}}
}

// TestProfilesBuildAndRoundTrip builds every catalogued profile and checks
// that each of its faults survives the control API's JSON form unchanged.
func TestProfilesBuildAndRoundTrip(t *testing.T) {
	specs := Profiles()
	if len(specs) != 8 {
		t.Fatalf("%d profiles, want 8", len(specs))
	}
	for _, spec := range specs {
		if spec.Models == "" || spec.Faults == "" || spec.Client == "" || spec.Server == "" {
			t.Errorf("%s: incomplete documentation: %+v", spec.Name, spec)
		}
		pr, err := NewProfile(spec.Name, profileOpts())
		if err != nil {
			t.Fatalf("%s: %v", spec.Name, err)
		}
		if len(pr.Faults) == 0 {
			t.Fatalf("%s: no faults", spec.Name)
		}
		for _, f := range pr.Faults {
			tox := ToxicOf(f, "")
			if !strings.HasPrefix(tox.Name, spec.Name+".") {
				t.Errorf("%s: fault name %q", spec.Name, tox.Name)
			}
			g, back, err := ParseToxic(mustJSON(tox))
			if err != nil {
				t.Fatalf("%s: %s does not parse back: %v", spec.Name, tox.Name, err)
			}
			if a, b := string(mustJSON(back)), string(mustJSON(ToxicOf(g, ""))); a != b || a != string(mustJSON(tox)) {
				t.Errorf("%s: round trip changed the toxic:\n%s\n%s", spec.Name, mustJSON(tox), a)
			}
		}
	}
	if _, err := NewProfile("no-such-profile", nil); !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("unknown profile: %v", err)
	}
	var fe *FieldError
	if _, err := NewProfile("non-sticky-lb", nil); !errors.As(err, &fe) || fe.Attr != "backends" {
		t.Errorf("non-sticky-lb without backends: %v", err)
	}
	if _, err := ParseProfileOptions([]byte(`{"idle_ms": -1}`)); !errors.As(err, &fe) {
		t.Errorf("negative idle_ms: %v", err)
	}
	if _, err := ParseProfileOptions([]byte(`{"idel_ms": 5}`)); err == nil {
		t.Error("misspelt option accepted")
	}
}

// TestAPIProfile applies and removes corporate-firewall through the control
// API and checks that, while applied, a WebSocket upgrade gets 403 from the
// proxy and a polling request still reaches the server (faults doc A9.2).
func TestAPIProfile(t *testing.T) {
	up := startWSUpstream(t)
	_, addr := startAPI(t, nil)
	base := "http://" + addr
	st, body := apiDo(t, "POST", base+"/proxies", `{"name":"p","listen":"127.0.0.1:0","upstream":"`+up.Listener.Addr().String()+`"}`)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	var pj proxyJSON
	if err := json.Unmarshal([]byte(body), &pj); err != nil {
		t.Fatal(err)
	}
	if st, body = apiDo(t, "POST", base+"/siospec/proxies/p/profiles/corporate-firewall", ""); st != 200 ||
		!strings.Contains(body, `"corporate-firewall.http_reject_upgrade"`) {
		t.Fatalf("apply: %d %s", st, body)
	}
	if st, body = apiDo(t, "GET", base+"/proxies/p/toxics", ""); !strings.Contains(body, `"status":403`) {
		t.Fatalf("toxics: %d %s", st, body)
	}
	_, resp, err := wsDial(t, pj.Listen)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("upgrade through corporate-firewall: %v %v", resp, err)
	}
	if st, body, _ := rawGET(t, pj.Listen, "/engine.io/?EIO=4&transport=polling"); st != 200 || body != "polling ok" {
		t.Fatalf("polling through corporate-firewall: %d %q", st, body)
	}
	if st, body = apiDo(t, "DELETE", base+"/siospec/proxies/p/profiles/corporate-firewall", ""); st != http.StatusNoContent {
		t.Fatalf("remove: %d %s", st, body)
	}
	if c, _, err := wsDial(t, pj.Listen); err != nil {
		t.Fatalf("upgrade after removal: %v", err)
	} else {
		c.Close()
	}
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/siospec/proxies/p/profiles/nope", "", http.StatusNotFound},
		{"/siospec/proxies/p/profiles/non-sticky-lb", `{"backends":["x"]}`, http.StatusBadRequest},
		{"/siospec/proxies/p/profiles/idle-timeout-lb", `{"idle":5}`, http.StatusBadRequest},
		{"/siospec/proxies/zz/profiles/half-open", "", http.StatusNotFound},
	} {
		if st, body := apiDo(t, "POST", base+tc.path, tc.body); st != tc.status {
			t.Errorf("POST %s %s: %d %s, want %d", tc.path, tc.body, st, body, tc.status)
		}
	}
	if st, body := apiDo(t, "GET", base+"/siospec/profiles", ""); st != 200 || !strings.Contains(body, "EIO-UPG-13") {
		t.Errorf("catalogue: %d %s", st, body)
	}
}

// TestProfileServerCrashWithoutProcess: the proxy resets open connections,
// refuses new ones for downtime_ms, then accepts again (faults doc A9.8).
func TestProfileServerCrashWithoutProcess(t *testing.T) {
	echo := startEcho(t)
	p := startProxy(t, echo.addr(), nil)
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("before"))
	pr, err := NewProfile("server-crash", &ProfileOptions{Downtime: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.ApplyProfile(pr)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Remove()
	if _, err := readErr(c, 5*time.Second); err == nil || isTimeout(err) {
		t.Fatalf("open connection not reset: %v", err)
	}
	if c2, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c2.Close()
		t.Fatal("connection accepted while down")
	}
	waitFor(t, "the proxy to come back", func() bool {
		c3, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err == nil {
			c3.Close()
		}
		return err == nil
	})
	roundTrip(t, dial(t, p.Addr()), []byte("after"))
}
