package sioclient

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
)

// This file is the scripted raw server of the unit tests: an httptest
// server on 127.0.0.1 that speaks Engine.IO over WebSocket through package
// protocol/engineio and hands each session to the test as a peer, which
// reads and writes Socket.IO packets through package protocol/socketio.

const wait = 5 * time.Second // bound on every scripted wait

type scriptServer struct {
	t       *testing.T
	srv     *httptest.Server
	eio     engineio.Version
	sio     socketio.Version
	open    engineio.OpenPacket
	peers   chan *peer
	refuse  atomic.Bool // answer handshakes with 503 (server "down")
	nextSID atomic.Int32
	wg      sync.WaitGroup
	stop    chan struct{} // closed at shutdown; hooks give up their waits

	mu    sync.Mutex
	all   []*peer
	hooks func(w http.ResponseWriter, r *http.Request) bool
}

func newScript(t *testing.T, sio socketio.Version) *scriptServer {
	t.Helper()
	s := &scriptServer{
		t:     t,
		eio:   engineio.V4,
		sio:   sio,
		peers: make(chan *peer, 16),
		stop:  make(chan struct{}),
		open: engineio.OpenPacket{
			Upgrades: []string{}, PingInterval: 60 * time.Second, PingTimeout: 60 * time.Second,
			MaxPayload: 1e6,
		},
	}
	if sio == socketio.V4 {
		s.eio = engineio.V3
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.shutdown)
	return s
}

func (s *scriptServer) shutdown() {
	s.refuse.Store(true)
	close(s.stop)
	s.mu.Lock()
	for _, p := range s.all {
		_ = p.conn.Close()
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.wg.Wait()
}

func (s *scriptServer) URL() string { return s.srv.URL }

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *scriptServer) serve(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	if s.refuse.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	hook := s.hooks
	s.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "websocket only", http.StatusBadRequest)
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	op := s.open
	op.SID = fmt.Sprintf("E%d", s.nextSID.Add(1))
	p := &peer{t: s.t, conn: c, eio: s.eio, sio: s.sio, sid: op.SID, in: make(chan socketio.Packet, 1024), frames: make(chan engineio.Packet, 1024), done: make(chan struct{}), query: r.URL.Query()}
	p.writeEIO(op.Packet())
	s.mu.Lock()
	s.all = append(s.all, p)
	s.mu.Unlock()
	select {
	case s.peers <- p:
	default:
		s.t.Errorf("too many unclaimed sessions")
	}
	p.readLoop()
}

// accept returns the next session.
func (s *scriptServer) accept(t *testing.T) *peer {
	t.Helper()
	select {
	case p := <-s.peers:
		return p
	case <-time.After(wait):
		t.Fatal("no client session within 5s")
		return nil
	}
}

// noSession checks that no new session starts within d.
func (s *scriptServer) noSession(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-s.peers:
		t.Fatal("unexpected new session")
	case <-time.After(d):
	}
}

// peer is one scripted Engine.IO session.
type peer struct {
	t      *testing.T
	conn   *websocket.Conn
	eio    engineio.Version
	sio    socketio.Version
	sid    string
	query  url.Values
	in     chan socketio.Packet // complete Socket.IO packets from the client
	frames chan engineio.Packet // every Engine.IO message from the client
	done   chan struct{}        // closed when the connection ends
	wmu    sync.Mutex
	unread []socketio.Packet // packets read ahead, returned first by recv
}

