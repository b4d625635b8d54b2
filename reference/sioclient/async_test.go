package sioclient

import (
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
)

// EmitWithAckAsync returns once the packet is out, so emits made one after
// another keep their order on the wire; wait then returns the ACK, or the
// emit's timeout error. With Retries the emit goes through the queue.
func TestEmitWithAckAsync(t *testing.T) {
	_, s, p, _ := connected(t, "/", nil, nil)
	ctx := ctxT(t)
	w1, err := s.EmitWithAckAsync(ctx, "first")
	if err != nil {
		t.Fatal(err)
	}
	w2, err := s.Timeout(50*time.Millisecond).EmitWithAckAsync(ctx, "second")
	if err != nil {
		t.Fatal(err)
	}
	p.expectText(t, `20["first"]`)
	p.expectText(t, `21["second"]`)
	p.sendText(`30["one"]`)
	if msg, err := w1(); err != nil || msg.String() != `["one"]` {
		t.Fatalf("first ack %v, %v", msg, err)
	}
	if _, err := w2(); err != ErrAckTimeout {
		t.Fatalf("second ack error %v, want ErrAckTimeout", err)
	}

	_, rs, rp, _ := connected(t, "/", &SocketOptions{Retries: 1}, nil)
	w3, err := rs.EmitWithAckAsync(ctx, "queued")
	if err != nil {
		t.Fatal(err)
	}
	rp.expectText(t, `20["queued"]`)
	rp.send(pk(socketio.NewAck("/", 0, "ok")))
	if msg, err := w3(); err != nil || msg.String() != `["ok"]` {
		t.Fatalf("queued ack %v, %v", msg, err)
	}
}
