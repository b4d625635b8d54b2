package sioclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// connected returns a Manager, a socket joined to nsp and the peer.
func connected(t *testing.T, nsp string, so *SocketOptions, mo *ManagerOptions) (*Manager, *Socket, *peer, *recorder) {
	t.Helper()
	srv := newScript(t, socketio.V5)
	m := srv.client(t, mo)
	s := m.Socket(nsp, so)
	rec := watch(s)
	res := connectAsync(s)
	p, _ := srv.acceptConnect(t, nsp, "S1")
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	rec.want(t, "connect "+nsp)
	return m, s, p, rec
}

// SIO-ENC-08, SIO-ENC-02, SIO-EVT-01, SIO-EVT-05: an event is
// ["name", args...] in the string form (type, namespace and comma, payload),
// written as JSON.stringify writes it (compact, key order kept).
func TestSIOENC08EmitWireForm(t *testing.T) {
	_, s, p, _ := connected(t, "/admin", nil, nil)
	ctx := ctxT(t)
	type obj struct {
		B int    `json:"b"`
		A string `json:"a"`
	}
	if err := s.Emit(ctx, "m", 1, "2", map[string]any{"3": []any{false}}, nil, obj{B: 1, A: "é"}); err != nil {
		t.Fatal(err)
	}
	p.expectText(t, `2/admin,["m",1,"2",{"3":[false]},null,{"b":1,"a":"é"}]`)
}

// SIO-EVT-06: packets keep their order.
func TestSIOEVT06Order(t *testing.T) {
	_, s, p, rec := connected(t, "/", nil, nil)
	ctx := ctxT(t)
	for i := range 50 {
		if err := s.Emit(ctx, "n", i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		p.expectText(t, fmt.Sprintf(`2["n",%d]`, i))
	}
	for i := range 50 {
		p.sendText(fmt.Sprintf(`2["n",%d]`, i))
	}
	for i := range 50 {
		rec.want(t, fmt.Sprintf("event / n [%d]", i))
	}
}

// SIO-EVT-03: the client refuses to emit a reserved name.
func TestSIOEVT03EmitReserved(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if err := s.Emit(ctxT(t), name); !errors.Is(err, ErrReservedEvent) {
			t.Fatalf("Emit(%q) = %v", name, err)
		}
	}
	p.quiet(t, 50*time.Millisecond)
}

// SIO-EVT-04: a numeric event name is delivered under its JSON text.
func TestSIOEVT04NumericName(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	got := make(chan Message, 1)
	s.On("42", func(msg Message, _ AckFunc) { got <- msg })
	p.sendText(`2[42,"x"]`)
	select {
	case msg := <-got:
		if msg.String() != `["x"]` {
			t.Fatalf("args %s", msg)
		}
	case <-time.After(wait):
		t.Fatal("no event")
	}
}

// SIO-ACK-01, SIO-ACK-02, SIO-ACK-04, SIO-ENC-05: the client answers an
// event with an id exactly once, same id and namespace; id 0 is an id; the
// id is the digits after the namespace comma; an empty ack is [].
func TestSIOACK01ClientAcks(t *testing.T) {
	_, s, p, _ := connected(t, "/admin", nil, nil)
	acks := make(chan AckFunc, 2)
	s.On("q", func(msg Message, ack AckFunc) { acks <- ack })
	p.sendText(`2/admin,0["q"]`)
	ack := <-acks
	if ack == nil {
		t.Fatal("no AckFunc for id 0")
	}
	if err := ack("a", 1); err != nil {
		t.Fatal(err)
	}
	p.expectText(t, `3/admin,0["a",1]`)
	if err := ack(); !errors.Is(err, ErrAckSent) {
		t.Fatalf("second ack = %v", err)
	}
	p.sendText(`2/admin,7["q"]`)
	if err := (<-acks)(); err != nil {
		t.Fatal(err)
	}
	p.expectText(t, `3/admin,7[]`)
	// No id: no AckFunc.
	p.sendText(`2/admin,["q"]`)
	if ack := <-acks; ack != nil {
		t.Fatal("AckFunc for an event without id")
	}
}

