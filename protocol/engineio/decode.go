package engineio

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// ParseText decodes the text form of one packet (protocol v): a type digit
// followed by data, or "b" + base64 for a binary message (v4) or "b" + type
// digit + base64 (v3; only a message may be binary, ErrBinaryNotMessage
// otherwise). The Data of a text packet aliases b.
func ParseText(v Version, b []byte) (Packet, error) {
	return parseText(v, b, 0)
}

func parseText(v Version, b []byte, off int) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, decodeErr(off, ErrEmptyPacket, "empty packet")
	}
	c := b[0]
	if c == 'b' {
		t := Message
		data := b[1:]
		if v == V3 {
			if len(data) == 0 {
				return Packet{}, decodeErr(off+1, ErrUnknownType, "base64 packet without a type digit")
			}
			t = PacketType(data[0] - '0')
			if data[0] < '0' || !t.Valid() {
				return Packet{}, decodeErr(off+1, ErrUnknownType, "unknown packet type "+strconv.QuoteRune(rune(data[0])))
			}
			data = data[1:]
		}
		if t != Message {
			return Packet{}, decodeErr(off+1, ErrBinaryNotMessage, "base64 data on a "+t.String()+" packet")
		}
		raw, bad := decodeBase64(data)
		if bad >= 0 {
			return Packet{}, decodeErr(off+len(b)-len(data)+bad, ErrBadBase64, "invalid base64 at byte "+strconv.Itoa(bad)+" of the data")
		}
		return Packet{Type: t, Data: raw, Binary: true}, nil
	}
	t := PacketType(c - '0')
	if c < '0' || !t.Valid() {
		r, _ := utf8.DecodeRune(b)
		return Packet{}, decodeErr(off, ErrUnknownType, "unknown packet type "+strconv.QuoteRune(r))
	}
	return Packet{Type: t, Data: b[1:len(b):len(b)]}, nil
}

// decodeBase64 accepts canonical standard base64, with or without padding,
// and nothing else: no line breaks (which encoding/base64 would skip) and no
// non-zero bits in the last character. It returns the decoded bytes, or the
// index of the first offending input byte.
func decodeBase64(s []byte) ([]byte, int) {
	// Two IndexByte calls are vectorised; IndexAny is not.
	if i := bytes.IndexByte(s, '\n'); i >= 0 {
		if j := bytes.IndexByte(s[:i], '\r'); j >= 0 {
			return nil, j
		}
		return nil, i
	}
	if i := bytes.IndexByte(s, '\r'); i >= 0 {
		return nil, i
	}
	enc := strictStd
	if len(s)%4 != 0 {
		enc = strictRaw
	}
	out := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(out, s)
	if err != nil {
		bad := len(s)
		if c, ok := err.(base64.CorruptInputError); ok && int(c) < len(s) {
			bad = int(c)
		}
		return nil, bad
	}
	return out[:n], -1
}

var (
	strictStd = base64.StdEncoding.Strict()
	strictRaw = base64.RawStdEncoding.Strict()
)

// ParseFrame decodes the content of one WebSocket message received in a
// session of protocol v; binary tells whether it came in a binary frame. In
// v4 a binary frame is a binary message (EIO-BIN-03); in v3 its first byte
// is the packet type and must be 0x04, message (EIO3-07). A text frame is
// one packet's text form, and Node also accepts "b" + base64 there
// (EIO-BIN-04). A binary frame's Data aliases b.
func ParseFrame(v Version, binary bool, b []byte) (Packet, error) {
	if !binary {
		return parseText(v, b, 0)
	}
	if v == V3 {
		if len(b) == 0 {
			return Packet{}, decodeErr(0, ErrEmptyPacket, "empty binary frame")
		}
		t := PacketType(b[0])
		if !t.Valid() {
			return Packet{}, decodeErr(0, ErrUnknownType, "unknown packet type byte 0x"+strconv.FormatUint(uint64(b[0]), 16))
		}
		if t != Message {
			return Packet{}, decodeErr(0, ErrBinaryNotMessage, "binary frame of a "+t.String()+" packet")
		}
		return Packet{Type: t, Data: b[1:len(b):len(b)], Binary: true}, nil
	}
	return Packet{Type: Message, Data: b[:len(b):len(b)], Binary: true}, nil
}

// ParsePayload decodes a v4 polling payload (EIO-POLL-02), calling fn for
// each packet in order. It stops at the first malformed packet and returns a
// *DecodeError; packets before it have already been passed to fn, as Node
// processes them. An empty payload is an error (EIO-POLL-12). If fn returns
// an error, ParsePayload stops and returns it unchanged.
func ParsePayload(b []byte, fn func(Packet) error) error {
	if len(b) == 0 {
		return decodeErr(0, ErrEmptyPayload, "empty payload")
	}
	off := 0
	for {
		end := bytes.IndexByte(b[off:], RecordSeparator)
		seg := b[off:]
		if end >= 0 {
			seg = b[off : off+end]
		}
		p, err := parseText(V4, seg, off)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		if end < 0 {
			return nil
		}
		off += end + 1
	}
}

