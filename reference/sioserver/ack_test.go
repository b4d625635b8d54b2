package sioserver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

type ackResult struct {
	args []any
	err  error
}

// askSetup: "ask" makes the server emit "q" with the event's arguments and
// an ack request; the answer (or error) is reported on results and echoed
// to the client as "result".
func askSetup(results chan ackResult, timeout time.Duration) func(*Server) {
	return func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) {
			so.On("ask", func(e *Event) {
				_ = so.EmitCallback("q", e.Args, timeout, func(args []any, err error) {
					results <- ackResult{args, err}
					if err == nil {
						_ = so.Emit("result", args...)
					}
				})
			})
		})
	}
}

func TestSIOACK07ServerAckIDsPerNamespace(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		results := make(chan ackResult, 8)
		_, base := newTestServer(t, nil, askSetup(results, 0))
		a := dial(t, base, tr, engineio.V4)
		b := dial(t, base, tr, engineio.V4)
		a.connect("/", "")
		b.connect("/", "")
		// SIO-ACK-04: the first id is 0; SIO-ACK-07: one counter for the
		// namespace, shared by both clients.
		a.sendText(`2["ask",1]`)
		a.expectText(`20["q",1]`)
		b.sendText(`2["ask",2]`)
		b.expectText(`21["q",2]`)
		a.sendText(`2["ask",3]`)
		a.expectText(`22["q",3]`)
		b.sendText(`31["b"]`)
		b.expectText(`2["result","b"]`)
		a.sendText(`30["a",{"x":[1]}]`)
		a.expectText(`2["result","a",{"x":[1]}]`)
		// SIO-ACK-05: a used or unknown id is ignored.
		a.sendText(`30["again"]`)
		a.sendText(`3999[]`)
		// SIO-ACK-08: an ACK without payload calls back with no args.
		a.sendText(`32`)
		a.expectText(`2["result"]`)
		for range 3 {
			if r := waitFor(t, results); r.err != nil {
				t.Fatalf("ack error %v", r.err)
			}
		}
		select {
		case r := <-results:
			t.Fatalf("extra ack result %v", r)
		default:
		}
	})
}

func TestSIOACK03ClientBinaryAck(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		results := make(chan ackResult, 1)
		_, base := newTestServer(t, nil, askSetup(results, 0))
		p := dial(t, base, tr, engineio.V4)
		p.connect("/", "")
		p.sendText(`2["ask"]`)
		p.expectText(`20["q"]`)
		p.sendText(`61-0[{"_placeholder":true,"num":0},"s"]`)
		p.sendBinary([]byte{9, 8})
		r := waitFor(t, results)
		if b, ok := r.args[0].([]byte); !ok || string(b) != "\x09\x08" || r.args[1] != "s" {
			t.Fatalf("ack args %#v", r.args)
		}
		// The server's own binary emit (SIO-BIN-11).
		p.expectText(`51-["result",{"_placeholder":true,"num":0},"s"]`)
		p.expectBinary([]byte{9, 8})
	})
}

func TestNODEACK04ServerAckTimeout(t *testing.T) {
	results := make(chan ackResult, 1)
	_, base := newTestServer(t, nil, askSetup(results, 100*time.Millisecond))
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/", "")
	p.sendText(`2["ask"]`)
	p.expectText(`20["q"]`)
	if r := waitFor(t, results); !errors.Is(r.err, ErrAckTimeout) {
		t.Fatalf("got %v, want ErrAckTimeout", r.err)
	}
	// A late answer is ignored.
	p.sendText(`30["late"]`)
	p.expectQuiet(100 * time.Millisecond)
}

func TestSIOACK09NoAckAfterDisconnect(t *testing.T) {
	results := make(chan ackResult, 1)
	_, base := newTestServer(t, nil, askSetup(results, 0))
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/", "")
	p.sendText(`2["ask"]`)
	p.expectText(`20["q"]`)
	p.sendText("1")
	if r := waitFor(t, results); !errors.Is(r.err, ErrDisconnected) || r.args != nil {
		t.Fatalf("got %v, want ErrDisconnected and no args", r)
	}
}

