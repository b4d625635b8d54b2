package suites

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioserver"
	"github.com/siospec/siospec/reference/sioserver"
	"github.com/siospec/siospec/suites/framework"
)

// TestNodeSIO5CSR runs the recovery specs against socket.io 4.8.4 with
// connection state recovery on (testdata/sio5-csr.js): none may be
// unsupported or fail.
func TestNodeSIO5CSR(t *testing.T) {
	skipProof(t)
	t.Parallel() // mostly waiting on protocol timers; the runs are independent
	u := startNodeScript(t, filepath.Join("..", "..", "suites", "testdata", "sio5-csr.js"))
	c := framework.Config{URL: u}
	cfg := framework.Config{Suites: []framework.Proto{framework.SIO5}, Targets: map[framework.Proto]*framework.Config{framework.SIO5: c.For(framework.SIO5)}}
	vs, _ := runSuites(t, cfg, "area:recovery")
	checkProof(t, vs, nil, true)
}

// TestGoSIO5CSR runs the recovery specs against the Go reference server
// with recovery on (newGoCSR).
func TestGoSIO5CSR(t *testing.T) {
	skipProof(t)
	t.Parallel() // mostly waiting on protocol timers; the runs are independent
	srv := newGoCSR()
	u := serve(t, srv, func() { _ = srv.Close(t.Context()) })
	c := framework.Config{URL: u}
	cfg := framework.Config{Suites: []framework.Proto{framework.SIO5}, Targets: map[framework.Proto]*framework.Config{framework.SIO5: c.For(framework.SIO5)}}
	vs, _ := runSuites(t, cfg, "area:recovery")
	checkProof(t, vs, nil, true)
}

// newGoCSR is the Go reference server with connection state recovery on,
// serving the parts of FX-SIO5 and of the extended contract that the
// NODE-CSR specs use (the counterpart of testdata/sio5-csr.js).
func newGoCSR() *sioserver.Server {
	srv := sioserver.NewServer(&sioserver.Options{
		Options: eioserver.Options{
			Path:              "/socket.io/",
			PingInterval:      300 * time.Millisecond,
			PingTimeout:       200 * time.Millisecond,
			MaxHTTPBufferSize: 1e6,
			Transports:        []string{eioserver.TransportPolling, eioserver.TransportWebSocket},
		},
		ConnectTimeout:          time.Second,
		ConnectionStateRecovery: &sioserver.RecoveryOptions{},
	})
	srv.Sockets().OnConnection(func(s *sioserver.Socket) {
		_ = s.Emit("auth", s.Handshake().Auth)
		s.On("message-with-ack", func(e *sioserver.Event) {
			if e.WantsAck() {
				_ = e.Ack(e.Args...)
			}
		})
		s.On("ext:hello", func(e *sioserver.Event) {
			if e.WantsAck() {
				_ = e.Ack(socketio.Object{{Key: "extended", Value: 1}})
			}
		})
		s.On("ext:emit-back", func(e *sioserver.Event) {
			if len(e.Args) == 0 {
				return
			}
			names, ok := e.Args[0].([]any)
			if !ok {
				return
			}
			for _, n := range names {
				if name, ok := n.(string); ok {
					_ = s.Emit(name, e.Args[1:]...)
				}
			}
			if e.WantsAck() {
				_ = e.Ack(len(names))
			}
		})
		s.On("ext:join", func(e *sioserver.Event) {
			if len(e.Args) == 0 {
				return
			}
			room, ok := e.Args[0].(string)
			if !ok {
				return
			}
			s.Join(room)
			if e.WantsAck() {
				rooms := []any{}
				for _, r := range s.Rooms() {
					if r != s.ID() {
						rooms = append(rooms, r)
					}
				}
				_ = e.Ack(rooms)
			}
		})
		s.On("ext:broadcast", func(e *sioserver.Event) {
			if len(e.Args) < 2 {
				return
			}
			target, ok := e.Args[0].(socketio.Object)
			event, ok2 := e.Args[1].(string)
			if !ok || !ok2 {
				return
			}
			room, _ := target.Get("room")
			r, ok := room.(string)
			if !ok {
				return
			}
			_ = s.To(r).Emit(event, e.Args[2:]...)
			if e.WantsAck() {
				_ = e.Ack()
			}
		})
	})
	return srv
}
