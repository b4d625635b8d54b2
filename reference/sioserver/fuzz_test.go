package sioserver

import (
	"bytes"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/siospec/siospec/protocol/engineio"
)

// fakeSession is an in-memory engine session for the fuzz target.
type fakeSession struct {
	proto   engineio.Version
	mu      sync.Mutex
	onMsg   func(engineio.Packet)
	onClose func(string, error)
	sent    int
	closed  bool
}

func (f *fakeSession) ID() string                 { return "fake-eio-sid" }
func (f *fakeSession) Protocol() engineio.Version { return f.proto }
func (f *fakeSession) Transport() string          { return "websocket" }
func (f *fakeSession) Request() *http.Request {
	return &http.Request{URL: &url.URL{RawQuery: "EIO=4"}, Header: http.Header{}, RequestURI: "/socket.io/?EIO=4"}
}
func (f *fakeSession) OnMessage(fn func(engineio.Packet)) { f.onMsg = fn }
func (f *fakeSession) OnClose(fn func(string, error))     { f.onClose = fn }
func (f *fakeSession) Send(pkts ...engineio.Packet) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	f.sent += len(pkts)
	if f.sent > 64 {
		return errQueueFull
	}
	return nil
}
func (f *fakeSession) Close(string) {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

// FuzzClientPackets feeds arbitrary message sequences into one client of a
// server with the fixture handlers, recovery and a dynamic namespace: no
// input may panic, and the client must end up closed or consistent.
// Messages are separated by 0x00; a message starting with 0x01 is binary.
func FuzzClientPackets(f *testing.F) {
	// Socket.IO packet texts (the payload of Engine.IO messages).
	seeds := []string{
		"0\x002[\"message\",1]\x0020[\"message-with-ack\",{\"a\":[1]}]",
		"0/custom,{\"x\":1}\x001/custom,\x002/custom,[\"x\"]",
		"0\x0051-[\"message\",{\"_placeholder\":true,\"num\":0}]\x00\x01abc",
		"0\x003999[]\x001\x000{\"pid\":\"x\",\"offset\":\"y\"}",
		"abc", "2[\"x\"]", "0\x000", "4{}", "\x01\x02", "0/dyn-9,\x002/dyn-9,[\"x\"]",
		"0\x0061-0[{\"_placeholder\":true,\"num\":0}]\x00\x01z\x002[\"disconnect\"]",
		"0/custom?token=1,\x002[\"message\",[1,{}]]\x000/ext,\x001",
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, v3 bool) {
		opts := csrOpts()
		srv := NewServer(opts)
		fixtureSetup(srv)
		srv.Sockets().OnConnection(func(so *Socket) {
			so.On("message", func(e *Event) {
				so.Join("r")
				_ = so.To("r").Emit("b", e.Args...)
				_ = so.EmitCallback("q", e.Args, 0, func([]any, error) {})
			})
		})
		srv.OfFunc(func(name string, _ any) bool { return len(name) > 4 }).
			OnConnection(func(so *Socket) { _ = so.Emit("hi") })
		fs := &fakeSession{proto: engineio.V4}
		if v3 {
			fs.proto = engineio.V3
		}
		c := srv.reg.attach(fs)
		for _, m := range bytes.Split(in, []byte{0}) {
			if len(m) > 0 && m[0] == 1 {
				fs.onMsg(engineio.BinaryMessage(append([]byte(nil), m[1:]...)))
			} else {
				fs.onMsg(engineio.Packet{Type: engineio.Message, Data: append([]byte(nil), m...)})
			}
		}
		fs.onClose("transport close", nil)
		if !c.isClosed() || len(c.sockets()) != 0 {
			t.Fatal("client not closed after the engine closed")
		}
		for _, n := range srv.reg.namespaces() {
			if ids := n.adapter.Sockets(nil); len(ids) != 0 {
				t.Fatalf("namespace %s still has sockets %v", n.name, ids)
			}
		}
		ctx, cancel := testCtx()
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
