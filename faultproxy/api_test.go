package faultproxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

func startAPI(t *testing.T, opts *APIOptions) (*API, string) {
	t.Helper()
	a := NewAPI(opts)
	s := NewAPIServer(a, "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		_ = a.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	return a, s.Addr()
}

// TestToxiproxyClient drives the API with the real Toxiproxy Go client.
func TestToxiproxyClient(t *testing.T) {
	up := startEcho(t)
	_, apiAddr := startAPI(t, &APIOptions{Seed: 1})
	cl := toxiproxy.NewClient(apiAddr)

	px, err := cl.CreateProxy("echo", "127.0.0.1:0", up.addr())
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(px.Listen, ":0") || !px.Enabled {
		t.Fatalf("created proxy: %+v", px)
	}
	c := dial(t, px.Listen)
	within(t, "no toxic", roundTrip(t, c, []byte("hi")), 0, 90*time.Millisecond+slack)

	// latency, added while the connection is open.
	if _, err := px.AddToxic("lat", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 100, "jitter": 0}); err != nil {
		t.Fatal(err)
	}
	within(t, "latency toxic via client", roundTrip(t, c, []byte("slow")), 100*time.Millisecond, 100*time.Millisecond+slack)
	ts, err := px.Toxics()
	if err != nil || len(ts) != 1 || ts[0].Name != "lat" || ts[0].Type != "latency" || ts[0].Attributes["latency"] != float64(100) {
		t.Fatalf("Toxics() = %+v, %v", ts, err)
	}
	if _, err := px.UpdateToxic("lat", 1, toxiproxy.Attributes{"latency": 200}); err != nil {
		t.Fatal(err)
	}
	within(t, "updated latency toxic", roundTrip(t, c, []byte("slower")), 200*time.Millisecond, 200*time.Millisecond+slack)
	if err := px.RemoveToxic("lat"); err != nil {
		t.Fatal(err)
	}
	within(t, "latency removed", roundTrip(t, c, []byte("fast")), 0, 90*time.Millisecond+slack)

	// limit_data with the default name.
	if tx, err := px.AddToxic("", "limit_data", "downstream", 1, toxiproxy.Attributes{"bytes": 10}); err != nil || tx.Name != "limit_data_downstream" {
		t.Fatalf("AddToxic limit_data = %+v, %v", tx, err)
	}
	c2 := dial(t, px.Listen)
	_, _ = c2.Write([]byte(strings.Repeat("z", 30)))
	if got, err := readErr(c2, 5*time.Second); len(got) != 10 || !errors.Is(err, io.EOF) {
		t.Fatalf("limit_data: got %d bytes, %v; want 10 then EOF", len(got), err)
	}
	if err := px.RemoveToxic("limit_data_downstream"); err != nil {
		t.Fatal(err)
	}

	// reset_peer.
	if _, err := px.AddToxic("rp", "reset_peer", "upstream", 1, toxiproxy.Attributes{"timeout": 50}); err != nil {
		t.Fatal(err)
	}
	c3 := dial(t, px.Listen)
	if _, err := readErr(c3, 5*time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("reset_peer: %v, want ECONNRESET", err)
	}
	if err := px.RemoveToxic("rp"); err != nil {
		t.Fatal(err)
	}

	// timeout.
	if _, err := px.AddToxic("to", "timeout", "downstream", 1, toxiproxy.Attributes{"timeout": 100}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c4 := dial(t, px.Listen)
	_, _ = c4.Write([]byte("lost"))
	if got, err := readErr(c4, 5*time.Second); len(got) != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("timeout: got %q, %v", got, err)
	}
	within(t, "timeout toxic closes", time.Since(start), 90*time.Millisecond, 100*time.Millisecond+slack)
	if err := px.RemoveToxic("to"); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, dial(t, px.Listen), []byte("clean again"))

	// Errors come back as the client's errors.
	if _, err := px.AddToxic("bad", "no_such_toxic", "downstream", 1, nil); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "type") {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := px.AddToxic("neg", "latency", "downstream", 1, toxiproxy.Attributes{"latency": -5}); err == nil || !strings.Contains(err.Error(), `"latency"`) {
		t.Errorf("negative latency: %v", err)
	}

	// Proxy listing, disable/enable, reset, populate, delete.
	all, err := cl.Proxies()
	if err != nil || len(all) != 1 || all["echo"].Upstream != up.addr() {
		t.Fatalf("Proxies() = %+v, %v", all, err)
	}
	if err := px.Disable(); err != nil {
		t.Fatal(err)
	}
	if nc, err := net.DialTimeout("tcp", px.Listen, time.Second); err == nil {
		nc.Close()
		t.Fatal("dial succeeded on a disabled proxy")
	}
	if err := px.Enable(); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, dial(t, px.Listen), []byte("enabled"))
	if _, err := px.AddToxic("lat2", "latency", "upstream", 1, toxiproxy.Attributes{"latency": 10}); err != nil {
		t.Fatal(err)
	}
	if err := cl.ResetState(); err != nil {
		t.Fatal(err)
	}
	if ts, _ := px.Toxics(); len(ts) != 0 {
		t.Fatalf("toxics after reset: %+v", ts)
	}
	ps, err := cl.Populate([]toxiproxy.Proxy{
		{Name: "echo", Listen: px.Listen, Upstream: up.addr(), Enabled: true},
		{Name: "second", Listen: "127.0.0.1:0", Upstream: up.addr(), Enabled: true},
	})
	if err != nil || len(ps) != 2 || ps[0].Listen != px.Listen {
		t.Fatalf("Populate = %+v, %v", ps, err)
	}
	roundTrip(t, dial(t, ps[1].Listen), []byte("second proxy"))
	if err := px.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Proxy("echo"); err == nil {
		t.Fatal("deleted proxy still there")
	}
}

func apiDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPIValidation(t *testing.T) {
	up := startEcho(t)
	_, addr := startAPI(t, nil)
	base := "http://" + addr
	if code, body := apiDo(t, "POST", base+"/proxies", `{"name":"p","listen":"127.0.0.1:0","upstream":"`+up.addr()+`"}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	cases := []struct {
		method, path, body string
		code               int
		mention            string
	}{
		{"POST", "/proxies", `{"listen":"127.0.0.1:0","upstream":"x:1"}`, 400, `"name"`},
		{"POST", "/proxies", `{"name":"q"}`, 400, `"upstream"`},
		{"POST", "/proxies", `{"name":"q","upstream":"nohostport"}`, 400, `"upstream"`},
		{"POST", "/proxies", `{"name":"p","upstream":"127.0.0.1:1"}`, 409, "exists"},
		{"POST", "/proxies", `{"name":5,"upstream":"127.0.0.1:1"}`, 400, "name"},
		{"GET", "/proxies/nope", ``, 404, "nope"},
		{"POST", "/proxies/p/toxics", `{"type":"gremlin"}`, 400, "gremlin"},
		{"POST", "/proxies/p/toxics", `{"type":"latency","attributes":{"latency":"100"}}`, 400, `"latency"`},
		{"POST", "/proxies/p/toxics", `{"type":"latency","attributes":{"latency":1.5}}`, 400, `"latency"`},
		{"POST", "/proxies/p/toxics", `{"type":"latency","attributes":{"latency":-1}}`, 400, `"latency"`},
		{"POST", "/proxies/p/toxics", `{"type":"latency","attributes":{"jitter":-1}}`, 400, `"jitter"`},
		{"POST", "/proxies/p/toxics", `{"type":"latency","attributes":{"latenc":1}}`, 400, `"latenc"`},
		{"POST", "/proxies/p/toxics", `{"type":"latency","stream":"sideways"}`, 400, `"stream"`},
		{"POST", "/proxies/p/toxics", `{"type":"latency","toxicity":2}`, 400, `"toxicity"`},
		{"POST", "/proxies/p/toxics", `{"type":"latency","toxicity":"high"}`, 400, "toxicity"},
		{"POST", "/proxies/p/toxics", `{"type":"latency","colour":"red"}`, 400, "colour"},
		{"POST", "/proxies/p/toxics", `{"type":"slicer","attributes":{"average_size":0}}`, 400, `"average_size"`},
		{"POST", "/proxies/p/toxics", `{"type":"timeout","attributes":{"timeout":-100}}`, 400, `"timeout"`},
		{"POST", "/proxies/p/toxics", `{"type":"idle_timeout","attributes":{"idle_ms":100,"close":"slam"}}`, 400, `"close"`},
		{"POST", "/proxies/p/toxics", `{"type":"blackhole","attributes":{"for_ms":-1}}`, 400, `"for_ms"`},
		{"POST", "/proxies/p/toxics", `{"type":"blackhole","attributes":{"conns":[0]}}`, 400, `"conns"`},
		{"POST", "/proxies/p/toxics", `{"type":"down","attributes":{"mode":"sideways"}}`, 400, `"mode"`},
		{"POST", "/proxies/p/toxics", `not json`, 400, "JSON"},
		{"POST", "/proxies/p/toxics", `{"type":"latency","attributes":{"latency":1}}`, 200, "latency_downstream"},
		{"POST", "/proxies/p/toxics", `{"type":"latency","attributes":{"latency":1}}`, 409, "exists"},
		{"GET", "/proxies/p/toxics/latency_downstream", ``, 200, `"latency":1`},
		{"POST", "/proxies/p/toxics/latency_downstream", `{"attributes":{"latency":-3}}`, 400, `"latency"`},
		{"POST", "/proxies/p/toxics/latency_downstream", `{"attributes":{"latency":3}}`, 200, `"latency":3`},
		{"GET", "/proxies/p/toxics/nothere", ``, 404, "nothere"},
		{"DELETE", "/proxies/p/toxics/latency_downstream", ``, 204, ""},
		{"POST", "/siospec/proxies/p/seed", `{"seed":"x"}`, 400, "seed"},
		{"POST", "/siospec/proxies/p/seed", `{}`, 400, `"seed"`},
		{"POST", "/siospec/proxies/p/seed", `{"seed":99}`, 200, "99"},
		{"GET", "/siospec/proxies/p/seed", ``, 200, "99"},
		{"GET", "/siospec/faults", ``, 200, "reset_peer"},
		{"GET", "/siospec/proxies/p/conns", ``, 200, `"conns":[]`},
		{"POST", "/proxies/p/toxics", `{"type":"http_reject_upgrade","attributes":{"status":999}}`, 400, `"status"`},
		{"POST", "/proxies/p/toxics", `{"type":"eio_drop_packet","attributes":{"packet":"pingu"}}`, 400, `"packet"`},
		{"POST", "/proxies/p/toxics", `{"type":"latency","attributes":{"transport":5}}`, 400, `"transport"`},
		{"GET", "/version", ``, 200, "siospec"},
		{"POST", "/populate", `[{"name":"r"}]`, 400, `"upstream"`},
	}
	for _, tc := range cases {
		code, body := apiDo(t, tc.method, base+tc.path, tc.body)
		if code >= 400 {
			var e struct {
				Error  string `json:"error"`
				Status int    `json:"status"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Status != code {
				t.Errorf("%s %s: error body %q is not {error, status}", tc.method, tc.path, body)
			}
			body = e.Error
		}
		if code != tc.code || !strings.Contains(body, tc.mention) {
			t.Errorf("%s %s %s = %d %s; want %d mentioning %s", tc.method, tc.path, tc.body, code, body, tc.code, tc.mention)
		}
	}
}

