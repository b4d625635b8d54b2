package framework

import (
	"strings"
	"testing"
	"time"
)

func TestTransferWindowGrowsWithBytes(t *testing.T) {
	tm := Timing{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, Scale: 2}
	reply := tm.Reply("x")
	none := tm.Transfer(0, "x")
	if none.Max != reply.Max {
		t.Fatalf("Transfer(0).Max = %v, want Reply's %v", none.Max, reply.Max)
	}
	mb := tm.Transfer(3<<20, "x")
	// 3 MiB at 1 MiB/s is 3 s more budget, doubled by the scale, and
	// grace grows with the budget (10 %).
	if got, want := mb.Max-reply.Max, 6*time.Second; got < want || got > want+time.Second {
		t.Fatalf("Transfer(3 MiB).Max − Reply.Max = %v, want about %v", got, want)
	}
	if !strings.Contains(mb.Why, "3145728 bytes") {
		t.Fatalf("Why %q does not say how many bytes the window allows for", mb.Why)
	}
	if neg := tm.Transfer(-5, "x"); neg.Max != reply.Max {
		t.Fatalf("Transfer(-5).Max = %v, want Reply's %v", neg.Max, reply.Max)
	}
}
