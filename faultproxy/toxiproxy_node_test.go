package faultproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nodeStep is one call's result as testdata/toxiproxy-node-client.js prints it.
type nodeStep struct {
	OK    bool            `json:"ok"`
	Value json.RawMessage `json:"value"`
	Error string          `json:"error"`
}

// TestToxiproxyNodeClient drives the control API with toxiproxy-node-client
// 4.1.0 (pinned in testees/node/package.json) as its README shows, against a
// proxy registered the way `siospec proxy` registers its own: version,
// list, update of the registered proxy (listen, upstream, enabled), and a
// toxic's add, show, update, list and remove. Unlike the Node proofs it
// never skips: without node or the client module it fails, saying why.
func TestToxiproxyNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: this compatibility test needs Node.js (and npm ci in testees/node): %v", err)
	}
	modules, err := filepath.Abs(filepath.Join("..", "testees", "node", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "toxiproxy-node-client", "package.json")); err != nil {
		t.Fatalf("toxiproxy-node-client is not installed in %s (run npm ci in testees/node): %v", modules, err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "toxiproxy-node-client.js"))
	if err != nil {
		t.Fatal(err)
	}

	up1, up2 := startEcho(t), startEcho(t)
	p := startProxy(t, up1.addr(), nil)
	api, apiAddr := startAPI(t, nil)
	if err := api.AddProxy("siospec", p); err != nil {
		t.Fatal(err)
	}
	oldListen := p.Addr()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, "http://"+apiAddr, "siospec", up2.addr())
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
	}
	var out map[string]nodeStep
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("script output is not JSON: %v\n%s", err, stdout.String())
	}
	t.Logf("node client results: %s", stdout.String())
	get := func(name string) nodeStep {
		t.Helper()
		s, ok := out[name]
		if !ok {
			t.Fatalf("step %s missing from the script's output", name)
		}
		if !s.OK {
			t.Errorf("step %s failed: %s", name, s.Error)
		}
		return s
	}
	type proxyJS struct {
		Name, Listen, Upstream string
		Enabled                bool
	}
	decode := func(name string, s nodeStep, v any) {
		t.Helper()
		if s.OK {
			if err := json.Unmarshal(s.Value, v); err != nil {
				t.Errorf("step %s: %v in %s", name, err, s.Value)
			}
		}
	}

	// GET /version: the client returns the body as text; current
	// Toxiproxy sends {"version": "..."}.
	var text string
	decode("version", get("version"), &text)
	var ver struct{ Version string }
	if err := json.Unmarshal([]byte(text), &ver); err != nil || ver.Version != Version {
		t.Errorf("version = %q (%v), want JSON {\"version\": %q}", text, err, Version)
	}

	var list map[string]proxyJS
	decode("list", get("list"), &list)
	if l, ok := list["siospec"]; !ok || l.Upstream != up1.addr() || l.Listen != oldListen || !l.Enabled {
		t.Errorf("list = %+v, want siospec on %s to %s, enabled", list, oldListen, up1.addr())
	}

	// Updating the registered proxy moves it (Toxiproxy updates; this used
	// to answer 409).
	var upd proxyJS
	decode("update", get("update"), &upd)
	if upd.Upstream != up2.addr() || upd.Listen == oldListen || strings.HasSuffix(upd.Listen, ":0") || !upd.Enabled {
		t.Errorf("update = %+v, want upstream %s on a new port, enabled", upd, up2.addr())
	}
	if p.Addr() != upd.Listen || p.Upstream() != up2.addr() {
		t.Errorf("after update the proxy listens on %s to %s; the API said %s to %s", p.Addr(), p.Upstream(), upd.Listen, upd.Upstream)
	}

	type toxicJS struct {
		Name, Type, Stream string
		Toxicity           float64
		Attributes         map[string]float64
	}
	var tx toxicJS
	decode("addToxic", get("addToxic"), &tx)
	if tx.Name != "node_latency" || tx.Type != "latency" || tx.Stream != "downstream" || tx.Attributes["latency"] != 40 {
		t.Errorf("addToxic = %+v", tx)
	}
	decode("getToxic", get("getToxic"), &tx)
	if tx.Name != "node_latency" || tx.Attributes["latency"] != 40 {
		t.Errorf("getToxic = %+v", tx)
	}
	decode("updateToxic", get("updateToxic"), &tx)
	if tx.Attributes["latency"] != 70 {
		t.Errorf("updateToxic = %+v, want latency 70", tx)
	}
	var txs []toxicJS
	decode("listToxics", get("listToxics"), &txs)
	if len(txs) != 1 || txs[0].Name != "node_latency" || txs[0].Attributes["latency"] != 70 {
		t.Errorf("listToxics = %+v", txs)
	}
	get("removeToxic")
	var gone string
	decode("toxicGone", get("toxicGone"), &gone)
	if !strings.HasPrefix(gone, "gone: ") || !strings.Contains(gone, "404") {
		t.Errorf("after removeToxic, getToxic: %q, want a 404", gone)
	}
	var dis, en proxyJS
	decode("disable", get("disable"), &dis)
	decode("enable", get("enable"), &en)
	if dis.Enabled || !en.Enabled || en.Listen != upd.Listen {
		t.Errorf("disable = %+v, enable = %+v", dis, en)
	}
	if n := len(p.Faults()); n != 0 {
		t.Errorf("%d fault(s) left on the proxy", n)
	}

	// The moved proxy forwards to the new upstream.
	c := dial(t, p.Addr())
	if got := roundTrip(t, c, []byte("moved")); got > 5*time.Second {
		t.Errorf("round trip through the moved proxy took %s", got)
	}
	select {
	case <-up2.accept:
	case <-time.After(5 * time.Second):
		t.Error("the new upstream saw no connection")
	}
}