func TestEmitWithAck(t *testing.T) {
	conns := make(chan *Socket, 1)
	_, base := newTestServer(t, nil, func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) { conns <- so })
	})
	p := dial(t, base, "polling", engineio.V4)
	p.connect("/", "")
	so := waitFor(t, conns)
	got := make(chan ackResult, 1)
	go func() {
		args, err := so.EmitWithAck(context.Background(), "q", []byte{1})
		got <- ackResult{args, err}
	}()
	p.expectText(`51-0["q",{"_placeholder":true,"num":0}]`)
	p.expectBinary([]byte{1})
	p.sendText(`30[7]`)
	if r := waitFor(t, got); r.err != nil || len(r.args) != 1 || r.args[0] != float64(7) {
		t.Fatalf("EmitWithAck = %v", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := so.EmitWithAck(ctx, "q"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("EmitWithAck with expiring ctx: %v", err)
	}
	p.expectText(`21["q"]`)
	if err := so.Emit("disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("reserved emit: %v", err)
	}
}

func TestEventAckOnce(t *testing.T) {
	errs := make(chan error, 2)
	_, base := newTestServer(t, nil, func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) {
			so.On("x", func(e *Event) {
				errs <- e.Ack(1)
				errs <- e.Ack(2)
			})
			so.On("y", func(e *Event) { errs <- e.Ack() })
		})
	})
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/", "")
	p.sendText(`25["x"]`)
	p.expectText(`35[1]`)
	if err := waitFor(t, errs); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(t, errs); !errors.Is(err, ErrAckSent) {
		t.Fatalf("second ack: %v", err)
	}
	p.sendText(`2["y"]`)
	if err := waitFor(t, errs); !errors.Is(err, ErrNoAck) {
		t.Fatalf("ack without id: %v", err)
	}
}

func TestNODEACK04BroadcastWithAck(t *testing.T) {
	srv, p, s := roomPeers(t, "websocket", 3)
	type res struct {
		r   []AckResponse
		err error
	}
	got := make(chan res, 1)
	go func() {
		r, err := srv.Sockets().EmitWithAck(context.Background(), "q", 1)
		got <- res{r, err}
	}()
	// One ack id for every recipient, from the namespace counter.
	for _, pp := range p {
		pp.expectText(`20["q",1]`)
	}
	p[0].sendText(`30["a"]`)
	p[1].sendText(`30["b"]`)
	p[2].sendText(`30["c"]`)
	r := waitFor(t, got)
	if r.err != nil || len(r.r) != 3 {
		t.Fatalf("responses %v, err %v", r.r, r.err)
	}
	// A client that never answers: the context bounds the wait and the
	// answers received are returned.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		r, err := srv.Sockets().Except(s[2].ID()).EmitWithAck(ctx, "q", 2)
		got <- res{r, err}
	}()
	p[0].expectText(`21["q",2]`)
	p[1].expectText(`21["q",2]`)
	p[0].sendText(`31["late?"]`)
	r = waitFor(t, got)
	if !errors.Is(r.err, ErrAckTimeout) || len(r.r) != 1 || r.r[0].SocketID != s[0].ID() {
		t.Fatalf("responses %v, err %v", r.r, r.err)
	}
	// A recipient that disconnects is not waited for.
	go func() {
		r, err := srv.Sockets().EmitWithAck(context.Background(), "q", 3)
		got <- res{r, err}
	}()
	for _, pp := range p {
		pp.expectText(`22["q",3]`)
	}
	p[0].sendText(`32[]`)
	p[1].sendText("1")
	p[2].sendText(`32[]`)
	if r = waitFor(t, got); r.err != nil || len(r.r) != 2 {
		t.Fatalf("responses %v, err %v", r.r, r.err)
	}
}
