package sioclient

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
)

// SIO-CONN-01: after the Engine.IO open the client sends a CONNECT for every
// namespace, "/" included, with the auth payload when there is one
// (SIO-CONN-04); each namespace gets its own sid over one session
// (SIO-NSP-02).
func TestSIOCONN01ConnectEveryNamespace(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	root := m.Socket("/", nil)
	admin := m.Socket("/admin", &SocketOptions{Auth: map[string]any{"token": "abc"}})
	r1, r2 := connectAsync(root), connectAsync(admin)
	p := srv.accept(t)
	got := map[string]string{}
	for range 2 {
		sp := p.expect(t, socketio.Connect, p.recvNsp(t))
		got[sp.Namespace()] = string(sp.Data)
	}
	if got["/"] != "" || got["/admin"] != `{"token":"abc"}` {
		t.Fatalf("CONNECT payloads %q", got)
	}
	p.send(pk(socketio.NewPacket(socketio.Connect, "/admin", map[string]any{"sid": "A"})))
	p.send(pk(socketio.NewPacket(socketio.Connect, "/", map[string]any{"sid": "R"})))
	if err := waitErr(t, r1); err != nil {
		t.Fatal(err)
	}
	if err := waitErr(t, r2); err != nil {
		t.Fatal(err)
	}
	if root.ID() != "R" || admin.ID() != "A" {
		t.Fatalf("ids %q %q", root.ID(), admin.ID())
	}
	// Packets are routed by namespace (SIO-NSP-02).
	rec := newRecorder()
	root.On("x", func(msg Message, _ AckFunc) { rec.add("/ %s", msg) })
	admin.On("x", func(msg Message, _ AckFunc) { rec.add("/admin %s", msg) })
	p.sendText(`2/admin,["x",1]`, `2["x",2]`)
	rec.want(t, "/admin [1]")
	rec.want(t, "/ [2]")
	srv.noSession(t, 50*time.Millisecond)
}

// recvNsp peeks nothing: CONNECTs may come in either order, so expect any
// namespace by reading the packet first.
func (p *peer) recvNsp(t *testing.T) string {
	t.Helper()
	sp := p.recv(t)
	// push back by re-queueing in front is not possible on a channel; read
	// it again through a one-element buffer.
	p.unread = append(p.unread, sp)
	return sp.Namespace()
}

// SIO-CONN-12: a CONNECT reply without sid is an error (a v2 server).
func TestSIOCONN12ReplyWithoutSID(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	s := m.Socket("/", nil)
	rec := watch(s)
	res := connectAsync(s)
	p := srv.accept(t)
	p.expect(t, socketio.Connect, "/")
	p.sendText("0")
	if err := waitErr(t, res); !errors.Is(err, ErrNoSID) {
		t.Fatalf("Connect = %v, want ErrNoSID", err)
	}
	rec.want(t, "connect_error / "+ErrNoSID.Error())
	if s.Active() {
		t.Fatal("socket still active")
	}
	p.closed(t) // no namespace left: the session is closed (SIO-NSP-08)
}

// SIO-CONN-13: events that come before the CONNECT reply are buffered and
// handed out after it, before the connect event.
func TestSIOCONN13EventsBeforeConnectBuffered(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	s := m.Socket("/", nil)
	rec := watch(s)
	res := connectAsync(s)
	p := srv.accept(t)
	p.expect(t, socketio.Connect, "/")
	p.sendText(`2["early",1]`, `2["early",2]`)
	rec.none(t, 50*time.Millisecond)
	p.sendText(`0{"sid":"S"}`)
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	rec.want(t, "event / early [1]")
	rec.want(t, "event / early [2]")
	rec.want(t, "connect /")
}

