package eioserver

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

func benchServer(b *testing.B) (*Server, string) {
	b.Helper()
	srv := NewServer(&Options{OnSession: echo})
	ts := httptest.NewServer(srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
		defer cancel()
		_ = srv.Close(ctx)
		ts.Close()
	})
	return srv, ts.URL + "/engine.io/"
}

// BenchmarkWebSocketEcho measures round trips of a 100-byte text message
// through a WebSocket session of an echo server.
func BenchmarkWebSocketEcho(b *testing.B) {
	_, base := benchServer(b)
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"?EIO=4&transport=websocket", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, _, err := conn.ReadMessage(); err != nil {
		b.Fatal(err)
	}
	msg := []byte("4" + strings.Repeat("x", 100))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(waitBudget))
		if _, _, err := conn.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPollingEcho measures a POST of ten messages followed by the GET
// that returns their echoes.
func BenchmarkPollingEcho(b *testing.B) {
	_, base := benchServer(b)
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: waitBudget}
	do := func(method, q string, body string) []byte {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+"?"+q, rd)
		r, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Body.Close()
		out, _ := io.ReadAll(r.Body)
		return out
	}
	op, err := engineio.ParseOpen(do("GET", "EIO=4&transport=polling", "")[1:])
	if err != nil {
		b.Fatal(err)
	}
	q := "EIO=4&transport=polling&sid=" + op.SID
	payload := strings.TrimSuffix(strings.Repeat("4"+strings.Repeat("y", 100)+"\x1e", 10), "\x1e")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		do("POST", q, payload)
		if got := do("GET", q, ""); len(got) != len(payload) {
			b.Fatalf("GET returned %d bytes", len(got))
		}
	}
}
