package netload

import (
	"sync"
	"testing"
	"time"
)

// fakeClock advances by step on every reading.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func TestTally(t *testing.T) {
	type op struct {
		kind string // s (sent), sa (sent with ack), r, a, f
		seq  int
	}
	seqs := func(kind string, from, to int) []op {
		var out []op
		for i := from; i <= to; i++ {
			out = append(out, op{kind, i})
		}
		return out
	}
	cat := func(parts ...[]op) []op {
		var out []op
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	cases := []struct {
		name string
		ops  []op
		want Tally
		ok   bool
		str  string
	}{
		{"clean", cat(seqs("sa", 0, 3), seqs("r", 0, 3), seqs("a", 0, 3)),
			Tally{Sent: 4, Delivered: 4, AcksExpected: 4, AcksFired: 4}, true, "4 of 4 delivered, 0 lost, 0 duplicated, 0 reordered; 4 of 4 acks"},
		{"lost range", cat(seqs("s", 0, 39), seqs("r", 0, 11), seqs("r", 15, 39)),
			Tally{Sent: 40, Delivered: 37, Lost: 3, LostSeqs: []int{12, 13, 14}}, false, "37 of 40 delivered, 3 lost (seq 12-14), 0 duplicated, 0 reordered; 0 of 0 acks"},
		{"duplicate", cat(seqs("s", 0, 2), []op{{"r", 0}, {"r", 1}, {"r", 1}, {"r", 2}}),
			Tally{Sent: 3, Delivered: 3, Duplicated: 1}, false, ""},
		{"reordered", cat(seqs("s", 0, 2), []op{{"r", 0}, {"r", 2}, {"r", 1}}),
			Tally{Sent: 3, Delivered: 3, Reordered: 1}, false, ""},
		{"ack lost and failed", cat(seqs("sa", 0, 2), seqs("r", 0, 2), []op{{"a", 0}, {"f", 1}}),
			Tally{Sent: 3, Delivered: 3, AcksExpected: 3, AcksFired: 1, AcksFailed: 1, AcksLost: 1}, false, ""},
		{"ack twice", cat(seqs("sa", 0, 0), seqs("r", 0, 0), []op{{"a", 0}, {"a", 0}}),
			Tally{Sent: 1, Delivered: 1, AcksExpected: 1, AcksFired: 1, AcksDuplicated: 1}, false, ""},
		{"unexpected", cat(seqs("s", 0, 0), []op{{"r", 0}, {"r", 9}}),
			Tally{Sent: 1, Delivered: 1, Unexpected: 1}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := New((&fakeClock{step: time.Millisecond}).now)
			for _, o := range tc.ops {
				switch o.kind {
				case "s", "sa":
					l.Sent(Up, o.seq, o.kind == "sa")
				case "r":
					l.Received(Up, o.seq)
				case "a":
					l.Acked(Up, o.seq)
				case "f":
					l.AckFailed(Up, o.seq, "timeout")
				}
			}
			got := l.Tally(Up)
			got.MaxLatency, got.MaxAckLatency = 0, 0
			if got.String() != tc.want.String() || len(got.LostSeqs) != len(tc.want.LostSeqs) {
				t.Errorf("tally = %+v, want %+v", got, tc.want)
			}
			if got.ExactlyOnceInOrder() != tc.ok {
				t.Errorf("ExactlyOnceInOrder = %v, want %v", got.ExactlyOnceInOrder(), tc.ok)
			}
			if tc.str != "" && got.String() != tc.str {
				t.Errorf("String = %q, want %q", got.String(), tc.str)
			}
			if d := l.Tally(Down); d.Sent != 0 || !d.ExactlyOnceInOrder() {
				t.Errorf("down tally = %+v, want empty", d)
			}
		})
	}
}

func TestLostSeqsCapped(t *testing.T) {
	l := New(nil)
	l.Expect(Down, Workload{Count: 100, AckEvery: 0})
	tl := l.Tally(Down)
	if tl.Lost != 100 || len(tl.LostSeqs) != MaxLostSeqs {
		t.Fatalf("lost %d, listed %d", tl.Lost, len(tl.LostSeqs))
	}
	if s := tl.String(); s != "0 of 100 delivered, 100 lost (seq 0-31, ...), 0 duplicated, 0 reordered; 0 of 0 acks" {
		t.Fatalf("String = %q", s)
	}
}

func TestMeasuresTimeline(t *testing.T) {
	clk := &fakeClock{step: 100 * time.Millisecond}
	l := New(clk.now)                      // start +100ms
	l.Mark(KindConnect, "sid a")           // 200
	l.Mark(KindFault, "half-open")         // 300
	l.Mark(KindDisconnect, "ping timeout") // 400
	l.ReconnectAttempt(1, time.Second)     // 500
	l.Mark(KindConnect, "sid b")           // 600
	l.Mark(KindUpgrade, "websocket")       // 700
	m := l.Measures()
	if m.DetectAfter != 100*time.Millisecond || m.RecoverAfter != 300*time.Millisecond {
		t.Errorf("detect %v recover %v", m.DetectAfter, m.RecoverAfter)
	}
	if m.Reconnects != 1 || len(m.ReconnectDelays) != 1 || m.ReconnectDelays[0] != time.Second {
		t.Errorf("reconnects %d delays %v", m.Reconnects, m.ReconnectDelays)
	}
	if m.FinalTransport != "websocket" || len(m.Timeline) != 6 || m.Timeline[1].At != 200*time.Millisecond {
		t.Errorf("measures %+v", m)
	}
	if m.String() == "" {
		t.Error("empty summary")
	}
}

func TestWorkload(t *testing.T) {
	w := DefaultWorkload(time.Second)
	if w.Interval != 50*time.Millisecond || w.Count != 40 {
		t.Errorf("default %+v", w)
	}
	if DefaultWorkload(25*time.Second).Interval != 100*time.Millisecond || DefaultWorkload(50*time.Millisecond).Interval != 10*time.Millisecond {
		t.Error("interval not clamped")
	}
	if !w.WantsAck(1) || w.WantsAck(0) || !w.IsBinary(4) || w.IsBinary(5) {
		t.Error("ack/binary selection")
	}
	for _, seq := range []int{0, 1, 255, 1 << 20} {
		if got, ok := SeqFromBytes(SeqBytes(seq)); !ok || got != seq {
			t.Errorf("SeqBytes(%d) round trip = %d, %v", seq, got, ok)
		}
	}
	if _, ok := SeqFromBytes([]byte{1}); ok {
		t.Error("short attachment accepted")
	}
}

func TestLedgerConcurrent(t *testing.T) {
	l := New(nil)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				seq := g*100 + i
				l.Sent(Up, seq, true)
				l.Received(Up, seq)
				l.Acked(Up, seq)
				l.Mark("x", "")
			}
		})
	}
	wg.Wait()
	if tl := l.Tally(Up); tl.Delivered != 400 || tl.AcksFired != 400 {
		t.Fatalf("%+v", tl)
	}
}

func TestReceivedReport(t *testing.T) {
	l := New(nil)
	for seq := range 3 {
		l.Sent(Up, seq, false)
	}
	l.ReceivedReport(Up, []int{0, 2, 2})
	tl := l.Tally(Up)
	if tl.Delivered != 2 || tl.Lost != 1 || tl.Duplicated != 1 || tl.MaxLatency != 0 {
		t.Fatalf("%+v", tl)
	}
}
