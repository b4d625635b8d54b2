package socketio

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Encoder writes packets in the string form of SIO-ENC-02. The zero value
// is a strict protocol v5 encoder; an Encoder is a plain value, safe to copy
// and to use from several goroutines.
//
// A strict Encoder refuses every packet that Node's decoder would reject:
// unknown type, bad namespace, ack id above MaxAckID, payload that is not
// valid JSON or has the wrong shape for the type (reserved event names
// included), attachment counts that disagree with Binary or exceed the
// limit, and packets larger than MaxSize. The payload is written verbatim,
// so a Packet built by this package's helpers encodes byte for byte as
// socket.io-parser would.
//
// A payload written by NewPacket, NewEvent, NewAck, NewConnect or
// NewConnectError is known to be valid JSON, so a strict Encoder does not
// scan it again: it reads only its shape (the first bytes and the event
// name). That promise holds for the slice the builder returned (the same
// first byte and length); assigning another Data brings back the full scan,
// and changing the builder's bytes in place is the caller's responsibility
// (use AllowIllegal to send invalid JSON on purpose).
type Encoder struct {
	// Version selects the protocol revision; zero means V5.
	Version Version
	// AllowIllegal turns every check off and honours Packet.Raw, so that
	// specs can build illegal packets on purpose: unknown types (written as
	// their decimal value), wrong attachment counts, invalid JSON, bad ack
	// id text, oversized packets, reserved event names.
	AllowIllegal bool
	// MaxAttachments is the largest attachment count a strict encoder
	// writes. Zero means DefaultMaxAttachments (10); negative means no
	// limit.
	MaxAttachments int
	// MaxSize is the largest text packet a strict encoder writes, in
	// bytes. Zero means no limit.
	MaxSize int
}

// AppendPacket appends the text form of p to dst with the default Encoder.
func AppendPacket(dst []byte, p Packet) ([]byte, error) { return Encoder{}.AppendPacket(dst, p) }

// Encode returns the text form of p and its attachments with the default
// Encoder.
func Encode(p Packet) ([]byte, [][]byte, error) { return Encoder{}.Encode(p) }

// Encode returns the text form of p (a new slice) followed by the
// attachments to send as separate binary messages (p.Binary itself, not a
// copy).
func (e Encoder) Encode(p Packet) ([]byte, [][]byte, error) {
	b, err := e.AppendPacket(nil, p)
	if err != nil {
		return nil, nil, err
	}
	return b, p.Binary, nil
}

// AppendPacket appends the text form of p to dst and returns the extended
// slice. It writes only the text packet; the attachments of a binary packet
// (p.Binary) go out as separate binary messages. On error dst is returned
// unchanged, with an *EncodeError.
func (e Encoder) AppendPacket(dst []byte, p Packet) ([]byte, error) {
	if !e.AllowIllegal {
		if err := e.Check(p); err != nil {
			return dst, err
		}
	}
	start := len(dst)
	// One allocation at most: the header is at most 1+20+1+2+20 bytes
	// around the namespace and query.
	n := 44 + len(p.Nsp) + len(p.Query) + len(p.Data)
	if p.Raw != nil {
		n += len(p.Raw.Type) + len(p.Raw.Attachments) + len(p.Raw.ID)
	}
	dst = slices.Grow(dst, n)
	dst = e.appendHeader(dst, p)
	dst = append(dst, p.Data...)
	if !e.AllowIllegal && e.MaxSize > 0 && len(dst)-start > e.MaxSize {
		return dst[:start], encodeErr(ErrTooLarge, strconv.Itoa(len(dst)-start)+" bytes, limit "+strconv.Itoa(e.MaxSize))
	}
	return dst, nil
}

