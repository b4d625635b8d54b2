package sioserver

import (
	"testing"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

func v4Setup(s *Server) {
	fixtureSetup(s)
	s.Sockets().OnConnection(func(so *Socket) {
		so.On("id", func(e *Event) { _ = e.Ack(so.ID(), so.EngineID()) })
	})
	s.Of("/custom").OnConnection(func(so *Socket) {
		so.On("id", func(e *Event) { _ = e.Ack(so.ID()) })
	})
	s.Of("/refuse").Use(func(so *Socket) error {
		a := so.Handshake().Auth.(socketio.Object)
		d, _ := a.Get("data")
		return &ConnectError{Message: "refused", Data: d}
	})
}

func v4Opts() *Options {
	o := &Options{}
	o.AllowEIO3 = true
	return o
}

func TestSIO4ImplicitMainNamespace(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		_, base := newTestServer(t, v4Opts(), v4Setup)
		p := dial(t, base, tr, engineio.V3)
		// SIO4-02: "/" joined at the open; SIO4-04: no sid in the reply.
		p.expectText("0")
		p.expectText(`2["auth",{}]`)
		// SIO4-04: the socket id of "/" is the Engine.IO sid.
		p.sendText(`21["id"]`)
		p.expectText(`31["` + p.sid + `","` + p.sid + `"]`)
		// SIO4-06: a redundant CONNECT for "/" is accepted: as in
		// socket.io 2.x the socket is replaced (same id), the handlers
		// run again and no second CONNECT is sent.
		p.sendText("0")
		p.expectText(`2["auth",{}]`)
		// SIO4-03: the credentials ride in the namespace query.
		p.sendText("0/custom?token=abc&x=1,")
		p.expectText("0/custom,")
		p.expectText(`2/custom,["auth",{"token":"abc","x":"1"}]`)
		p.sendText(`2/custom,2["id"]`)
		p.expectText(`3/custom,2["/custom#` + p.sid + `"]`)
		// SIO4-05: ERROR packets are JSON strings (err.data || err.message).
		p.sendText("0/random,")
		p.expectText(`4/random,"Invalid namespace"`)
		p.sendText("0/refuse?data=x,")
		p.expectText(`4/refuse,"x"`)
		p.sendText("0/refuse,")
		p.expectText(`4/refuse,"refused"`)
		// socket.io 2.x ignores packets for a namespace not joined.
		p.sendText(`2/other,["x"]`)
		p.sendText(`2["message",1]`)
		p.expectText(`2["message-back",1]`)
	})
}

func TestSIO4BinaryEvent(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		_, base := newTestServer(t, v4Opts(), v4Setup)
		p := dial(t, base, tr, engineio.V3)
		p.expectText("0")
		p.expectText(`2["auth",{}]`)
		p.sendText(`51-["message",{"_placeholder":true,"num":0}]`)
		p.sendBinary([]byte{1, 2})
		p.expectText(`51-["message-back",{"_placeholder":true,"num":0}]`)
		p.expectBinary([]byte{1, 2})
	})
}
