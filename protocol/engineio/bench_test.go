package engineio_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/siospec/siospec/protocol/engineio"
)

// Benchmark inputs: a small text message, a 64 KiB text message (65536
// bytes of data, ASCII mixed with € and 😀), a 4 KiB
// binary message and a 50-packet polling payload (mostly small text, every
// tenth packet binary, some astral-plane characters).
var (
	benchSmall  = engineio.TextPacket(engineio.Message, `2["chat","hello, world"]`)
	benchLarge  = engineio.TextPacket(engineio.Message, `2["blob","`+strings.Repeat("abcdefgh€😀", 4368)+"abcd"+`"]`)
	benchBinary = engineio.BinaryMessage(benchBytes(4096))
	bench50     = benchPayload()
)

func benchBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func benchPayload() []engineio.Packet {
	var pkts []engineio.Packet
	for i := range 50 {
		switch {
		case i%10 == 9:
			pkts = append(pkts, engineio.BinaryMessage(benchBytes(64)))
		case i%10 == 4:
			pkts = append(pkts, engineio.TextPacket(engineio.Message, `2["msg","😀 `+strconv.Itoa(i)+`"]`))
		default:
			pkts = append(pkts, engineio.TextPacket(engineio.Message, `2["msg",`+strconv.Itoa(i)+`]`))
		}
	}
	return pkts
}

type benchCase struct {
	name   string
	encode func(dst []byte) ([]byte, error)
	decode func(b []byte) (int, error) // returns the number of packets
}

func frameCase(name string, v engineio.Version, p engineio.Packet) benchCase {
	_, binary, _ := engineio.AppendFrame(nil, v, p)
	return benchCase{
		name: name,
		encode: func(dst []byte) ([]byte, error) {
			b, _, err := engineio.AppendFrame(dst, v, p)
			return b, err
		},
		decode: func(b []byte) (int, error) {
			_, err := engineio.ParseFrame(v, binary, b)
			return 1, err
		},
	}
}

func textCase(name string, v engineio.Version, p engineio.Packet) benchCase {
	return benchCase{
		name:   name,
		encode: func(dst []byte) ([]byte, error) { return engineio.AppendText(dst, v, p) },
		decode: func(b []byte) (int, error) {
			_, err := engineio.ParseText(v, b)
			return 1, err
		},
	}
}

func payloadCase(name string, enc func([]byte, []engineio.Packet) ([]byte, error), parse func([]byte, func(engineio.Packet) error) error) benchCase {
	return benchCase{
		name:   name,
		encode: func(dst []byte) ([]byte, error) { return enc(dst, bench50) },
		decode: func(b []byte) (int, error) {
			n := 0
			err := parse(b, func(engineio.Packet) error { n++; return nil })
			return n, err
		},
	}
}

func benchCases() []benchCase {
	return []benchCase{
		frameCase("v4/ws/small-text", engineio.V4, benchSmall),
		frameCase("v4/ws/64KiB-text", engineio.V4, benchLarge),
		frameCase("v4/ws/4KiB-binary", engineio.V4, benchBinary),
		textCase("v4/polling/4KiB-binary-base64", engineio.V4, benchBinary),
		payloadCase("v4/polling/50-packets", engineio.AppendPayload, engineio.ParsePayload),
		frameCase("v3/ws/small-text", engineio.V3, benchSmall),
		frameCase("v3/ws/64KiB-text", engineio.V3, benchLarge),
		frameCase("v3/ws/4KiB-binary", engineio.V3, benchBinary),
		textCase("v3/polling/4KiB-binary-base64", engineio.V3, benchBinary),
		payloadCase("v3/polling/50-packets-text", engineio.AppendPayloadV3, engineio.ParsePayloadV3),
		payloadCase("v3/polling/50-packets-xhr2", engineio.AppendBinaryPayloadV3, engineio.ParseBinaryPayloadV3),
	}
}

// BenchmarkEncode measures the encoders appending into a reused buffer.
func BenchmarkEncode(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			wire, err := c.encode(nil)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			dst := make([]byte, 0, len(wire))
			for b.Loop() {
				if dst, err = c.encode(dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode measures the decoders; text data aliases the input, so
// only base64 binary data allocates.
func BenchmarkDecode(b *testing.B) {
	for _, c := range benchCases() {
		b.Run(c.name, func(b *testing.B) {
			wire, err := c.encode(nil)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.decode(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
