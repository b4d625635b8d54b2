package socketio

import (
	"encoding"
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppendJSON appends the JSON form of v to dst as JavaScript's
// JSON.stringify would write the equivalent JavaScript value: compact, keys
// in order (Object keeps its order, struct fields follow declaration order,
// map keys are sorted with array-index keys first as JavaScript orders
// them), no HTML escaping, U+2028 and U+2029 written raw, raw UTF-8 instead
// of \u escapes (invalid UTF-8 becomes U+FFFD), NaN and ±Inf as null, -0 as
// 0, floats in JavaScript's Number-to-string form.
//
// Go values map as encoding/json maps them (struct tags with omitempty,
// omitzero and "-", embedded structs, json.Marshaler and
// encoding.TextMarshaler, json.Number), with two differences: []byte is
// written as Node writes a Buffer, {"type":"Buffer","data":[1,2,3]} (use
// Deconstruct to turn it into attachments instead), and the output of a
// json.Marshaler (json.RawMessage included) is re-parsed and re-written in
// the form above, as JSON.stringify(JSON.parse(x)) would. Values with no JSON
// form (channels, functions, complex numbers, cycles) give
// ErrUnsupportedValue.
func AppendJSON(dst []byte, v any) ([]byte, error) {
	e := valueEncoder{buf: dst, mode: binNodeBuffer}
	if err := e.encode(v); err != nil {
		return dst, err
	}
	return e.buf, nil
}

// Deconstruct writes v like AppendJSON, except that every []byte becomes a
// placeholder {"_placeholder":true,"num":N} and is returned in binary, in
// depth-first order of appearance (SIO-BIN-01). The slices in binary are
// the caller's own []byte values, not copies.
func Deconstruct(v any) (data []byte, binary [][]byte, err error) {
	e := valueEncoder{buf: make([]byte, 0, 128), mode: binPlaceholder}
	if err := e.encode(v); err != nil {
		return nil, nil, err
	}
	return e.buf, e.bins, nil
}

type binMode uint8

const (
	binNodeBuffer binMode = iota
	binPlaceholder
	binBase64 // for Unmarshal into Go types: []byte as encoding/json expects it
)

type valueEncoder struct {
	buf   []byte
	mode  binMode
	bins  [][]byte
	depth int
	// userPH records that the value itself held an object key
	// "_placeholder" (which could pose as a placeholder).
	userPH bool
}

// key writes an object key and its ':'.
func (e *valueEncoder) key(k string) {
	if k == "_placeholder" {
		e.userPH = true
	}
	e.buf = appendJSString(e.buf, k)
	e.buf = append(e.buf, ':')
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
	objectType        = reflect.TypeFor[Object]()
)

func (e *valueEncoder) encode(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendJSString(e.buf, x)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case float64:
		e.buf = appendJSNumber(e.buf, x, 64)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case []byte:
		e.bytes(x)
	case []any:
		return e.array(len(x), func(i int) error { return e.encode(x[i]) })
	case Object:
		return e.object(x)
	default:
		return e.reflect(reflect.ValueOf(v))
	}
	return nil
}

func (e *valueEncoder) enter() error {
	e.depth++
	if e.depth > maxDepth {
		return encodeErr(ErrUnsupportedValue, "value nested too deeply (a cycle?)")
	}
	return nil
}

func (e *valueEncoder) array(n int, elem func(int) error) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := elem(i); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	e.depth--
	return nil
}

func (e *valueEncoder) object(o Object) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '{')
	for i, m := range o {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.key(m.Key)
		if err := e.encode(m.Value); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	e.depth--
	return nil
}

func (e *valueEncoder) bytes(b []byte) {
	switch e.mode {
	case binPlaceholder:
		e.buf = append(e.buf, `{"_placeholder":true,"num":`...)
		e.buf = strconv.AppendInt(e.buf, int64(len(e.bins)), 10)
		e.buf = append(e.buf, '}')
		e.bins = append(e.bins, b)
	case binBase64:
		e.buf = append(e.buf, '"')
		e.buf = base64.StdEncoding.AppendEncode(e.buf, b)
		e.buf = append(e.buf, '"')
	default:
		e.buf = append(e.buf, `{"type":"Buffer","data":[`...)
		for i, c := range b {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = strconv.AppendUint(e.buf, uint64(c), 10)
		}
		e.buf = append(e.buf, "]}"...)
	}
}

