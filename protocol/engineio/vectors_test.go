package engineio_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// sentinels names every sentinel error a vector file may expect.
var sentinels = map[string]error{
	"ErrEmptyPacket":      engineio.ErrEmptyPacket,
	"ErrUnknownType":      engineio.ErrUnknownType,
	"ErrBadBase64":        engineio.ErrBadBase64,
	"ErrBadLength":        engineio.ErrBadLength,
	"ErrTruncated":        engineio.ErrTruncated,
	"ErrEmptyPayload":     engineio.ErrEmptyPayload,
	"ErrSeparatorInText":  engineio.ErrSeparatorInText,
	"ErrBinaryNotMessage": engineio.ErrBinaryNotMessage,
	"ErrBadVersion":       engineio.ErrBadVersion,
	"ErrBadOpenPacket":    engineio.ErrBadOpenPacket,
	"ErrTooLarge":         engineio.ErrTooLarge,
	"ErrBadHTTPError":     engineio.ErrBadHTTPError,
}

// item is one ITEM of a vector line: NAME[:VALUE].
type item struct {
	name string
	kind byte // 0 none, 's' text, 'b' bytes, 'n' integer
	s    string
	b    []byte
	n    int64
}

// vector is one line of a testdata file.
type vector struct {
	file   string
	line   int
	codec  string
	wire   []byte // nil for "-"
	dir    string
	items  []item
	errNam string
	errOff int // -1 when not given
}

func (v vector) String() string { return fmt.Sprintf("%s:%d", v.file, v.line) }

// cutToken splits the next whitespace-separated token off s; a token that
// contains a Go-quoted string may contain spaces.
func cutToken(s string) (tok, rest string, err error) {
	s = strings.TrimLeft(s, " \t")
	i := 0
	for i < len(s) && s[i] != ' ' && s[i] != '\t' {
		if s[i] == '"' {
			q, err := strconv.QuotedPrefix(s[i:])
			if err != nil {
				return "", "", fmt.Errorf("bad quoted string in %q: %w", s, err)
			}
			i += len(q)
			continue
		}
		i++
	}
	return s[:i], s[i:], nil
}

func parseValue(s string) ([]byte, byte, int64, error) {
	switch {
	case strings.HasPrefix(s, `"`):
		u, err := strconv.Unquote(s)
		return []byte(u), 's', 0, err
	case strings.HasPrefix(s, "0x"):
		b, err := hex.DecodeString(s[2:])
		if b == nil {
			b = []byte{}
		}
		return b, 'b', 0, err
	default:
		n, err := strconv.ParseInt(s, 10, 64)
		return nil, 'n', n, err
	}
}

func parseVectorLine(file string, lineNo int, line string) (vector, error) {
	v := vector{file: file, line: lineNo, errOff: -1}
	var toks []string
	for rest := line; strings.TrimSpace(rest) != ""; {
		var tok string
		var err error
		tok, rest, err = cutToken(rest)
		if err != nil {
			return v, err
		}
		toks = append(toks, tok)
	}
	if len(toks) < 3 {
		return v, fmt.Errorf("want CODEC WIRE DIR ..., got %q", line)
	}
	v.codec, v.dir = toks[0], toks[2]
	if toks[1] != "-" {
		b, kind, _, err := parseValue(toks[1])
		if err != nil || kind == 'n' {
			return v, fmt.Errorf("bad wire %q: %v", toks[1], err)
		}
		v.wire = b
	}
	switch v.dir {
	case "<=>", "=>", "<=", "<=!":
	default:
		return v, fmt.Errorf("bad direction %q", v.dir)
	}
	toks = toks[3:]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t == "!!" {
			if i+1 >= len(toks) {
				return v, fmt.Errorf("!! without an error name")
			}
			v.errNam = toks[i+1]
			if _, ok := sentinels[v.errNam]; !ok {
				return v, fmt.Errorf("unknown sentinel %q", v.errNam)
			}
			if i+2 < len(toks) {
				off, err := strconv.Atoi(strings.TrimPrefix(toks[i+2], "@"))
				if err != nil || !strings.HasPrefix(toks[i+2], "@") || i+3 != len(toks) {
					return v, fmt.Errorf("bad offset %q", toks[i+2:])
				}
				v.errOff = off
			}
			break
		}
		it := item{name: t}
		if name, val, ok := strings.Cut(t, ":"); ok {
			b, kind, n, err := parseValue(val)
			if err != nil {
				return v, fmt.Errorf("bad item %q: %v", t, err)
			}
			it = item{name: name, kind: kind, s: string(b), b: b, n: n}
		}
		v.items = append(v.items, it)
	}
	if v.dir == "<=!" && v.errNam == "" {
		return v, fmt.Errorf("<=! needs the strict encoder's error after !!")
	}
	return v, nil
}

