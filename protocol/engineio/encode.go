package engineio

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strconv"
)

// RecordSeparator joins packets in a v4 polling payload (EIO-POLL-02).
const RecordSeparator = 0x1e

// Encoder writes packets. The zero value is strict: it refuses packets the
// protocol forbids. The package-level Append functions use a zero Encoder.
type Encoder struct {
	// AllowIllegal makes the encoder write packets the protocol forbids, for
	// conformance specs that send malformed input on purpose: an unknown
	// type is written as the byte '0'+Type, a binary flag on a non-message
	// packet is honoured, and text containing the record separator is
	// written into a v4 payload unchanged (so the receiver splits it).
	AllowIllegal bool

	// MaxPayload, when positive, is the largest payload in bytes that
	// AppendPayload, AppendPayloadV3 and AppendBinaryPayloadV3 write: a
	// strict encoder refuses a longer one with an *EncodeError wrapping
	// ErrTooLarge and leaves dst as it was. With AllowIllegal the payload is
	// written anyway (a spec sending an oversized POST, EIO-LIMIT-02). Zero,
	// the default, means no limit.
	MaxPayload int64
}

// checkSize enforces MaxPayload on the payload appended to dst since start.
func (e Encoder) checkSize(dst []byte, start int) ([]byte, error) {
	if e.MaxPayload > 0 && !e.AllowIllegal && int64(len(dst)-start) > e.MaxPayload {
		return dst[:start], &EncodeError{Err: ErrTooLarge, Size: len(dst) - start, Limit: e.MaxPayload}
	}
	return dst, nil
}

func (e Encoder) check(p Packet) error {
	if e.AllowIllegal {
		return nil
	}
	if !p.Type.Valid() {
		return &EncodeError{Packet: p, Err: ErrUnknownType}
	}
	if p.Binary && p.Type != Message {
		return &EncodeError{Packet: p, Err: ErrBinaryNotMessage}
	}
	return nil
}

// AppendText appends the text form of p for protocol v: the type digit and
// the data for a text packet; for a binary packet "b" + base64 (v4,
// EIO-BIN-01) or "b" + type digit + base64 (v3, EIO3-04).
func (e Encoder) AppendText(dst []byte, v Version, p Packet) ([]byte, error) {
	if err := e.check(p); err != nil {
		return dst, err
	}
	return appendText(dst, v, p), nil
}

// textLen returns the length of the text form of p.
func textLen(v Version, p Packet) int {
	if p.Binary {
		n := 1 + base64.StdEncoding.EncodedLen(len(p.Data))
		if v == V3 {
			n++
		}
		return n
	}
	return 1 + len(p.Data)
}

func appendText(dst []byte, v Version, p Packet) []byte {
	dst = slices.Grow(dst, textLen(v, p))
	if p.Binary {
		dst = append(dst, 'b')
		if v == V3 {
			dst = append(dst, p.Type.Char())
		}
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, p.Type.Char())
	return append(dst, p.Data...)
}

// AppendFrame appends the content of the WebSocket message that carries p,
// and reports whether it must be sent as a binary frame (EIO-WS-02). In v4 a
// binary message is its raw bytes (EIO-BIN-03); in v3 it is the type byte
// followed by the bytes (EIO3-07). A text packet is its text form.
func (e Encoder) AppendFrame(dst []byte, v Version, p Packet) ([]byte, bool, error) {
	if err := e.check(p); err != nil {
		return dst, false, err
	}
	if !p.Binary {
		return appendText(dst, v, p), false, nil
	}
	dst = slices.Grow(dst, 1+len(p.Data))
	if v == V3 {
		dst = append(dst, byte(p.Type))
	}
	return append(dst, p.Data...), true, nil
}

// AppendPayload appends a v4 polling payload: the text forms of pkts joined
// by the record separator (EIO-POLL-02), binary packets as "b" + base64.
//
// On error dst is returned unchanged.
func (e Encoder) AppendPayload(dst []byte, pkts []Packet) ([]byte, error) {
	start := len(dst)
	n := len(pkts)
	for _, p := range pkts {
		n += textLen(V4, p)
	}
	dst = slices.Grow(dst, n)
	for i, p := range pkts {
		if err := e.check(p); err != nil {
			return dst[:start], err
		}
		if !e.AllowIllegal && !p.Binary && bytes.IndexByte(p.Data, RecordSeparator) >= 0 {
			return dst[:start], &EncodeError{Packet: p, Err: ErrSeparatorInText}
		}
		if i > 0 {
			dst = append(dst, RecordSeparator)
		}
		dst = appendText(dst, V4, p)
	}
	return e.checkSize(dst, start)
}

