package interop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// TestShippedConfig: testees/impls.yaml parses and lists the Node 4.8.4,
// Node 2.5 and Go reference implementations with both roles.
func TestShippedConfig(t *testing.T) {
	c, err := LoadConfig(filepath.Join("..", "testees", "impls.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"node-4.8.4", "node-2.5", "go-reference"} {
		im, ok := c.Impl(name)
		if !ok || im.Server == nil || im.Client == nil {
			t.Errorf("%s: missing or without both roles", name)
		}
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), "testees", "node", "fixtures", "sio5.js")); err != nil {
		t.Errorf("root does not resolve to the repository: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"no impls", "version: 1\nimpls: []\n", "no implementations"},
		{"bad version", "version: 9\nimpls: [{name: a, client: {exec: x, protocols: [sio5]}}]\n", "version 9"},
		{"unknown field", "impls: [{name: a, colour: red, client: {exec: x, protocols: [sio5]}}]\n", "colour"},
		{"no port", "impls: [{name: a, server: {cmd: node s.js, protocols: [sio5]}}]\n", "{port}"},
		{"bad protocol", "impls: [{name: a, client: {exec: x, protocols: [sio9]}}]\n", "sio9"},
		{"duplicate", "impls: [{name: a, client: {exec: x, protocols: [sio5]}}, {name: a, client: {exec: y, protocols: [sio5]}}]\n", "duplicate"},
		{"no role", "impls: [{name: a}]\n", "neither"},
		{"bad name", "impls: [{name: 'a/b', client: {exec: x, protocols: [sio5]}}]\n", "name"},
		{"bad ready", "impls: [{name: a, server: {cmd: 's {port}', ready: '(', protocols: [sio5]}}]\n", "ready"},
		{"not yaml", "impls: [\n", "bad implementations"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), t.TempDir())
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrConfig mentioning %q", err, tc.want)
			}
		})
	}
}

