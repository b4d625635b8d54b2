package engineio

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// Version is an Engine.IO protocol revision.
type Version int

// Protocol revisions.
const (
	V3 Version = 3 // socket.io 1.x and 2.x (EIO=3)
	V4 Version = 4 // socket.io 3.x and later (EIO=4)
)

// String returns the value of the EIO query parameter for v.
func (v Version) String() string { return strconv.Itoa(int(v)) }

// Valid reports whether v is a revision this package implements.
func (v Version) Valid() bool { return v == V3 || v == V4 }

// PacketType is the type digit of an Engine.IO packet (EIO-PKT-01).
type PacketType uint8

// Packet types.
const (
	Open    PacketType = 0
	Close   PacketType = 1
	Ping    PacketType = 2
	Pong    PacketType = 3
	Message PacketType = 4
	Upgrade PacketType = 5
	Noop    PacketType = 6
)

var typeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// String returns the protocol document's name of t ("open", "ping", ...).
func (t PacketType) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the seven packet types.
func (t PacketType) Valid() bool { return t <= Noop }

// Char returns the ASCII character that encodes t on the wire. For an
// invalid type it returns the byte '0'+t, which is how an [Encoder] with
// AllowIllegal writes unknown types.
func (t PacketType) Char() byte { return '0' + byte(t) }

// Packet is one Engine.IO packet.
//
// For a text packet Data is the UTF-8 text after the type digit. For a binary
// packet (Binary set; only message packets are binary in v4) Data is the raw
// bytes.
type Packet struct {
	Type   PacketType
	Data   []byte
	Binary bool
}

// TextPacket returns a text packet of type t carrying s.
func TextPacket(t PacketType, s string) Packet { return Packet{Type: t, Data: []byte(s)} }

// BinaryMessage returns a binary message packet carrying b.
func BinaryMessage(b []byte) Packet { return Packet{Type: Message, Data: b, Binary: true} }

// String renders p for transcripts: the type name, then the data quoted
// (text) or its length and a short hex prefix (binary).
func (p Packet) String() string {
	b := []byte(p.Type.String())
	if p.Binary {
		b = append(b, " binary["...)
		b = strconv.AppendInt(b, int64(len(p.Data)), 10)
		b = append(b, ']')
		if len(p.Data) > 0 {
			b = append(b, ' ')
			const hex = "0123456789abcdef"
			for i, c := range p.Data {
				if i == 16 {
					b = append(b, "..."...)
					break
				}
				b = append(b, hex[c>>4], hex[c&15])
			}
		}
		return string(b)
	}
	if len(p.Data) > 0 {
		b = append(b, ' ')
		if len(p.Data) > 200 {
			b = strconv.AppendQuote(b, string(p.Data[:200]))
			b = append(b, "...("...)
			b = strconv.AppendInt(b, int64(len(p.Data)), 10)
			b = append(b, " bytes)"...)
		} else {
			b = strconv.AppendQuote(b, string(p.Data))
		}
	}
	return string(b)
}

// GomegaString lets Gomega print packets decoded instead of as byte slices.
func (p Packet) GomegaString() string { return p.String() }

// Equal reports whether p and q have the same type, binary flag and data.
func (p Packet) Equal(q Packet) bool {
	return p.Type == q.Type && p.Binary == q.Binary && string(p.Data) == string(q.Data)
}

// utf16Len returns the length of b in UTF-16 code units, the way JavaScript
// counts string length. Invalid UTF-8 bytes count as one unit each, as the
// replacement character they decode to.
func utf16Len(b []byte) int {
	// Skip the ASCII prefix eight bytes at a time.
	i := asciiPrefix(b)
	n := i
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		i += size
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// asciiPrefix returns the length of the longest prefix of b that is ASCII,
// rounded down to a multiple of eight.
func asciiPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	return i
}

// isASCII reports whether every byte of b is below 0x80.
func isASCII(b []byte) bool {
	i := asciiPrefix(b)
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
