//go:build !race

// The race detector's instrumentation deepens every frame, the parked
// reader's included, so the stack sizes this test relies on hold only in
// a build without it.

package eioserver

import (
	"runtime"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// deepStack uses about n KiB of stack.
//
//go:noinline
func deepStack(n int) byte {
	var b [1024]byte
	b[n%len(b)] = byte(n)
	if n <= 1 {
		return b[0]
	}
	return deepStack(n-1) + b[n%len(b)]
}

func stackInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.StackInuse
}

// A WebSocket session's reader whose stack a message's handling grew
// (here a handler using 6 KiB of stack) gets it back to its size before
// that message (that of the ordinary path) at
// the following garbage collections while the session waits for its next
// message: the parked reader uses less than a quarter of the grown stack,
// so the collector halves it (runtime.shrinkstack). Idle Socket.IO
// sessions that have handled events depend on it (bench/README.md).
func TestIdleReaderStackShrinksAfterDeepMessage(t *testing.T) {
	const n = 100
	e := newEnv(t, &Options{OnSession: func(s *Session) {
		s.OnMessage(func(p engineio.Packet) {
			if string(p.Data) == "deep" && deepStack(6) == 1 { // never 1: keeps the call
				p.Data = nil
			}
			_ = s.Send(p)
		})
	}})
	conns := make([]*ws, n)
	for i := range conns {
		conns[i] = e.mustWS("EIO=4&transport=websocket")
		conns[i].open()
		// A shallow message first: the reader's stack grows to what
		// the ordinary path needs.
		conns[i].sendText("4hello")
		conns[i].wantText("4hello")
	}
	before := stackInuse()
	for _, c := range conns {
		c.sendText("4deep")
		c.wantText("4deep")
	}
	deadline := time.Now().Add(waitBudget)
	var grown int64
	for {
		grown = (int64(stackInuse()) - int64(before)) / n
		if grown < 1024 || time.Now().After(deadline) {
			break
		}
	}
	if grown >= 1024 {
		t.Fatalf("stack per idle session %d bytes above its size before the deep message, want the grown stack released (< 1024)", grown)
	}
	t.Logf("stack per idle session after the deep message: %+d bytes", grown)
}