func TestAPIDecisionLog(t *testing.T) {
	up := startEcho(t)
	var got []string
	decided := make(chan string, 100)
	_, addr := startAPI(t, &APIOptions{OnDecision: func(p string, d Decision) { decided <- p + ":" + d.Action }})
	base := "http://" + addr
	code, body := apiDo(t, "POST", base+"/proxies", `{"name":"p","upstream":"`+up.addr()+`"}`)
	if code != 201 {
		t.Fatal(code, body)
	}
	var px struct{ Listen string }
	_ = json.Unmarshal([]byte(body), &px)
	if code, body := apiDo(t, "POST", base+"/proxies/p/toxics", `{"name":"s","type":"slicer","attributes":{"average_size":2,"size_variation":1}}`); code != 200 {
		t.Fatal(code, body)
	}
	roundTrip(t, dial(t, px.Listen), []byte("decide"))
	code, body = apiDo(t, "GET", base+"/siospec/proxies/p/decisions", "")
	var log struct {
		Decisions []Decision `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(body), &log); code != 200 || err != nil || len(log.Decisions) < 2 {
		t.Fatalf("decisions: %d %s %v", code, body, err)
	}
	d := log.Decisions[len(log.Decisions)-1]
	if d.Conn != 1 || d.Fault != "s" || d.Action != "slice" || d.Direction != Downstream {
		t.Errorf("last decision %+v", d)
	}
	for len(got) < 2 {
		select {
		case s := <-decided:
			got = append(got, s)
		case <-time.After(5 * time.Second):
			t.Fatalf("OnDecision saw %v", got)
		}
	}
	if got[0] != "p:activate" || got[1] != "p:slice" {
		t.Errorf("OnDecision saw %v", got)
	}
}

// TestToxiproxyClientUpdatesRegisteredProxy moves a proxy registered with
// AddProxy (as `siospec proxy` registers its own) with the Go client's
// Save, which posts listen, upstream and enabled: Toxiproxy updates the
// proxy in place, and so must we (this used to answer 409).
func TestToxiproxyClientUpdatesRegisteredProxy(t *testing.T) {
	up1, up2 := startEcho(t), startEcho(t)
	p := startProxy(t, up1.addr(), nil)
	api, apiAddr := startAPI(t, nil)
	if err := api.AddProxy("siospec", p); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(Latency{Name: "kept", Latency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	cl := toxiproxy.NewClient(apiAddr)
	px, err := cl.Proxy("siospec")
	if err != nil {
		t.Fatal(err)
	}
	old := px.Listen
	px.Listen, px.Upstream = "127.0.0.1:0", up2.addr()
	if err := px.Save(); err != nil {
		t.Fatalf("Save of the registered proxy: %v", err)
	}
	if px.Listen == old || px.Listen != p.Addr() || p.Upstream() != up2.addr() {
		t.Fatalf("after Save: client says %s, proxy listens on %s to %s (was %s to %s)", px.Listen, p.Addr(), p.Upstream(), old, up1.addr())
	}
	if _, ok := p.Fault("kept"); !ok {
		t.Error("Update dropped the proxy's faults")
	}
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("x"))
	select {
	case <-up2.accept:
	case <-time.After(5 * time.Second):
		t.Fatal("the new upstream saw no connection")
	}
	// The old address no longer accepts.
	if c2, err := net.DialTimeout("tcp", old, time.Second); err == nil {
		c2.Close()
		t.Errorf("the old address %s still accepts", old)
	}
	// A bad address answers 400 and leaves the proxy where it was.
	px.Listen = "nonsense"
	if err := px.Save(); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("Save with listen %q: %v, want a 400", px.Listen, err)
	}
}
