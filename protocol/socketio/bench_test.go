package socketio

import (
	"strconv"
	"strings"
	"testing"
)

var (
	benchSmall = []byte(`2["message",1,"2",{"3":[true]}]`)
	benchBin   = []byte(`54-/admin,12["upload",{"_placeholder":true,"num":0},{"name":"a","parts":[{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]},{"_placeholder":true,"num":3}]`)
)

// bench64K returns a 64 KiB EVENT: a long string argument followed by
// objects, so that both the string fast path and structure are exercised.
func bench64K() []byte {
	var b strings.Builder
	b.WriteString(`2["big","`)
	b.WriteString(strings.Repeat("lorem ipsum dolor sit amet é😀 ", 1000))
	b.WriteString(`"`)
	for i := 0; b.Len() < 64<<10-64; i++ {
		b.WriteString(`,{"id":` + strconv.Itoa(i) + `,"ok":true,"tags":["a","b"],"v":-1.5e3}`)
	}
	b.WriteString(`]`)
	return []byte(b.String())
}

func benchDecode(b *testing.B, in []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Decode(in); err != nil {
			b.Fatal(err)
		}
	}
}

func benchEncode(b *testing.B, in []byte) {
	p, err := Decode(in)
	if err != nil {
		b.Fatal(err)
	}
	p.Data = append([]byte(nil), p.Data...)
	buf := make([]byte, 0, len(in)+16)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if buf, err = AppendPacket(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSmallEvent(b *testing.B) { benchDecode(b, benchSmall) }
func BenchmarkDecode64KEvent(b *testing.B)   { benchDecode(b, bench64K()) }
func BenchmarkEncodeSmallEvent(b *testing.B) { benchEncode(b, benchSmall) }
func BenchmarkEncode64KEvent(b *testing.B)   { benchEncode(b, bench64K()) }

// BenchmarkNewEventSmall builds the small event from Go values and encodes it.
func BenchmarkNewEventSmall(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		p, err := NewEvent("/", "message", 1, "2", Object{{"3", []bool{true}}})
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = AppendPacket(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
}

var benchAttachments = [][]byte{make([]byte, 1024), make([]byte, 16), make([]byte, 4096), make([]byte, 1)}

// BenchmarkEncodeBinaryEvent4 builds a binary event with 4 attachments from
// Go values (placeholder split) and encodes its header.
func BenchmarkEncodeBinaryEvent4(b *testing.B) {
	a := benchAttachments
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		p, err := NewEvent("/admin", "upload", a[0], Object{{"name", "a"}, {"parts", [][]byte{a[1], a[2]}}}, a[3])
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = AppendPacket(buf[:0], p.WithID(12)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBinaryEvent4 decodes the header and reassembles 4
// attachments.
func BenchmarkDecodeBinaryEvent4(b *testing.B) {
	var r Reassembler
	b.ReportAllocs()
	for b.Loop() {
		_, done, err := r.AddText(benchBin)
		for i := 0; err == nil && !done; i++ {
			_, done, err = r.AddBinary(benchAttachments[i])
		}
		if err != nil || !done {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBinaryEvent4Values also rebuilds the Go values.
func BenchmarkDecodeBinaryEvent4Values(b *testing.B) {
	var r Reassembler
	b.ReportAllocs()
	for b.Loop() {
		p, done, err := r.AddText(benchBin)
		for i := 0; err == nil && !done; i++ {
			p, done, err = r.AddBinary(benchAttachments[i])
		}
		if err != nil || !done {
			b.Fatal(err)
		}
		if _, err := p.Args(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchBigText is the 64 KiB string argument of the bench module's
// 64KiB-text-event: ASCII mixed densely with € and 😀.
var benchBigText = strings.Repeat("abcdefgh€😀", 4368) + "abcd"

// BenchmarkNewEvent64K builds emit("blob", <64 KiB string>) from Go values
// and encodes it into a reused buffer.
func BenchmarkNewEvent64K(b *testing.B) {
	buf := make([]byte, 0, 70<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBigText)))
	for b.Loop() {
		p, err := NewEvent("/", "blob", benchBigText)
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = AppendPacket(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendJSONString64K writes the 64 KiB string as JSON.
func BenchmarkAppendJSONString64K(b *testing.B) {
	buf := make([]byte, 0, 70<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBigText)))
	for b.Loop() {
		buf = appendJSString(buf[:0], benchBigText)
	}
}
