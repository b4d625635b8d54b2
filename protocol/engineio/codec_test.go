package engineio_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// TestPacketTypeString checks the protocol names (EIO-PKT-01).
func TestPacketTypeString(t *testing.T) {
	want := []string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}
	for i, w := range want {
		pt := engineio.PacketType(i)
		if got := pt.String(); got != w {
			t.Errorf("PacketType(%d).String() = %q, want %q", i, got, w)
		}
		if !pt.Valid() || pt.Char() != byte('0'+i) {
			t.Errorf("PacketType(%d): Valid=%v Char=%q", i, pt.Valid(), pt.Char())
		}
	}
	if got := engineio.PacketType(7).String(); got != "PacketType(7)" {
		t.Errorf("PacketType(7).String() = %q", got)
	}
	if engineio.PacketType(7).Valid() || engineio.PacketType(255).Valid() {
		t.Error("types 7 and 255 must not be valid")
	}
	if engineio.Ping != 2 || engineio.Noop != 6 {
		t.Error("constants do not match the wire digits")
	}
}

func TestVersion(t *testing.T) {
	if engineio.V3.String() != "3" || engineio.V4.String() != "4" {
		t.Errorf("Version strings: %q %q", engineio.V3, engineio.V4)
	}
	if !engineio.V3.Valid() || !engineio.V4.Valid() || engineio.Version(5).Valid() || engineio.Version(0).Valid() {
		t.Error("Version.Valid")
	}
}

