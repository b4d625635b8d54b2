package sioclient_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/siospec/siospec/reference/sioclient"
	"github.com/siospec/siospec/reference/sioserver"
)

// Example connects to a namespace with an auth payload, handles a server
// event and waits for an acknowledgement. The server is siospec's
// in-process reference server.
func Example() {
	srv := sioserver.NewServer(nil)
	srv.Of("/chat").OnConnection(func(s *sioserver.Socket) {
		_ = s.Emit("welcome", "hello")
		s.On("greet", func(e *sioserver.Event) {
			name, _ := e.Args[0].(string)
			_ = e.Ack("hi " + name)
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() { _ = srv.Close(context.Background()) }()

	m, err := sioclient.NewManager(hs.URL, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	s := m.Socket("/chat", &sioclient.SocketOptions{Auth: map[string]any{"user": "ada"}})
	welcome := make(chan sioclient.Message, 1)
	s.On("welcome", func(msg sioclient.Message, _ sioclient.AckFunc) { welcome <- msg })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		fmt.Println("connect:", err)
		return
	}
	fmt.Println("welcome", <-welcome)
	res, err := s.Timeout(time.Second).EmitWithAck(ctx, "greet", "ada")
	fmt.Println("ack", res, err)
	// Output:
	// welcome ["hello"]
	// ack ["hi ada"] <nil>
}
