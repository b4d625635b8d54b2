package suites

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the progress goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgressLine(t *testing.T) {
	var out syncBuffer
	p := startProgress(&out, 0)
	p.update(laneEvent{Total: 3})
	p.update(laneEvent{Total: 3, Done: 1})
	p.update(laneEvent{Total: 3, Done: 2, Failed: 1, FailedText: "spec B [X-01]"})
	p.Close()
	p.Close()
	p.update(laneEvent{Total: 3, Done: 3}) // after Close: nothing
	s := out.String()
	for _, want := range []string{"[ 0/3 specs  0 failed", "[ 1/3 specs  0 failed", "\r\033[KFAIL spec B [X-01]\n", "[ 2/3 specs  1 failed"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%q", want, s)
		}
	}
	if strings.Contains(s, "3/3") || !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("drawn after Close, or the line not cleared:\n%q", s)
	}
}

// A run shorter than the delay draws no line; a failure still shows.
func TestProgressLineQuietWhenShort(t *testing.T) {
	var out syncBuffer
	p := startProgress(&out, time.Hour)
	p.update(laneEvent{Total: 3, Done: 1})
	p.update(laneEvent{Total: 3, Done: 2, Failed: 1, FailedText: "spec B"})
	p.Close()
	if s := out.String(); s != "\r\033[KFAIL spec B\n" {
		t.Errorf("output %q, want only the failure", s)
	}
}