func (p *peer) readLoop() {
	defer close(p.done)
	ra := socketio.Reassembler{Decoder: socketio.Decoder{Version: p.sio}}
	for {
		mt, data, err := p.conn.ReadMessage()
		if err != nil {
			return
		}
		pkt, err := engineio.ParseFrame(p.eio, mt == websocket.BinaryMessage, data)
		if err != nil {
			p.t.Errorf("peer: bad frame %q: %v", data, err)
			return
		}
		switch pkt.Type {
		case engineio.Ping: // v3 client heartbeat
			p.writeEIO(engineio.TextPacket(engineio.Pong, string(pkt.Data)))
			continue
		case engineio.Close:
			_ = p.conn.Close()
			return
		case engineio.Message:
		default:
			continue
		}
		p.frames <- pkt
		var (
			sp       socketio.Packet
			complete bool
		)
		if pkt.Binary {
			sp, complete, err = ra.AddBinary(pkt.Data)
		} else {
			sp, complete, err = ra.AddText(pkt.Data)
		}
		if err != nil {
			p.t.Errorf("peer: client sent an undecodable packet %q: %v", pkt.Data, err)
			continue
		}
		if complete {
			p.in <- sp.Clone()
		}
	}
}

func (p *peer) writeEIO(pkts ...engineio.Packet) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	for _, pkt := range pkts {
		b, bin, err := engineio.Encoder{AllowIllegal: true}.AppendFrame(nil, p.eio, pkt)
		if err != nil {
			p.t.Errorf("peer: encode %v: %v", pkt, err)
			return
		}
		mt := websocket.TextMessage
		if bin {
			mt = websocket.BinaryMessage
		}
		if err := p.conn.WriteMessage(mt, b); err != nil {
			return
		}
	}
}

// send writes Socket.IO packets (illegal ones too).
func (p *peer) send(pkts ...socketio.Packet) {
	p.t.Helper()
	for _, sp := range pkts {
		text, atts, err := socketio.Encoder{Version: p.sio, AllowIllegal: true, MaxAttachments: -1}.Encode(sp)
		if err != nil {
			p.t.Fatalf("peer: encode %v: %v", sp, err)
		}
		eps := []engineio.Packet{{Type: engineio.Message, Data: text}}
		for _, a := range atts {
			eps = append(eps, engineio.BinaryMessage(a))
		}
		p.writeEIO(eps...)
	}
}

// sendText writes raw Engine.IO message texts ("2[\"x\"]" after the "4").
func (p *peer) sendText(texts ...string) {
	for _, s := range texts {
		p.writeEIO(engineio.TextPacket(engineio.Message, s))
	}
}

// pk unwraps a packet builder's result; a builder error is a bug in the test.
func pk(p socketio.Packet, err error) socketio.Packet {
	if err != nil {
		panic(err)
	}
	return p
}

// recv returns the next Socket.IO packet from the client.
func (p *peer) recv(t *testing.T) socketio.Packet {
	t.Helper()
	if len(p.unread) > 0 {
		sp := p.unread[0]
		p.unread = p.unread[1:]
		return sp
	}
	select {
	case sp := <-p.in:
		return sp
	case <-time.After(wait):
		t.Fatal("peer: no packet from the client within 5s")
		return socketio.Packet{}
	}
}

// expect receives a packet and checks its type and namespace.
func (p *peer) expect(t *testing.T, typ socketio.PacketType, nsp string) socketio.Packet {
	t.Helper()
	sp := p.recv(t)
	if sp.Type != typ || sp.Namespace() != nsp {
		t.Fatalf("peer: got %v, want %v in %s", sp, typ, nsp)
	}
	return sp
}

// expectText receives a packet and compares its encoded text.
func (p *peer) expectText(t *testing.T, want string) socketio.Packet {
	t.Helper()
	sp := p.recv(t)
	got, err := socketio.Encoder{Version: p.sio}.AppendPacket(nil, sp)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("peer: got %s, want %s", got, want)
	}
	return sp
}

// quiet checks that the client sends nothing for d.
func (p *peer) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case sp := <-p.in:
		t.Fatalf("peer: unexpected packet %v", sp)
	case <-time.After(d):
	}
}

// closed waits until the client ended the connection.
func (p *peer) closed(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(wait):
		t.Fatal("peer: the client did not close the connection within 5s")
	}
}