// SIO-CONN-14: CONNECT_ERROR destroys that namespace's socket, with the
// message and data, and there is no automatic retry; other namespaces are
// untouched (SIO-ERR-03: object form).
func TestSIOCONN14ConnectErrorNoRetry(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	root := m.Socket("/", nil)
	admin := m.Socket("/admin", nil)
	rec := watch(admin)
	r1 := connectAsync(root)
	p, _ := srv.acceptConnect(t, "/", "R")
	if err := waitErr(t, r1); err != nil {
		t.Fatal(err)
	}
	r2 := connectAsync(admin)
	p.expect(t, socketio.Connect, "/admin")
	p.sendText(`4/admin,{"message":"not authorized","data":{"reason":"bad token"}}`)
	err := waitErr(t, r2)
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Nsp != "/admin" || ce.Message != "not authorized" || string(ce.Data) != `{"reason":"bad token"}` {
		t.Fatalf("Connect = %#v", err)
	}
	rec.want(t, "connect_error /admin")
	if admin.Active() || !root.Connected() {
		t.Fatalf("admin active %v, root connected %v", admin.Active(), root.Connected())
	}
	p.quiet(t, 100*time.Millisecond) // no retry
	// A new Connect is the application's decision; the string form of the
	// payload is accepted too (SIO-ERR-03).
	r3 := connectAsync(admin)
	p.expect(t, socketio.Connect, "/admin")
	p.sendText(`4/admin,"nope"`)
	if err := waitErr(t, r3); !errors.As(err, &ce) || ce.Message != "nope" {
		t.Fatalf("Connect = %v", err)
	}
}

// SIO-NSP-08: packets for a namespace without an active socket are dropped;
// when the last active namespace leaves, the session is closed
// (SIO-DISC-08: after a DISCONNECT).
func TestSIONSP08DropAndCloseWhenUnused(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	s := m.Socket("/", nil)
	rec := watch(s)
	res := connectAsync(s)
	p, _ := srv.acceptConnect(t, "/", "S")
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	rec.want(t, "connect /")
	p.sendText(`2/other,["x"]`, `3/other,0[]`, `2["here"]`)
	rec.want(t, "event / here []")
	s.Disconnect()
	p.expectText(t, "1")
	p.closed(t)
	rec.want(t, "disconnect / io client disconnect")
	srv.noSession(t, 100*time.Millisecond)
}

// SIO-DISC-01, SIO-DISC-04: a DISCONNECT from the server ends that
// namespace with "io server disconnect" and no reconnection; the session
// stays up for the others.
func TestSIODISC04ServerDisconnect(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	root, admin := m.Socket("/", nil), m.Socket("/admin", nil)
	rr, ra := watch(root), watch(admin)
	r1 := connectAsync(root)
	p, _ := srv.acceptConnect(t, "/", "R")
	if err := waitErr(t, r1); err != nil {
		t.Fatal(err)
	}
	r2 := connectAsync(admin)
	p.expect(t, socketio.Connect, "/admin")
	p.sendText(`0/admin,{"sid":"A"}`)
	if err := waitErr(t, r2); err != nil {
		t.Fatal(err)
	}
	rr.want(t, "connect /")
	ra.want(t, "connect /admin")
	p.sendText("1/admin,")
	ra.want(t, "disconnect /admin io server disconnect")
	if admin.Active() || !root.Connected() {
		t.Fatal("wrong state after the server disconnect")
	}
	p.sendText(`2["still"]`)
	rr.want(t, "event / still []")
	// The last namespace: the Manager closes the session and does not
	// reconnect (NODE-RECON-01).
	p.sendText("1")
	rr.want(t, "disconnect / io server disconnect")
	p.closed(t)
	srv.noSession(t, 150*time.Millisecond)
}

