package eioserver

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// wsPair is a server WebSocket upgraded through the hijacker (so with a
// batchConn under it) and the raw client side of its TCP connection.
type wsPair struct {
	srv    *Server
	conn   *websocket.Conn
	bc     *batchConn
	client net.Conn
	br     *bufio.Reader
}

func newWSPair(t *testing.T) *wsPair {
	t.Helper()
	srv := NewServer(nil)
	got := make(chan *wsPair, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hj := &hijacker{ResponseWriter: w, srv: srv}
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		conn, err := up.Upgrade(hj, r, nil)
		if err != nil {
			got <- nil
			return
		}
		got <- &wsPair{srv: srv, conn: conn, bc: hj.conn}
	}))
	t.Cleanup(hs.Close)
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(hs.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("upgrade response: %v", err)
		}
		if line == "\r\n" {
			break
		}
	}
	var p *wsPair
	select {
	case p = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no upgrade")
	}
	if p == nil || p.bc == nil {
		t.Fatal("upgrade failed")
	}
	t.Cleanup(func() { _ = p.conn.Close() })
	p.client, p.br = c, br
	return p
}

// transport returns a wsTransport writing on p: through gorilla (as
// before writeData) or not.
func (p *wsPair) transport(v engineio.Version, supportsBinary, viaGorilla bool) *wsTransport {
	return &wsTransport{
		s:              &Session{srv: p.srv},
		conn:           p.conn,
		bc:             p.bc,
		version:        v,
		supportsBinary: supportsBinary,
		// The upgrader negotiated no compression: with deflate set the
		// writer goes through gorilla's WriteMessage, uncompressed.
		deflate:      viaGorilla,
		writeTimeout: 10 * time.Second,
	}
}

func (p *wsPair) write(t *testing.T, tr *wsTransport, pkts []engineio.Packet) {
	t.Helper()
	err := tr.writeBatch(pkts)
	if ferr := p.bc.end(); err == nil {
		err = ferr
	}
	if err != nil {
		t.Fatal(err)
	}
}

// wsFrame is one frame as read by the raw client.
type wsFrame struct {
	b0      byte
	payload []byte
	raw     []byte
}

// readFrame reads one unmasked frame, refusing a malformed header.
func readFrame(r *bufio.Reader) (wsFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return wsFrame{}, err
	}
	if h[1]&0x80 != 0 || h[0]&0x70 != 0 {
		return wsFrame{}, fmt.Errorf("bad header % x", h)
	}
	raw := h[:]
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(r, e[:]); err != nil {
			return wsFrame{}, err
		}
		raw = append(raw, e[:]...)
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(r, e[:]); err != nil {
			return wsFrame{}, err
		}
		raw = append(raw, e[:]...)
		n = binary.BigEndian.Uint64(e[:])
	}
	if n > 1<<24 {
		return wsFrame{}, fmt.Errorf("frame of %d bytes", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return wsFrame{}, err
	}
	return wsFrame{b0: h[0], payload: payload, raw: append(raw, payload...)}, nil
}

// readBytes reads the frames of n messages and returns their bytes.
func (p *wsPair) readBytes(t *testing.T, n int) []byte {
	t.Helper()
	var all []byte
	for i := 0; i < n; i++ {
		f, err := readFrame(p.br)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		all = append(all, f.raw...)
	}
	return all
}

// wsTestPackets are packets of every size class of the frame header
// (payload lengths 0, 125, 126, 65535, 65536 and around them), text and
// binary, and the other packet types.
func wsTestPackets(v engineio.Version) []engineio.Packet {
	var pkts []engineio.Packet
	payloads := []int{0, 1, 123, 124, 125, 126, 127, 4096, 65533, 65534, 65535, 65536, 65537, 70000}
	for _, n := range payloads {
		// Text message n-1 data bytes: payload n (type digit + data),
		// and n, n-2 around it; binary with n and n-1 bytes (v3 adds
		// the type byte).
		for _, d := range []int{n - 2, n - 1, n} {
			if d < 0 {
				continue
			}
			pkts = append(pkts, engineio.TextPacket(engineio.Message, strings.Repeat("é", d/2)+strings.Repeat("x", d%2)))
			data := bytes.Repeat([]byte{0x88, 0x00, 0xff}, d/3+1)[:d]
			pkts = append(pkts, engineio.Packet{Type: engineio.Message, Binary: true, Data: data})
		}
	}
	pkts = append(pkts,
		engineio.Packet{Type: engineio.Ping},
		engineio.TextPacket(engineio.Pong, "probe"),
		engineio.Packet{Type: engineio.Noop},
		engineio.Packet{Type: engineio.Close},
	)
	if v == engineio.V4 {
		// A binary message larger than a batch: the writev path.
		pkts = append(pkts, engineio.Packet{Type: engineio.Message, Binary: true, Data: bytes.Repeat([]byte{7}, maxBatch+1000)})
	}
	return pkts
}

