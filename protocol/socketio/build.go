package socketio

import (
	"encoding/json"
	"reflect"
	"strconv"
)

// NewPacket builds a packet of type t in namespace nsp whose payload is the
// JSON form of data (see AppendJSON); a nil data means no payload, as Node
// leaves out a null or undefined payload.
//
// For Event and Ack, every []byte inside data becomes an attachment and the
// type is upgraded to BinaryEvent or BinaryAck, as socket.io-parser does
// (SIO-BIN-11); BinaryEvent and BinaryAck split data the same way. Other
// types write []byte in Node's Buffer JSON form. NewPacket checks nothing
// else: a strict Encoder does that.
func NewPacket(t PacketType, nsp string, data any) (Packet, error) {
	if data == nil {
		return newPacket(t, nsp), nil
	}
	e := newValueEncoder(t, sizeHint(data))
	if err := e.encode(data); err != nil {
		return Packet{}, err
	}
	return e.packet(t, nsp), nil
}

func newPacket(t PacketType, nsp string) Packet {
	p := Packet{Type: t, Nsp: nsp}
	if p.Nsp == "" {
		p.Nsp = "/"
	}
	return p
}

// newValueEncoder returns the encoder NewPacket uses for type t: []byte
// becomes an attachment for the event and ack types, a Node Buffer
// otherwise.
func newValueEncoder(t PacketType, size int) valueEncoder {
	e := valueEncoder{buf: make([]byte, 0, size), mode: binNodeBuffer}
	if t == Event || t == Ack || t.IsBinary() {
		e.mode = binPlaceholder
	}
	return e
}

// packet finishes NewPacket: the payload e wrote, the attachments it split
// off (upgrading Event and Ack to their binary types) and the mark that
// lets a strict Encoder skip scanning the payload again.
func (e *valueEncoder) packet(t PacketType, nsp string) Packet {
	p := newPacket(t, nsp)
	p.Data = e.buf
	if e.mode == binPlaceholder {
		if len(e.bins) > 0 {
			if t == Event {
				p.Type = BinaryEvent
			} else if t == Ack {
				p.Type = BinaryAck
			}
		}
		if p.Type.IsBinary() {
			p.Attachments, p.Binary = len(e.bins), e.bins
			if p.Binary == nil {
				p.Binary = [][]byte{}
			}
		}
	}
	// A caller's own "_placeholder" key could make the payload invalid for
	// its attachment count; only a payload without one is vouched for.
	if !e.userPH && len(p.Data) > 0 {
		p.built = builtMark{data: &p.Data[0], n: len(p.Data), bins: len(e.bins)}
	}
	return p
}

// sizeHint guesses the JSON size of v so that the payload buffer is
// allocated once: the lengths of the strings in an argument list plus a
// little for each element; 128 bytes for anything else.
func sizeHint(v any) int {
	args, ok := v.([]any)
	if !ok {
		return 128
	}
	return argsSizeHint(16, args)
}

func argsSizeHint(n int, args []any) int {
	for _, a := range args {
		n += 16
		if s, ok := a.(string); ok {
			n += len(s)
		}
	}
	return n
}

// NewEvent builds EVENT ["name", args...] in nsp, or a BINARY_EVENT when the
// arguments hold []byte. Add an ack id with WithID.
func NewEvent(nsp, name string, args ...any) (Packet, error) {
	// The same output as NewPacket(Event, nsp, append([]any{name},
	// args...)), written without building that slice.
	e := newValueEncoder(Event, argsSizeHint(len(name)+32, args))
	if err := e.enter(); err != nil {
		return Packet{}, err
	}
	e.buf = append(e.buf, '[')
	e.buf = appendJSString(e.buf, name)
	for _, a := range args {
		e.buf = append(e.buf, ',')
		if err := e.encode(a); err != nil {
			return Packet{}, err
		}
	}
	e.buf = append(e.buf, ']')
	e.depth--
	return e.packet(Event, nsp), nil
}

// NewAck builds ACK id [args...] in nsp (an empty array when there are no
// arguments), or a BINARY_ACK when the arguments hold []byte.
func NewAck(nsp string, id uint64, args ...any) (Packet, error) {
	if args == nil {
		args = []any{}
	}
	p, err := NewPacket(Ack, nsp, args)
	if err != nil {
		return Packet{}, err
	}
	return p.WithID(id), nil
}

// NewConnect builds CONNECT in nsp with auth as its payload (v5); a nil auth
// means no payload, which is also the only form protocol v4 allows.
func NewConnect(nsp string, auth any) (Packet, error) {
	return NewPacket(Connect, nsp, auth)
}

// NewConnectError builds the v5 CONNECT_ERROR {"message":message,"data":data}
// in nsp; data is left out when nil, as Node drops an undefined data
// (SIO-CONN-06). For the v4 ERROR packet, whose payload is usually a JSON
// string, use NewPacket(ConnectError, nsp, "text").
func NewConnectError(nsp, message string, data any) (Packet, error) {
	o := Object{{Key: "message", Value: message}}
	if data != nil {
		o = append(o, Member{Key: "data", Value: data})
	}
	return NewPacket(ConnectError, nsp, o)
}

