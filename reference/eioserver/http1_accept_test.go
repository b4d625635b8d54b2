package eioserver

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails its first Accepts with errs, then reports the
// next Accept on waiting and blocks until it is closed.
type flakyListener struct {
	mu      sync.Mutex
	errs    []error
	calls   int
	waiting chan struct{}
	closed  chan struct{}
	once    sync.Once
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.calls++
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		l.mu.Unlock()
		return nil, err
	}
	if l.waiting != nil {
		close(l.waiting)
		l.waiting = nil
	}
	l.mu.Unlock()
	<-l.closed
	return nil, net.ErrClosed
}

func (l *flakyListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *flakyListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l *flakyListener) accepts() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept", errno)}
}

// Serve outlives the Accept errors a busy server meets (no file
// descriptor left, a connection aborted before it was accepted), as
// net/http's does, and returns any other listener error.
func TestServeOutlivesTransientAcceptErrors(t *testing.T) {
	srv := NewServer(nil)
	defer func() { _ = srv.Close(context.Background()) }()

	waiting := make(chan struct{})
	ln := &flakyListener{waiting: waiting, closed: make(chan struct{}), errs: []error{acceptErr(syscall.EMFILE), acceptErr(syscall.ECONNABORTED)}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	select {
	case <-waiting:
	case err := <-done:
		t.Fatalf("Serve returned %v on a transient Accept error", err)
	case <-time.After(waitBudget):
		t.Fatalf("Serve called Accept %d times within %v, want a third call after two transient errors", ln.accepts(), waitBudget)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve returned %v after its context ended, want nil", err)
		}
	case <-time.After(waitBudget):
		t.Fatal("Serve did not return after its context ended")
	}

	// Any other error ends Serve with that error.
	other := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept", syscall.EINVAL)}
	ln2 := &flakyListener{closed: make(chan struct{}), errs: []error{other}}
	select {
	case err := <-func() chan error {
		c := make(chan error, 1)
		go func() { c <- srv.Serve(context.Background(), ln2, nil) }()
		return c
	}():
		if !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("Serve returned %v, want the listener's EINVAL", err)
		}
	case <-time.After(waitBudget):
		_ = ln2.Close()
		t.Fatal("Serve kept going after a listener error it cannot outlive")
	}
}
