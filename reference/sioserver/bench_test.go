package sioserver

import (
	"fmt"
	"testing"

	"github.com/siospec/siospec/protocol/engineio"
)

// BenchmarkBroadcast measures one broadcast to 1000 sockets in a room of an
// in-memory namespace (engine sessions are in-memory fakes that accept
// every packet): encoding happens once, then the shared frames are queued
// on each session.
func BenchmarkBroadcast(b *testing.B) {
	srv := NewServer(nil)
	b.Cleanup(func() {
		ctx, cancel := testCtx()
		defer cancel()
		_ = srv.Close(ctx)
	})
	for i := range 1000 {
		fs := &benchSession{id: fmt.Sprint("e", i)}
		c := srv.reg.attach(fs)
		c.onMessage(engineio.Packet{Type: engineio.Message, Data: []byte("0")})
	}
	for _, s := range srv.Sockets().Sockets() {
		s.Join("room")
	}
	if n := len(srv.Sockets().To("room").SocketIDs()); n != 1000 {
		b.Fatalf("%d sockets in the room", n)
	}
	payload := map[string]any{"n": 1, "s": "hello", "a": []any{1, 2, 3}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := srv.Sockets().To("room").Emit("tick", payload); err != nil {
			b.Fatal(err)
		}
	}
}

type benchSession struct {
	fakeSession
	id string
}

func (s *benchSession) ID() string                         { return s.id }
func (s *benchSession) Send(pkts ...engineio.Packet) error { return nil }

// BenchmarkEchoEvent measures one received event echoed back by its
// handler, as bench/cmd/benchsrv's "echo" does: decoding, dispatch and the
// emit, on an in-memory engine session that accepts every packet.
func BenchmarkEchoEvent(b *testing.B) {
	srv := NewServer(nil)
	b.Cleanup(func() {
		ctx, cancel := testCtx()
		defer cancel()
		_ = srv.Close(ctx)
	})
	var echoed int
	srv.Sockets().OnConnection(func(s *Socket) {
		s.On("echo", func(e *Event) {
			if s.Emit("echo", e.Args...) == nil {
				echoed++
			}
		})
	})
	c := srv.reg.attach(&benchSession{id: "e"})
	c.onMessage(engineio.Packet{Type: engineio.Message, Data: []byte("0")})
	msg := []byte(`2["echo","hello"]`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.onMessage(engineio.Packet{Type: engineio.Message, Data: msg})
	}
	b.StopTimer()
	if echoed != b.N {
		b.Fatalf("%d of %d events echoed", echoed, b.N)
	}
}

// benchEvent measures one received message msg handled by handlers set
// up on connection, on an in-memory engine session that accepts every
// packet.
func benchEvent(b *testing.B, msg string, setup func(s *Socket)) {
	srv := NewServer(nil)
	b.Cleanup(func() {
		ctx, cancel := testCtx()
		defer cancel()
		_ = srv.Close(ctx)
	})
	srv.Sockets().OnConnection(setup)
	c := srv.reg.attach(&benchSession{id: "e"})
	c.onMessage(engineio.Packet{Type: engineio.Message, Data: []byte("0")})
	data := []byte(msg)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.onMessage(engineio.Packet{Type: engineio.Message, Data: data})
	}
	b.StopTimer()
	if c.isClosed() {
		b.Fatal("the session closed")
	}
}

// BenchmarkAckEvent measures an event answered with Ack, as
// bench/cmd/benchsrv's "ack" does.
func BenchmarkAckEvent(b *testing.B) {
	benchEvent(b, `21["ack","hello"]`, func(s *Socket) {
		s.On("ack", func(e *Event) { _ = e.Ack(e.Args...) })
	})
}

// BenchmarkEchoEventObject is BenchmarkEchoEvent with an object and
// numbers among the arguments.
func BenchmarkEchoEventObject(b *testing.B) {
	benchEvent(b, `2["echo","hello",{"n":1,"s":"x","a":[1,2.5,true]}]`, func(s *Socket) {
		s.On("echo", func(e *Event) { _ = s.Emit("echo", e.Args...) })
	})
}