// loadVectors reads every testdata/*.txt file.
func loadVectors(t testing.TB) []vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.txt vector files")
	}
	var out []vector
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(raw), "\n")
		id := strings.TrimSuffix(filepath.Base(f), ".txt")
		if !strings.HasPrefix(lines[0], "# "+id+":") {
			t.Errorf("%s: first line must be a comment %q, got %q", f, "# "+id+": ...", lines[0])
		}
		n := 0
		for i, line := range lines {
			if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
				continue
			}
			v, err := parseVectorLine(filepath.Base(f), i+1, line)
			if err != nil {
				t.Errorf("%s:%d: %v", f, i+1, err)
				continue
			}
			out = append(out, v)
			n++
		}
		if n == 0 {
			t.Errorf("%s holds no vectors", f)
		}
	}
	return out
}

func packetType(name string) (engineio.PacketType, error) {
	for t := engineio.Open; t <= engineio.Noop; t++ {
		if t.String() == name {
			return t, nil
		}
	}
	n, err := strconv.Atoi(name)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("unknown packet type name %q", name)
	}
	return engineio.PacketType(n), nil
}

func (v vector) packets() ([]engineio.Packet, error) {
	var pkts []engineio.Packet
	for _, it := range v.items {
		t, err := packetType(it.name)
		if err != nil {
			return nil, err
		}
		p := engineio.Packet{Type: t}
		switch it.kind {
		case 's':
			p.Data = []byte(it.s)
		case 'b':
			p.Data, p.Binary = it.b, true
		case 'n':
			return nil, fmt.Errorf("packet %q: integer data", it.name)
		}
		pkts = append(pkts, p)
	}
	return pkts, nil
}

// openFields is the comparable form of an OpenPacket.
func openFields(o engineio.OpenPacket, withKeys bool) string {
	s := fmt.Sprintf("sid=%q upgrades=%q pingInterval=%d pingTimeout=%d", o.SID, strings.Join(o.Upgrades, ","),
		o.PingInterval.Milliseconds(), o.PingTimeout.Milliseconds())
	if !o.OmitMaxPayload {
		s += fmt.Sprintf(" maxPayload=%d", o.MaxPayload)
	}
	if withKeys {
		s += fmt.Sprintf(" keys=%q", strings.Join(o.Keys, ","))
	}
	return s
}

func (v vector) open() (engineio.OpenPacket, bool, error) {
	o := engineio.OpenPacket{OmitMaxPayload: true, Upgrades: []string{}}
	withKeys := false
	for _, it := range v.items {
		switch it.name {
		case "sid":
			o.SID = it.s
		case "upgrades":
			if it.s != "" {
				o.Upgrades = strings.Split(it.s, ",")
			}
		case "pingInterval":
			o.PingInterval = time.Duration(it.n) * time.Millisecond
		case "pingTimeout":
			o.PingTimeout = time.Duration(it.n) * time.Millisecond
		case "maxPayload":
			o.MaxPayload, o.OmitMaxPayload = it.n, false
		case "keys":
			o.Keys, withKeys = strings.Split(it.s, ","), true
		default:
			return o, false, fmt.Errorf("unknown open field %q", it.name)
		}
	}
	return o, withKeys, nil
}

