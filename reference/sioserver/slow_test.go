package sioserver

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/siospec/siospec/protocol/engineio"
)

// A client that does not read must not make the server buffer without
// limit: once its session queue is full it is disconnected.
func TestSlowClientDisconnected(t *testing.T) {
	conns := make(chan *Socket, 1)
	disc := make(chan string, 1)
	opts := &Options{}
	opts.SendQueueLimit = 16
	_, base := newTestServer(t, opts, func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) {
			so.OnDisconnect(func(r string) { disc <- r })
			conns <- so
		})
	})
	ctx := context.Background()
	q := base + "/socket.io/?EIO=4&transport=polling"
	body, _, err := httpDo(ctx, http.MethodGet, q, nil)
	must(t, err)
	pk, err := engineio.DecodePayload(engineio.V4, false, body)
	must(t, err)
	open, err := engineio.ParseOpen(pk[0].Data)
	must(t, err)
	if _, st, err := httpDo(ctx, http.MethodPost, q+"&sid="+open.SID, []byte("40")); err != nil || st != 200 {
		t.Fatalf("POST 40: %d %v", st, err)
	}
	so := waitFor(t, conns)
	var sendErr error
	for i := 0; i < 100 && sendErr == nil; i++ {
		sendErr = so.Emit("flood", i)
	}
	if !errors.Is(sendErr, ErrClosed) {
		t.Fatalf("emit to a full queue: %v", sendErr)
	}
	if r := waitFor(t, disc); r != ReasonSendQueueFull {
		t.Fatalf("reason %q", r)
	}
}