// SIO-DISC-07: closing the Engine.IO session disconnects every namespace
// with the Engine.IO reason; the Manager reconnects and re-sends CONNECT
// for each (SIO-CONN-15, NODE-RECON-04).
func TestSIODISC07TransportCloseReconnects(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	mr := watchManager(m)
	root, admin := m.Socket("/", nil), m.Socket("/admin", nil)
	rr, ra := watch(root), watch(admin)
	r1, r2 := connectAsync(root), connectAsync(admin)
	p := srv.accept(t)
	for range 2 {
		sp := p.recv(t)
		p.send(pk(socketio.NewPacket(socketio.Connect, sp.Namespace(), map[string]any{"sid": "x" + sp.Namespace()})))
	}
	if waitErr(t, r1) != nil || waitErr(t, r2) != nil {
		t.Fatal("connect failed")
	}
	rr.want(t, "connect /")
	ra.want(t, "connect /admin")
	p.kill()
	rr.want(t, "disconnect / transport close")
	ra.want(t, "disconnect /admin transport close")
	p2 := srv.accept(t)
	nsps := map[string]bool{}
	for range 2 {
		sp := p2.recv(t)
		nsps[sp.Namespace()] = true
		p2.send(pk(socketio.NewPacket(socketio.Connect, sp.Namespace(), map[string]any{"sid": "y" + sp.Namespace()})))
	}
	if !nsps["/"] || !nsps["/admin"] {
		t.Fatalf("re-CONNECTs %v", nsps)
	}
	rr.want(t, "connect /")
	ra.want(t, "connect /admin")
	mr.until(t, "reconnect_attempt 1")
	mr.until(t, "reconnect 1")
	if root.ID() != "y/" {
		t.Fatalf("id %q", root.ID())
	}
}

// SIO-CONN-15: every (re)connection evaluates the auth function again.
func TestSIOCONN15AuthFuncPerConnection(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	n := 0
	s := m.Socket("/", &SocketOptions{AuthFunc: func(context.Context) (any, error) {
		n++ // runs on the Manager's goroutine, one call at a time
		return map[string]any{"n": n}, nil
	}})
	res := connectAsync(s)
	p, c := srv.acceptConnect(t, "/", "S")
	if string(c.Data) != `{"n":1}` {
		t.Fatalf("first CONNECT %s", c.Data)
	}
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	p.kill()
	_, c2 := srv.acceptConnect(t, "/", "S2")
	if string(c2.Data) != `{"n":2}` {
		t.Fatalf("second CONNECT %s", c2.Data)
	}
}

// An auth function error fails Connect with connect_error and leaves the
// socket inactive.
func TestAuthFuncError(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	boom := errors.New("no token")
	s := m.Socket("/", &SocketOptions{AuthFunc: func(context.Context) (any, error) { return nil, boom }})
	res := connectAsync(s)
	p := srv.accept(t)
	if err := waitErr(t, res); !errors.Is(err, boom) {
		t.Fatalf("Connect = %v", err)
	}
	p.closed(t)
	// A non-object auth is refused the same way.
	s2 := m.Socket("/x", &SocketOptions{Auth: []int{1}})
	res2 := connectAsync(s2)
	srv.accept(t)
	if err := waitErr(t, res2); !errors.Is(err, ErrBadAuth) {
		t.Fatalf("Connect = %v", err)
	}
}

// Connect gives up when its ctx ends; a CONNECT reply that comes later is
// undone with a DISCONNECT.
func TestConnectCtxCancel(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	s := m.Socket("/a", nil)
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- s.Connect(ctx) }()
	p := srv.accept(t)
	p.expect(t, socketio.Connect, "/a")
	cancel()
	if err := waitErr(t, res); !errors.Is(err, context.Canceled) {
		t.Fatalf("Connect = %v", err)
	}
	if s.Active() {
		t.Fatal("still active")
	}
	p.closed(t)
}

// Close disconnects every namespace with a DISCONNECT and waits.
func TestCloseSendsDisconnect(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	s := m.Socket("/", nil)
	rec := watch(s)
	res := connectAsync(s)
	p, _ := srv.acceptConnect(t, "/", "S")
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	p.expectText(t, "1")
	p.closed(t)
	rec.want(t, "connect /")
	rec.want(t, "disconnect / io client disconnect")
	if err := s.Emit(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Emit after Close = %v", err)
	}
	if err := s.Connect(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect after Close = %v", err)
	}
	_ = m.Close()
}
