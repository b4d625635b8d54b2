package faultproxy

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/siospec/siospec/protocol/engineio"
)

// wsFrameBytes builds one frame with a payload of n bytes (masked when
// mask), sized to exercise the 7-, 16- and 64-bit length forms.
func wsFrameBytes(rng *rand.Rand, n int, mask bool) []byte {
	b := []byte{0x82}
	m := byte(0)
	if mask {
		m = 0x80
	}
	switch {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 1<<16:
		b = append(b, m|126, 0, 0)
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if mask {
		b = append(b, 1, 2, 3, 4)
	}
	for range n {
		b = append(b, byte(rng.IntN(256)))
	}
	return b
}

// TestWSFramerChunkingAndModes feeds random frame streams in random chunks
// while the "a stage wants whole frames" answer flips at random: the bytes
// out must equal the bytes in, and every unit must be exactly one frame.
func TestWSFramerChunkingAndModes(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 7))
		var in []byte
		for range 1 + rng.IntN(12) {
			n := []int{0, 1, 5, 125, 126, 300, 65535, 65536, 70000}[rng.IntN(9)]
			if seed%50 == 0 && rng.IntN(4) == 0 {
				n = maxFrame + 10 // streamed, never a unit
			}
			in = append(in, wsFrameBytes(rng, n, rng.IntN(2) == 0)...)
		}
		units := rng.IntN(2) == 0
		f := &wsFramer{unitsHook: func() bool {
			if rng.IntN(5) == 0 {
				units = !units
			}
			return units
		}}
		var out []byte
		emit := func(ck chunk) error {
			if ck.u != nil {
				if ck.u.kind != unitWSFrame {
					t.Fatalf("seed %d: unit kind %d", seed, ck.u.kind)
				}
				hl, plen, ok := wsHeader(ck.data)
				if !ok || int64(hl)+plen != int64(len(ck.data)) {
					t.Fatalf("seed %d: unit of %d bytes is not one whole frame", seed, len(ck.data))
				}
			}
			out = append(out, ck.data...)
			return nil
		}
		for rest := in; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(40000))
			if rng.IntN(3) == 0 {
				n = min(len(rest), 1+rng.IntN(3))
			}
			if err := f.feed(chunk{data: rest[:n]}, emit); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := f.flush(emit); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("seed %d: %d bytes in, %d out, differ", seed, len(in), len(out))
		}
		if f.skip != 0 || len(f.acc) != 0 || len(f.hdr) != 0 {
			t.Fatalf("seed %d: framer not at a boundary after whole frames: skip %d acc %d hdr %d", seed, f.skip, len(f.acc), len(f.hdr))
		}
	}
}

// TestWSTransparencyThroughTap echoes WebSocket messages of many sizes
// (including frames over the 1 MiB the tap holds) through a tapped proxy,
// with and without a protocol fault that makes the tap hold whole frames:
// every message comes back intact and in order.
func TestWSTransparencyThroughTap(t *testing.T) {
	t.Parallel()
	up := startWSUpstream(t)
	for _, inert := range []bool{false, true} {
		p := startProxy(t, up.Listener.Addr().String(), &Options{Tap: true})
		if inert {
			addFault(t, p, EIODropPacket{Direction: Both, Packets: []engineio.PacketType{engineio.Noop}})
		}
		c, _, err := wsDial(t, p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		sizes := []int{0, 1, 125, 126, 65535, 65536, maxFrame + 1, 3 << 20 / 2}
		for range 60 {
			sizes = append(sizes, rng.IntN(100<<10))
		}
		errc := make(chan error, 1)
		msgs := make([][]byte, len(sizes))
		src := rand.NewChaCha8([32]byte{3})
		for i, n := range sizes {
			m := make([]byte, n)
			_, _ = src.Read(m)
			msgs[i] = m
		}
		go func() {
			for _, m := range msgs {
				if err := c.WriteMessage(websocket.BinaryMessage, m); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		for i, m := range msgs {
			_, got, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("inert=%v: message %d (%d bytes): %v", inert, i, len(m), err)
			}
			if !bytes.Equal(got, m) {
				t.Fatalf("inert=%v: message %d: %d bytes back, want %d, content differs", inert, i, len(got), len(m))
			}
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		t.Logf("inert=%v: %d messages echoed intact", inert, len(msgs))
		if ds, _ := p.Decisions(); inert && len(ds) != 2 {
			t.Fatalf("inert fault made decisions beyond activation: %+v", ds)
		}
	}
}
