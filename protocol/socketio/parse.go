package socketio

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseJSON parses JSON text into generic values the way JSON.parse does:
// objects become Object (duplicate keys keep the first position and the last
// value), arrays []any, numbers float64, strings string, true/false bool and
// null nil. A lone UTF-16 surrogate escape becomes U+FFFD. Errors are
// *DecodeError with offsets into data.
func ParseJSON(data []byte) (any, error) {
	return parseValue(data, nil, false)
}

// Reconstruct parses the payload of a binary packet and replaces each
// placeholder {"_placeholder":true,"num":N} by binary[N] ([]byte), as
// Node's decoder does for BINARY_EVENT and BINARY_ACK. A placeholder whose
// num is not an integer in [0, len(binary)) is an ErrPlaceholder error.
func Reconstruct(data []byte, binary [][]byte) (any, error) {
	return parseValue(data, binary, true)
}

func parseValue(data []byte, binary [][]byte, subst bool) (any, error) {
	s := scanner{b: data, checkPH: subst, nAttach: len(binary)}
	if !s.scanAll() {
		return nil, s.err
	}
	p := parser{b: data, bins: binary, subst: subst}
	i := skipWSb(data, 0)
	v, _ := p.value(i)
	return v, nil
}

// parseScanned builds the values of a payload a Decoder has validated
// (Packet.scanned), without scanning it again. Should the bytes have been
// changed in place since, the parser's index checks fail and the payload
// goes through the full scan instead, which reports the error.
func parseScanned(data []byte, binary [][]byte, subst bool) (v any, err error) {
	defer func() {
		if recover() != nil {
			v, err = parseValue(data, binary, subst)
		}
	}()
	p := parser{b: data, bins: binary, subst: subst}
	v, _ = p.value(skipWSb(data, 0))
	return v, nil
}

func skipWSb(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// parser builds values from JSON that the scanner has already validated.
type parser struct {
	b     []byte
	bins  [][]byte
	subst bool
}

func (p *parser) value(i int) (any, int) {
	b := p.b
	switch c := b[i]; c {
	case '{':
		return p.object(i)
	case '[':
		return p.array(i)
	case '"':
		end := stringEnd(b, i)
		return unquoteJSONString(b[i:end]), end
	case 't':
		return true, i + 4
	case 'f':
		return false, i + 5
	case 'n':
		return nil, i + 4
	default:
		end := i + 1
		for end < len(b) && (isDigit(b[end]) || b[end] == '.' || b[end] == 'e' || b[end] == 'E' || b[end] == '+' || b[end] == '-') {
			end++
		}
		return parseNumber(b[i:end]), end
	}
}

// parseNumber returns the value of a JSON number the scanner accepted.
// Integers of up to 15 digits are exact float64 values and are computed
// here; the rest go to strconv.ParseFloat, whose deep frames stay off the
// common path.
func parseNumber(t []byte) float64 {
	d := t
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 15 {
		return parseFloat(t)
	}
	var n uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return parseFloat(t)
		}
		n = n*10 + uint64(c-'0')
	}
	f := float64(n)
	if len(d) != len(t) {
		f = -f
	}
	return f
}

//go:noinline
func parseFloat(t []byte) float64 {
	f, _ := strconv.ParseFloat(string(t), 64)
	return f
}

// array parses the array at b[i].
func (p *parser) array(i int) ([]any, int) {
	b := p.b
	i = skipWSb(b, i+1)
	if b[i] == ']' {
		return []any{}, i + 1
	}
	var arr []any
	for {
		var v any
		v, i = p.value(i)
		arr = append(arr, v)
		i = skipWSb(b, i)
		if b[i] == ']' {
			return arr, i + 1
		}
		i = skipWSb(b, i+1)
	}
}

// parseScannedArgs is Packet.Args for a payload a Decoder has validated:
// the top-level array is parsed straight into the slice Args returns (no
// interface around it) and, with skipName, an event's name is stepped over
// rather than built. ok is false when the payload is not a non-empty array
// (Args then takes its general path, which reports the error) or when its
// bytes were changed in place since decoding.
func parseScannedArgs(data []byte, binary [][]byte, subst, skipName bool) (args []any, ok bool) {
	defer func() {
		if recover() != nil {
			args, ok = nil, false
		}
	}()
	p := parser{b: data, bins: binary, subst: subst}
	i := skipWSb(data, 0)
	if data[i] != '[' {
		return nil, false
	}
	if !skipName {
		args, _ = p.array(i)
		return args, true
	}
	i = skipWSb(data, i+1)
	if data[i] == ']' {
		return nil, false
	}
	if data[i] == '"' {
		i = stringEnd(data, i)
	} else {
		_, i = p.value(i)
	}
	i = skipWSb(data, i)
	if data[i] == ']' {
		return []any{}, true
	}
	// From the ',' on, the rest is parsed as the array "[rest".
	args, _ = p.array(i)
	return args, true
}

func (p *parser) object(i int) (any, int) {
	b := p.b
	obj := Object{}
	var index map[string]int // built once the object grows, to keep Set linear
	i = skipWSb(b, i+1)
	if b[i] == '}' {
		return p.finishObject(obj), i + 1
	}
	for {
		end := stringEnd(b, i)
		key := unquoteJSONString(b[i:end])
		i = skipWSb(b, end)
		i = skipWSb(b, i+1) // ':'
		var v any
		v, i = p.value(i)
		switch {
		case index != nil:
			if at, ok := index[key]; ok {
				obj[at].Value = v
			} else {
				index[key] = len(obj)
				obj = append(obj, Member{Key: key, Value: v})
			}
		case len(obj) >= 16:
			index = make(map[string]int, 2*len(obj))
			for at, m := range obj {
				index[m.Key] = at
			}
			if at, ok := index[key]; ok {
				obj[at].Value = v
			} else {
				index[key] = len(obj)
				obj = append(obj, Member{Key: key, Value: v})
			}
		default:
			obj.Set(key, v)
		}
		i = skipWSb(b, i)
		if b[i] == '}' {
			return p.finishObject(obj), i + 1
		}
		i = skipWSb(b, i+1)
	}
}

func (p *parser) finishObject(obj Object) any {
	if !p.subst {
		return obj
	}
	if ph, _ := obj.Get("_placeholder"); ph != true {
		return obj
	}
	// The scanner has checked num already.
	num, _ := obj.Get("num")
	f, _ := num.(float64)
	return p.bins[int(f)]
}

// stringEnd returns the index after the closing quote of the string that
// starts at b[i].
func stringEnd(b []byte, i int) int {
	i++
	for i < len(b) {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i += 2
		default:
			i++
		}
	}
	return i
}

// unquoteJSONString decodes a valid JSON string literal, quotes included.
func unquoteJSONString(q []byte) string {
	body := q[1 : len(q)-1]
	esc := false
	for _, c := range body {
		if c == '\\' {
			esc = true
			break
		}
	}
	if !esc {
		return string(body)
	}
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch body[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(body[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if r < 0xdc00 && i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
					if r2 := hex4(body[i+2 : i+6]); r2 >= 0xdc00 && r2 <= 0xdfff {
						out = utf8.AppendRune(out, utf16.DecodeRune(r, r2))
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, body[i+1])
		}
		i += 2
	}
	return string(out)
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}
