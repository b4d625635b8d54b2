//go:build !race

// The race detector's instrumentation enlarges every stack frame, so these
// measures hold only without it: `make test` runs them in a build without
// -race (the gotest target's stack line).

package sioserver

import (
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// eventStackSessions is how many WebSocket sessions the stack test opens:
// enough for the per-session figure to stand above the runtime's noise.
const eventStackSessions = 300

// stackInUse returns the bytes of goroutine stacks in use after two
// collections (which return the stacks freed by growth).
func stackInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.StackInuse
}

// eventStackGrowth opens n WebSocket sessions that join "/", has each
// send one event that the handler echoes with Emit (benchsrv's "echo"),
// and returns how many bytes of stack per session that event added: the
// growth of the sessions' reader goroutines, which the collector never
// shrinks back while they are parked in their read. The test's side reads
// synchronously on the test goroutine, so the only goroutines per session
// are the server's.
func eventStackGrowth(t *testing.T, n int, event func(*Event)) float64 {
	t.Helper()
	msg := `42["echo","hello",1,[true,null]]`
	return stackGrowth(t, n, msg, msg, event)
}

// stackGrowth is eventStackGrowth for a message msg whose handler sends
// reply; with reply "", the handler answers nothing and stackGrowth waits
// until it ran n times.
func stackGrowth(t *testing.T, n int, msg, reply string, event func(*Event)) float64 {
	t.Helper()
	var handled atomic.Int64
	inner := event
	event = func(e *Event) { inner(e); handled.Add(1) }
	_, base := newTestServer(t, nil, func(srv *Server) {
		srv.Sockets().OnConnection(func(s *Socket) { s.On("echo", event); s.On("ack", event) })
	})
	url := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	conns := make([]*websocket.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	read := func(c *websocket.Conn) string {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(waitBudget))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		return string(b)
	}
	write := func(c *websocket.Conn, s string) {
		t.Helper()
		_ = c.SetWriteDeadline(time.Now().Add(waitBudget))
		if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	for range n {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
		if open := read(c); !strings.HasPrefix(open, "0{") {
			t.Fatalf("open packet %q", open)
		}
		write(c, "40")
		if reply := read(c); !strings.HasPrefix(reply, `40{"sid":`) {
			t.Fatalf("CONNECT reply %q", reply)
		}
	}
	before := stackInUse()
	for _, c := range conns {
		write(c, msg)
		if reply == "" {
			continue
		}
		if got := read(c); got != reply {
			t.Fatalf("reply %q, want %q", got, reply)
		}
	}
	for deadline := time.Now().Add(waitBudget); handled.Load() < int64(n); {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events handled", handled.Load(), n)
		}
		runtime.Gosched()
	}
	after := stackInUse()
	return (float64(after) - float64(before)) / float64(n)
}

// A session's reader goroutine that has handled an event (decoding, the
// handler, an Emit and the Engine.IO send) keeps the stack it had when
// idle: the event path fits the reader's 4 KiB stack, so handling one
// event does not double it to 8 KiB for the rest of the session's life.
// Doubling would add 4 KiB per session; the check allows half of that.
func TestEventPathKeepsReaderStack(t *testing.T) {
	echo := func(e *Event) { _ = e.Socket.Emit("echo", e.Args...) }
	if got := eventStackGrowth(t, eventStackSessions, echo); got > 2048 {
		t.Fatalf("one echoed event added %.0f B of stack per session, want under 2048 (the reader stays at 4 KiB)", got)
	}
}

// The same holds for an acknowledgement answered with Ack, as benchsrv's
// "ack" does.
func TestAckPathKeepsReaderStack(t *testing.T) {
	ack := func(e *Event) { _ = e.Ack(e.Args...) }
	if got := stackGrowth(t, eventStackSessions, `421["ack","hello",1,[true,null]]`, `431["hello",1,[true,null]]`, ack); got > 2048 {
		t.Fatalf("one acknowledged event added %.0f B of stack per session, want under 2048 (the reader stays at 4 KiB)", got)
	}
}

// The stack test can fail: a handler that needs a few KiB of stack grows
// every reader to 8 KiB, and the measure sees it.
func TestEventStackGrowthDetectsDeepHandler(t *testing.T) {
	deep := func(e *Event) {
		_ = e.Socket.Emit("echo", e.Args...)
		useStack(3000)
	}
	if got := eventStackGrowth(t, eventStackSessions, deep); got < 3000 {
		t.Fatalf("a handler 3 KB deep added %.0f B of stack per session, want about 4096", got)
	}
}

// useStack uses about n bytes of stack.
//
//go:noinline
func useStack(n int) byte {
	var buf [256]byte
	buf[n%256] = byte(n)
	if n <= 256 {
		return buf[0]
	}
	return useStack(n-256) + buf[n%256]
}
