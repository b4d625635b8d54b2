package suites

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/internal/prooftest"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioserver"
	"github.com/siospec/siospec/reference/sioserver"
	"github.com/siospec/siospec/suites/framework"
)

// TestNodeSIO5CSR runs the recovery specs against socket.io 4.8.4 with
// connection state recovery on (testdata/sio5-csr.js, with the proofs'
// heartbeat): none may be unsupported or fail.
func TestNodeSIO5CSR(t *testing.T) {
	skipProof(t)
	needNode(t)
	t.Parallel() // mostly waiting on protocol timers; the runs are independent
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		u := nodepeer.Start(a, filepath.Join("..", "..", "suites", "testdata", "sio5-csr.js"), proofNodeArgs...)
		c := framework.Config{URL: u}
		cfg := framework.Config{Suites: []framework.Proto{framework.SIO5}, Targets: map[framework.Proto]*framework.Config{framework.SIO5: c.For(framework.SIO5)}, ConnectTimeout: prooftest.ConnectTimeout}
		vs, _ := runSuites(a, cfg, "area:recovery")
		checkProof(a, vs, nil, true)
	})
}

// TestGoSIO5CSR runs the recovery specs against the Go reference server
// with recovery on (newGoCSR, with the proofs' heartbeat).
func TestGoSIO5CSR(t *testing.T) {
	skipProof(t)
	t.Parallel() // mostly waiting on protocol timers; the runs are independent
	prooftest.Run(t, nil, func(a *prooftest.Attempt) {
		srv := newGoCSR(prooftest.PingInterval, prooftest.PingTimeout, prooftest.ConnectTimeout)
		u := serve(a, srv, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Close(ctx)
		})
		c := framework.Config{URL: u}
		cfg := framework.Config{Suites: []framework.Proto{framework.SIO5}, Targets: map[framework.Proto]*framework.Config{framework.SIO5: c.For(framework.SIO5)}, ConnectTimeout: prooftest.ConnectTimeout}
		vs, _ := runSuites(a, cfg, "area:recovery")
		checkProof(a, vs, nil, true)
	})
}

// newGoCSR is the Go reference server with connection state recovery on,
// serving the parts of FX-SIO5 and of the extended contract that the
// NODE-CSR specs use (the counterpart of testdata/sio5-csr.js), with the
// given heartbeat and connectTimeout.
func newGoCSR(pingInterval, pingTimeout, connectTimeout time.Duration) *sioserver.Server {
	srv := sioserver.NewServer(&sioserver.Options{
		Options: eioserver.Options{
			Path:              "/socket.io/",
			PingInterval:      pingInterval,
			PingTimeout:       pingTimeout,
			MaxHTTPBufferSize: 1e6,
			Transports:        []string{eioserver.TransportPolling, eioserver.TransportWebSocket},
		},
		ConnectTimeout:          connectTimeout,
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
