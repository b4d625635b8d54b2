package eioclient

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// The tests of this file pin a defect seen against engine.io 6.6.12 and
// zishang520: on polling, a GET in flight when Close is called can come back
// "400 Session ID unknown" once the server has handled the close packet.
// The client used to take that 400 as the cause of its own close (Err
// carried "xhr poll error: HTTP 400") and tore the session down, cancelling
// the close POST. A client-initiated close must stay clean: the close packet
// is always POSTed, and what the server answers after the client decided to
// close is ignored (Node's client detaches the transport's listeners).

const unknownSID = `{"code":1,"message":"Session ID unknown"}`

// getHandled returns options whose hook reports on the returned channel
// each GET result the session loop has handled.
func getHandled() (*Options, <-chan struct{}) {
	ch := make(chan struct{}, 16)
	return &Options{afterEvent: func(ev any) {
		if _, ok := ev.(getResult); ok {
			ch <- struct{}{}
		}
	}}, ch
}

func waitSignal(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("%s: not within %v", what, wait)
	}
}

func waitCloseReturn(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close = %v, want nil", err)
		}
	case <-time.After(wait):
		t.Fatal("Close did not return")
	}
}

func wantCleanClose(t *testing.T, c *Conn) {
	t.Helper()
	ce := waitClosed(t, c)
	if ce.Reason != ReasonForcedClose || ce.Err != nil {
		t.Fatalf("close %v (cause %v), want a clean forced close", ce, ce.Err)
	}
	if err := c.Err(); err != error(ce) {
		t.Fatalf("Err() = %v, want %v", err, ce)
	}
}

// TestCloseGet400AfterClosePacket: the server receives the close POST, then
// answers the held GET with 400 before it answers the POST. The 400 is
// ignored, the close POST is not cancelled, and the close is clean.
func TestCloseGet400AfterClosePacket(t *testing.T) {
	s := newScriptServer(t)
	o, handled := getHandled()
	c := s.pollSession(o, open4())
	g := s.get()
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	cp := s.post()
	if string(cp.Body) != "1" {
		t.Fatalf("close POST %q", cp.Body)
	}
	g.respond(http.StatusBadRequest, unknownSID)
	waitSignal(t, handled, "GET 400 handled by the session loop")
	if err := cp.Ctx.Err(); err != nil {
		t.Fatalf("close POST cancelled after the GET's 400: %v", err)
	}
	cp.ok("ok")
	waitCloseReturn(t, done)
	wantCleanClose(t, c)
	s.noRequest(http.MethodGet, 20*time.Millisecond)
}

// TestCloseGet400BeforeClosePacket: the GET comes back 400 while a data
// POST is still in flight, so the close packet is not sent yet. The client
// still sends the close packet after the data, and the close is clean.
func TestCloseGet400BeforeClosePacket(t *testing.T) {
	s := newScriptServer(t)
	o, handled := getHandled()
	c := s.pollSession(o, open4())
	g := s.get()
	sendT(t, c, text("last"))
	p := s.post()
	if string(p.Body) != "4last" {
		t.Fatalf("POST %q", p.Body)
	}
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	// Close has been called once Send (of nothing) refuses; only then is
	// the 400 a response that arrives after the client decided to close.
	deadline := time.Now().Add(wait)
	for c.Send(t.Context()) == nil {
		if time.Now().After(deadline) {
			t.Fatal("Close was not called")
		}
		time.Sleep(time.Millisecond)
	}
	g.respond(http.StatusBadRequest, unknownSID)
	waitSignal(t, handled, "GET 400 handled by the session loop")
	p.ok("ok")
	cp := s.post()
	if string(cp.Body) != "1" {
		t.Fatalf("close POST %q, want \"1\"", cp.Body)
	}
	cp.ok("ok")
	waitCloseReturn(t, done)
	wantCleanClose(t, c)
}

// TestCloseGetCloseBeforePostReply: the server answers the held GET with
// its own close packet (as engine.io does when it handles the client's
// close) before it answers the close POST. The close stays clean.
func TestCloseGetCloseBeforePostReply(t *testing.T) {
	s := newScriptServer(t)
	o, handled := getHandled()
	c := s.pollSession(o, open4())
	g := s.get()
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	cp := s.post()
	g.okPackets("1")
	waitSignal(t, handled, "GET handled by the session loop")
	if err := cp.Ctx.Err(); err != nil {
		t.Fatalf("close POST cancelled after the GET's close packet: %v", err)
	}
	cp.ok("ok")
	waitCloseReturn(t, done)
	wantCleanClose(t, c)
}

// TestClosePostFailureStillReported: a close POST that the server refuses is
// still the close's error (the fix ignores the GET, not the close POST).
func TestClosePostFailureStillReported(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	g := s.get()
	done := make(chan error, 1)
	go func() { done <- c.Close() }()
	cp := s.post()
	cp.respond(http.StatusBadRequest, unknownSID)
	var err error
	select {
	case err = <-done:
	case <-time.After(wait):
		t.Fatal("Close did not return")
	}
	var te *TransportError
	if !errors.As(err, &te) || te.Op != OpPost || te.Status != http.StatusBadRequest {
		t.Fatalf("Close = %v, want the close POST's 400", err)
	}
	_ = g
}
