package sioclient

import "sync"

// dispatcher runs handlers serially, in the order they were posted, on one
// goroutine, never while the Manager's lock is held.
type dispatcher struct {
	mu      sync.Mutex
	q       []func()
	stopped bool
	sig     chan struct{}
	done    chan struct{}
}

func newDispatcher() *dispatcher {
	d := &dispatcher{sig: make(chan struct{}, 1), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *dispatcher) post(f func()) {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	d.q = append(d.q, f)
	d.mu.Unlock()
	d.signal()
}

func (d *dispatcher) signal() {
	select {
	case d.sig <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run() {
	defer close(d.done)
	for {
		d.mu.Lock()
		if len(d.q) == 0 {
			stopped := d.stopped
			d.mu.Unlock()
			if stopped {
				return
			}
			<-d.sig
			continue
		}
		f := d.q[0]
		d.q[0] = nil
		d.q = d.q[1:]
		d.mu.Unlock()
		f()
	}
}

// stop lets the queue drain, refuses new work and waits for the goroutine.
func (d *dispatcher) stop() {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	d.signal()
	<-d.done
}