func (v vector) httpError() (*engineio.HTTPError, error) {
	e := &engineio.HTTPError{}
	for _, it := range v.items {
		switch it.name {
		case "code":
			e.Code = engineio.ErrorCode(it.n)
		case "message":
			e.Message = it.s
		default:
			return nil, fmt.Errorf("unknown httperror field %q", it.name)
		}
	}
	return e, nil
}

// codecVersion returns the protocol version and frame kind of a packet codec.
func codecVersion(codec string) (engineio.Version, bool) {
	v := engineio.V4
	if strings.Contains(codec, "3") {
		v = engineio.V3
	}
	return v, strings.HasSuffix(codec, "-bin") || codec == "xhr3"
}

// decodePackets runs the decoder of a packet codec.
func decodePackets(codec string, wire []byte) ([]engineio.Packet, error) {
	v, binary := codecVersion(codec)
	var pkts []engineio.Packet
	collect := func(p engineio.Packet) error { pkts = append(pkts, p); return nil }
	var err error
	switch codec {
	case "text4", "text3":
		var p engineio.Packet
		if p, err = engineio.ParseText(v, wire); err == nil {
			pkts = append(pkts, p)
		}
	case "ws4-text", "ws4-bin", "ws3-text", "ws3-bin":
		var p engineio.Packet
		if p, err = engineio.ParseFrame(v, binary, wire); err == nil {
			pkts = append(pkts, p)
		}
	case "payload4":
		err = engineio.ParsePayload(wire, collect)
	case "payload3":
		err = engineio.ParsePayloadV3(wire, collect)
	case "xhr3":
		err = engineio.ParseBinaryPayloadV3(wire, collect)
	default:
		return nil, fmt.Errorf("unknown codec %q", codec)
	}
	return pkts, err
}

// encodePackets runs the encoder of a packet codec, appending to dst.
func encodePackets(enc engineio.Encoder, codec string, dst []byte, pkts []engineio.Packet) ([]byte, error) {
	v, binary := codecVersion(codec)
	switch codec {
	case "text4", "text3", "ws4-text", "ws4-bin", "ws3-text", "ws3-bin":
		if len(pkts) != 1 {
			return nil, fmt.Errorf("codec %s encodes exactly one packet, got %d", codec, len(pkts))
		}
		if strings.HasPrefix(codec, "text") {
			return enc.AppendText(dst, v, pkts[0])
		}
		out, bin, err := enc.AppendFrame(dst, v, pkts[0])
		if err == nil && bin != binary {
			return out, fmt.Errorf("AppendFrame chose binary=%v, vector says %s", bin, codec)
		}
		return out, err
	case "payload4":
		return enc.AppendPayload(dst, pkts)
	case "payload3":
		return enc.AppendPayloadV3(dst, pkts)
	case "xhr3":
		return enc.AppendBinaryPayloadV3(dst, pkts)
	}
	return nil, fmt.Errorf("unknown codec %q", codec)
}

func samePackets(a, b []engineio.Packet) bool {
	return slices.EqualFunc(a, b, engineio.Packet.Equal)
}

// checkDecodeErr checks err against the vector's expected error.
func checkDecodeErr(t *testing.T, v vector, err error) {
	t.Helper()
	if v.errNam == "" {
		if err != nil {
			t.Fatalf("%v: decode failed: %v", v, err)
		}
		return
	}
	if !errors.Is(err, sentinels[v.errNam]) {
		t.Fatalf("%v: decode error = %v, want %s", v, err, v.errNam)
	}
	var de *engineio.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("%v: decode error %T is not a *DecodeError", v, err)
	}
	if v.errOff >= 0 && de.Offset != v.errOff {
		t.Fatalf("%v: decode error offset = %d, want %d (%v)", v, de.Offset, v.errOff, err)
	}
	if de.Error() == "" {
		t.Fatalf("%v: empty error text", v)
	}
}

// TestVectors runs every line of testdata/*.txt.
func TestVectors(t *testing.T) {
	vectors := loadVectors(t)
	for _, v := range vectors {
		t.Run(strings.TrimSuffix(v.file, ".txt")+"/"+strconv.Itoa(v.line), func(t *testing.T) {
			switch v.codec {
			case "open":
				runOpenVector(t, v)
			case "httperror":
				runHTTPErrorVector(t, v)
			default:
				runPacketVector(t, v)
			}
		})
	}
}