// NewDisconnect builds DISCONNECT in nsp.
func NewDisconnect(nsp string) Packet {
	return newPacket(Disconnect, nsp)
}

// Value returns the payload as generic values (see ParseJSON), or nil when
// there is none. For a binary type, placeholders are replaced by the
// attachments; the packet must be complete (ErrIncomplete otherwise). Only
// binary types are substituted: a placeholder-shaped object in a plain
// EVENT stays an Object (SIO-BIN-12).
func (p Packet) Value() (any, error) { return p.value() }

func (p *Packet) value() (any, error) {
	if p.Data == nil {
		return nil, nil
	}
	if p.Type.IsBinary() {
		if !p.Complete() {
			return nil, encodeErr(ErrIncomplete, strconv.Itoa(len(p.Binary))+" of "+strconv.Itoa(p.Attachments)+" attachments")
		}
		bins := p.Binary
		if bins == nil {
			bins = [][]byte{}
		}
		if p.scanned() {
			return parseScanned(p.Data, bins, true)
		}
		return Reconstruct(p.Data, bins)
	}
	if p.scanned() {
		return parseScanned(p.Data, nil, false)
	}
	return ParseJSON(p.Data)
}

// EventName returns the event name of an EVENT or BINARY_EVENT: the string,
// or a number's JSON text as written on the wire. It reads only the start of
// the payload.
func (p Packet) EventName() (string, error) {
	if p.Type != Event && p.Type != BinaryEvent {
		return "", encodeErr(ErrPayload, p.Type.String()+" has no event name")
	}
	s := scanner{b: p.Data}
	i := skipWSb(p.Data, 0)
	if i >= len(p.Data) || p.Data[i] != '[' {
		return "", encodeErr(ErrPayload, "payload is not an array")
	}
	i = skipWSb(p.Data, i+1)
	if i >= len(p.Data) {
		return "", encodeErr(ErrInvalidJSON, "truncated payload")
	}
	end := s.value(i)
	if end < 0 {
		return "", s.err
	}
	switch kindOf(p.Data[i]) {
	case kindString:
		return unquoteJSONString(p.Data[i:end]), nil
	case kindNumber:
		return string(p.Data[i:end]), nil
	}
	return "", encodeErr(ErrEventName, "event name is a "+kindName(kindOf(p.Data[i])))
}

// Args returns the arguments of an event (the payload array without its
// name) or of an ack (the whole array), with attachments substituted.
func (p Packet) Args() ([]any, error) { return p.args() }

func (p *Packet) args() ([]any, error) {
	if p.Data != nil && p.scanned() && p.Complete() {
		bins := p.Binary
		if bins == nil && p.Type.IsBinary() {
			bins = [][]byte{}
		}
		skip := p.Type == Event || p.Type == BinaryEvent
		if args, ok := parseScannedArgs(p.Data, bins, p.Type.IsBinary(), skip); ok {
			return args, nil
		}
	}
	return p.argsGeneral()
}

// argsGeneral is args for a payload that needs the full scan.
//
//go:noinline
func (p *Packet) argsGeneral() ([]any, error) {
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, encodeErr(ErrPayload, "payload is not an array")
	}
	if p.Type == Event || p.Type == BinaryEvent {
		if len(arr) == 0 {
			return nil, encodeErr(ErrPayload, "empty event payload")
		}
		return arr[1:], nil
	}
	return arr, nil
}

// Unmarshal stores the payload in v. A *any receives Value's generic
// values (Object, []any, []byte for attachments...). Other targets are
// filled by encoding/json; for binary types, each attachment reaches it as
// a base64 string, which encoding/json decodes into a []byte field.
func (p Packet) Unmarshal(v any) error {
	if ap, ok := v.(*any); ok {
		val, err := p.Value()
		if err != nil {
			return err
		}
		*ap = val
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return encodeErr(ErrUnsupportedValue, "Unmarshal needs a non-nil pointer")
	}
	if p.Data == nil {
		return nil
	}
	data := p.Data
	if p.Type.IsBinary() {
		val, err := p.Value()
		if err != nil {
			return err
		}
		e := valueEncoder{mode: binBase64}
		if err := e.encode(val); err != nil {
			return err
		}
		data = e.buf
	}
	return json.Unmarshal(data, v)
}

// SID returns the "sid" string of a v5 CONNECT reply. A reply without one
// comes from a v4 server (SIO-CONN-12).
func (p Packet) SID() (string, bool) {
	if p.Type != Connect || p.Data == nil {
		return "", false
	}
	v, err := ParseJSON(p.Data)
	if err != nil {
		return "", false
	}
	o, _ := v.(Object)
	sid, ok := o.Get("sid")
	s, isStr := sid.(string)
	return s, ok && isStr
}