// rawJSON re-writes JSON text produced by a Marshaler.
func (e *valueEncoder) rawJSON(b []byte) error {
	v, err := ParseJSON(b)
	if err != nil {
		return encodeErr(ErrInvalidJSON, "MarshalJSON output: "+err.Error())
	}
	return e.encode(v)
}

func (e *valueEncoder) reflect(rv reflect.Value) error {
	if !rv.IsValid() {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	t := rv.Type()
	if t == objectType {
		return e.object(rv.Interface().(Object))
	}
	if t == numberType {
		f, err := strconv.ParseFloat(rv.String(), 64)
		if err != nil {
			return encodeErr(ErrUnsupportedValue, "json.Number "+strconv.Quote(rv.String()))
		}
		e.buf = appendJSNumber(e.buf, f, 64)
		return nil
	}
	if rv.Kind() != reflect.Pointer && rv.CanAddr() && reflect.PointerTo(t).Implements(marshalerType) {
		rv = rv.Addr()
		t = rv.Type()
	}
	if t.Implements(marshalerType) {
		if rv.Kind() == reflect.Pointer && rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		b, err := rv.Interface().(json.Marshaler).MarshalJSON()
		if err != nil {
			return &EncodeError{Reason: "MarshalJSON: " + err.Error(), Err: ErrUnsupportedValue}
		}
		return e.rawJSON(b)
	}
	if t.Kind() != reflect.Pointer && t.Implements(textMarshalerType) {
		b, err := rv.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return &EncodeError{Reason: "MarshalText: " + err.Error(), Err: ErrUnsupportedValue}
		}
		e.buf = appendJSString(e.buf, string(b))
		return nil
	}
	switch rv.Kind() {
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, rv.Uint(), 10)
	case reflect.Float32:
		e.buf = appendJSNumber(e.buf, rv.Float(), 32)
	case reflect.Float64:
		e.buf = appendJSNumber(e.buf, rv.Float(), 64)
	case reflect.String:
		e.buf = appendJSString(e.buf, rv.String())
	case reflect.Interface, reflect.Pointer:
		if rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if err := e.enter(); err != nil {
			return err
		}
		err := e.reflect(rv.Elem())
		e.depth--
		return err
	case reflect.Slice:
		if rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 && !t.Elem().Implements(marshalerType) && !reflect.PointerTo(t.Elem()).Implements(marshalerType) {
			e.bytes(rv.Bytes())
			return nil
		}
		return e.array(rv.Len(), func(i int) error { return e.reflect(rv.Index(i)) })
	case reflect.Array:
		return e.array(rv.Len(), func(i int) error { return e.reflect(rv.Index(i)) })
	case reflect.Map:
		if rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.mapValue(rv)
	case reflect.Struct:
		return e.structValue(rv)
	default:
		return encodeErr(ErrUnsupportedValue, "cannot encode a "+t.String())
	}
	return nil
}

type mapEntry struct {
	key   string
	index uint64 // valid when isIndex
	isIdx bool
	val   reflect.Value
}

