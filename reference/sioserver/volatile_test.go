package sioserver

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// longHeartbeat keeps pings out of tests that count packets.
func longHeartbeat(o *Options) *Options {
	o.PingInterval, o.PingTimeout = 20*time.Second, 10*time.Second
	return o
}

// TestNODEVOL01VolatileDroppedWhenNotWritable: a volatile emit goes out only
// when the transport can take it at once. On polling that is while a GET is
// parked: with none, it is dropped; with one, the first volatile emit
// answers it and a second one right after is dropped, while a plain emit
// waits for the next GET.
func TestNODEVOL01VolatileDroppedWhenNotWritable(t *testing.T) {
	conns := make(chan *Socket, 1)
	_, base := newTestServer(t, longHeartbeat(&Options{}), func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) { conns <- so })
	})
	ctx, cancel := testCtx()
	defer cancel()
	q := base + "/socket.io/?EIO=4&transport=polling"
	body, _, err := httpDo(ctx, http.MethodGet, q, nil)
	must(t, err)
	pk, err := engineio.DecodePayload(engineio.V4, false, body)
	must(t, err)
	open, err := engineio.ParseOpen(pk[0].Data)
	must(t, err)
	q += "&sid=" + open.SID
	if _, st, err := httpDo(ctx, http.MethodPost, q, []byte("40")); err != nil || st != 200 {
		t.Fatalf("POST 40: %d %v", st, err)
	}
	so := waitFor(t, conns)
	get := func() string {
		t.Helper()
		b, st, err := httpDo(ctx, http.MethodGet, q, nil)
		if err != nil || st != 200 {
			t.Fatalf("GET: %d %q %v", st, b, err)
		}
		return string(b)
	}
	if b := get(); !strings.HasPrefix(b, `40{"sid":`) {
		t.Fatalf("CONNECT reply %q", b)
	}
	// No GET pending.
	if err := so.EmitVolatile("v0"); !errors.Is(err, ErrDropped) {
		t.Fatalf("volatile emit with no GET pending: %v, want ErrDropped", err)
	}
	type res struct {
		body string
		err  error
	}
	parked := make(chan res, 1)
	go func() {
		b, st, err := httpDo(ctx, http.MethodGet, q, nil)
		if err == nil && st != 200 {
			err = errors.New(http.StatusText(st))
		}
		parked <- res{string(b), err}
	}()
	waitWritable(t, so)
	must(t, so.EmitVolatile("v1"))
	if err := so.EmitVolatile("v2"); !errors.Is(err, ErrDropped) {
		t.Fatalf("second volatile emit: %v, want ErrDropped", err)
	}
	must(t, so.Emit("n3"))
	r := waitFor(t, parked)
	must(t, r.err)
	if r.body != `42["v1"]` {
		t.Fatalf("parked GET got %q, want only the first volatile emit", r.body)
	}
	if b := get(); b != `42["n3"]` {
		t.Fatalf("next GET got %q, want the plain emit", b)
	}
}

// waitWritable waits until a packet sent to so would go out at once (a
// parked GET, an idle WebSocket). Nothing signals that, so it polls with a
// bound.
func waitWritable(t *testing.T, so *Socket) {
	t.Helper()
	w := so.client.conn.(writableSession)
	for i := 0; !w.Writable(); i++ {
		if i > int(waitBudget/time.Millisecond) {
			t.Fatal("the session never became writable")
		}
		waitQuiet(1)
	}
}

// smallBufferListener gives accepted connections a small kernel send buffer
// so that a peer that stops reading fills the TCP window quickly.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestStalledWebSocketReaderCutOff: a WebSocket client that stops reading
// (its TCP window full) makes its session queue overflow; the server
// disconnects it with "send queue full" at once and releases what was
// queued for it, so memory spent on a stalled client stays bounded by
// SendQueueLimit.
func TestStalledWebSocketReaderCutOff(t *testing.T) {
	const limit = 16
	conns := make(chan *Socket, 1)
	disc := make(chan string, 1)
	opts := longHeartbeat(&Options{})
	opts.SendQueueLimit = limit
	srv := NewServer(opts)
	srv.Sockets().OnConnection(func(so *Socket) {
		so.OnDisconnect(func(r string) { disc <- r })
		conns <- so
	})
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener = smallBufferListener{ts.Listener}
	ts.Start()
	defer ts.Close()
	defer func() {
		ctx, cancel := testCtx()
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("server close: %v", err)
		}
	}()
	d := websocket.Dialer{
		HandshakeTimeout: waitBudget,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4096)
			}
			return c, err
		},
	}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/socket.io/?EIO=4&transport=websocket", nil)
	must(t, err)
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitBudget))
	if _, b, err := conn.ReadMessage(); err != nil || b[0] != '0' {
		t.Fatalf("open: %q %v", b, err)
	}
	must(t, conn.WriteMessage(websocket.TextMessage, []byte("40")))
	if _, b, err := conn.ReadMessage(); err != nil || !bytes.HasPrefix(b, []byte("40")) {
		t.Fatalf("CONNECT reply: %q %v", b, err)
	}
	so := waitFor(t, conns)
	before := heapAlloc()

	// From here on the client reads nothing. Each emit queues two
	// Engine.IO packets (the event and one 256 KiB attachment, a fresh
	// one each time); the writer blocks on the first, the queue holds
	// limit more, then the client is cut off.
	const size = 256 << 10
	accepted := 0
	var emitErr error
	for i := 0; i < 1000 && emitErr == nil; i++ {
		if emitErr = so.Emit("flood", bytes.Repeat([]byte{byte(i)}, size)); emitErr == nil {
			accepted++
		}
	}
	if !errors.Is(emitErr, ErrClosed) {
		t.Fatalf("emit to a stalled client: %v", emitErr)
	}
	// The socket buffers hold a few KiB, so the writer blocks on its
	// first batch; everything else accepted sat in the queue.
	if maxAccepted := limit/2 + 2; accepted > maxAccepted {
		t.Fatalf("%d emits accepted, want at most %d with SendQueueLimit %d", accepted, maxAccepted, limit)
	}
	if r := waitFor(t, disc); r != ReasonSendQueueFull {
		t.Fatalf("disconnect reason %q", r)
	}
	if err := so.Emit("late"); !errors.Is(err, ErrClosed) {
		t.Fatalf("emit after the cut: %v", err)
	}
	// The queued attachments (accepted × 256 KiB, at least 2 MiB) are
	// released: the heap drops back to within 1 MiB of where it was.
	// Nothing signals the writer's end to this layer, so poll with a
	// bound.
	var after uint64
	for i := 0; i < 500; i++ {
		if after = heapAlloc(); after < before+1<<20 {
			break
		}
		waitQuiet(10)
	}
	if after >= before+1<<20 {
		t.Fatalf("heap %d B after the cut, %d B before the flood: queued data not released", after, before)
	}
	// The client's connection was closed: once it reads again it sees
	// at most what the kernel buffers held, then the end.
	_ = conn.SetReadDeadline(time.Now().Add(waitBudget))
	for i := 0; i < 10_000; i++ {
		if _, _, err := conn.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after the cut: %v", err)
			}
			return
		}
	}
	t.Fatal("connection still delivering after the cut")
}
