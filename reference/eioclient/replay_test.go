package eioclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestPollNotReplayed: when the connection of a pending long-poll GET is
// cut before any response (a load balancer's idle timeout), the client
// does not send the same GET again on a new connection (net/http replays
// idempotent requests on reused connections): a replayed GET would overlap
// the one the server may still hold, and the server would end the session
// for the overlap (EIO-POLL-07). The client sees a transport error instead.
func TestPollNotReplayed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	polls := make(chan string, 8) // the query of every GET with a sid
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					if req.URL.Query().Get("sid") == "" {
						open := `0{"sid":"S","upgrades":[],"pingInterval":10000,"pingTimeout":5000,"maxPayload":1000000}`
						fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: %d\r\n\r\n%s", len(open), open)
						continue
					}
					select {
					case polls <- req.Method + " " + req.URL.RawQuery:
					case <-done:
					}
					return // the pending request's connection is cut, unanswered
				}
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, "http://"+ln.Addr().String(), &Options{Transports: []string{Polling}, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := <-polls
	var ce *CloseError
	select {
	case ev := <-c.Events():
		if ev.Type != EventClose || !errors.As(ev.Err, &ce) || ce.Reason != ReasonTransportError {
			t.Fatalf("after the cut: event %v %v, want a close for a transport error", ev.Type, ev.Err)
		}
	case q := <-polls:
		t.Fatalf("the client sent %q again after its connection was cut (first %q)", q, first)
	case <-time.After(5 * time.Second):
		t.Fatal("no close within 5 s of the cut")
	}
	select {
	case q := <-polls:
		t.Fatalf("the client sent %q after the cut (first %q)", q, first)
	case <-time.After(200 * time.Millisecond):
	}
}