func (e *valueEncoder) mapValue(rv reflect.Value) error {
	kt := rv.Type().Key()
	entries := make([]mapEntry, 0, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		k := it.Key()
		var ks string
		switch {
		case kt.Kind() == reflect.String:
			ks = k.String()
		case kt.Implements(textMarshalerType):
			b, err := k.Interface().(encoding.TextMarshaler).MarshalText()
			if err != nil {
				return &EncodeError{Reason: "MarshalText: " + err.Error(), Err: ErrUnsupportedValue}
			}
			ks = string(b)
		case k.CanInt():
			ks = strconv.FormatInt(k.Int(), 10)
		case k.CanUint():
			ks = strconv.FormatUint(k.Uint(), 10)
		default:
			return encodeErr(ErrUnsupportedValue, "map key type "+kt.String())
		}
		idx, isIdx := arrayIndex(ks)
		entries = append(entries, mapEntry{key: ks, index: idx, isIdx: isIdx, val: it.Value()})
	}
	slices.SortFunc(entries, func(a, b mapEntry) int {
		switch {
		case a.isIdx && b.isIdx:
			return compareUint(a.index, b.index)
		case a.isIdx:
			return -1
		case b.isIdx:
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '{')
	for i, en := range entries {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.key(en.key)
		if err := e.reflect(en.val); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	e.depth--
	return nil
}

func compareUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// arrayIndex reports whether JavaScript treats key as an array index
// (a canonical decimal below 2^32-1), the keys it lists first.
func arrayIndex(key string) (uint64, bool) {
	if key == "" || len(key) > 10 || (len(key) > 1 && key[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(key); i++ {
		if !isDigit(key[i]) {
			return 0, false
		}
		n = n*10 + uint64(key[i]-'0')
	}
	return n, n < 1<<32-1
}

type fieldInfo struct {
	name      string
	index     []int
	omitEmpty bool
	omitZero  bool
	depth     int
	tagged    bool
}

// structFields lists the JSON fields of t as encoding/json does (a
// simplified version of its rules for embedded structs: the shallowest
// field wins, a tagged one wins a tie, other ties drop the name).
func structFields(t reflect.Type) []fieldInfo {
	var all []fieldInfo
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		if depth > 16 {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := f.Type
			if f.Anonymous {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name == "" && ft.Kind() == reflect.Struct {
					walk(ft, append(slices.Clone(index), i), depth+1)
					continue
				}
				if !f.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
			} else if !f.IsExported() {
				continue
			}
			fi := fieldInfo{name: name, index: append(slices.Clone(index), i), depth: depth, tagged: name != ""}
			if name == "" {
				fi.name = f.Name
			}
			for opt := range strings.SplitSeq(opts, ",") {
				switch opt {
				case "omitempty":
					fi.omitEmpty = true
				case "omitzero":
					fi.omitZero = true
				}
			}
			all = append(all, fi)
		}
	}
	walk(t, nil, 0)
	out := all[:0:0]
	for _, f := range all {
		keep := true
		for _, g := range all {
			if g.name != f.name || sameIndex(g.index, f.index) {
				continue
			}
			if g.depth < f.depth || (g.depth == f.depth && g.tagged && !f.tagged) || (g.depth == f.depth && g.tagged == f.tagged) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, f)
		}
	}
	return out
}

func sameIndex(a, b []int) bool { return slices.Equal(a, b) }

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func (e *valueEncoder) structValue(rv reflect.Value) error {
	if err := e.enter(); err != nil {
		return err
	}
	e.buf = append(e.buf, '{')
	first := true
	for _, f := range structFields(rv.Type()) {
		fv, ok := fieldByIndex(rv, f.index)
		if !ok {
			continue
		}
		if (f.omitEmpty && isEmptyValue(fv)) || (f.omitZero && fv.IsZero()) {
			continue
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.key(f.name)
		if err := e.reflect(fv); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	e.depth--
	return nil
}

// fieldByIndex walks embedded pointers, reporting false at a nil one.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// appendJSNumber writes f as JavaScript's Number.prototype.toString does
// inside JSON.stringify.
func appendJSNumber(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// Go writes e-07 where JavaScript writes e-7.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSString writes s as a JSON string the way JSON.stringify does:
// only '"', '\\' and control characters are escaped. It copies s in runs:
// plainJSONPrefix finds the next byte to escape (or invalid UTF-8) eight
// bytes at a time, and everything before it goes out in one append.
func appendJSString(dst []byte, s string) []byte {
	dst = slices.Grow(dst, len(s)+2)
	dst = append(dst, '"')
	for {
		i := plainJSONPrefix(s)
		dst = append(dst, s[:i]...)
		if i == len(s) {
			break
		}
		if s[i] >= utf8.RuneSelf {
			// Invalid UTF-8: the rest goes the slow way.
			return appendJSStringSlow(dst, s[i:])
		}
		dst = appendJSEscape(dst, s[i])
		s = s[i+1:]
	}
	return append(dst, '"')
}

// appendJSEscape writes the JSON.stringify escape of the ASCII byte c.
func appendJSEscape(dst []byte, c byte) []byte {
	switch c {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendJSStringSlow finishes appendJSString byte by byte once s holds
// invalid UTF-8, each bad byte of which becomes U+FFFD (the opening quote
// is already written).
func appendJSStringSlow(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\uFFFD"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = appendJSEscape(dst, c)
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
