package sioserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// waitBudget bounds every wait in these tests.
const waitBudget = 5 * time.Second

// newTestServer starts srv on 127.0.0.1:0 and returns its base URL. The
// server is closed (and its goroutines waited for) at cleanup.
func newTestServer(t testing.TB, opts *Options, setup func(*Server)) (*Server, string) {
	t.Helper()
	srv := NewServer(opts)
	if setup != nil {
		setup(srv)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBudget)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("server close: %v", err)
		}
		hs.Close()
	})
	return srv, hs.URL
}

// rawPeer is a scripted Engine.IO client: it sends exactly the packets a
// test gives it and records every message the server sends. Pings are
// answered (v4) or sent (v3) automatically unless silent is set.
type rawPeer struct {
	t         testing.TB
	transport string
	version   engineio.Version
	sid       string
	open      engineio.OpenPacket

	in     chan engineio.Packet
	closed chan struct{}
	silent atomic.Bool

	sendMu  sync.Mutex
	sendRaw func(pkts ...engineio.Packet) error
	stop    func()
	wg      sync.WaitGroup
}

func (p *rawPeer) deliver(pk engineio.Packet) {
	select {
	case p.in <- pk:
	default:
		p.t.Errorf("peer: inbox full, dropped %v", pk)
	}
}

// dial opens a raw session over transport ("polling" or "websocket") with
// Engine.IO protocol v (3 or 4).
func dial(t testing.TB, base, transport string, v engineio.Version) *rawPeer {
	t.Helper()
	p := &rawPeer{t: t, transport: transport, version: v,
		in: make(chan engineio.Packet, 4096), closed: make(chan struct{})}
	q := fmt.Sprintf("%s/socket.io/?EIO=%d&transport=%s", base, int(v), transport)
	if v == engineio.V3 && transport == "polling" {
		q += "&b64=1"
	}
	ctx, cancel := context.WithCancel(context.Background())
	var openCh = make(chan engineio.Packet, 1)
	if transport == "websocket" {
		c, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(q, "http"), nil)
		if err != nil {
			cancel()
			t.Fatalf("dial websocket: %v", err)
		}
		var wmu sync.Mutex
		write := func(pk engineio.Packet) error {
			b, bin, err := engineio.AppendFrame(nil, v, pk)
			if err != nil {
				return err
			}
			mt := websocket.TextMessage
			if bin {
				mt = websocket.BinaryMessage
			}
			wmu.Lock()
			defer wmu.Unlock()
			_ = c.SetWriteDeadline(time.Now().Add(waitBudget))
			return c.WriteMessage(mt, b)
		}
		p.sendRaw = func(pkts ...engineio.Packet) error {
			for _, pk := range pkts {
				if err := write(pk); err != nil {
					return err
				}
			}
			return nil
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer close(p.closed)
			first := true
			for {
				mt, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				pk, err := engineio.ParseFrame(v, mt == websocket.BinaryMessage, data)
				if err != nil {
					t.Errorf("peer: bad frame %q: %v", data, err)
					return
				}
				if first {
					first = false
					openCh <- pk
					continue
				}
				if p.handleControl(pk, write) {
					return
				}
			}
		}()
		p.stop = func() { cancel(); _ = c.Close() }
	} else {
		body, _, err := httpDo(ctx, http.MethodGet, q, nil)
		if err != nil {
			cancel()
			t.Fatalf("polling handshake: %v", err)
		}
		pkts, err := engineio.DecodePayload(v, false, body)
		if err != nil || len(pkts) == 0 {
			cancel()
			t.Fatalf("polling handshake body %q: %v", body, err)
		}
		openCh <- pkts[0]
		open, err := engineio.ParseOpen(pkts[0].Data)
		if err != nil {
			cancel()
			t.Fatalf("open packet: %v", err)
		}
		sq := q + "&sid=" + open.SID
		p.sendRaw = func(pkts ...engineio.Packet) error {
			var b []byte
			var err error
			if v == engineio.V3 {
				b, err = engineio.AppendPayloadV3(nil, pkts)
			} else {
				b, err = engineio.AppendPayload(nil, pkts)
			}
			if err != nil {
				return err
			}
			_, st, err := httpDo(ctx, http.MethodPost, sq, b)
			if err == nil && st != http.StatusOK {
				err = fmt.Errorf("POST status %d", st)
			}
			return err
		}
		write := func(pk engineio.Packet) error { return p.sendRaw(pk) }
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer close(p.closed)
			for _, pk := range pkts[1:] {
				if p.handleControl(pk, write) {
					return
				}
			}
			for ctx.Err() == nil {
				body, st, err := httpDo(ctx, http.MethodGet, sq, nil)
				if err != nil || st != http.StatusOK {
					return
				}
				got, err := engineio.DecodePayload(v, false, body)
				if err != nil {
					t.Errorf("peer: bad payload %q: %v", body, err)
					return
				}
				for _, pk := range got {
					if p.handleControl(pk, write) {
						return
					}
				}
			}
		}()
		p.stop = cancel
	}
	select {
	case pk := <-openCh:
		open, err := engineio.ParseOpen(pk.Data)
		if pk.Type != engineio.Open || err != nil {
			t.Fatalf("first packet %v is not an open packet: %v", pk, err)
		}
		p.open, p.sid = open, open.SID
	case <-time.After(waitBudget):
		t.Fatalf("no open packet")
	}
	if v == engineio.V3 {
		// v3: the client pings.
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			tk := time.NewTicker(p.open.PingInterval)
			defer tk.Stop()
			for {
				select {
				case <-tk.C:
					if !p.silent.Load() {
						p.sendMu.Lock()
						_ = p.sendRaw(engineio.TextPacket(engineio.Ping, ""))
						p.sendMu.Unlock()
					}
				case <-ctx.Done():
					return
				case <-p.closed:
					return
				}
			}
		}()
	}
	t.Cleanup(p.Close)
	return p
}

