package sioclient

import (
	"errors"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
)

// SIO4-01..05: protocol v4 over Engine.IO v3: the server joins "/" on its
// own, the client sends no CONNECT for "/" (SIO4-06) and puts the
// credentials of "/" on the handshake URL; other namespaces get
// "40/nsp?query,"; replies have no sid; ERROR payloads are strings.
func TestSIO4ImplicitRootAndQueryAuth(t *testing.T) {
	srv := newScript(t, socketio.V4)
	m := srv.client(t, nil)
	root := m.Socket("/", &SocketOptions{Auth: map[string]any{"token": "r"}})
	rr := watch(root)
	res := connectAsync(root)
	p := srv.accept(t)
	if p.query.Get("EIO") != "3" || p.query.Get("token") != "r" {
		t.Fatalf("handshake query %v", p.query)
	}
	p.quiet(t, 50*time.Millisecond) // no CONNECT for "/"
	p.sendText("0")
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	rr.want(t, "connect /")
	if root.ID() != p.sid {
		t.Fatalf("id %q, want the Engine.IO sid %q", root.ID(), p.sid)
	}
	admin := m.Socket("/admin", &SocketOptions{Auth: map[string]any{"token": "abc", "n": 1}})
	ra := watch(admin)
	res2 := connectAsync(admin)
	c := p.expect(t, socketio.Connect, "/admin")
	if c.Query != "n=1&token=abc" || c.Data != nil {
		t.Fatalf("CONNECT %v query %q", c, c.Query)
	}
	p.sendText("0/admin,")
	if err := waitErr(t, res2); err != nil {
		t.Fatal(err)
	}
	ra.want(t, "connect /admin")
	if admin.ID() != "/admin#"+p.sid {
		t.Fatalf("id %q", admin.ID())
	}
	// Events and acks as in v5; reserved names are not checked in v4.
	p.sendText(`2/admin,["disconnect",1]`)
	ra.want(t, "event /admin disconnect [1]")
	res3 := make(chan Message, 1)
	go func() {
		msg, err := admin.EmitWithAck(ctxT(t), "q", []byte{1})
		if err != nil {
			t.Error(err)
		}
		res3 <- msg
	}()
	p.expectText(t, `51-/admin,0["q",{"_placeholder":true,"num":0}]`)
	p.sendText(`3/admin,0["ok"]`)
	if msg := <-res3; msg.String() != `["ok"]` {
		t.Fatalf("ack %s", msg)
	}
	// SIO4-05: the ERROR packet with a string payload.
	bad := m.Socket("/bad", nil)
	res4 := connectAsync(bad)
	p.expect(t, socketio.Connect, "/bad")
	p.sendText(`4/bad,"Not authorized"`)
	var ce *ConnectError
	if err := waitErr(t, res4); !errors.As(err, &ce) || ce.Message != "Not authorized" {
		t.Fatalf("Connect = %v", err)
	}
}

// SIO4-02, SIO-NSP-08: a client that wants only "/admin" still gets the
// implicit "/" join, which it ignores.
func TestSIO4OnlyCustomNamespace(t *testing.T) {
	srv := newScript(t, socketio.V4)
	m := srv.client(t, nil)
	admin := m.Socket("/admin", nil)
	res := connectAsync(admin)
	p := srv.accept(t)
	p.sendText("0")
	c := p.expect(t, socketio.Connect, "/admin")
	if c.Query != "" {
		t.Fatalf("query %q", c.Query)
	}
	p.sendText("0/admin,")
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	// "/" joined later takes the server's implicit join without a packet.
	root := m.Socket("/", nil)
	if err := root.Connect(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	p.quiet(t, 50*time.Millisecond)
	// After leaving "/", joining again needs an explicit CONNECT.
	root.Disconnect()
	p.expectText(t, "1")
	res2 := connectAsync(root)
	p.expectText(t, "0")
	p.sendText("0")
	if err := waitErr(t, res2); err != nil {
		t.Fatal(err)
	}
}

// SIO4-08: a v5 client talking to a v4 server gets ErrNoSID.
func TestSIO408V5ClientV4Reply(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	s := m.Socket("/admin", nil)
	res := connectAsync(s)
	p := srv.accept(t)
	p.expect(t, socketio.Connect, "/admin")
	p.sendText("0/admin,")
	if err := waitErr(t, res); !errors.Is(err, ErrNoSID) {
		t.Fatalf("Connect = %v", err)
	}
}
