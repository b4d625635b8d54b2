package eioserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// Node proofs: the reference server in-process, real engine.io-client
// peers (6.6 for v4, the 3.5 line socket.io-client 2.5 uses for v3) driven
// by testees/node/clients/eio-*.js, and assertions on what both sides saw.

// nodeClients returns testees/node, or skips when Node or its modules are
// missing.
func nodeClients(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH: the Node proofs need Node 20 (CI runs npm ci in testees/node first)")
	}
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "testees", "node")
	for _, m := range []string{"engine.io-client", filepath.Join("socket.io-client-v2", "node_modules", "engine.io-client")} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m)); err != nil {
			t.Skipf("testees/node/node_modules/%s missing: run npm ci in testees/node", m)
		}
	}
	return dir
}

// nodeLine is one JSON line printed by a client script.
type nodeLine struct {
	Event     string         `json:"event"`
	Transport string         `json:"transport"`
	Text      *string        `json:"text"`
	Binary    *string        `json:"binary"`
	Reason    string         `json:"reason"`
	Error     string         `json:"error"`
	Upgraded  bool           `json:"upgraded"`
	Echoes    int            `json:"echoes"`
	Server    int            `json:"server"`
	Counts    map[string]int `json:"transports"`
}

// serverLog records what the server saw.
type serverLog struct {
	mu       sync.Mutex
	opened   []string // transport at open, per session
	received []engineio.Packet
	recvOn   []string // transport each message arrived on
	closes   []string
	closed   chan struct{}
}

// proofServer starts a server whose sessions echo every message; with
// ?pair=1 each text "c<i>" is followed by "s<i>", with ?greet=binary the
// session starts with the binary message 00..ff.
func proofServer(t *testing.T, v3 bool) (*env, *serverLog) {
	t.Helper()
	log := &serverLog{closed: make(chan struct{}, 10)}
	e := newEnv(t, &Options{
		AllowEIO3:    v3,
		PingInterval: 25 * time.Second,
		PingTimeout:  20 * time.Second,
		OnSession: func(s *Session) {
			q := s.Request().URL.Query()
			log.mu.Lock()
			log.opened = append(log.opened, s.Transport())
			log.mu.Unlock()
			s.OnMessage(func(p engineio.Packet) {
				log.mu.Lock()
				log.received = append(log.received, engineio.Packet{Type: p.Type, Binary: p.Binary, Data: append([]byte(nil), p.Data...)})
				log.recvOn = append(log.recvOn, s.Transport())
				log.mu.Unlock()
				_ = s.Send(p)
				if q.Get("pair") != "" && !p.Binary && len(p.Data) > 0 && p.Data[0] == 'c' {
					_ = s.Send(engineio.TextPacket(engineio.Message, "s"+string(p.Data[1:])))
				}
			})
			s.OnClose(func(reason string, _ error) {
				log.mu.Lock()
				log.closes = append(log.closes, reason)
				log.mu.Unlock()
				log.closed <- struct{}{}
			})
			if q.Get("greet") == "binary" {
				all := make([]byte, 256)
				for i := range all {
					all[i] = byte(i)
				}
				_ = s.Send(engineio.BinaryMessage(all))
			}
		},
	})
	return e, log
}

// runClient runs a client script against e and returns its lines; the
// script must end with "done".
func runClient(t *testing.T, e *env, script string, extra ...string) []nodeLine {
	t.Helper()
	dir := nodeClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{filepath.Join("clients", script), e.ts.URL}, extra...)
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var lines []nodeLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l nodeLine
		if jerr := json.Unmarshal(sc.Bytes(), &l); jerr != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), jerr)
		}
		lines = append(lines, l)
	}
	done := -1
	for i, l := range lines {
		if l.Event == "done" {
			done = i
		}
	}
	if err != nil || done < 0 {
		t.Fatalf("%s %v: %v\nstdout:\n%s\nstderr:\n%s", script, extra, err, out, stderr.String())
	}
	return lines[:done+1]
}

// waitServerClose waits for the server to see the client's close.
func (l *serverLog) waitClose(t *testing.T) string {
	t.Helper()
	select {
	case <-l.closed:
	case <-time.After(waitBudget):
		t.Fatal("server saw no close")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closes[0]
}

func (l *serverLog) texts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, p := range l.received {
		out = append(out, string(p.Data))
	}
	return out
}

func versions() []struct {
	name string
	v3   bool
	args []string
} {
	return []struct {
		name string
		v3   bool
		args []string
	}{{"EIO4", false, nil}, {"EIO3", true, []string{"--v3"}}}
}