// handleControl processes one received packet; true means the session
// ended.
func (p *rawPeer) handleControl(pk engineio.Packet, write func(engineio.Packet) error) bool {
	switch pk.Type {
	case engineio.Ping:
		if p.version == engineio.V4 && !p.silent.Load() {
			p.sendMu.Lock()
			_ = write(engineio.TextPacket(engineio.Pong, string(pk.Data)))
			p.sendMu.Unlock()
		}
	case engineio.Message:
		p.deliver(pk)
	case engineio.Close:
		return true
	}
	return false
}

// Close ends the peer and waits for its goroutines.
func (p *rawPeer) Close() {
	p.stop()
	p.wg.Wait()
}

func httpDo(ctx context.Context, method, url string, body []byte) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, waitBudget)
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// send sends Engine.IO packets.
func (p *rawPeer) send(pkts ...engineio.Packet) {
	p.t.Helper()
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	if err := p.sendRaw(pkts...); err != nil {
		p.t.Fatalf("send %v: %v", pkts, err)
	}
}

// sendText sends one Engine.IO text message.
func (p *rawPeer) sendText(s string) {
	p.t.Helper()
	p.send(engineio.TextPacket(engineio.Message, s))
}

// sendBinary sends one Engine.IO binary message.
func (p *rawPeer) sendBinary(b []byte) {
	p.t.Helper()
	p.send(engineio.BinaryMessage(b))
}

// next returns the next message the server sent.
func (p *rawPeer) next() engineio.Packet {
	p.t.Helper()
	select {
	case pk := <-p.in:
		return pk
	case <-time.After(waitBudget):
		p.t.Fatalf("no message within %v", waitBudget)
	}
	return engineio.Packet{}
}

// expectText waits for the next message and checks it is the text want.
func (p *rawPeer) expectText(want string) {
	p.t.Helper()
	pk := p.next()
	if pk.Binary || string(pk.Data) != want {
		p.t.Fatalf("got %v, want text %q", pk, want)
	}
}

// expectPrefix waits for a text message starting with prefix and returns
// the rest.
func (p *rawPeer) expectPrefix(prefix string) string {
	p.t.Helper()
	pk := p.next()
	if pk.Binary || !strings.HasPrefix(string(pk.Data), prefix) {
		p.t.Fatalf("got %v, want text starting %q", pk, prefix)
	}
	return string(pk.Data[len(prefix):])
}

// expectBinary waits for the next message and checks it is binary want.
func (p *rawPeer) expectBinary(want []byte) {
	p.t.Helper()
	pk := p.next()
	if !pk.Binary || !bytes.Equal(pk.Data, want) {
		p.t.Fatalf("got %v, want binary %x", pk, want)
	}
}

// expectClosed waits until the server ends the session; messages received
// before are returned.
func (p *rawPeer) expectClosed() []engineio.Packet {
	p.t.Helper()
	var got []engineio.Packet
	deadline := time.After(waitBudget)
	for {
		select {
		case pk := <-p.in:
			got = append(got, pk)
		case <-p.closed:
			for {
				select {
				case pk := <-p.in:
					got = append(got, pk)
				default:
					return got
				}
			}
		case <-deadline:
			p.t.Fatalf("session still open after %v (received %v)", waitBudget, got)
			return got
		}
	}
}

// expectQuiet checks that nothing arrives and the session stays open for d
// (a "must not happen" window, not synchronisation).
func (p *rawPeer) expectQuiet(d time.Duration) {
	p.t.Helper()
	select {
	case pk := <-p.in:
		p.t.Fatalf("unexpected message %v", pk)
	case <-p.closed:
		p.t.Fatalf("session closed")
	case <-time.After(d):
	}
}

// connect sends CONNECT for nsp with the given raw payload and returns the
// socket id from the reply (SIO-CONN-02).
func (p *rawPeer) connect(nsp, payload string) string {
	p.t.Helper()
	head := "0"
	if nsp != "/" {
		head += nsp + ","
	}
	p.sendText(head + payload)
	rest := p.expectPrefix(head)
	reply, err := socketio.Decode([]byte(head + rest))
	if err != nil {
		p.t.Fatalf("CONNECT reply %q: %v", head+rest, err)
	}
	sid, ok := reply.SID()
	if !ok {
		p.t.Fatalf("CONNECT reply %q has no sid", head+rest)
	}
	return sid
}

var errTimeout = errors.New("timeout")

// waitFor receives from ch within the budget.
func waitFor[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitBudget):
		t.Fatalf("%v waiting for a value", errTimeout)
	}
	var zero T
	return zero
}

// transports runs f once per transport.
func transports(t *testing.T, f func(t *testing.T, transport string)) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) { f(t, tr) })
	}
}

func testCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), waitBudget)
}

// waitQuiet blocks for ms milliseconds; used only inside bounded polling
// loops (waitUntil), never to order events.
func waitQuiet(ms int) {
	<-time.After(time.Duration(ms) * time.Millisecond)
}

// hangUp ends the session from the client side the way a client that goes
// away does: WebSocket closed, or a polling close packet "1".
func (p *rawPeer) hangUp() {
	p.t.Helper()
	if p.transport == "polling" {
		p.send(engineio.TextPacket(engineio.Close, ""))
	}
	p.Close()
}