// kill drops the connection (the client sees "transport close").
func (p *peer) kill() { _ = p.conn.Close() }

// acceptConnect accepts a session, reads the CONNECT of nsp and answers it.
func (s *scriptServer) acceptConnect(t *testing.T, nsp, sid string) (*peer, socketio.Packet) {
	t.Helper()
	p := s.accept(t)
	c := p.expect(t, socketio.Connect, nsp)
	p.send(pk(socketio.NewPacket(socketio.Connect, nsp, map[string]any{"sid": sid})))
	return p, c
}

// client returns a Manager on s with WebSocket-only transport.
func (s *scriptServer) client(t *testing.T, o *ManagerOptions) *Manager {
	t.Helper()
	var mo ManagerOptions
	if o != nil {
		mo = *o
	}
	mo.Version = s.sio
	if mo.Engine == nil {
		mo.Engine = &eioclient.Options{}
	}
	mo.Engine.Transports = []string{eioclient.WebSocket}
	if mo.Engine.RequestTimeout == 0 {
		mo.Engine.RequestTimeout = 2 * time.Second
	}
	if mo.ReconnectionDelay == 0 {
		mo.ReconnectionDelay = 10 * time.Millisecond
		mo.ReconnectionDelayMax = 20 * time.Millisecond
	}
	m, err := NewManager(s.URL(), &mo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// connectAsync runs s.Connect in the background; the result arrives on the
// returned channel.
func connectAsync(s *Socket) chan error {
	ch := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		ch <- s.Connect(ctx)
	}()
	return ch
}

func waitErr(t *testing.T, ch chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(wait + time.Second):
		t.Fatal("no result within 6s")
		return nil
	}
}

// recorder collects lifecycle events and handler calls as strings.
type recorder struct {
	ch chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 1024)} }

func (r *recorder) add(format string, args ...any) { r.ch <- fmt.Sprintf(format, args...) }

// next returns the next event.
func (r *recorder) next(t *testing.T) string {
	t.Helper()
	select {
	case e := <-r.ch:
		return e
	case <-time.After(wait):
		t.Fatal("no event within 5s")
		return ""
	}
}

// want checks that the next event starts with prefix.
func (r *recorder) want(t *testing.T, prefix string) string {
	t.Helper()
	e := r.next(t)
	if !strings.HasPrefix(e, prefix) {
		t.Fatalf("event %q, want %q...", e, prefix)
	}
	return e
}

// until skips events until one starts with prefix.
func (r *recorder) until(t *testing.T, prefix string) string {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if e := r.next(t); strings.HasPrefix(e, prefix) {
			return e
		}
	}
	t.Fatalf("no %q event", prefix)
	return ""
}

// none checks that no event comes for d.
func (r *recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case e := <-r.ch:
		t.Fatalf("unexpected event %q", e)
	case <-time.After(d):
	}
}

// watch records the lifecycle of s and its manager.
func watch(s *Socket) *recorder {
	r := newRecorder()
	s.OnConnect(func() { r.add("connect %s", s.Namespace()) })
	s.OnConnectError(func(err error) { r.add("connect_error %s %v", s.Namespace(), err) })
	s.OnDisconnect(func(reason string, err error) { r.add("disconnect %s %s", s.Namespace(), reason) })
	s.OnAny(func(ev string, msg Message, ack AckFunc) { r.add("event %s %s %s", s.Namespace(), ev, msg) })
	return r
}

func watchManager(m *Manager) *recorder {
	r := newRecorder()
	m.OnOpen(func() { r.add("open") })
	m.OnClose(func(reason string, err error) { r.add("close %s", reason) })
	m.OnReconnectAttempt(func(n int, d time.Duration) { r.add("reconnect_attempt %d %v", n, d) })
	m.OnReconnect(func(n int) { r.add("reconnect %d", n) })
	m.OnReconnectFailed(func() { r.add("reconnect_failed") })
	return r
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}
