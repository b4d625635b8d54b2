package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// eioEcho is an Engine.IO-shaped WebSocket echo (an open packet, then
// every message back) that applies bend to what it sends back.
func eioEcho(t *testing.T, bend func([]byte) []byte) string {
	up := websocket.Upgrader{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		if c.WriteMessage(websocket.TextMessage, []byte(`0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)) != nil {
			return
		}
		for {
			mt, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if c.WriteMessage(mt, bend(data)) != nil {
				return
			}
		}
	}))
	t.Cleanup(ts.Close)
	return strings.TrimPrefix(ts.URL, "http://")
}

// The echo workload counts only echoes that come back byte for byte, on
// both transports: a server that changes one byte completes nothing and
// is reported.
func TestEchoCountsOnlyExactEchoes(t *testing.T) {
	old, oldSlack := ioTimeout, pollSlack
	ioTimeout, pollSlack = 2*time.Second, 0
	t.Cleanup(func() { ioTimeout, pollSlack = old, oldSlack })
	self := &proc{pid: os.Getpid()}
	im := impl{name: "test", proto: "eio"}
	ctx := context.Background()

	servers := map[string]func(*testing.T, func([]byte) []byte) string{"websocket": eioEcho, "polling": eioPolling}
	for _, transport := range []string{"websocket", "polling"} {
		for _, tc := range []struct {
			name   string
			mk     msgKind
			bend   func([]byte) []byte
			broken bool
		}{
			{"text", smallText, func(b []byte) []byte { return b }, false},
			{"bin4k", bin4K, func(b []byte) []byte { return b }, false},
			{"text bent", smallText, func(b []byte) []byte { return []byte(strings.Replace(string(b), "o", "0", 1)) }, true},
			{"bin4k bent", bin4K, func(b []byte) []byte { c := append([]byte(nil), b...); c[len(c)-1]++; return c }, true},
		} {
			t.Run(transport+"/"+tc.name, func(t *testing.T) {
				self.addr = servers[transport](t, tc.bend)
				s := echo(ctx, self, im, transport, 4, 8, tc.mk, 50*time.Millisecond, 200*time.Millisecond)
				if tc.broken {
					if s.Ops != 0 || s.Errors == 0 {
						t.Fatalf("broken echo: %d ops, %d errors; want 0 ops and errors", s.Ops, s.Errors)
					}
					return
				}
				if s.Ops == 0 || s.Errors != 0 {
					t.Fatalf("echo: %d ops, %d errors", s.Ops, s.Errors)
				}
			})
		}
	}
}
