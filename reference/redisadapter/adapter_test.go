package redisadapter

import (
	"context"
	"net"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
	"github.com/siospec/siospec/reference/sioclient"
	"github.com/siospec/siospec/reference/sioserver"
)

// startRedis starts redis-server on a free loopback port and returns its
// address and a function that kills it (by PID). A missing redis-server
// fails the test: it is part of the test machine (apt-get install -y
// redis-server).
func startRedis(t *testing.T) (string, func()) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found in PATH: install it (apt-get install -y redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return addr, kill
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a port with a deadline, not synchronisation
	}
}

type recorder struct {
	mu  sync.Mutex
	got map[string][]sioclient.Message
	ch  chan struct{}
}

func (r *recorder) wait(t *testing.T, event string, d time.Duration) sioclient.Message {
	t.Helper()
	deadline := time.After(d)
	for {
		r.mu.Lock()
		if m := r.got[event]; len(m) > 0 {
			r.mu.Unlock()
			return m[0]
		}
		ch := r.ch
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %q within %v", event, d)
		}
	}
}

// TestAdapterWire: malformed messages on every channel are ignored; a
// broadcast in the Node adapter's format from another uid reaches the local
// socket; a local broadcast is published in that format; with Redis gone a
// broadcast still reaches the local socket at once.
func TestAdapterWire(t *testing.T) {
	addr, kill := startRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := Dial(ctx, "redis://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cl.Close() }()
	srv := sioserver.NewServer(&sioserver.Options{NewAdapter: cl.NewAdapter})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() { _ = srv.Close(context.Background()) }()

	raw := redis.NewClient(&redis.Options{Addr: addr})
	defer func() { _ = raw.Close() }()
	sub := raw.Subscribe(ctx, "socket.io#/#")
	defer func() { _ = sub.Close() }()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}

	m, err := sioclient.NewManager(hs.URL, &sioclient.ManagerOptions{Engine: &eioclient.Options{Transports: []string{"websocket"}}, NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Close() }()
	rec := &recorder{got: map[string][]sioclient.Message{}, ch: make(chan struct{})}
	s := m.Socket("/", nil)
	s.OnAny(func(ev string, msg sioclient.Message, _ sioclient.AckFunc) {
		rec.mu.Lock()
		rec.got[ev] = append(rec.got[ev], msg)
		close(rec.ch)
		rec.ch = make(chan struct{})
		rec.mu.Unlock()
	})
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}

	for _, ch := range []string{"socket.io#/#", "socket.io#/#room#", "socket.io-request#/#", "socket.io-response#/#"} {
		for _, junk := range []string{"", "{", "{\"type\":7}", "\x93\xa1x\xc0\xc0", "\xdc\xff\xff", "[1,2,3]"} {
			if err := raw.Publish(ctx, ch, junk).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	msg, err := encodeMsgpack([]any{"other1", socketio.Object{
		{Key: "type", Value: 2}, {Key: "data", Value: []any{"from-node", 1, []byte{9}}}, {Key: "nsp", Value: "/"},
	}, socketio.Object{{Key: "rooms", Value: []any{}}, {Key: "except", Value: []any{}}, {Key: "flags", Value: socketio.Object{}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Publish(ctx, "socket.io#/#", msg).Err(); err != nil {
		t.Fatal(err)
	}
	got := rec.wait(t, "from-node", 5*time.Second)
	if b, ok := got.Bytes(1); !ok || len(b) != 1 || b[0] != 9 {
		t.Fatalf("from-node: %s", got)
	}

	if err := srv.Sockets().Emit("to-cluster", "a"); err != nil {
		t.Fatal(err)
	}
	for {
		pm, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v, err := decodeMsgpack([]byte(pm.Payload))
		if err != nil {
			continue // our own junk
		}
		arr, _ := v.([]any)
		if len(arr) != 3 {
			continue
		}
		pkt, _ := arr[1].(socketio.Object)
		data := getArray(pkt, "data")
		if len(data) == 2 && data[0] == "to-cluster" && data[1] == "a" && getString(pkt, "nsp") == "/" {
			if n, _ := getNumber(pkt, "type"); n != 2 {
				t.Fatalf("published packet type %v", n)
			}
			break
		}
	}

	kill()
	start := time.Now()
	if err := srv.Sockets().Emit("redis-down", 1); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Emit with Redis down took %v", d)
	}
	rec.wait(t, "redis-down", 5*time.Second)
	ca := srv.Sockets().Adapter().(sioserver.ClusterAdapter)
	cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
	defer ccancel()
	if _, err := ca.ServerCount(cctx); err == nil {
		t.Fatal("ServerCount with Redis down succeeded")
	}
}
