package socketio

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Version is a Socket.IO protocol revision. The zero value means V5.
type Version int

// Protocol revisions.
const (
	// V5 is the protocol of socket.io 3.x and 4.x (the default).
	V5 Version = 5
	// V4 is the protocol of socket.io 1.x and 2.x (over Engine.IO v3).
	V4 Version = 4
)

func (v Version) norm() Version {
	if v == V4 {
		return V4
	}
	return V5
}

// String returns "v5" or "v4".
func (v Version) String() string { return "v" + strconv.Itoa(int(v.norm())) }

// PacketType is the Socket.IO packet type digit.
type PacketType uint8

// Packet types, in the order of their wire digits.
const (
	Connect      PacketType = 0 // CONNECT
	Disconnect   PacketType = 1 // DISCONNECT
	Event        PacketType = 2 // EVENT
	Ack          PacketType = 3 // ACK
	ConnectError PacketType = 4 // CONNECT_ERROR (ERROR in protocol v4)
	BinaryEvent  PacketType = 5 // BINARY_EVENT
	BinaryAck    PacketType = 6 // BINARY_ACK
)

var typeNames = [...]string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}

// String returns the protocol document's name of t (CONNECT, BINARY_EVENT,
// ...) or "PacketType(N)" for an unknown type.
func (t PacketType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// Name returns the name of t in protocol revision v: like String, except
// that type 4 is called ERROR in V4.
func (t PacketType) Name(v Version) string {
	if t == ConnectError && v.norm() == V4 {
		return "ERROR"
	}
	return t.String()
}

// Valid reports whether t is one of the seven defined types.
func (t PacketType) Valid() bool { return t <= BinaryAck }

// IsBinary reports whether t is BinaryEvent or BinaryAck, the types that
// carry an attachment count.
func (t PacketType) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

// MaxAckID is the largest ack id accepted by decoders and strict encoders:
// 2^53-1, JavaScript's Number.MAX_SAFE_INTEGER (SIO-ENC-11).
const MaxAckID = 1<<53 - 1

// DefaultMaxAttachments is the attachment limit used when an Encoder or
// Decoder leaves MaxAttachments at zero; it matches socket.io-parser 4.2.6+
// (SIO-BIN-07).
const DefaultMaxAttachments = 10

// Packet is one Socket.IO packet.
//
// A decoded Packet's Data aliases the decoder's input; Nsp and Query are
// fresh strings (the main namespace "/" costs nothing). Binary holds the
// attachments exactly as they were handed to a Reassembler (not copied).
type Packet struct {
	// Type is the packet type.
	Type PacketType
	// Nsp is the namespace. "" and "/" both mean the main namespace, which
	// is left out on the wire; decoders report it as "/".
	Nsp string
	// Query is the query string (without "?") that protocol v4 appends to
	// the namespace of a CONNECT packet ("40/admin?token=abc,"). V5 has no
	// such field: a v5 decoder leaves any "?" inside Nsp, and a strict v5
	// encoder rejects a non-empty Query.
	Query string
	// ID is the ack id; it is meaningful only when HasID is set, so id 0 is
	// distinguishable from "no id" (SIO-ACK-04).
	ID uint64
	// HasID reports whether the packet carries an ack id.
	HasID bool
	// Data is the JSON payload exactly as it appears on the wire; nil means
	// no payload. For binary types it holds the placeholders
	// {"_placeholder":true,"num":N}.
	Data []byte
	// Attachments is the attachment count written in (or read from) the
	// header of a BinaryEvent or BinaryAck packet.
	Attachments int
	// Binary holds the attachments of a complete binary packet, in num
	// order. It is nil for a header that was decoded on its own.
	Binary [][]byte
	// Raw overrides parts of the header text. Only an Encoder with
	// AllowIllegal honours it; a strict Encoder rejects a packet that sets
	// it.
	Raw *RawHeader

	// built is set by NewPacket and the helpers built on it: Data was
	// written by this package's value encoder, so a strict Encoder need not
	// scan the JSON again.
	built builtMark
}

// builtMark records which payload the package wrote itself: valid JSON
// whose placeholders (if any) are numbered 0..bins-1. It vouches only for
// the slice it names (the same first byte and length), so a caller who
// assigns a new Data loses it; Check still verifies everything else (type,
// namespace, payload shape for the type, attachment counts, size).
//
// A Decoder sets a mark of its own (decoded 1 for a text type, 2 for a
// binary one, bins the attachment count it checked the placeholders
// against): the payload was scanned as valid JSON, so Value and Args need
// not scan it again. An Encoder does not rely on that mark.
type builtMark struct {
	data    *byte
	n       int
	bins    int
	decoded uint8
}

// trusted reports whether p.Data is the payload NewPacket wrote.
func (p *Packet) trusted() bool {
	return p.built.decoded == 0 && p.marked()
}

// marked reports whether p.Data is the slice its mark names.
func (p *Packet) marked() bool {
	return p.built.data != nil && len(p.Data) == p.built.n && len(p.Data) > 0 && &p.Data[0] == p.built.data
}

// scanned reports whether p.Data is the payload a Decoder validated for
// p's type and attachment count (see builtMark).
func (p *Packet) scanned() bool {
	if p.built.decoded == 0 || !p.marked() {
		return false
	}
	if p.Type.IsBinary() {
		return p.built.decoded == 2 && p.built.bins == p.Attachments
	}
	return p.built.decoded == 1
}

// RawHeader replaces parts of the packet header with arbitrary text so that
// specs can build packets no honest encoder writes, such as "42abc[...]" or
// "5x-[...]". Empty fields are not overridden.
type RawHeader struct {
	// Type replaces the type digit.
	Type string
	// Attachments replaces the attachment count (the "-" is still written
	// for binary types).
	Attachments string
	// ID replaces the ack id digits.
	ID string
}

// Namespace returns p.Nsp, or "/" when it is empty.
func (p Packet) Namespace() string {
	if p.Nsp == "" {
		return "/"
	}
	return p.Nsp
}

// Complete reports whether p needs no more attachments: it is not a binary
// type, or Binary holds Attachments slices.
func (p Packet) Complete() bool {
	return !p.Type.IsBinary() || len(p.Binary) == p.Attachments
}

// Equal reports whether p and q are the same packet: same type, namespace
// ("" and "/" are equal), query, ack id, payload bytes (nil and empty
// differ), attachment count and attachments (nil and empty are equal). Raw
// is ignored.
func (p Packet) Equal(q Packet) bool {
	if p.Type != q.Type || p.Namespace() != q.Namespace() || p.Query != q.Query ||
		p.HasID != q.HasID || (p.HasID && p.ID != q.ID) ||
		(p.Data == nil) != (q.Data == nil) || !bytes.Equal(p.Data, q.Data) ||
		p.Attachments != q.Attachments || len(p.Binary) != len(q.Binary) {
		return false
	}
	for i := range p.Binary {
		if !bytes.Equal(p.Binary[i], q.Binary[i]) {
			return false
		}
	}
	return true
}

// Clone returns a copy of p that shares no memory with it, for keeping a
// decoded packet beyond the life of the decoder's input.
func (p Packet) Clone() Packet {
	if p.Data != nil {
		trusted, bins := p.trusted(), p.built.bins
		p.Data = bytes.Clone(p.Data)
		p.built = builtMark{}
		if trusted {
			p.built = builtMark{data: &p.Data[0], n: len(p.Data), bins: bins}
		}
	}
	if p.Binary != nil {
		bins := make([][]byte, len(p.Binary))
		for i, b := range p.Binary {
			bins[i] = bytes.Clone(b)
			if bins[i] == nil && b != nil {
				bins[i] = []byte{}
			}
		}
		p.Binary = bins
	}
	if p.Raw != nil {
		r := *p.Raw
		p.Raw = &r
	}
	return p
}

// WithID returns a copy of p carrying ack id id.
func (p Packet) WithID(id uint64) Packet {
	p.ID, p.HasID = id, true
	return p
}

// maxStringData bounds how much JSON String shows.
const maxStringData = 240

// String renders p for transcripts and test failures, for example
//
//	EVENT /admin id=13 ["x",1]
//	BINARY_EVENT / attachments=2 ["m",{"_placeholder":true,"num":0}] binary=[3 B, 3 B]
//
// Long payloads are cut after 240 bytes with the total size noted.
func (p Packet) String() string {
	var b strings.Builder
	b.WriteString(p.Type.String())
	b.WriteByte(' ')
	b.WriteString(p.Namespace())
	if p.Query != "" {
		b.WriteByte('?')
		b.WriteString(p.Query)
	}
	if p.HasID {
		b.WriteString(" id=")
		b.WriteString(strconv.FormatUint(p.ID, 10))
	}
	if p.Type.IsBinary() || p.Attachments != 0 {
		b.WriteString(" attachments=")
		b.WriteString(strconv.Itoa(p.Attachments))
	}
	if p.Data != nil {
		b.WriteByte(' ')
		d := p.Data
		if len(d) > maxStringData {
			cut := maxStringData
			for cut > 0 && !utf8.RuneStart(d[cut]) {
				cut--
			}
			b.Write(d[:cut])
			b.WriteString("…(")
			b.WriteString(strconv.Itoa(len(d)))
			b.WriteString(" bytes)")
		} else {
			b.Write(d)
		}
	}
	if p.Binary != nil {
		b.WriteString(" binary=[")
		for i, a := range p.Binary {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Itoa(len(a)))
			b.WriteString(" B")
		}
		b.WriteByte(']')
	}
	if p.Raw != nil {
		b.WriteString(" raw=")
		b.WriteString(strconv.Quote(p.Raw.Type + "|" + p.Raw.Attachments + "|" + p.Raw.ID))
	}
	return b.String()
}

// GomegaString implements Gomega's format.GomegaStringer so that matcher
// failures show the decoded packet rather than its bytes.
func (p Packet) GomegaString() string { return p.String() }
