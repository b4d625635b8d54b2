package eioserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// maskedFrame returns a client frame (FIN, opcode op, masked with key).
func maskedFrame(op byte, payload []byte, key [4]byte) []byte {
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n >= 65536:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	case n > 125:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|byte(n))
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// TestBatchConnReadRaw reads, through gorilla and batchConn's raw reads
// on a TCP connection, messages sent in one burst and one at a time: every
// message comes out whole, and once the connection is quiet batchConn
// holds no read-ahead buffer. The end of the connection is an error.
func TestBatchConnReadRaw(t *testing.T) {
	t.Parallel()
	p := newWSPair(t)
	if p.bc.rc == nil {
		t.Fatal("no raw connection on a TCP connection")
	}
	var msgs [][]byte
	for _, n := range []int{0, 1, 125, 126, 511, 512, 513, 4096, 65535, 65536, readAhead + 3000, 3 * readAhead} {
		m := make([]byte, n)
		for i := range m {
			m[i] = byte(i*31 + n)
		}
		msgs = append(msgs, m)
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	var burst []byte
	for _, m := range msgs {
		burst = append(burst, maskedFrame(2, m, key)...)
	}
	errc := make(chan error, 1)
	go func() {
		// All at once, then one at a time with the reader waiting.
		_, err := p.client.Write(burst)
		errc <- err
	}()
	_ = p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i, m := range msgs {
		_, got, err := p.conn.ReadMessage()
		if err != nil || !bytes.Equal(got, m) {
			t.Fatalf("burst message %d: %d bytes, %v; want %d bytes", i, len(got), err, len(m))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs[:8] {
		got := make(chan []byte, 1)
		go func() {
			_, b, _ := p.conn.ReadMessage()
			got <- b
		}()
		if _, err := p.client.Write(maskedFrame(2, m, key)); err != nil {
			t.Fatal(err)
		}
		select {
		case b := <-got:
			if !bytes.Equal(b, m) {
				t.Fatalf("message %d alone: %d bytes, want %d", i, len(b), len(m))
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("message %d alone: not read", i)
		}
		if p.bc.ra != nil {
			t.Fatalf("message %d alone: read-ahead buffer held after the message", i)
		}
	}
	_ = p.client.Close()
	_, _, err := p.conn.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseAbnormalClosure {
		t.Fatalf("after the client left: %v, want 1006", err)
	}
}

// TestWSReadMessageSizes reads messages of sizes that match, exceed and
// fall short of the previous one (readMessage's guess): each comes out
// whole, in a slice not much larger than the message.
func TestWSReadMessageSizes(t *testing.T) {
	t.Parallel()
	p := newWSPair(t)
	tr := p.transport(engineio.V4, true, false)
	key := [4]byte{1, 2, 3, 4}
	sizes := []int{4096, 4096, 4096, 5000, 100000, 3000, 2999, 10, 0, 1024, 1023, 1025, 600000, 4096}
	go func() {
		for _, n := range sizes {
			if _, err := p.client.Write(maskedFrame(2, bytes.Repeat([]byte{byte(n)}, n), key)); err != nil {
				return
			}
		}
	}()
	_ = p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i, n := range sizes {
		_, b, err := tr.readMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(b, bytes.Repeat([]byte{byte(n)}, n)) {
			t.Fatalf("message %d: %d bytes, want %d", i, len(b), n)
		}
		if cap(b)-len(b) > len(b)/8 {
			t.Fatalf("message %d: %d bytes in a slice of %d", i, len(b), cap(b))
		}
	}
}

// TestWSReadMessageHintPerKind: the size guess is kept per kind of
// message, so that alternating short text and large binary messages (a
// Socket.IO event with an attachment) read each binary one into its
// slice directly and allocate nothing of that size for the text ones.
func TestWSReadMessageHintPerKind(t *testing.T) {
	t.Parallel()
	p := newWSPair(t)
	tr := p.transport(engineio.V4, true, false)
	key := [4]byte{9, 8, 7, 6}
	text := []byte(`451-["echo",{"_placeholder":true,"num":0}]`)
	go func() {
		for i := 0; i < 3; i++ {
			_, _ = p.client.Write(maskedFrame(1, text, key))
			_, _ = p.client.Write(maskedFrame(2, bytes.Repeat([]byte{7}, 4096), key))
		}
	}()
	_ = p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for i := 0; i < 6; i++ {
		mt, b, err := tr.readMessage()
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && (int(tr.readHint[0]) != len(text) || i > 1 && tr.readHint[1] != 4096) {
			t.Fatalf("message %d (%d, %d bytes): hints %v", i, mt, len(b), tr.readHint)
		}
	}
}