func TestPacketString(t *testing.T) {
	tests := []struct {
		p    engineio.Packet
		want string
	}{
		{engineio.TextPacket(engineio.Ping, ""), "ping"},
		{engineio.TextPacket(engineio.Message, "hi\n"), `message "hi\n"`},
		{engineio.BinaryMessage(nil), "message binary[0]"},
		{engineio.BinaryMessage([]byte{1, 0xab}), "message binary[2] 01ab"},
		{engineio.BinaryMessage(bytes.Repeat([]byte{0xff}, 17)), "message binary[17] " + strings.Repeat("ff", 16) + "..."},
		{engineio.TextPacket(engineio.Message, strings.Repeat("x", 201)), `message "` + strings.Repeat("x", 200) + `"...(201 bytes)`},
		{engineio.Packet{Type: 9}, "PacketType(9)"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if got := tt.p.GomegaString(); got != tt.want {
			t.Errorf("GomegaString() = %q, want %q", got, tt.want)
		}
	}
}

func TestPacketEqual(t *testing.T) {
	a := engineio.TextPacket(engineio.Message, "x")
	if !a.Equal(engineio.Packet{Type: engineio.Message, Data: []byte("x")}) {
		t.Error("equal packets differ")
	}
	if a.Equal(engineio.BinaryMessage([]byte("x"))) || a.Equal(engineio.TextPacket(engineio.Ping, "x")) || a.Equal(engineio.TextPacket(engineio.Message, "y")) {
		t.Error("different packets are equal")
	}
	if !engineio.TextPacket(engineio.Message, "").Equal(engineio.Packet{Type: engineio.Message}) {
		t.Error("empty and nil data differ")
	}
}

// TestUTF16Len checks the unit of v3 lengths (EIO3-03): JavaScript string
// length, with astral-plane characters counting two.
func TestUTF16Len(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", 0},
		{"hello", 5},
		{"€", 1},
		{"é", 1},
		{"😀", 2},
		{"a😀b😁", 6},
		{"\U0010FFFF", 2},
		{"\uFFFF", 1},
		{"\xff", 1},         // invalid byte: one replacement character
		{"\xe2\x82", 2},     // truncated sequence: one unit per byte
		{"\xed\xa0\x80", 3}, // an encoded surrogate is invalid UTF-8
	}
	for _, tt := range tests {
		if got := engineio.UTF16Len([]byte(tt.s)); got != tt.want {
			t.Errorf("UTF16Len(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

// TestPayloadV3InvalidUTF8 checks that text with invalid UTF-8 round-trips
// through a v3 payload: lengths count one unit per invalid byte on both sides.
func TestPayloadV3InvalidUTF8(t *testing.T) {
	pkts := []engineio.Packet{engineio.TextPacket(engineio.Message, "a\xffb\xe2\x82"), engineio.TextPacket(engineio.Message, "😀\xf0")}
	b, err := engineio.AppendPayloadV3(nil, pkts)
	if err != nil {
		t.Fatal(err)
	}
	if want := "6:4a\xffb\xe2\x824:4😀\xf0"; string(b) != want {
		t.Fatalf("AppendPayloadV3 = %q, want %q", b, want)
	}
	got, err := engineio.DecodePayload(engineio.V3, false, b)
	if err != nil || !samePackets(got, pkts) {
		t.Fatalf("DecodePayload = %v, %v", got, err)
	}
}

// TestPayloadManyPackets sends 200 packets in one payload, in order, with
// no count cap (EIO-POLL-05).
func TestPayloadManyPackets(t *testing.T) {
	var pkts []engineio.Packet
	for i := range 200 {
		if i%7 == 3 {
			pkts = append(pkts, engineio.BinaryMessage([]byte{byte(i), 0x1e}))
		} else {
			pkts = append(pkts, engineio.TextPacket(engineio.Message, "m"+strconv.Itoa(i)+"😀"))
		}
	}
	for _, tc := range []struct {
		v      engineio.Version
		binary bool
		enc    func([]byte, []engineio.Packet) ([]byte, error)
	}{
		{engineio.V4, false, engineio.AppendPayload},
		{engineio.V3, false, engineio.AppendPayloadV3},
		{engineio.V3, true, engineio.AppendBinaryPayloadV3},
	} {
		b, err := tc.enc(nil, pkts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := engineio.DecodePayload(tc.v, tc.binary, b)
		if err != nil || !samePackets(got, pkts) {
			t.Fatalf("v%d binary=%v: %d packets, %v", tc.v, tc.binary, len(got), err)
		}
	}
}

func TestDecodePayloadBadVersion(t *testing.T) {
	_, err := engineio.DecodePayload(5, false, []byte("4x"))
	var de *engineio.DecodeError
	if !errors.Is(err, engineio.ErrBadVersion) || !errors.As(err, &de) || de.Offset != 0 {
		t.Fatalf("DecodePayload(v5) error = %v", err)
	}
	err = engineio.ReadPayload(strings.NewReader("4x"), 0, 2, false, func(engineio.Packet) error { return nil })
	if !errors.Is(err, engineio.ErrBadVersion) {
		t.Fatalf("ReadPayload(v2) error = %v", err)
	}
}

// TestDecodePartial checks that packets before a malformed one are
// delivered, as Node processes them, and that DecodePayload returns them.
func TestDecodePartial(t *testing.T) {
	got, err := engineio.DecodePayload(engineio.V4, false, []byte("4a\x1e2\x1ex"))
	if !errors.Is(err, engineio.ErrUnknownType) || len(got) != 2 {
		t.Fatalf("DecodePayload = %v, %v", got, err)
	}
}

// TestCallbackError checks that an error from fn stops decoding and is
// returned unchanged.
func TestCallbackError(t *testing.T) {
	stop := errors.New("stop")
	for name, parse := range map[string]func([]byte, func(engineio.Packet) error) error{
		"v4":  engineio.ParsePayload,
		"v3":  engineio.ParsePayloadV3,
		"xhr": engineio.ParseBinaryPayloadV3,
	} {
		var pkts = []engineio.Packet{engineio.TextPacket(engineio.Message, "a"), engineio.BinaryMessage([]byte{1}), engineio.TextPacket(engineio.Ping, "")}
		var b []byte
		switch name {
		case "v4":
			b, _ = engineio.AppendPayload(nil, pkts)
		case "v3":
			b, _ = engineio.AppendPayloadV3(nil, pkts)
		default:
			b, _ = engineio.AppendBinaryPayloadV3(nil, pkts)
		}
		for stopAt := range 3 {
			n := 0
			err := parse(b, func(engineio.Packet) error {
				if n == stopAt {
					return stop
				}
				n++
				return nil
			})
			if err != stop || n != stopAt {
				t.Errorf("%s stopAt=%d: err=%v after %d packets", name, stopAt, err, n)
			}
		}
	}
}

// TestDecodeErrorText checks the error texts name the offset and reason.
func TestDecodeErrorText(t *testing.T) {
	_, err := engineio.ParseText(engineio.V4, []byte("x"))
	if got := err.Error(); got != `engineio: decode error at offset 0: unknown packet type 'x'` {
		t.Errorf("Error() = %q", got)
	}
	e := &engineio.DecodeError{Offset: 3, Err: engineio.ErrTruncated}
	if got := e.Error(); got != "engineio: decode error at offset 3: engineio: truncated payload" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&engineio.DecodeError{Offset: 1}).Error(); got != "engineio: decode error at offset 1" {
		t.Errorf("Error() = %q", got)
	}
	_, err = engineio.AppendText(nil, engineio.V4, engineio.Packet{Type: engineio.Ping, Binary: true})
	if got := err.Error(); got != "engineio: cannot encode ping packet: engineio: binary data on a non-message packet" {
		t.Errorf("Error() = %q", got)
	}
}

// TestErrorCodes checks the typed error codes and Node's messages
// (EIO-ERR-01) and statuses (EIO-ERR-02).
func TestErrorCodes(t *testing.T) {
	want := []struct {
		code   engineio.ErrorCode
		msg    string
		status int
	}{
		{engineio.CodeTransportUnknown, "Transport unknown", 400},
		{engineio.CodeUnknownSID, "Session ID unknown", 400},
		{engineio.CodeBadHandshakeMethod, "Bad handshake method", 400},
		{engineio.CodeBadRequest, "Bad request", 400},
		{engineio.CodeForbidden, "Forbidden", 403},
		{engineio.CodeUnsupportedProtocolVersion, "Unsupported protocol version", 400},
	}
	for i, w := range want {
		if int(w.code) != i {
			t.Errorf("%s has code %d, want %d", w.msg, w.code, i)
		}
		if w.code.Message() != w.msg || w.code.String() != w.msg || w.code.HTTPStatus() != w.status {
			t.Errorf("code %d: %q %q %d", w.code, w.code.Message(), w.code.String(), w.code.HTTPStatus())
		}
		e := engineio.NewHTTPError(w.code)
		if e.Status() != w.status || e.Message != w.msg {
			t.Errorf("NewHTTPError(%d) = %+v", w.code, e)
		}
		if e.Error() != fmt.Sprintf("engineio: error %d: %s", i, w.msg) {
			t.Errorf("Error() = %q", e.Error())
		}
		wrapped := fmt.Errorf("handshake: %w", &engineio.HTTPError{Code: w.code, Message: "custom"})
		if !errors.Is(wrapped, engineio.NewHTTPError(w.code)) {
			t.Errorf("errors.Is does not match code %d", w.code)
		}
		if errors.Is(wrapped, engineio.NewHTTPError(w.code+1)) || errors.Is(wrapped, io.EOF) {
			t.Errorf("errors.Is matches the wrong target for code %d", w.code)
		}
		var he *engineio.HTTPError
		if !errors.As(wrapped, &he) || he.Code != w.code {
			t.Errorf("errors.As failed for code %d", w.code)
		}
	}
	if got := engineio.ErrorCode(9).Message(); got != "Unknown error 9" {
		t.Errorf("ErrorCode(9).Message() = %q", got)
	}
	if got := engineio.ErrorCode(-1).Message(); got != "Unknown error -1" {
		t.Errorf("ErrorCode(-1).Message() = %q", got)
	}
}

func TestParseHTTPErrorNonStandardCode(t *testing.T) {
	e, err := engineio.ParseHTTPError([]byte(`{"code":42,"message":"teapot"}`))
	if err != nil || e.Code != 42 || e.Message != "teapot" {
		t.Fatalf("ParseHTTPError = %+v, %v", e, err)
	}
	var de *engineio.DecodeError
	if _, err := engineio.ParseHTTPError([]byte(`{"code":99999999999,"message":"x"}`)); !errors.As(err, &de) || !errors.Is(err, engineio.ErrBadHTTPError) {
		t.Fatalf("overflowing code: %v", err)
	}
}

// TestOpenPacket checks the open packet helpers (EIO-HS-02).
func TestOpenPacket(t *testing.T) {
	o := engineio.OpenPacket{SID: "s", Upgrades: []string{"websocket"}, PingInterval: 25 * time.Second, PingTimeout: 20 * time.Second, MaxPayload: 1e6}
	p := o.Packet()
	b, err := engineio.AppendText(nil, engineio.V4, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `0{"sid":"s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`; string(b) != want {
		t.Fatalf("open packet = %s, want %s", b, want)
	}
	// A nil Upgrades is written as [] and parsed back as an empty slice.
	o.Upgrades = nil
	got, err := engineio.ParseOpen(o.AppendJSON(nil))
	if err != nil || got.Upgrades == nil || len(got.Upgrades) != 0 {
		t.Fatalf("ParseOpen = %+v, %v", got, err)
	}
	// Invalid UTF-8 in the sid is written as U+FFFD, as JSON.stringify would.
	o.SID = "a\xffb"
	if js := o.AppendJSON(nil); !bytes.HasPrefix(js, []byte(`{"sid":"a`+"\uFFFD"+`b"`)) {
		t.Fatalf("AppendJSON = %q", js)
	}
	// Control characters use \b \f \n \r \t or \u00XX.
	o.SID = "\b\f\n\r\t\x1f"
	if js := o.AppendJSON(nil); !bytes.HasPrefix(js, []byte(`{"sid":"\b\f\n\r\t\u001f"`)) {
		t.Fatalf("AppendJSON = %q", js)
	}
}

// TestEncoderMaxPayload checks the strict size limit and its AllowIllegal
// escape (EIO-LIMIT-01, EIO-LIMIT-02, EIO-LIMIT-06: bytes, not characters).
func TestEncoderMaxPayload(t *testing.T) {
	pkts := []engineio.Packet{engineio.TextPacket(engineio.Message, "€€€")} // 1 + 9 bytes
	encoders := map[string]func(engineio.Encoder, []byte, []engineio.Packet) ([]byte, error){
		"v4":  engineio.Encoder.AppendPayload,
		"v3":  engineio.Encoder.AppendPayloadV3,
		"xhr": engineio.Encoder.AppendBinaryPayloadV3,
	}
	sizes := map[string]int{"v4": 10, "v3": 12, "xhr": 14} // v3 adds "4:" (UTF-16 units); xhr adds 00 01 00 ff (bytes)
	for name, enc := range encoders {
		size := sizes[name]
		out, err := enc(engineio.Encoder{MaxPayload: int64(size)}, []byte("pre"), pkts)
		if err != nil || len(out) != 3+size {
			t.Errorf("%s: at the limit: %q, %v", name, out, err)
		}
		out, err = enc(engineio.Encoder{MaxPayload: int64(size - 1)}, []byte("pre"), pkts)
		var ee *engineio.EncodeError
		if !errors.Is(err, engineio.ErrTooLarge) || !errors.As(err, &ee) || ee.Size != size || ee.Limit != int64(size-1) {
			t.Errorf("%s: over the limit: %v", name, err)
		} else if want := fmt.Sprintf("engineio: cannot encode payload of %d bytes: limit is %d", size, size-1); ee.Error() != want {
			t.Errorf("%s: Error() = %q, want %q", name, ee.Error(), want)
		}
		if string(out) != "pre" {
			t.Errorf("%s: failed encode left dst = %q", name, out)
		}
		out, err = enc(engineio.Encoder{MaxPayload: int64(size - 1), AllowIllegal: true}, nil, pkts)
		if err != nil || len(out) != size {
			t.Errorf("%s: AllowIllegal over the limit: %q, %v", name, out, err)
		}
	}
	if _, err := (engineio.Encoder{MaxPayload: 1}).AppendPayloadV3(nil, nil); !errors.Is(err, engineio.ErrTooLarge) {
		t.Errorf(`"0:" over a 1-byte limit: %v`, err)
	}
}

// TestRawHelpers checks the helpers that build malformed payloads on
// purpose, and that the strict decoders refuse what they build.
func TestRawHelpers(t *testing.T) {
	b := engineio.AppendRawPayload([]byte("x"), []byte("4a"), []byte("b!!"), nil)
	if string(b) != "x4a\x1eb!!\x1e" {
		t.Fatalf("AppendRawPayload = %q", b)
	}
	if err := engineio.ParsePayload(b[1:], func(engineio.Packet) error { return nil }); !errors.Is(err, engineio.ErrBadBase64) {
		t.Fatalf("ParsePayload(raw) = %v", err)
	}
	// EIO3-10: a wrong length prefix.
	b = engineio.AppendRawPayloadV3(nil, 9, []byte("4hello"))
	if string(b) != "9:4hello" {
		t.Fatalf("AppendRawPayloadV3 = %q", b)
	}
	if _, err := engineio.DecodePayload(engineio.V3, false, b); !errors.Is(err, engineio.ErrBadLength) {
		t.Fatalf("DecodePayload(raw v3) = %v", err)
	}
	b = engineio.AppendRawBinaryPayloadV3(nil, 0, 12, []byte("4hello"))
	if !bytes.Equal(b, []byte("\x00\x01\x02\xff4hello")) {
		t.Fatalf("AppendRawBinaryPayloadV3 = %x", b)
	}
	if _, err := engineio.DecodePayload(engineio.V3, true, b); !errors.Is(err, engineio.ErrTruncated) {
		t.Fatalf("DecodePayload(raw xhr) = %v", err)
	}
	b = engineio.AppendRawBinaryPayloadV3(nil, 7, -3, nil)
	if !bytes.Equal(b, []byte{7, 3, 0xff}) {
		t.Fatalf("AppendRawBinaryPayloadV3(negative) = %x", b)
	}
	if !engineio.HasBinary([]engineio.Packet{engineio.TextPacket(engineio.Message, ""), engineio.BinaryMessage(nil)}) || engineio.HasBinary(nil) {
		t.Fatal("HasBinary")
	}
}

// TestDecodeAliasing documents who owns decoded data: text data aliases
// the input, base64-decoded data does not, and neither can grow into the
// rest of the input.
func TestDecodeAliasing(t *testing.T) {
	in := []byte("4abc\x1ebAQID")
	var pkts []engineio.Packet
	if err := engineio.ParsePayload(in, func(p engineio.Packet) error { pkts = append(pkts, p); return nil }); err != nil {
		t.Fatal(err)
	}
	in[1] = 'X'
	if string(pkts[0].Data) != "Xbc" {
		t.Errorf("text data does not alias the input: %q", pkts[0].Data)
	}
	if cap(pkts[0].Data) != len(pkts[0].Data) {
		t.Errorf("text data can grow into the input: cap %d len %d", cap(pkts[0].Data), len(pkts[0].Data))
	}
	_ = append(pkts[0].Data, 'Z')
	if in[4] != 0x1e {
		t.Error("appending to decoded data overwrote the input")
	}
	in[7] = 'A'
	if !bytes.Equal(pkts[1].Data, []byte{1, 2, 3}) {
		t.Error("binary data aliases the input")
	}
}

// TestReadPayloadLimit checks the bound on POST bodies (EIO-LIMIT-01,
// EIO-LIMIT-02): exactly limit bytes are accepted, limit+1 are refused with
// ErrTooLarge at offset limit, and never more than limit+1 bytes are read.
func TestReadPayloadLimit(t *testing.T) {
	body := []byte("4" + strings.Repeat("x", 99)) // 100 bytes
	long := append(bytes.Clone(body), strings.Repeat("y", 10000)...)
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"plain":   func(r io.Reader) io.Reader { return r },
		"onebyte": iotest.OneByteReader,
		"half":    iotest.HalfReader,
		"dataerr": iotest.DataErrReader,
	} {
		r := &countingReader{r: wrap(bytes.NewReader(body))}
		n := 0
		err := engineio.ReadPayload(r, 100, engineio.V4, false, func(p engineio.Packet) error { n++; return nil })
		if err != nil || n != 1 {
			t.Errorf("%s: exactly at the limit: %v, %d packets", name, err, n)
		}
		for _, limit := range []int64{99, 1, 50} {
			r = &countingReader{r: wrap(bytes.NewReader(long))}
			n = 0
			err = engineio.ReadPayload(r, limit, engineio.V4, false, func(p engineio.Packet) error { n++; return nil })
			var de *engineio.DecodeError
			if !errors.Is(err, engineio.ErrTooLarge) || !errors.As(err, &de) || de.Offset != int(limit) || n != 0 {
				t.Errorf("%s limit %d: %v, %d packets", name, limit, err, n)
			}
			if r.n > limit+1 {
				t.Errorf("%s limit %d: read %d bytes", name, limit, r.n)
			}
		}
	}
	// The default limit is Node's maxHttpBufferSize.
	big := append([]byte("4"), bytes.Repeat([]byte("z"), engineio.DefaultMaxPayload)...)
	r := &countingReader{r: bytes.NewReader(big)}
	err := engineio.ReadPayload(r, 0, engineio.V4, false, func(engineio.Packet) error { return nil })
	if !errors.Is(err, engineio.ErrTooLarge) || r.n != engineio.DefaultMaxPayload+1 {
		t.Errorf("default limit: %v after %d bytes", err, r.n)
	}
	if err := engineio.ReadPayload(bytes.NewReader(big[:engineio.DefaultMaxPayload]), -1, engineio.V4, false, func(engineio.Packet) error { return nil }); err != nil {
		t.Errorf("default limit, exactly at it: %v", err)
	}
}

// TestReadPayloadReadErrors checks that a body cut short by a read error
// delivers no packet (EIO-POLL-10) and reports where it stopped.
func TestReadPayloadReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	body := "4hello\x1e4world"
	for name, r := range map[string]io.Reader{
		"timeout":   iotest.TimeoutReader(iotest.OneByteReader(strings.NewReader(body))),
		"midway":    io.MultiReader(strings.NewReader("4hel"), iotest.ErrReader(boom)),
		"immediate": iotest.ErrReader(boom),
	} {
		n := 0
		err := engineio.ReadPayload(r, 1000, engineio.V4, false, func(engineio.Packet) error { n++; return nil })
		var re *engineio.ReadError
		if err == nil || !errors.As(err, &re) || n != 0 {
			t.Errorf("%s: %v, %d packets", name, err, n)
			continue
		}
		if name == "midway" && (re.Offset != 4 || !errors.Is(err, boom)) {
			t.Errorf("%s: offset %d, %v", name, re.Offset, err)
		}
		if name == "timeout" && (re.Offset != 1 || !errors.Is(err, iotest.ErrTimeout)) {
			t.Errorf("%s: offset %d, %v", name, re.Offset, err)
		}
		if !strings.HasPrefix(err.Error(), "engineio: read payload after ") {
			t.Errorf("%s: Error() = %q", name, err.Error())
		}
	}
	// A reader that never makes progress is given up on.
	err := engineio.ReadPayload(stuckReader{}, 1000, engineio.V4, false, func(engineio.Packet) error { return nil })
	if !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("stuck reader: %v", err)
	}
}

type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

// TestReadPayloadVersions reads each payload format through a one-byte reader.
func TestReadPayloadVersions(t *testing.T) {
	pkts := []engineio.Packet{engineio.TextPacket(engineio.Message, "€😀"), engineio.BinaryMessage([]byte{0, 0x1e, 0xff}), engineio.TextPacket(engineio.Noop, "")}
	v4, _ := engineio.AppendPayload(nil, pkts)
	v3, _ := engineio.AppendPayloadV3(nil, pkts)
	xhr, _ := engineio.AppendBinaryPayloadV3(nil, pkts)
	for _, tc := range []struct {
		v      engineio.Version
		binary bool
		b      []byte
	}{{engineio.V4, false, v4}, {engineio.V4, true, v4}, {engineio.V3, false, v3}, {engineio.V3, true, xhr}} {
		var got []engineio.Packet
		err := engineio.ReadPayload(iotest.OneByteReader(bytes.NewReader(tc.b)), int64(len(tc.b)), tc.v, tc.binary, func(p engineio.Packet) error {
			got = append(got, p)
			return nil
		})
		if err != nil || !samePackets(got, pkts) {
			t.Errorf("v%d binary=%v: %v, %v", tc.v, tc.binary, got, err)
		}
	}
}
