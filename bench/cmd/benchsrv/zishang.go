package main

import (
	"io"
	"net/http"

	engine "github.com/zishang520/socket.io/servers/engine/v3"
	"github.com/zishang520/socket.io/servers/engine/v3/config"
	socket "github.com/zishang520/socket.io/servers/socket/v3"
)

// zishangEngine mounts zishang520's Engine.IO server (defaults) at
// /engine.io/ with an echo of every message.
func zishangEngine(mux *http.ServeMux) func() {
	srv := engine.NewServer(config.DefaultServerOptions())
	srv.On("connection", func(a ...any) {
		s := a[0].(engine.Socket)
		s.On("message", func(m ...any) {
			if r, ok := m[0].(io.Reader); ok {
				s.Send(r, nil, nil)
			}
		})
	})
	mux.Handle("/engine.io/", srv)
	return func() { srv.Close() }
}

// zishangSocket mounts zishang520's Socket.IO server (defaults) at
// /socket.io/ with the handlers described in the package comment.
func zishangSocket(mux *http.ServeMux) func() {
	srv := socket.NewServer(nil, nil)
	srv.On("connection", func(a ...any) {
		s := a[0].(*socket.Socket)
		_ = s.On("echo", func(args ...any) { _ = s.Emit("echo", args...) })
		_ = s.On("ack", func(args ...any) {
			if n := len(args); n > 0 {
				if ack, ok := args[n-1].(socket.Ack); ok {
					ack(args[:n-1], nil)
				}
			}
		})
		_ = s.On("join", func(args ...any) {
			s.Join("r")
			if n := len(args); n > 0 {
				if ack, ok := args[n-1].(socket.Ack); ok {
					ack(nil, nil)
				}
			}
		})
		_ = s.On("bcast", func(args ...any) { _ = srv.To("r").Emit("tick", args...) })
	})
	mux.Handle("/socket.io/", srv.ServeHandler(nil))
	return func() { srv.Close(nil) }
}