func runPacketVector(t *testing.T, v vector) {
	want, err := v.packets()
	if err != nil {
		t.Fatalf("%v: %v", v, err)
	}
	prefix := []byte("prefix")
	if v.dir == "<=>" || v.dir == "=>" {
		// Decode from an exactly sized copy, and check the input is not modified.
		in := bytes.Clone(v.wire)
		got, err := decodePackets(v.codec, in)
		checkDecodeErr(t, v, err)
		if !bytes.Equal(in, v.wire) {
			t.Fatalf("%v: decoder modified its input", v)
		}
		if !samePackets(got, want) {
			t.Fatalf("%v: decoded %v, want %v", v, got, want)
		}
		if err == nil {
			// Decode, encode, decode again: the packets are stable.
			codec := v.codec
			if strings.HasPrefix(codec, "ws") && len(got) == 1 {
				// Node accepts "b"+base64 in a text frame (EIO-BIN-04); we
				// write binary messages as binary frames.
				codec = strings.TrimSuffix(strings.TrimSuffix(codec, "-text"), "-bin") + "-text"
				if got[0].Binary {
					codec = codec[:3] + "-bin"
				}
			}
			re, err := encodePackets(engineio.Encoder{}, codec, nil, got)
			if err != nil {
				t.Fatalf("%v: re-encoding decoded packets: %v", v, err)
			}
			again, err := decodePackets(codec, re)
			if err != nil || !samePackets(again, got) {
				t.Fatalf("%v: decode(encode(%v)) = %v, %v", v, got, again, err)
			}
		}
		if strings.HasPrefix(v.codec, "payload") || v.codec == "xhr3" {
			checkReadPayload(t, v, want)
		}
	}
	if v.dir == "<=>" || v.dir == "<=" {
		out, err := encodePackets(engineio.Encoder{}, v.codec, prefix, want)
		if v.errNam != "" && v.dir == "<=" {
			if !errors.Is(err, sentinels[v.errNam]) {
				t.Fatalf("%v: encode error = %v, want %s", v, err, v.errNam)
			}
			var ee *engineio.EncodeError
			if !errors.As(err, &ee) || ee.Error() == "" {
				t.Fatalf("%v: encode error %T is not an *EncodeError", v, err)
			}
			if string(out) != "prefix" {
				t.Fatalf("%v: failed encode changed dst to %q", v, out)
			}
			return
		}
		if err != nil {
			t.Fatalf("%v: encode: %v", v, err)
		}
		if !bytes.Equal(out, append([]byte("prefix"), v.wire...)) {
			t.Fatalf("%v: encoded %q, want %q", v, out[len(prefix):], v.wire)
		}
	}
	if v.dir == "<=!" {
		out, err := encodePackets(engineio.Encoder{}, v.codec, prefix, want)
		if !errors.Is(err, sentinels[v.errNam]) {
			t.Fatalf("%v: strict encode error = %v, want %s", v, err, v.errNam)
		}
		if string(out) != "prefix" {
			t.Fatalf("%v: failed encode changed dst to %q", v, out)
		}
		out, err = encodePackets(engineio.Encoder{AllowIllegal: true}, v.codec, prefix, want)
		if err != nil {
			t.Fatalf("%v: AllowIllegal encode: %v", v, err)
		}
		if !bytes.Equal(out, append([]byte("prefix"), v.wire...)) {
			t.Fatalf("%v: AllowIllegal encoded %q, want %q", v, out[len(prefix):], v.wire)
		}
	}
}