func TestNode_PollingOnly(t *testing.T) {
	for _, v := range versions() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			e, log := proofServer(t, v.v3)
			lines := runClient(t, e, "eio-polling.js", v.args...)
			for _, l := range lines {
				if l.Event == "upgrade" || (l.Transport != "" && l.Transport != "polling") {
					t.Fatalf("left polling: %+v", l)
				}
			}
			if got := strings.Join(log.texts(), "|"); got != "one|two|€ three 😀" {
				t.Fatalf("server received %q", got)
			}
			if r := log.waitClose(t); r != ReasonTransportClose {
				t.Fatalf("server close reason %q", r)
			}
			if log.opened[0] != "polling" {
				t.Fatalf("opened on %s", log.opened[0])
			}
		})
	}
}

func TestNode_WebSocketOnly(t *testing.T) {
	for _, v := range versions() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			e, log := proofServer(t, v.v3)
			lines := runClient(t, e, "eio-websocket.js", v.args...)
			if lines[0].Event != "open" || lines[0].Transport != "websocket" {
				t.Fatalf("first line %+v", lines[0])
			}
			if got := strings.Join(log.texts(), "|"); got != "one|two|€ three 😀" {
				t.Fatalf("server received %q", got)
			}
			if r := log.waitClose(t); r != ReasonTransportClose {
				t.Fatalf("server close reason %q", r)
			}
			if log.opened[0] != "websocket" {
				t.Fatalf("opened on %s", log.opened[0])
			}
		})
	}
}

func TestNode_DefaultUpgrade(t *testing.T) {
	for _, v := range versions() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			e, log := proofServer(t, v.v3)
			lines := runClient(t, e, "eio-upgrade.js", v.args...)
			var sawUpgrade bool
			for _, l := range lines {
				sawUpgrade = sawUpgrade || l.Event == "upgrade"
			}
			if !sawUpgrade || lines[0].Transport != "polling" {
				t.Fatalf("no upgrade from polling: %+v", lines)
			}
			log.mu.Lock()
			on := strings.Join(log.recvOn, ",")
			log.mu.Unlock()
			if on != "websocket" {
				t.Fatalf("server received on %q", on)
			}
			if r := log.waitClose(t); r != ReasonTransportClose {
				t.Fatalf("server close reason %q", r)
			}
		})
	}
}

func TestNode_BinaryBothWays(t *testing.T) {
	for _, v := range versions() {
		for _, tr := range []string{"polling", "websocket"} {
			t.Run(v.name+"/"+tr, func(t *testing.T) {
				t.Parallel()
				e, log := proofServer(t, v.v3)
				runClient(t, e, "eio-binary.js", append([]string{"--transport", tr}, v.args...)...)
				log.mu.Lock()
				defer log.mu.Unlock()
				want := []engineio.Packet{
					engineio.BinaryMessage([]byte{1, 2, 3, 4}),
					engineio.TextPacket(engineio.Message, "text"),
					engineio.BinaryMessage([]byte{}),
					engineio.BinaryMessage([]byte{0xff, 0x00, 0x1e, 0x7f}),
				}
				if len(log.received) != len(want) {
					t.Fatalf("server received %v", log.received)
				}
				for i, p := range log.received {
					if !p.Equal(want[i]) {
						t.Fatalf("message %d: %v, want %v", i, p, want[i])
					}
				}
			})
		}
	}
}

func TestNode_200MessagesInOrderAcrossUpgrade(t *testing.T) {
	for _, v := range versions() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			e, log := proofServer(t, v.v3)
			lines := runClient(t, e, "eio-order.js", v.args...)
			last := lines[len(lines)-1]
			if last.Echoes != 200 || last.Server != 200 || !last.Upgraded {
				t.Fatalf("client summary %+v", last)
			}
			got := log.texts()
			if len(got) != 200 {
				t.Fatalf("server received %d messages", len(got))
			}
			for i, m := range got {
				if m != "c"+itoa(i) {
					t.Fatalf("server message %d is %q", i, m)
				}
			}
			log.mu.Lock()
			counts := map[string]int{}
			for _, tr := range log.recvOn {
				counts[tr]++
			}
			log.mu.Unlock()
			// The first sends leave in a POST before the probe can finish.
			if counts["polling"] == 0 {
				t.Fatalf("no message arrived before the upgrade: %v", counts)
			}
			t.Logf("server received per transport %v; client %v", counts, last.Counts)
		})
	}
}