func (e Encoder) appendHeader(dst []byte, p Packet) []byte {
	raw := p.Raw
	if !e.AllowIllegal {
		raw = nil
	}
	if raw != nil && raw.Type != "" {
		dst = append(dst, raw.Type...)
	} else {
		dst = strconv.AppendUint(dst, uint64(p.Type), 10)
	}
	if p.Type.IsBinary() || (raw != nil && raw.Attachments != "") {
		if raw != nil && raw.Attachments != "" {
			dst = append(dst, raw.Attachments...)
		} else {
			dst = strconv.AppendInt(dst, int64(p.Attachments), 10)
		}
		dst = append(dst, '-')
	}
	if (p.Nsp != "" && p.Nsp != "/") || p.Query != "" {
		dst = append(dst, p.Namespace()...)
		if p.Query != "" {
			dst = append(dst, '?')
			dst = append(dst, p.Query...)
		}
		dst = append(dst, ',')
	}
	if raw != nil && raw.ID != "" {
		dst = append(dst, raw.ID...)
	} else if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return dst
}

// Check reports why a strict Encoder would refuse p, or nil.
func (e Encoder) Check(p Packet) error {
	v := e.Version.norm()
	if !p.Type.Valid() {
		return encodeErr(ErrUnknownType, "type "+strconv.Itoa(int(p.Type)))
	}
	if p.Raw != nil {
		return encodeErr(ErrIllegal, "Raw header overrides need AllowIllegal")
	}
	if err := checkNamespace(v == V4 && p.Type == Connect, p.Nsp); err != nil {
		return err
	}
	if p.Query != "" {
		if v != V4 || p.Type != Connect {
			return encodeErr(ErrNamespace, "a namespace query exists only on v4 CONNECT packets")
		}
		if strings.IndexByte(p.Query, ',') >= 0 || !utf8.ValidString(p.Query) {
			return encodeErr(ErrNamespace, "query must be UTF-8 without ','")
		}
	}
	if p.HasID && p.ID > MaxAckID {
		return encodeErr(ErrAckID, "ack id "+strconv.FormatUint(p.ID, 10)+" exceeds 2^53-1")
	}
	if p.Type.IsBinary() {
		max := Decoder{MaxAttachments: e.MaxAttachments}.maxAttachments()
		switch {
		case p.Attachments < 1:
			return encodeErr(ErrAttachments, "attachment count "+strconv.Itoa(p.Attachments))
		case p.Attachments > max:
			return encodeErr(ErrTooManyAttachments, strconv.Itoa(p.Attachments)+" attachments, limit "+strconv.Itoa(max))
		case p.Binary != nil && len(p.Binary) != p.Attachments:
			return encodeErr(ErrAttachments, "header counts "+strconv.Itoa(p.Attachments)+" attachments but Binary holds "+strconv.Itoa(len(p.Binary)))
		}
	} else if p.Attachments != 0 || p.Binary != nil {
		return encodeErr(ErrBinaryNotAllowed, p.Type.String()+" carries no attachments")
	}
	if p.Data != nil {
		var err *DecodeError
		if p.trusted() {
			err = checkBuiltPayload(v, p.Type, p.Data, p.Attachments, p.built.bins)
		} else {
			err = checkPayload(v, p.Type, p.Data, 0, p.Attachments)
		}
		if err != nil {
			return &EncodeError{Reason: "Data byte " + strconv.Itoa(err.Offset) + ": " + err.Reason, Err: err.Err}
		}
	}
	return nil
}

// checkNamespace validates nsp; noQuery forbids '?' (v4 CONNECT, where a
// query follows the namespace).
func checkNamespace(noQuery bool, nsp string) *EncodeError {
	if nsp == "" {
		return nil
	}
	switch {
	case nsp[0] != '/':
		return encodeErr(ErrNamespace, strconv.Quote(nsp)+" does not start with '/'")
	case strings.IndexByte(nsp, ',') >= 0:
		return encodeErr(ErrNamespace, strconv.Quote(nsp)+" contains ','")
	case !utf8.ValidString(nsp):
		return encodeErr(ErrNamespace, "namespace is not valid UTF-8")
	case noQuery && strings.IndexByte(nsp, '?') >= 0:
		return encodeErr(ErrNamespace, "a v4 CONNECT namespace cannot contain '?'; put the query in Query")
	}
	return nil
}

