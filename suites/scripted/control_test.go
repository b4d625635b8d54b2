package scripted

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestControlFrames: ControlPing and ControlPong write WebSocket control
// frames (not Engine.IO packets) and record them; the client's control
// pong is recorded; a polling session has no WebSocket to write them on,
// an ended one refuses.
func TestControlFrames(t *testing.T) {
	srv, rec := startServer(t, &Options{NoPings: true})
	wsURL := "ws" + strings.TrimPrefix(srv.URL(), "http") + "?EIO=4&transport=websocket"
	c, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pings := make(chan string, 1)
	pongs := make(chan string, 1)
	c.SetPingHandler(func(d string) error {
		pings <- d
		return c.WriteControl(websocket.PongMessage, []byte(d), time.Now().Add(time.Second))
	})
	c.SetPongHandler(func(d string) error { pongs <- d; return nil })
	frames := make(chan string, 8)
	go func() {
		defer close(frames)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			frames <- string(b)
		}
	}()
	if f := <-frames; !strings.HasPrefix(f, "0{") {
		t.Fatalf("first frame %q", f)
	}
	ss, err := srv.NextSession(ctxT(t, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.ControlPing([]byte("hb")); err != nil {
		t.Fatal(err)
	}
	if err := ss.ControlPong([]byte("un")); err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		ch   chan string
		want string
	}{{pings, "hb"}, {pongs, "un"}} {
		select {
		case d := <-w.ch:
			if d != w.want {
				t.Fatalf("control frame data %q, want %q", d, w.want)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("no control frame %q arrived", w.want)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for !rec.has(dirC2S, kindWSControl, "pong control frame 2B") {
		if time.Now().After(deadline) {
			t.Fatalf("the client's control pong was not recorded:\n%s", rec.dump())
		}
		time.Sleep(10 * time.Millisecond) // polling a recorder with a deadline
	}
	if !rec.has(dirS2C, kindWSControl, "ping control frame 2B") || !rec.has(dirS2C, kindWSControl, "pong control frame 2B") {
		t.Fatalf("the control frames sent were not recorded:\n%s", rec.dump())
	}
	rec.mu.Lock()
	for _, e := range rec.events {
		if e.Kind == kindEIOPacket && (e.Summary == "2" || e.Summary == "3") || e.Kind == kindWSFrame && e.Dir == dirC2S {
			t.Errorf("a control frame was recorded as an Engine.IO packet or data frame: %s %s", e.Kind, e.Summary)
		}
	}
	rec.mu.Unlock()
	// The data path is untouched.
	if err := c.WriteMessage(websocket.TextMessage, []byte("4after")); err != nil {
		t.Fatal(err)
	}
	if r := recvMessage(t, ctxT(t, time.Second), ss); string(r.Packet.Data) != "after" {
		t.Fatalf("got %v", r.Packet)
	}
	ss.Close()
	if err := ss.ControlPing(nil); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("ControlPing on an ended session: %v", err)
	}

	poll := handshake(t, srv, "4")
	if err := poll.ControlPing(nil); !errors.Is(err, ErrNoWebSocket) {
		t.Fatalf("ControlPing on a polling session: %v", err)
	}
}