// TestWSFramesAsGorilla writes the same packets through gorilla (the
// writer before writeData) and through writeData, on one connection, and
// compares the bytes the client receives: EIO4 and EIO3, binary support
// or base64, every header length.
func TestWSFramesAsGorilla(t *testing.T) {
	t.Parallel()
	for _, v := range []engineio.Version{engineio.V4, engineio.V3} {
		for _, sb := range []bool{true, false} {
			t.Run(fmt.Sprintf("EIO%d/binary=%v", v, sb), func(t *testing.T) {
				t.Parallel()
				p := newWSPair(t)
				pkts := wsTestPackets(v)
				// In batches of a few packets, as the writer gets them.
				for i := 0; i < len(pkts); i += 5 {
					batch := pkts[i:min(i+5, len(pkts))]
					p.write(t, p.transport(v, sb, true), batch)
					want := p.readBytes(t, len(batch))
					p.write(t, p.transport(v, sb, false), batch)
					// As many bytes as gorilla wrote: a frame of
					// another length shows as a difference here.
					got := make([]byte, len(want))
					if _, err := io.ReadFull(p.br, got); err != nil {
						t.Fatal(err)
					}
					if err := sameBytes(got, want); err != nil {
						t.Fatalf("packets %d..%d: %v", i, i+len(batch)-1, err)
					}
				}
			})
		}
	}
}

func sameBytes(got, want []byte) error {
	if bytes.Equal(got, want) {
		return nil
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Errorf("%d bytes, gorilla %d; first difference at byte %d", len(got), len(want), i)
}

// TestWSFramesComparisonFails shows that the comparison above catches a
// frame that differs from gorilla's by one byte or in length.
func TestWSFramesComparisonFails(t *testing.T) {
	want := append([]byte{0x81, 0x02}, "4x"...)
	if sameBytes(want, want) != nil {
		t.Fatal("equal bytes reported different")
	}
	for _, bad := range [][]byte{
		append([]byte{0x82, 0x02}, "4x"...),       // binary instead of text
		append([]byte{0x81, 0x7e, 0, 2}, "4x"...), // a longer length form
		append([]byte{0x81, 0x02}, "4y"...),       // payload
		append([]byte{0x81, 0x02}, "4x\x00"...),   // trailing byte
	} {
		if sameBytes(bad, want) == nil {
			t.Fatalf("% x accepted as % x", bad, want)
		}
	}
}

// TestWSFinishFrameMovesPayload covers a wrong guess of the payload's
// length: the header still comes out as the length requires.
func TestWSFinishFrameMovesPayload(t *testing.T) {
	for _, tc := range []struct{ guess, n int }{{2, 126}, {2, 70000}, {4, 5}, {4, 70000}, {10, 0}, {10, 200}} {
		b := append([]byte("pre"), make([]byte, tc.guess)...)
		payload := bytes.Repeat([]byte{'p'}, tc.n)
		b = append(b, payload...)
		b = finishFrame(b, 3, tc.guess, websocket.TextMessage)
		hl := wsHeaderLen(tc.n)
		want := make([]byte, hl)
		putWSHeader(want, websocket.TextMessage, tc.n)
		want = append(append([]byte("pre"), want...), payload...)
		if !bytes.Equal(b, want) {
			t.Fatalf("guess %d, %d bytes: header % x, want % x", tc.guess, tc.n, b[3:3+hl], want[3:3+hl])
		}
	}
}

// TestWSNoDataAfterClose: once gorilla has written a close frame (here
// the read loop's, for invalid UTF-8), writeData refuses as gorilla's
// WriteMessage does (ErrCloseSent), and nothing follows the close frame.
func TestWSNoDataAfterClose(t *testing.T) {
	t.Parallel()
	p := newWSPair(t)
	tr := p.transport(engineio.V4, true, false)
	p.write(t, tr, []engineio.Packet{engineio.TextPacket(engineio.Message, "before")})
	if err := p.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, ""), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	err := tr.writeBatch([]engineio.Packet{engineio.TextPacket(engineio.Message, "after")})
	_ = p.bc.end()
	if !errors.Is(err, websocket.ErrCloseSent) {
		t.Fatalf("write after close: %v, want ErrCloseSent", err)
	}
	_ = p.conn.Close()
	var ops []byte
	for {
		f, err := readFrame(p.br)
		if err != nil {
			break
		}
		ops = append(ops, f.b0)
	}
	if !bytes.Equal(ops, []byte{0x81, 0x88}) {
		t.Fatalf("frames % x, want the message then the close frame", ops)
	}
}