// ParsePayloadV3 decodes a v3 text payload of "<length>:<packet>" records
// (EIO3-03), lengths in UTF-16 code units. A malformed length, a length that
// runs past the end or splits a character, trailing junk or an empty body
// is an error (EIO3-10); records before the error have been passed to fn. An
// empty record ("0:") is skipped, as Node does.
func ParsePayloadV3(b []byte, fn func(Packet) error) error {
	if len(b) == 0 {
		return decodeErr(0, ErrEmptyPayload, "empty payload")
	}
	off := 0
	for off < len(b) {
		colon := bytes.IndexByte(b[off:], ':')
		if colon < 0 {
			return decodeErr(off, ErrBadLength, "length prefix without ':'")
		}
		digits := b[off : off+colon]
		n, ok := parseDecimal(digits)
		if !ok {
			return decodeErr(off, ErrBadLength, "invalid length prefix "+strconv.Quote(string(digits)))
		}
		start := off + colon + 1
		end, ok := advanceUTF16(b, start, n)
		if !ok {
			return decodeErr(off, ErrBadLength, "length "+strconv.Itoa(n)+" runs past the end of the payload or splits a character")
		}
		if end > start {
			p, err := parseText(V3, b[start:end], start)
			if err != nil {
				return err
			}
			if err := fn(p); err != nil {
				return err
			}
		}
		off = end
	}
	return nil
}

// parseDecimal parses a non-empty run of ASCII digits of at most 9 digits.
func parseDecimal(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// advanceUTF16 returns the byte index reached by walking units UTF-16 code
// units of b from start, and false if b ends first or the walk would end in
// the middle of a surrogate pair.
func advanceUTF16(b []byte, start, units int) (int, bool) {
	// Fast path: the record is ASCII, so units are bytes.
	if units <= len(b)-start && isASCII(b[start:start+units]) {
		return start + units, true
	}
	i := start
	for units > 0 {
		if i >= len(b) {
			return 0, false
		}
		c := b[i]
		if c < utf8.RuneSelf {
			i++
			units--
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if w > units {
			return 0, false
		}
		units -= w
		i += size
	}
	return i, true
}

// ParseBinaryPayloadV3 decodes a v3 XHR2 binary payload (EIO3-05), calling
// fn for each packet. A marker other than 0 or 1, a length digit above 9,
// more than nine digits, a missing 0xFF, a length past the end, an empty
// packet, a binary packet whose type byte is not 0x04, or an empty payload
// is an error. Text and binary Data alias b.
func ParseBinaryPayloadV3(b []byte, fn func(Packet) error) error {
	if len(b) == 0 {
		return decodeErr(0, ErrEmptyPayload, "empty payload")
	}
	off := 0
	for off < len(b) {
		marker := b[off]
		if marker > 1 {
			return decodeErr(off, ErrBadLength, "packet marker 0x"+strconv.FormatUint(uint64(marker), 16)+" is neither 0 nor 1")
		}
		i := off + 1
		n := 0
		digits := 0
		for ; i < len(b) && b[i] != 0xff; i++ {
			if b[i] > 9 || digits == 9 {
				return decodeErr(i, ErrBadLength, "invalid length digit")
			}
			n = n*10 + int(b[i])
			digits++
		}
		if i >= len(b) {
			return decodeErr(off, ErrTruncated, "length without 0xFF terminator")
		}
		if digits == 0 {
			return decodeErr(off, ErrBadLength, "empty length")
		}
		start := i + 1
		if n > len(b)-start {
			return decodeErr(off, ErrTruncated, "length "+strconv.Itoa(n)+" runs past the end of the payload")
		}
		body := b[start : start+n : start+n]
		var p Packet
		if marker == 0 {
			var err error
			if p, err = parseText(V3, body, start); err != nil {
				return err
			}
		} else {
			if n == 0 {
				return decodeErr(start, ErrEmptyPacket, "empty binary packet")
			}
			t := PacketType(body[0])
			if !t.Valid() {
				return decodeErr(start, ErrUnknownType, "unknown packet type byte 0x"+strconv.FormatUint(uint64(body[0]), 16))
			}
			if t != Message {
				return decodeErr(start, ErrBinaryNotMessage, "binary data on a "+t.String()+" packet")
			}
			p = Packet{Type: t, Data: body[1:], Binary: true}
		}
		if err := fn(p); err != nil {
			return err
		}
		off = start + n
	}
	return nil
}

// DecodePayload decodes a whole polling payload of protocol v into a slice.
// For v3, binary selects the XHR2 binary format (a response or request with
// Content-Type application/octet-stream).
func DecodePayload(v Version, binary bool, b []byte) ([]Packet, error) {
	var pkts []Packet
	if v == V4 {
		pkts = make([]Packet, 0, 1+bytes.Count(b, []byte{RecordSeparator}))
	}
	add := func(p Packet) error { pkts = append(pkts, p); return nil }
	var err error
	switch {
	case !v.Valid():
		return nil, decodeErr(0, ErrBadVersion, "protocol version "+v.String())
	case v == V4:
		err = ParsePayload(b, add)
	case binary:
		err = ParseBinaryPayloadV3(b, add)
	default:
		err = ParsePayloadV3(b, add)
	}
	return pkts, err
}
