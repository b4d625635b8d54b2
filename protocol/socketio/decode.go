package socketio

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// Decoder decodes text packets. The zero value decodes protocol v5 with
// socket.io-parser's default limits; a Decoder is a plain value, safe to
// copy and to use from several goroutines.
type Decoder struct {
	// Version selects the protocol revision; zero means V5.
	Version Version
	// MaxAttachments is the largest attachment count accepted in a binary
	// header. Zero means DefaultMaxAttachments (10); a negative value
	// removes the limit.
	MaxAttachments int
	// AllowZeroAttachments accepts a binary header with count 0 ("50-[...]"),
	// as socket.io-parser releases before the 2025 security fixes did.
	// socket.io-parser 4.2.7 and 3.4.5 reject it (Errata 3).
	AllowZeroAttachments bool
	// MaxSize is the largest text packet accepted, in bytes. Zero means no
	// limit (Engine.IO's maxPayload normally bounds packets first).
	MaxSize int
}

// Decode decodes one text packet (the payload of an Engine.IO message)
// with the default Decoder.
func Decode(b []byte) (Packet, error) { return Decoder{}.Decode(b) }

// Decode decodes one text packet. The returned Data aliases b. For a binary
// type the result is a header whose attachments must still be collected
// (see Reassembler); every placeholder in it has already been checked
// against the attachment count. Errors are *DecodeError values.
func (d Decoder) Decode(b []byte) (p Packet, err error) {
	if e := d.decodeInto(&p, b); e != nil {
		return Packet{}, e
	}
	return p, nil
}

var reservedEvents = [...]string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}

// IsReservedEvent reports whether name is one of the event names Node's
// parser refuses (SIO-EVT-03).
func IsReservedEvent(name string) bool {
	for _, r := range reservedEvents {
		if r == name {
			return true
		}
	}
	return false
}

func (d Decoder) maxAttachments() int {
	switch {
	case d.MaxAttachments == 0:
		return DefaultMaxAttachments
	case d.MaxAttachments < 0:
		return int(^uint(0) >> 1)
	}
	return d.MaxAttachments
}

