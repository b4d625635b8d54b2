package sioserver

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// The in-memory adapter keeps a room with one member without a set and
// makes one for the second member; membership must be the same either
// way, through every transition.
func TestMemoryAdapterSingletonRooms(t *testing.T) {
	a := NewMemoryAdapter(nspHost{}).(*memoryAdapter)
	sockets := func(rooms ...string) []string {
		got := a.Sockets(rooms)
		slices.Sort(got)
		return got
	}
	check := func(step string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Fatalf("%s: %v, want %v", step, got, want)
		}
	}
	a.AddAll("a", []string{"a", "r"})
	check("one member", sockets("r"), []string{"a"})
	a.AddAll("a", []string{"r"})
	check("same member again", sockets("r"), []string{"a"})
	a.AddAll("b", []string{"b", "r"})
	check("second member", sockets("r"), []string{"a", "b"})
	check("two rooms, no duplicates", sockets("r", "a", "b"), []string{"a", "b"})
	a.Del("a", "r")
	check("first member left", sockets("r"), []string{"b"})
	a.Del("b", "r")
	check("empty room", sockets("r"), nil)
	a.AddAll("c", []string{"r"})
	check("room again", sockets("r"), []string{"c"})
	a.Del("x", "r")
	check("a non-member leaving", sockets("r"), []string{"c"})
	a.DelAll("c")
	check("all rooms left", sockets("r"), nil)
	check("own rooms", sockets("a", "b", "c"), []string{"a", "b"})
	for i := range a.rooms {
		for name, rm := range a.rooms[i].rooms {
			if name == "a" || name == "b" {
				if rm.m != nil || rm.one != name {
					t.Fatalf("own room %q: %+v, want a single member without a set", name, rm)
				}
			}
		}
	}
}

// A socket's handlers run in registration order, only for their event, and
// a socket with none for an event ignores it.
func TestSocketHandlersByEvent(t *testing.T) {
	s := &Socket{connected: true, client: &client{reg: &registry{}}}
	var order []string
	s.On("a", func(*Event) { order = append(order, "a1") })
	s.On("b", func(*Event) { order = append(order, "b1") })
	s.On("a", func(*Event) { order = append(order, "a2") })
	var anyCount atomic.Int32
	dispatch := func(name string) {
		t.Helper()
		p, err := socketio.NewEvent("/", name, "x")
		if err != nil {
			t.Fatal(err)
		}
		s.onEvent(&p)
	}
	dispatch("a")
	dispatch("c")
	dispatch("b")
	if want := []string{"a1", "a2", "b1"}; !slices.Equal(order, want) {
		t.Fatalf("handlers ran %v, want %v", order, want)
	}
	s.OnAny(func(*Event) { anyCount.Add(1) })
	dispatch("c")
	if anyCount.Load() != 1 || len(order) != 3 {
		t.Fatalf("OnAny ran %d times, handlers %v", anyCount.Load(), order)
	}
}

// A client keeps its sockets in join order, replaces the socket of a
// namespace joined again and forgets only the socket it holds.
func TestClientSocketsInJoinOrder(t *testing.T) {
	c := &client{}
	nsp := func(name string) *Namespace { return &Namespace{name: name} }
	a, b, c2 := &Socket{nsp: nsp("/a")}, &Socket{nsp: nsp("/b")}, &Socket{nsp: nsp("/c")}
	for _, s := range []*Socket{a, b, c2} {
		if !c.add(s) {
			t.Fatal("add refused")
		}
	}
	if got := c.sockets(); !slices.Equal(got, []*Socket{a, b, c2}) {
		t.Fatalf("sockets %v", got)
	}
	b2 := &Socket{nsp: b.nsp}
	c.add(b2)
	if got := c.sockets(); !slices.Equal(got, []*Socket{a, b2, c2}) {
		t.Fatalf("after replacing /b: %v", got)
	}
	c.remove(b) // no longer held: nothing happens
	if got := c.socketLocked("/b"); got != b2 {
		t.Fatalf("socket of /b %p, want %p", got, b2)
	}
	c.remove(b2)
	c.remove(a)
	if got := c.sockets(); !slices.Equal(got, []*Socket{c2}) {
		t.Fatalf("after removals: %v", got)
	}
	if c.socketLocked("/a") != nil {
		t.Fatal("/a still found")
	}
}

// A packet that follows a CONNECT is handled after the CONNECT's handling
// (which runs on a goroutine of its own, connectOnFreshStack) is complete:
// the connection handler has returned, so the handler it registered last
// sees the event that arrived with the CONNECT, in the same polling payload
// or right behind it on the WebSocket.
func TestPacketAfterConnectWaitsForConnectionHandler(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		entered := make(chan struct{})
		release := make(chan struct{})
		doRelease := sync.OnceFunc(func() { close(release) })
		t.Cleanup(doRelease) // before the server's close, if the test stops early
		var returned atomic.Bool
		_, base := newTestServer(t, nil, func(srv *Server) {
			srv.Sockets().OnConnection(func(s *Socket) {
				_ = s.Emit("hello")
				close(entered)
				select {
				case <-release:
				case <-time.After(waitBudget):
					t.Error("connection handler not released")
				}
				s.On("e", func(*Event) {
					_ = s.Emit("got", returned.Load())
				})
				returned.Store(true)
			})
		})
		p := dial(t, base, tr, engineio.V4)
		// On polling the POST is answered once its payload is handled.
		sent := make(chan error, 1)
		go func() {
			p.sendMu.Lock()
			defer p.sendMu.Unlock()
			sent <- p.sendRaw(engineio.TextPacket(engineio.Message, "0"), engineio.TextPacket(engineio.Message, `2["e"]`))
		}()
		p.expectPrefix(`0{"sid":`)
		p.expectText(`2["hello"]`)
		select {
		case <-entered:
		case <-time.After(waitBudget):
			t.Fatal("connection handler not entered")
		}
		// The event was sent before the handler could register for it: a
		// reader that went on while the handler ran would have handled
		// it by now (the peer has received "hello" since), for a socket
		// not joined yet or with no handler.
		doRelease()
		p.expectText(`2["got",true]`)
		select {
		case err := <-sent:
			if err != nil {
				t.Fatalf("send: %v", err)
			}
		case <-time.After(waitBudget):
			t.Fatal("send not done")
		}
	})
}

// A panic that the CONNECT's handling does not recover (here a dynamic
// namespace's match function) reaches the caller of onMessage with its
// value, as it did when the handling ran on the caller's goroutine.
func TestConnectPanicReachesCaller(t *testing.T) {
	errBoom := errors.New("boom")
	srv := NewServer(nil)
	t.Cleanup(func() {
		ctx, cancel := testCtx()
		defer cancel()
		_ = srv.Close(ctx)
	})
	srv.OfFunc(func(string, any) bool { panic(errBoom) })
	c := srv.reg.attach(&fakeSession{proto: engineio.V4})
	got := func() (r any) {
		defer func() { r = recover() }()
		c.onMessage(engineio.TextPacket(engineio.Message, "0/dyn"))
		return nil
	}()
	if err, ok := got.(error); !ok || !errors.Is(err, errBoom) {
		t.Fatalf("recovered %v (%T), want %v", got, got, errBoom)
	}
}