// SIO-ACK-03: ack arguments with binary go out as a BINARY_ACK.
func TestSIOACK03BinaryAck(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	s.On("q", func(msg Message, ack AckFunc) { _ = ack([]byte{1, 2}, "x") })
	p.sendText(`29["q"]`)
	sp := p.expectText(t, `61-9[{"_placeholder":true,"num":0},"x"]`)
	if len(sp.Binary) != 1 || !bytes.Equal(sp.Binary[0], []byte{1, 2}) {
		t.Fatalf("attachments %v", sp.Binary)
	}
}

// SIO-ACK-04, SIO-ACK-07: ack ids are per socket, from 0; SIO-ACK-05: an
// unknown or used id is ignored.
func TestSIOACK07IdsFromZero(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	ctx := ctxT(t)
	type res struct {
		msg Message
		err error
	}
	out := make(chan res, 2)
	for i := range 2 {
		go func() {
			msg, err := s.EmitWithAck(ctx, "e", i)
			out <- res{msg, err}
		}()
		sp := p.recv(t)
		if !sp.HasID || sp.ID != uint64(i) {
			t.Fatalf("packet %v, want ack id %d", sp, i)
		}
	}
	p.sendText(`3999[]`, `31["one"]`, `31["again"]`, `30[{"z":0}]`)
	got := map[string]bool{}
	for range 2 {
		r := <-out
		if r.err != nil {
			t.Fatal(r.err)
		}
		got[r.msg.String()] = true
	}
	if !got[`["one"]`] || !got[`[{"z":0}]`] {
		t.Fatalf("acks %v", got)
	}
}

// NODE-ACK-01: a timeout fails EmitWithAck with ErrAckTimeout; the late
// ACK is ignored.
func TestNODEACK01Timeout(t *testing.T) {
	_, s, p, rec := connected(t, "/", &SocketOptions{AckTimeout: time.Hour}, nil)
	start := time.Now()
	_, err := s.Timeout(50*time.Millisecond).EmitWithAck(ctxT(t), "e")
	if !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("EmitWithAck = %v", err)
	}
	// The upper bound only tells the 50 ms timeout from the 1 h default;
	// it is generous for a loaded machine.
	if d := time.Since(start); d < 50*time.Millisecond || d > 10*time.Second {
		t.Fatalf("timed out after %v", d)
	}
	p.expectText(t, `20["e"]`)
	p.sendText(`30[]`, `2["after"]`)
	rec.want(t, "event / after []")
	// ctx ends first.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "e"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("EmitWithAck = %v", err)
	}
}

// NODE-ACK-03, SIO-ACK-09: a disconnection fails the pending acks.
func TestNODEACK03DisconnectFailsAcks(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	res := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(ctxT(t), "e")
		res <- err
	}()
	p.expectText(t, `20["e"]`)
	p.kill()
	if err := waitErr(t, res); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("EmitWithAck = %v", err)
	}
}

// NODE-ACK-02: with Retries, emits go one at a time, each try with a new ack
// id, Retries+1 sends at most.
func TestNODEACK02Retries(t *testing.T) {
	_, s, p, _ := connected(t, "/", &SocketOptions{Retries: 2, AckTimeout: 40 * time.Millisecond}, nil)
	ctx := ctxT(t)
	res := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(ctx, "a")
		res <- err
	}()
	for i := range 3 {
		sp := p.recv(t)
		if !sp.HasID || sp.ID != uint64(i) {
			t.Fatalf("try %d: %v", i, sp)
		}
	}
	if err := waitErr(t, res); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("EmitWithAck = %v", err)
	}
	p.quiet(t, 100*time.Millisecond)
	// Queue order: "b" waits for "c"? No: "b" first, one at a time; "b" is
	// acked on its second try, then "c" goes.
	if err := s.Emit(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	resC := make(chan Message, 1)
	go func() {
		msg, err := s.EmitWithAck(ctx, "c")
		if err != nil {
			t.Error(err)
		}
		resC <- msg
	}()
	p.expectText(t, `23["b"]`)
	p.expectText(t, `24["b"]`)
	p.sendText(`34[]`)
	p.expectText(t, `25["c"]`)
	p.sendText(`35["ok"]`)
	select {
	case msg := <-resC:
		if msg.String() != `["ok"]` {
			t.Fatalf("ack %s", msg)
		}
	case <-time.After(wait):
		t.Fatal("no ack")
	}
}