// TestWSControlFramesBetweenDataFrames writes batches while another
// goroutine writes pings through gorilla (as the read loop's pong
// replies do): every frame the client reads is whole, the data frames in
// order.
func TestWSControlFramesBetweenDataFrames(t *testing.T) {
	t.Parallel()
	p := newWSPair(t)
	tr := p.transport(engineio.V4, true, false)
	const batches, pings = 200, 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < pings; i++ {
			_ = p.conn.WriteControl(websocket.PingMessage, []byte(fmt.Sprint(i)), time.Now().Add(5*time.Second))
		}
	}()
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < batches; i++ {
			batch := []engineio.Packet{
				engineio.TextPacket(engineio.Message, fmt.Sprint(i)),
				{Type: engineio.Message, Binary: true, Data: bytes.Repeat([]byte{byte(i)}, 3000)},
			}
			err := tr.writeBatch(batch)
			if ferr := p.bc.end(); err == nil {
				err = ferr
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	next, nping := 0, 0
	for next < 2*batches || nping < pings {
		f, err := readFrame(p.br)
		if err != nil {
			t.Fatalf("after %d data frames and %d pings: %v", next, nping, err)
		}
		switch f.b0 {
		case 0x89:
			if string(f.payload) != fmt.Sprint(nping) {
				t.Fatalf("ping %q, want %d", f.payload, nping)
			}
			nping++
		case 0x81:
			if next%2 != 0 || string(f.payload) != "4"+fmt.Sprint(next/2) {
				t.Fatalf("text frame %q at %d", f.payload, next)
			}
			next++
		case 0x82:
			if next%2 != 1 || len(f.payload) != 3000 || f.payload[0] != byte(next/2) {
				t.Fatalf("binary frame of %d bytes at %d", len(f.payload), next)
			}
			next++
		default:
			t.Fatalf("frame % x", f.b0)
		}
	}
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
}

// TestWSSendToSlowPeer sends far more than the socket buffers hold to a
// peer that is not reading: the sends do not block (what a non-blocking
// write on the sender's goroutine leaves is handed to the writer), and
// once the peer reads, every message arrives whole and in order.
func TestWSSendToSlowPeer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := e.mustWS("EIO=4&transport=websocket")
	op := c.open()
	s := e.session(op.SID)
	const n, size = 600, 32 << 10
	msg := func(i int) []byte {
		b := bytes.Repeat([]byte{byte(i)}, size)
		binary.BigEndian.PutUint32(b, uint32(i))
		return b
	}
	sent := make(chan error, 1)
	go func() {
		for i := 0; i < n; i++ {
			// Text and binary, so that both kinds are queued.
			p := engineio.Packet{Type: engineio.Message, Binary: true, Data: msg(i)}
			if i%3 == 0 {
				p = engineio.TextPacket(engineio.Message, fmt.Sprintf("%d", i))
			}
			if err := s.Send(p); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitBudget):
		t.Fatal("Send blocked on a peer that does not read")
	}
	for i := 0; i < n; i++ {
		mt, b, err := c.read()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if mt == websocket.TextMessage && string(b) == "2" {
			i-- // a heartbeat
			continue
		}
		switch {
		case i%3 == 0 && (mt != websocket.TextMessage || string(b) != fmt.Sprintf("4%d", i)):
			t.Fatalf("message %d: %d %.20q", i, mt, b)
		case i%3 != 0 && (mt != websocket.BinaryMessage || !bytes.Equal(b, msg(i))):
			t.Fatalf("message %d: %d, %d bytes", i, mt, len(b))
		}
	}
}
