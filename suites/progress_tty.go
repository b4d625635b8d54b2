package suites

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progressDelay is how long a run goes before its progress line appears:
// a run shorter than that prints none.
const progressDelay = 2 * time.Second

// progressRedraw is how often the progress line is redrawn (its elapsed
// time moves even when no spec finishes).
const progressRedraw = 250 * time.Millisecond

// progressLine draws a run's progress on a terminal: one line redrawn in
// place ("[ 123/403 specs  2 failed  5.2s ]") once the run has taken its
// delay, and a line for every failed spec as it fails. Close stops the
// redrawing and clears the line.
type progressLine struct {
	w     io.Writer
	start time.Time
	delay time.Duration
	stop  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	ev     laneEvent
	shown  bool
	closed bool
}

// startProgress starts a progressLine on w that appears after delay.
func startProgress(w io.Writer, delay time.Duration) *progressLine {
	p := &progressLine{w: w, start: time.Now(), delay: delay, stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(progressRedraw)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// update records the latest counts; a failed spec is printed at once.
func (p *progressLine) update(ev laneEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.ev = ev
	if ev.FailedText != "" {
		fmt.Fprintf(p.w, "\r\033[KFAIL %s\n", ev.FailedText)
		p.shown = false
	}
	p.draw()
}

// draw writes the line if the delay has passed. Callers hold p.mu.
func (p *progressLine) draw() {
	el := time.Since(p.start)
	if p.closed || el < p.delay {
		return
	}
	total := "?"
	if p.ev.Total > 0 {
		total = fmt.Sprint(p.ev.Total)
	}
	fmt.Fprintf(p.w, "\r\033[K[ %d/%s specs  %d failed  %.1fs ]", p.ev.Done, total, p.ev.Failed, el.Seconds())
	p.shown = true
}

// Close stops redrawing and clears the line; it is idempotent.
func (p *progressLine) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
	p.mu.Unlock()
	close(p.stop)
	p.wg.Wait()
}
