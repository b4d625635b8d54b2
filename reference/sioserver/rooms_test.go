package sioserver

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/siospec/siospec/protocol/engineio"
)

// roomPeers connects n peers to "/" and returns them with their sockets.
func roomPeers(t *testing.T, tr string, n int) (*Server, []*rawPeer, []*Socket) {
	conns := make(chan *Socket, n)
	srv, base := newTestServer(t, nil, func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) { conns <- so })
	})
	var peers []*rawPeer
	var socks []*Socket
	for range n {
		p := dial(t, base, tr, engineio.V4)
		sid := p.connect("/", "")
		so := waitFor(t, conns)
		if so.ID() != sid {
			t.Fatalf("socket %s, reply sid %s", so.ID(), sid)
		}
		peers = append(peers, p)
		socks = append(socks, so)
	}
	return srv, peers, socks
}

func TestRoomsBroadcast(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		srv, p, s := roomPeers(t, tr, 3)
		s[0].Join("r1")
		s[1].Join("r1", "r2")
		s[2].Join("r2")
		if got := s[1].Rooms(); !slices.Equal(got, []string{s[1].ID(), "r1", "r2"}) {
			t.Fatalf("rooms %v", got)
		}
		nsp := srv.Sockets()
		must(t, nsp.To("r1").Emit("a", 1))
		p[0].expectText(`2["a",1]`)
		p[1].expectText(`2["a",1]`)
		// Several rooms: each socket once.
		must(t, nsp.To("r1", "r2").Emit("b"))
		for _, pp := range p {
			pp.expectText(`2["b"]`)
		}
		must(t, nsp.To("r2").Except("r1").Emit("c"))
		p[2].expectText(`2["c"]`)
		// Socket.To leaves the sender out; Broadcast reaches all others.
		must(t, s[1].To("r1").Emit("d"))
		p[0].expectText(`2["d"]`)
		must(t, s[0].Broadcast().Emit("e", []byte{7}))
		for _, pp := range p[1:] {
			pp.expectText(`51-["e",{"_placeholder":true,"num":0}]`)
			pp.expectBinary([]byte{7})
		}
		s[1].Leave("r1")
		must(t, nsp.Emit("f"))
		for _, pp := range p {
			pp.expectText(`2["f"]`)
		}
		must(t, nsp.To("r1").Emit("g"))
		p[0].expectText(`2["g"]`)
		// Emitting to a socket's own id room reaches only it.
		must(t, nsp.To(s[2].ID()).Emit("h"))
		p[2].expectText(`2["h"]`)
		for _, pp := range p {
			pp.expectQuiet(0)
		}
		// A disconnected socket leaves every room.
		p[2].sendText("1")
		waitUntil(t, func() bool { return len(nsp.To("r2").SocketIDs()) == 1 })
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitUntil polls cond with a bound (nothing else signals these states).
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		waitQuiet(10)
	}
	t.Fatal("condition not reached")
}

func TestMemoryAdapterConcurrent(t *testing.T) {
	host := &countHost{}
	a := NewMemoryAdapter(host)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				id := fmt.Sprintf("s%d-%d", g, i)
				a.AddAll(id, []string{id, "all", fmt.Sprintf("r%d", i%4)})
				_ = a.Broadcast(&Outgoing{}, BroadcastOptions{Rooms: []string{"r1"}, Except: []string{"r2"}})
				if i%2 == 0 {
					a.DelAll(id)
				}
			}
		}()
	}
	wg.Wait()
	if n := len(a.Sockets([]string{"all"})); n != 800 {
		t.Fatalf("%d sockets in room all, want 800", n)
	}
	if n := len(a.Sockets(nil)); n != 800 {
		t.Fatalf("%d sockets, want 800", n)
	}
}

type countHost struct {
	mu sync.Mutex
	n  int
}

func (h *countHost) Name() string { return "/" }
func (h *countHost) Deliver(string, *Outgoing, bool) {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
}
