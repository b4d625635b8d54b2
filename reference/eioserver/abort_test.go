package eioserver

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// TestWritablePolling: a polling session is writable exactly while a GET is
// parked and nothing is queued (NODE-VOL-01).
func TestWritablePolling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	if s.Writable() {
		t.Fatal("Writable with no GET pending")
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
	defer cancel()
	ch := e.asyncGet(ctx, "EIO=4&transport=polling&sid="+op.SID)
	waitParked(t, s)
	if !s.Writable() {
		t.Fatal("not Writable with a GET parked")
	}
	if err := s.Send(engineio.TextPacket(engineio.Message, "a")); err != nil {
		t.Fatal(err)
	}
	if s.Writable() {
		t.Fatal("Writable right after the parked GET was answered")
	}
	if err := s.Send(engineio.TextPacket(engineio.Message, "b")); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, recv(t, ch).resp, 200, "4a")
	s.Close("")
	if s.Writable() {
		t.Fatal("Writable after Close")
	}
}

// TestWritableWebSocket: an open WebSocket with its writes done is
// writable; a closed session is not.
func TestWritableWebSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.mustWS("EIO=4&transport=websocket")
	op := c.open()
	s := e.session(op.SID)
	// The writer marks the transport writable once the open packet is
	// written; there is no event for that, so poll with a bound.
	deadline := time.Now().Add(waitBudget)
	for !s.Writable() {
		if time.Now().After(deadline) {
			t.Fatal("WebSocket session never writable")
		}
		time.Sleep(time.Millisecond)
	}
	s.Close("")
	if s.Writable() {
		t.Fatal("Writable after Close")
	}
}

// TestSendLeavesDataUntouched: Send never modifies the packets it is given,
// whatever the transport and framing, so one encoded packet set can be
// queued on many sessions at once (a broadcast).
func TestSendLeavesDataUntouched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &Options{AllowEIO3: true})
	text := []byte("h\u00e9llo\x1eworld")
	bin := []byte{0, 1, 2, 0x1e, 0xff, '4'}
	// Spare capacity would let an append-style encoder write into the
	// caller's array: give it some, filled with a marker.
	text = append(make([]byte, 0, len(text)+16), text...)
	bin = append(make([]byte, 0, len(bin)+16), bin...)
	for _, b := range [][]byte{text, bin} {
		tail := b[len(b):cap(b)]
		for i := range tail {
			tail[i] = '#'
		}
	}
	pkts := make([]engineio.Packet, 2, 4) // spare slots too
	pkts[0], pkts[1] = engineio.Packet{Type: engineio.Message, Data: text}, engineio.BinaryMessage(bin)
	wantText, wantBin := bytes.Clone(text[:cap(text)]), bytes.Clone(bin[:cap(bin)])

	var sessions []*Session
	var gets []<-chan result
	ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
	defer cancel()
	for _, q := range []string{"EIO=4&transport=polling", "EIO=3&transport=polling", "EIO=3&transport=polling&b64=1"} {
		op, s := e.handshake(q)
		gets = append(gets, e.asyncGet(ctx, q+"&sid="+op.SID))
		waitParked(t, s)
		sessions = append(sessions, s)
	}
	var conns []*ws
	for _, q := range []string{"EIO=4&transport=websocket", "EIO=4&transport=websocket&b64=1", "EIO=3&transport=websocket"} {
		c := e.mustWS(q)
		sessions = append(sessions, e.session(c.open().SID))
		conns = append(conns, c)
	}
	for _, s := range sessions {
		if err := s.Send(pkts...); err != nil {
			t.Fatal(err)
		}
	}
	for _, ch := range gets {
		if r := recv(t, ch); r.err != nil || r.status != 200 {
			t.Fatalf("GET: %v %v", r.resp, r.err)
		}
	}
	for _, c := range conns {
		for i := 0; i < 2; i++ {
			if _, _, err := c.read(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !bytes.Equal(text[:cap(text)], wantText) || !bytes.Equal(bin[:cap(bin)], wantBin) {
		t.Fatalf("Send modified the data: %q %q", text[:cap(text)], bin[:cap(bin)])
	}
	if len(pkts) != 2 || pkts[0].Type != engineio.Message || pkts[1].Type != engineio.Message || !pkts[1].Binary {
		t.Fatalf("Send modified the packets: %+v", pkts)
	}
	if extra := pkts[2:4]; extra[0].Data != nil || extra[1].Data != nil {
		t.Fatalf("Send wrote past the packets: %+v", extra)
	}
}

// smallBufferListener gives accepted connections a small kernel send
// buffer so that a peer that stops reading fills the TCP window quickly.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestAbortStalledWebSocket: a WebSocket peer that stops reading fills the
// TCP window, the server's writer blocks, the queue reaches SendQueueLimit
// and Send says ErrQueueFull; Abort then closes the session at once,
// unblocks and ends the writer and drops every queued packet.
func TestAbortStalledWebSocket(t *testing.T) {
	t.Parallel()
	sessions := make(chan *Session, 1)
	closed := make(chan string, 1)
	srv := NewServer(&Options{
		PingInterval:   10 * time.Second,
		PingTimeout:    5 * time.Second,
		SendQueueLimit: 8,
		OnSession: func(s *Session) {
			s.OnClose(func(reason string, _ error) { closed <- reason })
			sessions <- s
		},
	})
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener = smallBufferListener{ts.Listener}
	ts.Start()
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("Server.Close: %v", err)
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
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var s *Session
	select {
	case s = <-sessions:
	case <-time.After(waitBudget):
		t.Fatal("no session")
	}
	// The client never reads. 64 KiB messages: the window holds a few at
	// most, the writer blocks on the next one, the queue fills up.
	payload := bytes.Repeat([]byte("x"), 64<<10)
	full := false
	deadline := time.Now().Add(waitBudget)
	for i := 0; i < 10_000 && !full; i++ {
		switch err := s.Send(engineio.Packet{Type: engineio.Message, Data: payload}); {
		case errors.Is(err, ErrQueueFull):
			full = true
		case err != nil:
			t.Fatalf("Send %d: %v", i, err)
		case s.Writable() && time.Now().After(deadline):
			t.Fatal("a stalled reader never made the queue fill up")
		}
	}
	if !full {
		t.Fatal("queue never full")
	}
	if s.Writable() {
		t.Fatal("Writable with a full queue")
	}
	wt := func() *wsTransport {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.transport.(*wsTransport)
	}()
	s.Abort("send queue full")
	select {
	case <-s.Done():
	default:
		t.Fatal("session not closed when Abort returned")
	}
	select {
	case r := <-closed:
		if r != "send queue full" {
			t.Fatalf("OnClose reason %q", r)
		}
	case <-time.After(waitBudget):
		t.Fatal("OnClose not called")
	}
	writerDone := make(chan struct{})
	go func() { wt.writers.Wait(); close(writerDone) }()
	select {
	case <-writerDone:
	case <-time.After(waitBudget):
		t.Fatal("the blocked writer did not end")
	}
	s.mu.Lock()
	queued, handed := len(s.writeBuffer), len(wt.batch)
	s.mu.Unlock()
	if queued != 0 || handed != 0 {
		t.Fatalf("after Abort %d packets queued, %d handed over", queued, handed)
	}
	if err := s.Send(engineio.TextPacket(engineio.Message, "late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Abort: %v", err)
	}
	// The peer sees the connection end once it reads again.
	_ = conn.SetReadDeadline(time.Now().Add(waitBudget))
	for i := 0; i < 10_000; i++ {
		if _, _, err := conn.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("connection still open after Abort: %v", err)
			}
			return
		}
	}
	t.Fatal("connection still delivering after Abort")
}