// checkReadPayload feeds a payload vector through ReadPayload in chunks and
// requires the same outcome as the in-memory decoder.
func checkReadPayload(t *testing.T, v vector, want []engineio.Packet) {
	t.Helper()
	ver, binary := codecVersion(v.codec)
	readers := map[string]func() *countingReader{
		"whole":    func() *countingReader { return &countingReader{r: bytes.NewReader(v.wire)} },
		"onebyte":  func() *countingReader { return &countingReader{r: iotest.OneByteReader(bytes.NewReader(v.wire))} },
		"half":     func() *countingReader { return &countingReader{r: iotest.HalfReader(bytes.NewReader(v.wire))} },
		"dataerr":  func() *countingReader { return &countingReader{r: iotest.DataErrReader(bytes.NewReader(v.wire))} },
		"exactcap": func() *countingReader { return &countingReader{r: bytes.NewReader(v.wire)} },
	}
	for name, mk := range readers {
		limit := int64(len(v.wire))
		if name != "exactcap" {
			limit += 1000
		}
		r := mk()
		var got []engineio.Packet
		err := engineio.ReadPayload(r, limit, ver, binary, func(p engineio.Packet) error {
			got = append(got, p)
			return nil
		})
		checkDecodeErr(t, v, err)
		if !samePackets(got, want) {
			t.Fatalf("%v: ReadPayload(%s) = %v, want %v", v, name, got, want)
		}
		if r.n > limit+1 {
			t.Fatalf("%v: ReadPayload(%s) read %d bytes, limit %d", v, name, r.n, limit)
		}
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func runOpenVector(t *testing.T, v vector) {
	want, withKeys, err := v.open()
	if err != nil {
		t.Fatalf("%v: %v", v, err)
	}
	if v.dir == "<=>" || v.dir == "=>" {
		got, err := engineio.ParseOpen(v.wire)
		checkDecodeErr(t, v, err)
		if err == nil {
			if g, w := openFields(got, withKeys), openFields(want, withKeys); g != w {
				t.Fatalf("%v: ParseOpen = %s, want %s", v, g, w)
			}
			again, err := engineio.ParseOpen(got.AppendJSON(nil))
			if err != nil || openFields(again, false) != openFields(got, false) {
				t.Fatalf("%v: ParseOpen(AppendJSON(x)) = %s, %v; want %s", v, openFields(again, false), err, openFields(got, false))
			}
		}
	}
	if v.dir == "<=>" || v.dir == "<=" {
		out := want.AppendJSON([]byte("prefix"))
		if string(out) != "prefix"+string(v.wire) {
			t.Fatalf("%v: AppendJSON = %q, want %q", v, out[6:], v.wire)
		}
		if p := want.Packet(); p.Type != engineio.Open || string(p.Data) != string(v.wire) {
			t.Fatalf("%v: Packet() = %v", v, p)
		}
	}
	if v.dir == "<=!" {
		t.Fatalf("%v: <=! does not apply to open", v)
	}
}

func runHTTPErrorVector(t *testing.T, v vector) {
	want, err := v.httpError()
	if err != nil {
		t.Fatalf("%v: %v", v, err)
	}
	if v.dir == "<=>" || v.dir == "=>" {
		got, err := engineio.ParseHTTPError(v.wire)
		checkDecodeErr(t, v, err)
		if err == nil && (got.Code != want.Code || got.Message != want.Message) {
			t.Fatalf("%v: ParseHTTPError = %+v, want %+v", v, got, want)
		}
	}
	if v.dir == "<=>" || v.dir == "<=" {
		if out := want.AppendJSON([]byte("prefix")); string(out) != "prefix"+string(v.wire) {
			t.Fatalf("%v: AppendJSON = %q, want %q", v, out[6:], v.wire)
		}
	}
}

// TestEverySentinelExercised requires each sentinel error to be expected by
// at least one vector line, or by the named Go test that covers it.
func TestEverySentinelExercised(t *testing.T) {
	covered := map[string]string{
		"ErrBadVersion": "TestDecodePayloadBadVersion",
		"ErrTooLarge":   "TestReadPayloadLimit, TestEncoderMaxPayload",
	}
	for _, v := range loadVectors(t) {
		if v.errNam != "" {
			covered[v.errNam] = v.String()
		}
	}
	for name := range sentinels {
		if covered[name] == "" {
			t.Errorf("no vector expects %s", name)
		}
	}
}