// AppendPayloadV3 appends a v3 text payload: each packet as
// "<length>:<packet>", the length counted in UTF-16 code units as JavaScript
// counts string length (EIO3-03), binary packets as "b4" + base64 (EIO3-04).
//
// An empty packet list is written as "0:", as Node writes it. On error dst
// is returned unchanged.
func (e Encoder) AppendPayloadV3(dst []byte, pkts []Packet) ([]byte, error) {
	start := len(dst)
	if len(pkts) == 0 {
		return e.checkSize(append(dst, '0', ':'), start)
	}
	// Grow once by an upper bound: a length in UTF-16 units never has more
	// digits than the byte length.
	n := 0
	for _, p := range pkts {
		l := textLen(V3, p)
		n += l + 1 + decimalLen(l)
	}
	dst = slices.Grow(dst, n)
	for _, p := range pkts {
		if err := e.check(p); err != nil {
			return dst[:start], err
		}
		var n int
		if p.Binary {
			n = 2 + base64.StdEncoding.EncodedLen(len(p.Data))
		} else {
			n = 1 + utf16Len(p.Data)
		}
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, ':')
		dst = appendText(dst, V3, p)
	}
	return e.checkSize(dst, start)
}

// AppendBinaryPayloadV3 appends a v3 XHR2 binary payload (EIO3-05), sent
// with Content-Type application/octet-stream: for each packet a marker byte
// (0 text, 1 binary), the length as one byte per decimal digit, 0xFF, then
// the packet (text: type character and UTF-8 data; binary: type byte and
// data). Lengths here count bytes. An empty packet list writes nothing. On
// error dst is returned unchanged.
func (e Encoder) AppendBinaryPayloadV3(dst []byte, pkts []Packet) ([]byte, error) {
	start := len(dst)
	n := 0
	for _, p := range pkts {
		n += 3 + decimalLen(1+len(p.Data)) + len(p.Data)
	}
	dst = slices.Grow(dst, n)
	for _, p := range pkts {
		if err := e.check(p); err != nil {
			return dst[:start], err
		}
		if p.Binary {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
		n := 1 + len(p.Data)
		var digits [20]byte
		d := strconv.AppendInt(digits[:0], int64(n), 10)
		for _, c := range d {
			dst = append(dst, c-'0')
		}
		dst = append(dst, 0xff)
		if p.Binary {
			dst = append(dst, byte(p.Type))
		} else {
			dst = append(dst, p.Type.Char())
		}
		dst = append(dst, p.Data...)
	}
	return e.checkSize(dst, start)
}

// decimalLen returns the number of decimal digits of n >= 0.
func decimalLen(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// AppendText appends the text form of p with a strict Encoder.
func AppendText(dst []byte, v Version, p Packet) ([]byte, error) {
	return Encoder{}.AppendText(dst, v, p)
}

// AppendFrame appends the WebSocket message for p with a strict Encoder.
func AppendFrame(dst []byte, v Version, p Packet) ([]byte, bool, error) {
	return Encoder{}.AppendFrame(dst, v, p)
}

// AppendPayload appends a v4 polling payload with a strict Encoder.
func AppendPayload(dst []byte, pkts []Packet) ([]byte, error) {
	return Encoder{}.AppendPayload(dst, pkts)
}

// AppendPayloadV3 appends a v3 text payload with a strict Encoder.
func AppendPayloadV3(dst []byte, pkts []Packet) ([]byte, error) {
	return Encoder{}.AppendPayloadV3(dst, pkts)
}

// AppendBinaryPayloadV3 appends a v3 binary payload with a strict Encoder.
func AppendBinaryPayloadV3(dst []byte, pkts []Packet) ([]byte, error) {
	return Encoder{}.AppendBinaryPayloadV3(dst, pkts)
}

// HasBinary reports whether any packet in pkts is binary. A v3 server
// answers a polling GET with a binary payload only when the session supports
// binary and HasBinary is true.
func HasBinary(pkts []Packet) bool {
	for _, p := range pkts {
		if p.Binary {
			return true
		}
	}
	return false
}

// AppendRawPayload joins segments with the record separator without any
// check. Specs use it to send payloads no encoder would write (bad base64,
// unknown types, empty segments).
func AppendRawPayload(dst []byte, segments ...[]byte) []byte {
	for i, s := range segments {
		if i > 0 {
			dst = append(dst, RecordSeparator)
		}
		dst = append(dst, s...)
	}
	return dst
}

// AppendRawPayloadV3 appends one v3 text payload record "<length>:<body>"
// with a length the caller chooses, which may be wrong on purpose.
func AppendRawPayloadV3(dst []byte, length int, body []byte) []byte {
	dst = strconv.AppendInt(dst, int64(length), 10)
	dst = append(dst, ':')
	return append(dst, body...)
}

// AppendRawBinaryPayloadV3 appends one v3 XHR2 binary payload record with a
// marker byte and a length the caller chooses, either of which may be wrong
// on purpose: marker, the length's decimal digits as one byte each, 0xFF,
// then body unchanged (body includes the type character or byte).
func AppendRawBinaryPayloadV3(dst []byte, marker byte, length int, body []byte) []byte {
	dst = append(dst, marker)
	var digits [20]byte
	for _, c := range strconv.AppendInt(digits[:0], int64(length), 10) {
		if c == '-' {
			continue
		}
		dst = append(dst, c-'0')
	}
	dst = append(dst, 0xff)
	return append(dst, body...)
}

// UTF16Len returns the length of the UTF-8 text b in UTF-16 code units, the
// unit of v3 payload length prefixes.
func UTF16Len(b []byte) int { return utf16Len(b) }