// TestAbortPolling: Abort drops the queue and answers a parked GET with a
// close packet.
func TestAbortPolling(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	op, s := e.handshake("EIO=4&transport=polling")
	if err := s.Send(engineio.TextPacket(engineio.Message, "dropped")); err != nil {
		t.Fatal(err)
	}
	s.Abort("")
	if ev := e.waitClosed(s); ev.reason != ReasonForcedClose {
		t.Fatalf("reason %q", ev.reason)
	}
	r := e.get("EIO=4&transport=polling&sid=" + op.SID)
	wantError(t, r, 400, engineio.CodeUnknownSID)
	s.Abort("again") // idempotent
}

// TestServerCloseStalledWebSocket: Server.Close does not wait the whole
// write timeout (pingInterval+pingTimeout, 15 s here) for a writer blocked
// on a peer that stopped reading; the write gets the close frame's grace.
func TestServerCloseStalledWebSocket(t *testing.T) {
	t.Parallel()
	sessions := make(chan *Session, 1)
	srv := NewServer(&Options{
		PingInterval:   10 * time.Second,
		PingTimeout:    5 * time.Second,
		SendQueueLimit: 8,
		OnSession:      func(s *Session) { sessions <- s },
	})
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener = smallBufferListener{ts.Listener}
	ts.Start()
	defer ts.Close()
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
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var s *Session
	select {
	case s = <-sessions:
	case <-time.After(waitBudget):
		t.Fatal("no session")
	}
	payload := bytes.Repeat([]byte("x"), 64<<10)
	for i := 0; ; i++ {
		err := s.Send(engineio.Packet{Type: engineio.Message, Data: payload})
		if errors.Is(err, ErrQueueFull) {
			break
		}
		if err != nil || i > 10_000 {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitBudget)
	defer cancel()
	start := time.Now()
	if err := srv.Close(ctx); err != nil {
		t.Fatalf("Server.Close: %v", err)
	}
	if d, limit := time.Since(start), wsCloseGrace+3*time.Second; d > limit {
		t.Fatalf("Server.Close took %v with a stalled WebSocket, want within %v", d, limit)
	}
}
