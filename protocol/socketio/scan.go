package socketio

import (
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON arrays and objects that the scanner,
// the parser and the value encoder accept.
const maxDepth = 10000

// Kinds of JSON values, as reported by the scanner.
const (
	kindNone   byte = 0
	kindObject byte = '{'
	kindArray  byte = '['
	kindString byte = '"'
	kindNumber byte = '0'
	kindTrue   byte = 't'
	kindFalse  byte = 'f'
	kindNull   byte = 'n'
)

func kindName(k byte) string {
	switch k {
	case kindObject:
		return "object"
	case kindArray:
		return "array"
	case kindString:
		return "string"
	case kindNumber:
		return "number"
	case kindTrue, kindFalse:
		return "boolean"
	case kindNull:
		return "null"
	}
	return "nothing"
}

// strPlain marks bytes that need no attention inside a JSON string.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanner validates JSON text in one pass. It records the shape of the top
// value (and of the first element of a top-level array) and, when checkPH is
// set, checks every placeholder object against the attachment count.
type scanner struct {
	b    []byte
	base int // offset of b[0] in the packet, for error offsets

	checkPH bool
	nAttach int

	depth int

	// shape of the top value
	kind       byte
	empty      bool
	firstKind  byte
	firstStart int
	firstEnd   int
	firstEsc   bool

	err *DecodeError
}

func (s *scanner) fail(i int, err error, reason string) int {
	if s.err == nil {
		s.err = decodeErr(s.base+i, err, reason)
	}
	return -1
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *scanner) skipWS(i int) int {
	for i < len(s.b) && isWS(s.b[i]) {
		i++
	}
	return i
}

// scanAll validates s.b as exactly one JSON value surrounded by optional
// whitespace.
func (s *scanner) scanAll() bool {
	i := s.skipWS(0)
	if i == len(s.b) {
		s.fail(i, ErrInvalidJSON, "no JSON value")
		return false
	}
	s.kind = kindOf(s.b[i])
	i = s.value(i)
	if i < 0 {
		return false
	}
	i = s.skipWS(i)
	if i != len(s.b) {
		s.fail(i, ErrInvalidJSON, "unexpected "+quoteByte(s.b[i])+" after the JSON value")
		return false
	}
	return true
}

func kindOf(c byte) byte {
	switch c {
	case '{', '[', '"', 't', 'f', 'n':
		return c
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return kindNumber
	}
	return kindNone
}

func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}

// value scans the value starting at b[i] (no leading whitespace) and returns
// the index just after it, or -1.
func (s *scanner) value(i int) int {
	if i >= len(s.b) {
		return s.fail(i, ErrInvalidJSON, "unexpected end of JSON")
	}
	switch c := s.b[i]; c {
	case '{':
		return s.object(i)
	case '[':
		return s.array(i)
	case '"':
		end, _ := s.str(i)
		return end
	case 't':
		return s.lit(i, "true")
	case 'f':
		return s.lit(i, "false")
	case 'n':
		return s.lit(i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.number(i)
		}
		return s.fail(i, ErrInvalidJSON, "unexpected "+quoteByte(c)+" where a JSON value should start")
	}
}

func (s *scanner) lit(i int, word string) int {
	if len(s.b)-i < len(word) || string(s.b[i:i+len(word)]) != word {
		return s.fail(i, ErrInvalidJSON, "invalid literal, want "+word)
	}
	return i + len(word)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *scanner) number(i int) int {
	b := s.b
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return s.fail(start, ErrInvalidJSON, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return s.fail(i, ErrInvalidJSON, "invalid number: digit expected after '.'")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return s.fail(i, ErrInvalidJSON, "invalid number: digit expected in exponent")
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

func isHex(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// str scans the string starting at the quote b[i]; it reports whether the
// string holds escapes.
func (s *scanner) str(i int) (int, bool) {
	b := s.b
	esc := false
	i++
	for {
		i += plainJSONPrefix(b[i:])
		if i >= len(b) {
			return s.fail(i, ErrInvalidJSON, "unterminated string"), esc
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return s.fail(i, ErrInvalidJSON, "unterminated escape"), esc
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return s.fail(i, ErrInvalidJSON, "invalid \\u escape"), esc
				}
				i += 6
			default:
				return s.fail(i, ErrInvalidJSON, "invalid escape \\"+string(rune(b[i+1]))), esc
			}
		case c < 0x20:
			return s.fail(i, ErrInvalidJSON, "control character in string"), esc
		default:
			// plainJSONPrefix stops at a byte of 0x80 or above only
			// where a UTF-8 sequence is invalid.
			return s.fail(i, ErrInvalidJSON, "invalid UTF-8 in string"), esc
		}
	}
}

func (s *scanner) array(i int) int {
	s.depth++
	if s.depth > maxDepth {
		return s.fail(i, ErrInvalidJSON, "JSON nested too deeply")
	}
	top := s.depth == 1
	b := s.b
	i = s.skipWS(i + 1)
	if i < len(b) && b[i] == ']' {
		if top {
			s.empty = true
		}
		s.depth--
		return i + 1
	}
	for n := 0; ; n++ {
		if top && n == 0 && i < len(b) {
			s.firstKind = kindOf(b[i])
			s.firstStart = i
		}
		if top && n == 0 && i < len(b) && b[i] == '"' {
			var esc bool
			i, esc = s.str(i)
			s.firstEsc = esc
		} else {
			i = s.value(i)
		}
		if i < 0 {
			return -1
		}
		if top && n == 0 {
			s.firstEnd = i
		}
		i = s.skipWS(i)
		if i >= len(b) {
			return s.fail(i, ErrInvalidJSON, "unterminated array")
		}
		switch b[i] {
		case ',':
			i = s.skipWS(i + 1)
		case ']':
			s.depth--
			return i + 1
		default:
			return s.fail(i, ErrInvalidJSON, "unexpected "+quoteByte(b[i])+" in array, want ',' or ']'")
		}
	}
}

func (s *scanner) object(i int) int {
	s.depth++
	if s.depth > maxDepth {
		return s.fail(i, ErrInvalidJSON, "JSON nested too deeply")
	}
	b := s.b
	open := i
	// placeholder tracking (only when checkPH)
	isPH := false
	numStart, numEnd := -1, -1
	i = s.skipWS(i + 1)
	if i < len(b) && b[i] == '}' {
		s.depth--
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			if i >= len(b) {
				return s.fail(i, ErrInvalidJSON, "unterminated object")
			}
			return s.fail(i, ErrInvalidJSON, "unexpected "+quoteByte(b[i])+" in object, want a string key")
		}
		ks := i
		ke, kesc := s.str(i)
		if ke < 0 {
			return -1
		}
		i = s.skipWS(ke)
		if i >= len(b) || b[i] != ':' {
			if i >= len(b) {
				return s.fail(i, ErrInvalidJSON, "unterminated object")
			}
			return s.fail(i, ErrInvalidJSON, "unexpected "+quoteByte(b[i])+" after object key, want ':'")
		}
		i = s.skipWS(i + 1)
		vs := i
		i = s.value(i)
		if i < 0 {
			return -1
		}
		if s.checkPH {
			key := b[ks+1 : ke-1]
			if kesc {
				key = []byte(unquoteJSONString(b[ks:ke]))
			}
			switch string(key) {
			case "_placeholder":
				isPH = i-vs == 4 && string(b[vs:i]) == "true"
			case "num":
				numStart, numEnd = vs, i
			}
		}
		i = s.skipWS(i)
		if i >= len(b) {
			return s.fail(i, ErrInvalidJSON, "unterminated object")
		}
		switch b[i] {
		case ',':
			i = s.skipWS(i + 1)
		case '}':
			s.depth--
			if isPH {
				if r := s.checkPlaceholder(numStart, numEnd); r != "" {
					return s.fail(open, ErrPlaceholder, r)
				}
			}
			return i + 1
		default:
			return s.fail(i, ErrInvalidJSON, "unexpected "+quoteByte(b[i])+" in object, want ',' or '}'")
		}
	}
}

