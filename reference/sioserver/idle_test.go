package sioserver

import (
	"slices"
	"sync/atomic"
	"testing"

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
		s.onEvent(p)
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