// parseUint parses ASCII digits, reporting overflow beyond limit.
func parseUint(b []byte, limit uint64) (uint64, bool) {
	var n uint64
	for _, c := range b {
		d := uint64(c - '0')
		if n > (limit-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// decodeInto decodes b into *p (which it resets first), so that callers
// on a deep stack do not hold a Packet in their own frames. On error *p
// holds what was decoded before it.
func (d *Decoder) decodeInto(p *Packet, b []byte) *DecodeError {
	*p = Packet{}
	if d.MaxSize > 0 && len(b) > d.MaxSize {
		return decodeErr(d.MaxSize, ErrTooLarge, strconv.Itoa(len(b))+" bytes, limit "+strconv.Itoa(d.MaxSize))
	}
	if len(b) == 0 {
		return decodeErr(0, ErrEmpty, "")
	}
	v := d.Version.norm()
	c := b[0]
	if c < '0' || c > '6' {
		return decodeErr(0, ErrUnknownType, "type "+quoteByte(c)+" is not a digit 0-6")
	}
	p.Type = PacketType(c - '0')
	i := 1

	if p.Type.IsBinary() {
		var err *DecodeError
		if i, err = d.attachmentCount(p, b, i); err != nil {
			return err
		}
	}

	// namespace
	p.Nsp = "/"
	hasNsp := false
	if i < len(b) && b[i] == '/' {
		hasNsp = true
		start := i
		end := len(b)
		if j := bytes.IndexByte(b[i:], ','); j >= 0 {
			end = i + j
			i = end + 1
		} else {
			i = end
		}
		nsp := b[start:end]
		if !utf8.Valid(nsp) {
			return decodeErr(start, ErrNamespace, "namespace is not valid UTF-8")
		}
		if v == V4 && p.Type == Connect {
			if q := bytes.IndexByte(nsp, '?'); q >= 0 {
				p.Query = string(nsp[q+1:])
				nsp = nsp[:q]
			}
		}
		if len(nsp) != 1 {
			p.Nsp = string(nsp)
		}
	}

	// ack id
	idStart := i
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	if i > idStart {
		id, ok := parseUint(b[idStart:i], MaxAckID)
		if !ok {
			return decodeErr(idStart, ErrAckID, "ack id "+string(b[idStart:i])+" exceeds 2^53-1")
		}
		p.ID, p.HasID = id, true
	}
	if i == len(b) {
		return nil
	}

	// Junk between the header and the JSON: name the header part it
	// most likely belongs to (Node reports all of these as "invalid
	// payload").
	if c := b[i]; !isWS(c) && kindOf(c) == kindNone {
		if err := junkError(b, i, idStart, p.HasID, hasNsp); err != nil {
			return err
		}
	}

	data := b[i:]
	if err := checkPayload(v, p.Type, data, i, p.Attachments); err != nil {
		return err
	}
	p.Data = data
	if len(data) > 0 {
		p.built = builtMark{data: &data[0], n: len(data), bins: p.Attachments, decoded: 1}
		if p.Type.IsBinary() {
			p.built.decoded = 2
		}
	}
	return nil
}

// attachmentCount reads the "N-" of a binary header at b[i:] into
// p.Attachments and returns the index after the '-'.
//
//go:noinline
func (d *Decoder) attachmentCount(p *Packet, b []byte, i int) (int, *DecodeError) {
	start := i
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	if i == len(b) || b[i] != '-' {
		if i == start && i == len(b) {
			return i, decodeErr(i, ErrAttachments, "attachment count missing")
		}
		if i == start {
			return i, decodeErr(i, ErrAttachments, "attachment count must be decimal digits, found "+quoteByte(b[i]))
		}
		if i == len(b) {
			return i, decodeErr(i, ErrAttachments, "'-' missing after the attachment count")
		}
		return i, decodeErr(i, ErrAttachments, "'-' expected after the attachment count, found "+quoteByte(b[i]))
	}
	if i == start {
		return i, decodeErr(i, ErrAttachments, "attachment count is empty")
	}
	max := d.maxAttachments()
	n, ok := parseUint(b[start:i], uint64(max)+1)
	if !ok || n > uint64(max) {
		return i, decodeErr(start, ErrTooManyAttachments, string(b[start:i])+" attachments, limit "+strconv.Itoa(max))
	}
	if n == 0 && !d.AllowZeroAttachments {
		return i, decodeErr(start, ErrAttachments, "attachment count 0")
	}
	p.Attachments = int(n)
	return i + 1, nil
}

// junkError names what a byte that starts no JSON value after the header
// at b[i] most likely is (Node reports all of these as "invalid
// payload"); nil leaves the verdict to the payload scan.
//
//go:noinline
func junkError(b []byte, i, idStart int, hasID, hasNsp bool) *DecodeError {
	c := b[i]
	rest := b[i:]
	js := bytes.IndexAny(rest, "[{\"")
	switch {
	case hasID:
		return decodeErr(i, ErrAckID, "ack id "+string(b[idStart:i])+" followed by "+quoteByte(c))
	case !hasNsp && js > 0 && bytes.IndexByte(rest[:js], ',') >= 0:
		return decodeErr(i, ErrNamespace, "namespace must start with '/'")
	case js > 0:
		return decodeErr(i, ErrAckID, "ack id must be decimal digits, found "+quoteByte(c))
	}
	return nil
}

// checkPayload validates data (at offset base of the packet) as the payload
// of a packet of type t.
func checkPayload(v Version, t PacketType, data []byte, base, nAttach int) *DecodeError {
	s := scanner{b: data, base: base, checkPH: t.IsBinary(), nAttach: nAttach}
	if !s.scanAll() {
		return s.err
	}
	return checkShape(v, t, &s)
}

// checkBuiltPayload is checkPayload for a payload that NewPacket wrote
// (valid compact JSON whose placeholders are numbered 0..bins-1): only the
// shape is read, from the first bytes and the event name. Anything the mark
// cannot vouch for (more placeholders than the attachment count) goes
// through checkPayload.
func checkBuiltPayload(v Version, t PacketType, data []byte, nAttach, bins int) *DecodeError {
	if t.IsBinary() && bins > nAttach {
		return checkPayload(v, t, data, 0, nAttach)
	}
	s := scanner{b: data, kind: kindOf(data[0])}
	if s.kind == kindArray && len(data) > 1 {
		s.empty = data[1] == ']'
		if !s.empty {
			s.firstKind, s.firstStart = kindOf(data[1]), 1
			if s.firstKind == kindString {
				s.firstEnd, s.firstEsc = s.str(1)
				if s.firstEnd < 0 {
					return s.err
				}
			}
		}
	}
	return checkShape(v, t, &s)
}

// checkShape checks the shape of a scanned payload against packet type t.
func checkShape(v Version, t PacketType, s *scanner) *DecodeError {
	data, base := s.b, s.base
	got := kindName(s.kind)
	// socket.io-parser 3.4.5 (v4) tests typeof payload === "object", which
	// also holds for arrays and null.
	jsObject := s.kind == kindObject || s.kind == kindArray || s.kind == kindNull
	switch t {
	case Connect:
		if v == V4 && !jsObject {
			return decodeErr(base, ErrPayload, "v4 CONNECT payload must be an object, array or null, got "+got)
		}
		if v == V5 && s.kind != kindObject {
			return decodeErr(base, ErrPayload, "CONNECT payload must be an object, got "+got)
		}
	case Disconnect:
		return decodeErr(base, ErrPayload, "DISCONNECT carries no payload, got "+got)
	case Event, BinaryEvent:
		if s.kind != kindArray {
			return decodeErr(base, ErrPayload, t.String()+" payload must be an array, got "+got)
		}
		if s.empty {
			return decodeErr(base, ErrPayload, t.String()+" payload must not be an empty array")
		}
		switch s.firstKind {
		case kindNumber:
		case kindString:
			if v == V5 {
				name := data[s.firstStart+1 : s.firstEnd-1]
				if s.firstEsc {
					name = []byte(unquoteJSONString(data[s.firstStart:s.firstEnd]))
				}
				if isReservedBytes(name) {
					return decodeErr(base+s.firstStart, ErrReservedEvent, "event name "+strconv.Quote(string(name))+" is reserved")
				}
			}
		default:
			return decodeErr(base+s.firstStart, ErrEventName, "event name must be a string or a number, got "+kindName(s.firstKind))
		}
	case Ack, BinaryAck:
		if s.kind != kindArray {
			return decodeErr(base, ErrPayload, t.String()+" payload must be an array, got "+got)
		}
	case ConnectError:
		if v == V4 && !jsObject && s.kind != kindString {
			return decodeErr(base, ErrPayload, "v4 ERROR payload must be a string, object, array or null, got "+got)
		}
		if v == V5 && s.kind != kindObject && s.kind != kindString {
			return decodeErr(base, ErrPayload, "CONNECT_ERROR payload must be an object or a string, got "+got)
		}
	}
	return nil
}

func isReservedBytes(name []byte) bool {
	switch string(name) {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}
