package sioserver_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/sioserver"
)

// A chat-like server: auth middleware, rooms, acks and broadcasts.
func Example() {
	opts := &sioserver.Options{ConnectTimeout: 10 * time.Second}
	opts.PingInterval = 25 * time.Second
	srv := sioserver.NewServer(opts)

	chat := srv.Of("/chat")
	chat.Use(func(s *sioserver.Socket) error {
		auth, _ := s.Handshake().Auth.(socketio.Object)
		if token, _ := auth.Get("token"); token != "secret" {
			return &sioserver.ConnectError{Message: "not authorized", Data: map[string]any{"retry": false}}
		}
		return nil
	})
	chat.OnConnection(func(s *sioserver.Socket) {
		s.On("join", func(e *sioserver.Event) {
			if room, ok := e.Args[0].(string); ok {
				s.Join(room)
				_ = e.Ack("joined", room)
			}
		})
		s.On("say", func(e *sioserver.Event) {
			room, _ := e.Args[0].(string)
			_ = s.To(room).Emit("said", e.Args[1:]...)
		})
		s.OnDisconnect(func(reason string) { log.Printf("%s left: %s", s.ID(), reason) })
	})

	hs := &http.Server{Addr: "127.0.0.1:3000", Handler: srv}
	go func() { _ = hs.ListenAndServe() }()

	// ... later: disconnect everyone, then stop the HTTP server.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Close(ctx)
	_ = hs.Shutdown(ctx)
}
