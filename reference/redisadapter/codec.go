package redisadapter

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/siospec/siospec/protocol/socketio"
)

// The values this package moves between nodes are the generic values of
// protocol/socketio: nil, bool, float64 (and int), string, []byte,
// []any and socketio.Object (objects keep their key order). Messages are
// encoded as notepack.io encodes them for @socket.io/redis-adapter: msgpack
// maps and arrays, integral numbers as integers, Buffers as bin.

// encodeMsgpack returns the msgpack encoding of v.
func encodeMsgpack(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := encodeValue(enc, v, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

const maxDepth = 64

func encodeValue(enc *msgpack.Encoder, v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrEncode, maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return enc.EncodeNil()
	case bool:
		return enc.EncodeBool(x)
	case string:
		return enc.EncodeString(x)
	case []byte:
		return enc.EncodeBytes(x)
	case int:
		return enc.EncodeInt(int64(x))
	case int64:
		return enc.EncodeInt(x)
	case uint64:
		return enc.EncodeUint(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 && !(x == 0 && math.Signbit(x)) {
			return enc.EncodeInt(int64(x))
		}
		return enc.EncodeFloat64(x)
	case []any:
		if err := enc.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, e := range x {
			if err := encodeValue(enc, e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case []string:
		if err := enc.EncodeArrayLen(len(x)); err != nil {
			return err
		}
		for _, e := range x {
			if err := enc.EncodeString(e); err != nil {
				return err
			}
		}
		return nil
	case socketio.Object:
		if err := enc.EncodeMapLen(len(x)); err != nil {
			return err
		}
		for _, m := range x {
			if err := enc.EncodeString(m.Key); err != nil {
				return err
			}
			if err := encodeValue(enc, m.Value, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%w: unsupported value of type %T", ErrEncode, v)
}

// decodeMsgpack decodes one msgpack value into generic values. Maps become
// socketio.Object in wire order, numbers float64, bin []byte; an extension
// (notepack's Date or undefined forms) becomes nil.
func decodeMsgpack(b []byte) (any, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	return v, nil
}

func decodeValue(dec *msgpack.Decoder, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxDepth)
	}
	c, err := dec.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case c == msgpcode.Nil:
		return nil, dec.DecodeNil()
	case c == msgpcode.True || c == msgpcode.False:
		return dec.DecodeBool()
	case msgpcode.IsString(c):
		return dec.DecodeString()
	case msgpcode.IsBin(c):
		return dec.DecodeBytes()
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		n, err := dec.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, 0, min(n, 1024))
		for range n {
			e, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		n, err := dec.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		out := make(socketio.Object, 0, min(n, 1024))
		for range n {
			k, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			val, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			out.Set(keyString(k), val)
		}
		return out, nil
	case msgpcode.IsExt(c) || msgpcode.IsFixedExt(c):
		return nil, dec.Skip()
	}
	v, err := dec.DecodeInterfaceLoose()
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case float32:
		return float64(x), nil
	}
	return v, nil
}

func keyString(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return "null"
	}
	return fmt.Sprint(k)
}

// encodeJSON returns the JSON text of a generic value, as JSON.stringify
// writes it (binary values are not expected here).
func encodeJSON(v any) ([]byte, error) {
	p, err := socketio.NewPacket(socketio.Connect, "/", v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncode, err)
	}
	return p.Data, nil
}

// decodeMessage decodes a request or response: JSON when it starts with
// '{', msgpack otherwise (as the Node adapter does).
func decodeMessage(b []byte) (socketio.Object, error) {
	var v any
	var err error
	if len(b) > 0 && b[0] == '{' {
		v, err = socketio.ParseJSON(b)
		if err != nil {
			err = fmt.Errorf("%w: %w", ErrDecode, err)
		}
	} else {
		v, err = decodeMsgpack(b)
	}
	if err != nil {
		return nil, err
	}
	o, ok := v.(socketio.Object)
	if !ok {
		return nil, fmt.Errorf("%w: message is not an object", ErrDecode)
	}
	return o, nil
}

// Accessors for decoded objects; missing or mistyped members give zero
// values.

func getString(o socketio.Object, k string) string {
	v, _ := o.Get(k)
	s, _ := v.(string)
	return s
}

func getNumber(o socketio.Object, k string) (float64, bool) {
	v, _ := o.Get(k)
	f, ok := v.(float64)
	return f, ok
}

func getObject(o socketio.Object, k string) socketio.Object {
	v, _ := o.Get(k)
	x, _ := v.(socketio.Object)
	return x
}

func getArray(o socketio.Object, k string) []any {
	v, _ := o.Get(k)
	x, _ := v.([]any)
	return x
}

func getStrings(o socketio.Object, k string) []string {
	var out []string
	for _, e := range getArray(o, k) {
		switch x := e.(type) {
		case string:
			out = append(out, x)
		case float64:
			out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
		}
	}
	return out
}

func stringsToAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