func bigConfig(t *testing.T, clients, servers int) *Config {
	var b strings.Builder
	b.WriteString("impls:\n")
	for i := range clients {
		fmt.Fprintf(&b, "  - {name: c%d, client: {exec: x, protocols: [sio5]}}\n", i)
	}
	for i := range servers {
		p := "sio5"
		if i%3 == 2 {
			p = "sio4"
		}
		fmt.Fprintf(&b, "  - {name: s%d, server: {cmd: 'x {port}', protocols: [%s]}}\n", i, p)
	}
	c, err := ParseConfig([]byte(b.String()), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestShards: shards are disjoint, cover the plan, are balanced in
// runnable cells (within one), and do not depend on anything but the plan.
func TestShards(t *testing.T) {
	c := bigConfig(t, 4, 7)
	plan := Plan(c, []string{ProfileNone, "corporate-firewall"}, 1)
	if len(plan) != 4*7*2 {
		t.Fatalf("%d cells, want 56", len(plan))
	}
	for _, n := range []int{1, 2, 3, 5, 56, 60} {
		seen := map[string]int{}
		var runnable []int
		for k := 1; k <= n; k++ {
			sh := ShardOf(plan, Shard{K: k, N: n})
			again := ShardOf(Plan(c, []string{ProfileNone, "corporate-firewall"}, 99), Shard{K: k, N: n})
			if !slices.EqualFunc(sh, again, func(a, b Planned) bool { return a.Key() == b.Key() }) {
				t.Fatalf("shard %d/%d differs between two plans", k, n)
			}
			r := 0
			for _, p := range sh {
				seen[p.Key()]++
				if p.Reason == "" {
					r++
				}
			}
			runnable = append(runnable, r)
		}
		if len(seen) != len(plan) {
			t.Errorf("N=%d: %d cells covered, want %d", n, len(seen), len(plan))
		}
		for k, v := range seen {
			if v != 1 {
				t.Errorf("N=%d: cell %s in %d shards", n, k, v)
			}
		}
		if slices.Max(runnable)-slices.Min(runnable) > 1 {
			t.Errorf("N=%d: runnable cells per shard %v, not balanced", n, runnable)
		}
	}
	for _, bad := range []string{"0/2", "3/2", "x", "1/0", "1-2"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

// TestMergeAndOutputs: merging shards gives the whole grid; a cell in two
// shards, another seed or other profiles are refused; the outputs render
// every cell and name failures with their IDs and sides.
func TestMergeAndOutputs(t *testing.T) {
	c := bigConfig(t, 2, 2)
	plan := Plan(c, []string{ProfileNone}, 5)
	mk := func(s Shard) *Matrix {
		m := &Matrix{Schema: Schema, Seed: 5, Shards: []string{s.String()}, Profiles: []string{ProfileNone}, Impls: Infos(c), Created: time.Unix(0, 0)}
		for _, p := range ShardOf(plan, s) {
			cl := Cell{Client: p.Client.Name, Server: p.Server.Name, Profile: p.Profile, Protocol: p.Protocol, Outcome: Pass, Reason: p.Reason}
			if p.Reason != "" {
				cl.Outcome = Unsupported
			}
			if cl.Key() == "c1/s0/none" {
				cl.Outcome, cl.Failures = Fail, []Failure{{ID: "EIO-HB-02", Side: SideClient, Detail: "ping unanswered"}}
			}
			m.Cells = append(m.Cells, cl)
		}
		return m
	}
	a, b := mk(Shard{1, 2}), mk(Shard{2, 2})
	m, err := Merge(b, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cells) != len(plan) || !slices.Equal(m.Shards, []string{"1/2", "2/2"}) {
		t.Fatalf("merged %d cells, shards %v", len(m.Cells), m.Shards)
	}
	if _, err := Merge(a, a); err == nil {
		t.Error("a cell in two shards was merged")
	}
	other := mk(Shard{2, 2})
	other.Seed = 6
	if _, err := Merge(a, other); err == nil {
		t.Error("shards of two seeds were merged")
	}
	dir := t.TempDir()
	if err := WriteDir(dir, m); err != nil {
		t.Fatal(err)
	}
	back, err := Load(filepath.Join(dir, FileJSON))
	if err != nil || len(back.Cells) != len(m.Cells) {
		t.Fatalf("Load: %v", err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, FileHTML))
	md, _ := os.ReadFile(filepath.Join(dir, FileSummary))
	for _, want := range []string{"fail: client EIO-HB-02", "<th>s1</th>", "ping unanswered", `data-profile="none"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	for _, want := range []string{"❌ client EIO-HB-02", "| c0 |", "siospec matrix --cell c1/s0/none --seed 5"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "old.json"), []byte(`{"schema":"siospec.matrix/v0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(dir, "old.json")); !errors.Is(err, ErrMatrix) {
		t.Errorf("an old schema loaded: %v", err)
	}
}

func pk(ms int, up bool, s string) wirePacket {
	p, err := engineio.ParseText(engineio.Version(4), []byte(s))
	if err != nil {
		panic(err)
	}
	return wirePacket{At: time.Duration(ms) * time.Millisecond, Up: up, Conn: 1, Transport: "websocket", EIO: 4, SID: "x", Type: p.Type, Data: p.Data}
}

func bin(ms int, up bool) wirePacket {
	return wirePacket{At: time.Duration(ms) * time.Millisecond, Up: up, Conn: 1, Transport: "websocket", EIO: 4, SID: "x", Type: engineio.Message, Binary: true, Data: []byte{0, 0, 0, 1}}
}

// TestWireJudge: each wire rule passes a clean exchange and fails a broken
// one, charged to the side that broke it.
func TestWireJudge(t *testing.T) {
	const open = `0{"sid":"x","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`
	const C, S = true, false
	clean := []wirePacket{pk(0, S, open), pk(1, C, "40"), pk(2, S, `40{"sid":"a"}`),
		pk(10, C, `421["net:seq",{"seq":0,"dir":"up"}]`), pk(11, S, "431[0]"),
		pk(12, C, `451-["net:seq",{"seq":1,"dir":"up"},{"_placeholder":true,"num":0}]`), bin(12, C),
		pk(300, S, "2"), pk(301, C, "3"), pk(600, S, "2"), pk(601, C, "3")}
	for _, tc := range []struct {
		name     string
		pkts     []wirePacket
		id, side string
	}{
		{"clean", clean, "", ""},
		{"unanswered ping", []wirePacket{pk(0, S, open), pk(300, S, "2"), pk(600, S, "2")}, "EIO-HB-02", SideClient},
		{"ping unanswered at the end", []wirePacket{pk(0, S, open), pk(300, S, "2"), pk(800, C, "40")}, "EIO-HB-02", SideClient},
		{"no ping at all", []wirePacket{pk(0, S, open), pk(1500, C, "40")}, "EIO-HB-01", SideServer},
		{"client pings in v4", []wirePacket{pk(0, S, open), pk(10, C, "2")}, "EIO-PKT-04", SideClient},
		{"server sends upgrade", []wirePacket{pk(0, S, open), pk(10, S, "5")}, "EIO-PKT-04", SideServer},
		{"client sends open", []wirePacket{pk(0, S, open), pk(10, C, "0")}, "EIO-PKT-04", SideClient},
		{"ping with data", []wirePacket{pk(0, S, open), pk(300, S, "2x"), pk(301, C, "3")}, "EIO-HB-07", SideServer},
		{"ack twice", []wirePacket{pk(0, S, open), pk(10, C, `425["e"]`), pk(11, S, "435[]"), pk(12, S, "435[]")}, "SIO-ACK-01", SideServer},
		{"missing attachment", []wirePacket{pk(0, S, open), pk(10, S, `451-["e",{"_placeholder":true,"num":0}]`), pk(11, S, `42["x"]`)}, "SIO-BIN-02", SideServer},
		{"stray attachment", []wirePacket{pk(0, S, open), bin(10, C)}, "SIO-BIN-02", SideClient},
		{"not socket.io", []wirePacket{pk(0, S, open), pk(10, C, "4zzz")}, "SIO-ENC-01", SideClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := &wireJudge{proto: ProtoSIO5, strictHB: true}
			j.run(tc.pkts, tc.pkts[len(tc.pkts)-1].At+time.Millisecond)
			if tc.id == "" {
				if len(j.fails) > 0 {
					t.Errorf("clean exchange failed: %+v", j.fails)
				}
				if j.up.events[0] != 1 || j.up.events[1] != 1 || j.up.acks[0] != 1 {
					t.Errorf("workload not seen: %+v", j.up)
				}
				return
			}
			if len(j.fails) == 0 || j.fails[0].ID != tc.id || j.fails[0].Side != tc.side {
				t.Errorf("failures %+v, want %s on the %s side first", j.fails, tc.id, tc.side)
			}
		})
	}
	// A ping after the client closed the session asks for no pong.
	j0 := &wireJudge{proto: ProtoSIO5, strictHB: true}
	j0.run([]wirePacket{pk(0, S, open), pk(300, C, "1"), pk(310, S, "2")}, 2*time.Second)
	if len(j0.fails) > 0 {
		t.Errorf("a ping after the client's close was judged: %+v", j0.fails)
	}
	// v3: the client pings and the server pongs.
	j := &wireJudge{proto: ProtoSIO4, strictHB: true}
	j.run([]wirePacket{pk(0, S, open), pk(300, S, "2")}, 400*time.Millisecond)
	if len(j.fails) == 0 || j.fails[0].ID != "EIO3-02" || j.fails[0].Side != SideServer {
		t.Errorf("v3 server ping: %+v", j.fails)
	}
}