// NoAck is the id AppendEvent takes for an event without an ack id.
const NoAck int64 = -1

// AppendEvent appends EVENT ["name", args...] in namespace nsp with ack id
// id (NoAck for none) to dst, exactly as Encode would write the packet
// NewEvent(nsp, name, args...) (plus WithID), but in one pass: the JSON is
// written straight into dst, with no Packet, payload buffer or argument
// slice in between. With a dst of sufficient capacity it allocates nothing
// for a text event.
//
// When args hold []byte, the packet is a BINARY_EVENT: the returned
// attachments (the caller's own slices, depth-first) go out as separate
// binary messages, and the payload is moved once to make room for the
// attachment count in the header. A strict Encoder checks what Check would
// (namespace, ack id, reserved names in v5, attachment limit, MaxSize); on
// error dst is returned unchanged, with an *EncodeError.
func (e Encoder) AppendEvent(dst []byte, nsp string, id int64, name string, args ...any) ([]byte, [][]byte, error) {
	// This is the hot path of a server's Emit, run on the goroutine that
	// reads the session: its frame is kept small (no Packet on the stack,
	// checks and the binary branch in functions of their own) so that the
	// reader's stack does not have to grow for it.
	if nsp == "" {
		nsp = "/"
	}
	if !e.AllowIllegal {
		if err := e.checkEvent(nsp, id, name); err != nil {
			return dst, nil, err
		}
	}
	start := len(dst)
	dst = slices.Grow(dst, argsSizeHint(len(nsp)+len(name)+32, args))
	dst = appendEventHeader(dst, Event, 0, nsp, id)
	hdrEnd := len(dst)
	ve := valueEncoder{buf: dst, mode: binPlaceholder}
	if err := ve.argList(true, name, args); err != nil {
		return ve.buf[:start], nil, err
	}
	dst = ve.buf
	if len(ve.bins) > 0 {
		var err error
		if dst, err = e.binaryHeader(dst, BinaryEvent, start, hdrEnd, nsp, id, len(ve.bins), ve.userPH); err != nil {
			return dst[:start], nil, err
		}
	}
	if !e.AllowIllegal && e.MaxSize > 0 && len(dst)-start > e.MaxSize {
		return dst[:start], nil, tooLarge(len(dst)-start, e.MaxSize)
	}
	return dst, ve.bins, nil
}

// argList writes an event's ["name",args...] (named) or an ack's
// [args...]: array's work without its callback, on the common path.
func (ve *valueEncoder) argList(named bool, name string, args []any) error {
	if err := ve.enter(); err != nil {
		return err
	}
	ve.buf = append(ve.buf, '[')
	if named {
		ve.buf = appendJSString(ve.buf, name)
	}
	for i, a := range args {
		if named || i > 0 {
			ve.buf = append(ve.buf, ',')
		}
		if err := ve.encode(a); err != nil {
			return err
		}
	}
	ve.buf = append(ve.buf, ']')
	ve.depth--
	return nil
}

// checkEvent is AppendEvent's part of Check: namespace, ack id and, in v5,
// reserved event names.
//
//go:noinline
func (e Encoder) checkEvent(nsp string, id int64, name string) error {
	if err := checkNamespace(false, nsp); err != nil {
		return err
	}
	if id >= 0 && uint64(id) > MaxAckID {
		return encodeErr(ErrAckID, "ack id "+strconv.FormatUint(uint64(id), 10)+" exceeds 2^53-1")
	}
	if e.Version.norm() == V5 && IsReservedEvent(name) {
		return encodeErr(ErrReservedEvent, "event name "+strconv.Quote(name)+" is reserved")
	}
	return nil
}

//go:noinline
func tooLarge(n, limit int) error {
	return encodeErr(ErrTooLarge, strconv.Itoa(n)+" bytes, limit "+strconv.Itoa(limit))
}