// checkPlaceholder validates the num member of a placeholder object and
// returns a reason when it is not an integer in [0, nAttach).
func (s *scanner) checkPlaceholder(start, end int) string {
	if start < 0 {
		return "placeholder without num"
	}
	raw := s.b[start:end]
	if kindOf(raw[0]) != kindNumber {
		return "placeholder num is a " + kindName(kindOf(raw[0])) + ", not a number"
	}
	f, _ := strconv.ParseFloat(string(raw), 64)
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		return "placeholder num " + string(raw) + " is not an integer"
	}
	if f < 0 || f >= float64(s.nAttach) {
		return "placeholder num " + string(raw) + " outside [0, " + strconv.Itoa(s.nAttach) + ")"
	}
	return ""
}

// Eight-byte-word constants for plainJSONPrefix.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// utf8Lead describes each lead byte of a multi-byte UTF-8 sequence: its
// length in the low three bits (0 for a byte that cannot start one) and
// the range allowed for the second byte in the next two bytes.
var utf8Lead = func() (t [256]uint32) {
	for c := 0xC2; c <= 0xF4; c++ {
		n, lo, hi := uint32(2), uint32(0x80), uint32(0xBF)
		switch {
		case c >= 0xF0:
			n = 4
		case c >= 0xE0:
			n = 3
		}
		switch c {
		case 0xE0:
			lo = 0xA0
		case 0xED:
			hi = 0x9F
		case 0xF0:
			lo = 0x90
		case 0xF4:
			hi = 0x8F
		}
		t[c] = n | lo<<8 | hi<<16
	}
	return t
}()

// plainJSONPrefix returns the length of the longest prefix of s that can
// stand inside a JSON string as it is: valid UTF-8 without '"', '\\' or
// control characters. s[n] (when n < len(s)) is then one of those three, a
// control character, or the first byte of an invalid UTF-8 sequence.
//
// ASCII is tested eight bytes per step with the "has a byte below n" and
// "has a zero byte" bit tricks: the lowest flagged byte of a word is always
// a true match (a borrow only disturbs the bytes above it), and bytes of
// 0x80 and above are never flagged, so the lowest set bit of
// flags|highBits is exactly the first byte needing attention. Multi-byte
// sequences are checked in place (see utf8Lead).
func plainJSONPrefix[T string | []byte](s T) int {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= utf8.RuneSelf {
			// Validate the sequence in place with utf8.DecodeRune's rules
			// (shortest form, no surrogates, at most U+10FFFF), read
			// from one table entry per lead byte.
			x := utf8Lead[c]
			n := int(x & 7)
			if n == 0 || len(s)-i < n {
				return i
			}
			if c1 := s[i+1]; c1 < byte(x>>8) || c1 > byte(x>>16) {
				return i
			}
			if n > 2 && (s[i+2]&0xC0 != 0x80 || (n > 3 && s[i+3]&0xC0 != 0x80)) {
				return i
			}
			i += n
			continue
		}
		if len(s)-i >= 8 {
			t := s[i : i+8]
			w := uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
				uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
			flags := ((w - 0x20*lsb) | ((w ^ '"'*lsb) - lsb) | ((w ^ '\\'*lsb) - lsb)) &^ w & msb
			stop := flags | w&msb
			if stop == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(stop) >> 3
			if s[i] >= utf8.RuneSelf {
				continue
			}
			return i
		}
		if !strPlain[c] {
			return i
		}
		i++
	}
	return i
}
