package netclient

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
	"github.com/siospec/siospec/reference/sioclient"
	"github.com/siospec/siospec/suites/netload"
	"github.com/siospec/siospec/suites/scripted"
)

// appHarness is an App on a scripted server and the reference client
// connected to it.
type appHarness struct {
	srv *scripted.Server
	app *App
	led *netload.Ledger
	m   *sioclient.Manager
	so  *sioclient.Socket

	mu   sync.Mutex
	down []int // down seqs the client received, in order
	conn []bool
}

func startApp(t *testing.T, recovery bool) *appHarness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	srv, err := scripted.Start(ctx, &scripted.Options{Path: "/socket.io/", PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond, PollDuringUpgrade: true})
	if err != nil {
		t.Fatal(err)
	}
	h := &appHarness{srv: srv, led: netload.New(nil)}
	h.app = NewApp(h.led, &AppOptions{Recovery: recovery})
	h.app.Serve(0, srv)
	m, err := sioclient.NewManager(srv.URL(), &sioclient.ManagerOptions{ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond,
		Engine: &eioclient.Options{Transports: []string{"websocket"}}})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	h.so = m.Socket("/", nil)
	h.so.OnConnect(func() {
		h.mu.Lock()
		h.conn = append(h.conn, h.so.Recovered())
		h.mu.Unlock()
	})
	h.so.OnAny(func(event string, msg sioclient.Message, ack sioclient.AckFunc) {
		if event != netload.EventSeq {
			return
		}
		var p netload.Payload
		if err := msg.Unmarshal(0, &p); err != nil {
			t.Errorf("down event: %v", err)
			return
		}
		h.mu.Lock()
		h.down = append(h.down, p.Seq)
		h.mu.Unlock()
		if ack != nil {
			_ = ack(p.Seq)
		}
	})
	t.Cleanup(func() {
		_ = m.Close()
		h.app.Close()
		_ = srv.Close()
	})
	if err := h.so.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *appHarness) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAppStreams: the application records the client's stream and acks it
// with the seq, and its own stream reaches the client with acks counted.
func TestAppStreams(t *testing.T) {
	h := startApp(t, false)
	ctx := t.Context()
	w := netload.Workload{Count: 10, Interval: 5 * time.Millisecond, AckEvery: 2, BinaryEvery: 5}
	for seq := range w.Count {
		args := []any{socketio.Object{{Key: "seq", Value: seq}, {Key: "dir", Value: "up"}}}
		if w.IsBinary(seq) {
			args = append(args, netload.SeqBytes(seq))
		}
		h.led.Sent(netload.Up, seq, w.WantsAck(seq))
		if !w.WantsAck(seq) {
			if err := h.so.Emit(ctx, netload.EventSeq, args...); err != nil {
				t.Fatal(err)
			}
			continue
		}
		msg, err := h.so.EmitWithAck(ctx, netload.EventSeq, args...)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := msg.Unmarshal(0, &got); err != nil || got != seq {
			t.Fatalf("ack of %d: %v %v", seq, got, err)
		}
		h.led.Acked(netload.Up, seq)
	}
	h.waitFor(t, "the up stream at the server", func() bool { return h.app.UpReceived(w.Count-1) == 1 })
	if up := h.led.Tally(netload.Up); !up.ExactlyOnceInOrder() {
		t.Errorf("up: %s", up)
	}
	if n := h.app.BadBinary(); n != 0 {
		t.Errorf("%d bad attachments", n)
	}
	<-h.app.StreamDown(w)
	h.waitFor(t, "the down stream at the client", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.down) == w.Count
	})
	h.waitFor(t, "the down acks", func() bool { return h.led.Tally(netload.Down).AcksFired == 5 })
	h.mu.Lock()
	for _, seq := range h.down {
		h.led.Received(netload.Down, seq)
	}
	h.mu.Unlock()
	if down := h.led.Tally(netload.Down); !down.ExactlyOnceInOrder() {
		t.Errorf("down: %s", down)
	}
}

// TestAppRecovery: with recovery, a client that reconnects with its pid
// and offset gets the same socket id and the down events it missed, once.
func TestAppRecovery(t *testing.T) {
	h := startApp(t, true)
	w := netload.Workload{Count: 40, Interval: 10 * time.Millisecond}
	done := h.app.StreamDown(w)
	h.waitFor(t, "some down events", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.down) >= 5
	})
	// Cut the transport: the client reconnects with its pid and offset.
	h.app.mu.Lock()
	ss := h.app.cur.sio.Session()
	h.app.mu.Unlock()
	ss.CloseTransport()
	<-done
	h.waitFor(t, "every down event", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.down) >= w.Count
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.conn) != 2 || !h.conn[1] {
		t.Fatalf("connects (recovered?) %v, want [false true]", h.conn)
	}
	for i, seq := range h.down {
		if seq != i {
			t.Fatalf("down events %v: not each once, in order", h.down)
		}
	}
	if len(h.down) != w.Count {
		t.Fatalf("down events %v: %d, want %d", h.down, len(h.down), w.Count)
	}
}