// NODE-BUF-01: emits made while disconnected are buffered and flushed in
// order right after the next CONNECT reply; NODE-VOL-02: volatile emits are
// dropped; a buffered emit whose ack timed out is pulled from the buffer.
func TestNODEBUF01BufferWhileDisconnected(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	s := m.Socket("/", nil)
	ctx := ctxT(t)
	if err := s.Emit(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Volatile().Emit(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Timeout(10*time.Millisecond).EmitWithAck(ctx, "gone"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("EmitWithAck = %v", err)
	}
	if err := s.Emit(ctx, "b2", []byte{7}); err != nil {
		t.Fatal(err)
	}
	res := connectAsync(s)
	p := srv.accept(t)
	p.expect(t, socketio.Connect, "/")
	p.quiet(t, 50*time.Millisecond)
	p.sendText(`0{"sid":"S"}`)
	if err := waitErr(t, res); err != nil {
		t.Fatal(err)
	}
	p.expectText(t, `2["b1"]`)
	sp := p.expectText(t, `51-["b2",{"_placeholder":true,"num":0}]`)
	if !bytes.Equal(sp.Binary[0], []byte{7}) {
		t.Fatal("attachment")
	}
	p.quiet(t, 50*time.Millisecond)
	// Connected: volatile goes out.
	if err := s.Volatile().Emit(ctx, "v2"); err != nil {
		t.Fatal(err)
	}
	p.expectText(t, `2["v2"]`)
}

// SIO-BIN-01, SIO-BIN-02, SIO-BIN-11, SIO-ENC-01: []byte arguments become
// placeholders in depth-first order and separate binary messages that
// directly follow the text packet.
func TestSIOBIN01BinaryEmit(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	if err := s.Emit(ctxT(t), "bin", []byte{1}, map[string]any{"x": []byte{2, 3}}); err != nil {
		t.Fatal(err)
	}
	f := <-p.frames
	for !f.Binary && string(f.Data) == "0" {
		f = <-p.frames // the CONNECT
	}
	if f.Binary || string(f.Data) != `52-["bin",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]` {
		t.Fatalf("frame 1 %v", f)
	}
	for i, want := range [][]byte{{1}, {2, 3}} {
		f := <-p.frames
		if !f.Binary || !bytes.Equal(f.Data, want) {
			t.Fatalf("frame %d %v", i+2, f)
		}
	}
}

// SIO-BIN-07: the client refuses to send more than 10 attachments.
func TestSIOBIN07EmitTooManyAttachments(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	args := make([]any, 11)
	for i := range args {
		args[i] = []byte{byte(i)}
	}
	if err := s.Emit(ctxT(t), "x", args...); !errors.Is(err, socketio.ErrTooManyAttachments) {
		t.Fatalf("Emit = %v", err)
	}
	p.quiet(t, 50*time.Millisecond)
}

// SIO-BIN-02, SIO-BIN-09, SIO-BIN-12: binary events are reassembled, with
// placeholder keys in any order; a placeholder-shaped object in a plain
// EVENT stays an object.
func TestSIOBIN09ReceiveBinary(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	got := make(chan Message, 4)
	s.On("b", func(msg Message, _ AckFunc) { got <- msg })
	p.writeEIO(engineio.TextPacket(engineio.Message, `52-["b",{"num":1,"_placeholder":true},{"_placeholder":true,"num":0}]`),
		engineio.BinaryMessage([]byte{0xA}), engineio.BinaryMessage([]byte{0xB}))
	msg := <-got
	b0, ok0 := msg.Bytes(0)
	b1, ok1 := msg.Bytes(1)
	if !ok0 || !ok1 || !bytes.Equal(b0, []byte{0xB}) || !bytes.Equal(b1, []byte{0xA}) {
		t.Fatalf("binary args %v %v", b0, b1)
	}
	p.sendText(`2["b",{"_placeholder":true,"num":0}]`)
	msg = <-got
	if _, ok := msg.Bytes(0); ok {
		t.Fatal("placeholder substituted in a plain EVENT")
	}
	v, err := msg.Value(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v.(socketio.Object); !ok {
		t.Fatalf("value %T", v)
	}
}

// SIO-BIN-03 (client side): a binary ack from the server resolves
// EmitWithAck with the attachments.
func TestSIOBIN03BinaryAckReceived(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	res := make(chan Message, 1)
	go func() {
		msg, err := s.EmitWithAck(ctxT(t), "e")
		if err != nil {
			t.Error(err)
		}
		res <- msg
	}()
	p.expectText(t, `20["e"]`)
	p.writeEIO(engineio.TextPacket(engineio.Message, `61-0[{"_placeholder":true,"num":0}]`), engineio.BinaryMessage([]byte("hi")))
	select {
	case msg := <-res:
		if b, ok := msg.Bytes(0); !ok || string(b) != "hi" {
			t.Fatalf("ack %v", msg)
		}
	case <-time.After(wait):
		t.Fatal("no ack")
	}
}

// SIO-ENC-03: the decoder accepts "/" spelled out and a namespace ended by
// the end of the packet ("1/admin" without a comma).
func TestSIOENC03NamespaceForms(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	root, admin := m.Socket("/", nil), m.Socket("/admin", nil)
	rr, ra := watch(root), watch(admin)
	r1, r2 := connectAsync(root), connectAsync(admin)
	p := srv.accept(t)
	for range 2 {
		sp := p.recv(t)
		p.send(pk(socketio.NewPacket(socketio.Connect, sp.Namespace(), map[string]any{"sid": "x"})))
	}
	if waitErr(t, r1) != nil || waitErr(t, r2) != nil {
		t.Fatal("connect failed")
	}
	rr.want(t, "connect /")
	ra.want(t, "connect /admin")
	p.sendText(`2/,["spelled"]`)
	rr.want(t, "event / spelled []")
	p.sendText(`1/admin`)
	ra.want(t, "disconnect /admin io server disconnect")
}

// SIO-ENC-04: a namespace containing "," cannot be encoded; Connect fails
// with the codec's error.
func TestSIOENC04CommaNamespace(t *testing.T) {
	srv := newScript(t, socketio.V5)
	m := srv.client(t, nil)
	res := connectAsync(m.Socket("/a,b", nil))
	srv.accept(t)
	if err := waitErr(t, res); !errors.Is(err, socketio.ErrNamespace) {
		t.Fatalf("Connect = %v", err)
	}
}

// SIO-ENC-11: ack ids up to 2^53-1 are answered unchanged; SIO-ACK-08: an
// ACK without payload resolves with no arguments.
func TestSIOENC11LargeAckID(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	s.On("q", func(_ Message, ack AckFunc) { _ = ack(true) })
	p.sendText(`29007199254740991["q"]`)
	p.expectText(t, `39007199254740991[true]`)
	res := make(chan Message, 1)
	go func() {
		msg, err := s.EmitWithAck(ctxT(t), "e")
		if err != nil {
			t.Error(err)
		}
		res <- msg
	}()
	p.expectText(t, `20["e"]`)
	p.sendText(`30`)
	select {
	case msg := <-res:
		if msg.Len() != 0 {
			t.Fatalf("ack %v", msg)
		}
	case <-time.After(wait):
		t.Fatal("no ack")
	}
}
