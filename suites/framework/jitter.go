package framework

import (
	"sync"
	"time"
)

// JitterMonitor measures how late this process's timers fire: a ticker
// every JitterTick whose lateness is kept for a few seconds. On a loaded
// machine every event a spec observes can be that late, so Timing adds the
// recent lateness to its grace and tolerance (Timing.Slack). Close stops
// it.
type JitterMonitor struct {
	mu      sync.Mutex
	samples []jitterSample
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

type jitterSample struct {
	at   time.Time
	late time.Duration
}

// JitterTick is the monitor's sampling period; JitterKeep how long samples
// are kept.
const (
	JitterTick = 10 * time.Millisecond
	JitterKeep = 10 * time.Second
)

// StartJitterMonitor starts a monitor.
func StartJitterMonitor() *JitterMonitor {
	m := &JitterMonitor{stop: make(chan struct{}), done: make(chan struct{})}
	go m.run()
	return m
}

func (m *JitterMonitor) run() {
	defer close(m.done)
	t := time.NewTimer(JitterTick)
	defer t.Stop()
	due := time.Now().Add(JitterTick)
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			late := max(0, now.Sub(due))
			m.mu.Lock()
			m.samples = append(m.samples, jitterSample{now, late})
			i := 0
			for i < len(m.samples) && now.Sub(m.samples[i].at) > JitterKeep {
				i++
			}
			m.samples = m.samples[i:]
			m.mu.Unlock()
			due = time.Now().Add(JitterTick)
			t.Reset(JitterTick)
		}
	}
}

// Recent returns the largest lateness seen within the last d (at most
// JitterKeep). A nil monitor reports 0.
func (m *JitterMonitor) Recent(d time.Duration) time.Duration {
	if m == nil {
		return 0
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var worst time.Duration
	for _, s := range m.samples {
		if now.Sub(s.at) <= d {
			worst = max(worst, s.late)
		}
	}
	return worst
}

// Close stops the monitor and waits for its goroutine. It is idempotent and
// safe on nil.
func (m *JitterMonitor) Close() {
	if m == nil {
		return
	}
	m.once.Do(func() { close(m.stop) })
	<-m.done
}