// appendEventHeader writes the header appendHeader writes for a packet of
// type t (EVENT, BINARY_EVENT, ACK or BINARY_ACK) with attachments (binary
// types), namespace nsp (never empty) and ack id id (NoAck for none).
func appendEventHeader(dst []byte, t PacketType, attachments int, nsp string, id int64) []byte {
	dst = append(dst, '0'+byte(t))
	if t.IsBinary() {
		dst = strconv.AppendInt(dst, int64(attachments), 10)
		dst = append(dst, '-')
	}
	if nsp != "/" {
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if id >= 0 {
		dst = strconv.AppendUint(dst, uint64(id), 10)
	}
	return dst
}

// binaryHeader turns the EVENT or ACK that AppendEvent or AppendAck wrote
// at dst[start:] (header up to hdrEnd) into t (BINARY_EVENT or BINARY_ACK)
// with n attachments: the payload moves once to make room for the longer
// header.
//
//go:noinline
func (e Encoder) binaryHeader(dst []byte, t PacketType, start, hdrEnd int, nsp string, id int64, n int, userPH bool) ([]byte, error) {
	if !e.AllowIllegal {
		if max := (Decoder{MaxAttachments: e.MaxAttachments}).maxAttachments(); n > max {
			return dst, encodeErr(ErrTooManyAttachments, strconv.Itoa(n)+" attachments, limit "+strconv.Itoa(max))
		}
	}
	var tmp [48]byte
	hdr := appendEventHeader(tmp[:0], t, n, nsp, id)
	end := len(dst)
	shift := len(hdr) - (hdrEnd - start)
	dst = slices.Grow(dst, shift)[:end+shift]
	copy(dst[hdrEnd+shift:], dst[hdrEnd:end])
	copy(dst[start:], hdr)
	// A caller's own "_placeholder" object could pose as an attachment:
	// such a payload is scanned in full, as Check does.
	if userPH && !e.AllowIllegal {
		if err := checkPayload(e.Version.norm(), t, dst[hdrEnd+shift:], 0, n); err != nil {
			return dst, &EncodeError{Reason: "Data byte " + strconv.Itoa(err.Offset) + ": " + err.Reason, Err: err.Err}
		}
	}
	return dst, nil
}

// AppendAck appends ACK id [args...] in namespace nsp to dst, exactly as
// Encode would write NewAck(nsp, id, args...), in one pass like
// AppendEvent: a BINARY_ACK when args hold []byte (the returned
// attachments go out as separate binary messages). A strict Encoder checks
// what Check would (namespace, ack id, attachment limit, MaxSize); on
// error dst is returned unchanged, with an *EncodeError.
func (e Encoder) AppendAck(dst []byte, nsp string, id uint64, args ...any) ([]byte, [][]byte, error) {
	if nsp == "" {
		nsp = "/"
	}
	if !e.AllowIllegal {
		if err := e.checkAck(nsp, id); err != nil {
			return dst, nil, err
		}
	}
	start := len(dst)
	dst = slices.Grow(dst, argsSizeHint(len(nsp)+32, args))
	dst = appendEventHeader(dst, Ack, 0, nsp, int64(id))
	hdrEnd := len(dst)
	ve := valueEncoder{buf: dst, mode: binPlaceholder}
	if err := ve.argList(false, "", args); err != nil {
		return ve.buf[:start], nil, err
	}
	dst = ve.buf
	if len(ve.bins) > 0 {
		var err error
		if dst, err = e.binaryHeader(dst, BinaryAck, start, hdrEnd, nsp, int64(id), len(ve.bins), ve.userPH); err != nil {
			return dst[:start], nil, err
		}
	}
	if !e.AllowIllegal && e.MaxSize > 0 && len(dst)-start > e.MaxSize {
		return dst[:start], nil, tooLarge(len(dst)-start, e.MaxSize)
	}
	return dst, ve.bins, nil
}

//go:noinline
func (e Encoder) checkAck(nsp string, id uint64) error {
	if err := checkNamespace(false, nsp); err != nil {
		return err
	}
	if id > MaxAckID {
		return encodeErr(ErrAckID, "ack id "+strconv.FormatUint(id, 10)+" exceeds 2^53-1")
	}
	return nil
}
