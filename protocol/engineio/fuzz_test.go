package engineio_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/siospec/siospec/protocol/engineio"
)

// Every fuzz target checks, for any input: no panic; the input is not
// modified; a failure is a *DecodeError inside the input wrapping one of
// the sentinels; a success re-encodes with the strict encoder, decodes
// again to the same packets, and re-encodes to the same bytes
// (decode→encode→decode is stable and encoding is a fixed point).

// seedWires returns every wire of testdata/*.txt whose codec matches, plus
// every string or byte vector of Node's files, so each target starts from
// the whole corpus.
func seedWires(tb testing.TB, codecs ...string) [][]byte {
	var out [][]byte
	for _, v := range loadVectors(tb) {
		if v.wire != nil && (len(codecs) == 0 || slices.Contains(codecs, v.codec)) {
			out = append(out, v.wire)
		}
	}
	for _, name := range []string{"engineio-v4.json", "engineio-v3.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", "node", name))
		if err != nil {
			continue
		}
		var cases []nodeCase
		if err := json.Unmarshal(raw, &cases); err != nil {
			tb.Fatal(err)
		}
		for _, c := range cases {
			var s string
			if json.Unmarshal(c.Encoded, &s) == nil {
				out = append(out, []byte(s))
				continue
			}
			var b struct{ Base64 string }
			if json.Unmarshal(c.Encoded, &b) == nil {
				if raw, err := base64.StdEncoding.DecodeString(b.Base64); err == nil {
					out = append(out, raw)
				}
			}
		}
	}
	// One of every packet type, text and binary, in each framing.
	for t := engineio.Open; t <= engineio.Noop; t++ {
		p := engineio.TextPacket(t, "x")
		for _, v := range []engineio.Version{engineio.V3, engineio.V4} {
			b, _ := engineio.AppendText(nil, v, p)
			out = append(out, b)
		}
	}
	bin := engineio.BinaryMessage([]byte{0, 1, 0x1e, 0xff})
	for _, v := range []engineio.Version{engineio.V3, engineio.V4} {
		b, _, _ := engineio.AppendFrame(nil, v, bin)
		out = append(out, b)
	}
	return out
}

func checkFuzzErr(t *testing.T, in []byte, err error) {
	t.Helper()
	var de *engineio.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %T %v is not a *DecodeError", err, err)
	}
	if de.Offset < 0 || de.Offset > len(in) {
		t.Fatalf("offset %d outside input of %d bytes: %v", de.Offset, len(in), err)
	}
	known := false
	for _, s := range sentinels {
		if errors.Is(err, s) {
			known = true
		}
	}
	if !known || de.Error() == "" {
		t.Fatalf("error %v wraps no sentinel", err)
	}
}

func versionOf(v3 bool) engineio.Version {
	if v3 {
		return engineio.V3
	}
	return engineio.V4
}

func FuzzParseText(f *testing.F) {
	for _, w := range seedWires(f) {
		f.Add(w, false)
		f.Add(w, true)
	}
	f.Fuzz(func(t *testing.T, in []byte, v3 bool) {
		v := versionOf(v3)
		orig := bytes.Clone(in)
		p, err := engineio.ParseText(v, in)
		if !bytes.Equal(in, orig) {
			t.Fatal("input modified")
		}
		if err != nil {
			checkFuzzErr(t, in, err)
			return
		}
		enc, err := engineio.AppendText(nil, v, p)
		if err != nil {
			t.Fatalf("AppendText(%v): %v", p, err)
		}
		q, err := engineio.ParseText(v, enc)
		if err != nil || !q.Equal(p) {
			t.Fatalf("ParseText(AppendText(%v)) = %v, %v", p, q, err)
		}
		if enc2, _ := engineio.AppendText(nil, v, q); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point: %q then %q", enc, enc2)
		}
	})
}

func FuzzParseFrame(f *testing.F) {
	for _, w := range seedWires(f) {
		for _, v3 := range []bool{false, true} {
			f.Add(w, v3, false)
			f.Add(w, v3, true)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, v3, binary bool) {
		v := versionOf(v3)
		orig := bytes.Clone(in)
		p, err := engineio.ParseFrame(v, binary, in)
		if !bytes.Equal(in, orig) {
			t.Fatal("input modified")
		}
		if err != nil {
			checkFuzzErr(t, in, err)
			return
		}
		enc, bin, err := engineio.AppendFrame(nil, v, p)
		if err != nil {
			t.Fatalf("AppendFrame(%v): %v", p, err)
		}
		if bin != p.Binary {
			t.Fatalf("AppendFrame(%v) chose binary=%v", p, bin)
		}
		q, err := engineio.ParseFrame(v, bin, enc)
		if err != nil || !q.Equal(p) {
			t.Fatalf("ParseFrame(AppendFrame(%v)) = %v, %v", p, q, err)
		}
		if enc2, _, _ := engineio.AppendFrame(nil, v, q); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point: %q then %q", enc, enc2)
		}
	})
}

// fuzzPayload is the shared body of the payload targets.
func fuzzPayload(t *testing.T, in []byte, parse func([]byte, func(engineio.Packet) error) error,
	enc func([]byte, []engineio.Packet) ([]byte, error),
) {
	orig := bytes.Clone(in)
	var pkts []engineio.Packet
	err := parse(in, func(p engineio.Packet) error { pkts = append(pkts, p); return nil })
	if !bytes.Equal(in, orig) {
		t.Fatal("input modified")
	}
	if err != nil {
		checkFuzzErr(t, in, err)
		return
	}
	out, err := enc(nil, pkts)
	if err != nil {
		t.Fatalf("encoding %v: %v", pkts, err)
	}
	var again []engineio.Packet
	if err := parse(out, func(p engineio.Packet) error { again = append(again, p); return nil }); err != nil || !samePackets(again, pkts) {
		t.Fatalf("decode(encode(%v)) = %v, %v", pkts, again, err)
	}
	if out2, _ := enc(nil, again); !bytes.Equal(out, out2) {
		t.Fatalf("encoding is not a fixed point: %q then %q", out, out2)
	}
}

func FuzzParsePayload(f *testing.F) {
	for _, w := range seedWires(f) {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzPayload(t, in, engineio.ParsePayload, engineio.AppendPayload)
	})
}

func FuzzParsePayloadV3(f *testing.F) {
	for _, w := range seedWires(f) {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		// "0:" and "0:0:" decode to no packets, which encode as "0:".
		fuzzPayload(t, in, engineio.ParsePayloadV3, engineio.AppendPayloadV3)
	})
}

func FuzzParseBinaryPayloadV3(f *testing.F) {
	for _, w := range seedWires(f) {
		f.Add(w)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzPayload(t, in, engineio.ParseBinaryPayloadV3, engineio.AppendBinaryPayloadV3)
	})
}

func FuzzParseOpen(f *testing.F) {
	for _, w := range seedWires(f, "open") {
		f.Add(w)
	}
	for _, w := range seedWires(f, "text4", "text3") {
		if len(w) > 0 && w[0] == '0' {
			f.Add(w[1:])
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		o, err := engineio.ParseOpen(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("input modified")
		}
		if err != nil {
			checkFuzzErr(t, in, err)
			return
		}
		js := o.AppendJSON(nil)
		o2, err := engineio.ParseOpen(js)
		if err != nil {
			t.Fatalf("ParseOpen(AppendJSON(%+v)) = %q: %v", o, js, err)
		}
		if openFields(o2, false) != openFields(o, false) {
			t.Fatalf("ParseOpen(AppendJSON(x)) = %s, want %s", openFields(o2, false), openFields(o, false))
		}
		if js2 := o2.AppendJSON(nil); !bytes.Equal(js, js2) {
			t.Fatalf("AppendJSON is not a fixed point: %s then %s", js, js2)
		}
	})
}

// FuzzReadPayload checks that reading a body through a chunking reader
// gives the same outcome as decoding it in memory.
func FuzzReadPayload(f *testing.F) {
	for _, w := range seedWires(f, "payload4", "payload3", "xhr3") {
		f.Add(w, uint8(4), int64(len(w)))
		f.Add(w, uint8(3), int64(len(w)+1))
		f.Add(w, uint8(0x83), int64(len(w)-1))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8, limit int64) {
		v := engineio.V4
		if mode&1 == 1 {
			v = engineio.V3
		}
		binary := mode&2 != 0
		readers := []func([]byte) *countingReader{
			func(b []byte) *countingReader { return &countingReader{r: iotest.OneByteReader(bytes.NewReader(b))} },
			func(b []byte) *countingReader { return &countingReader{r: iotest.HalfReader(bytes.NewReader(b))} },
			func(b []byte) *countingReader { return &countingReader{r: iotest.DataErrReader(bytes.NewReader(b))} },
		}
		r := readers[int(mode>>2)%len(readers)](in)
		var got []engineio.Packet
		err := engineio.ReadPayload(r, limit, v, binary, func(p engineio.Packet) error { got = append(got, p); return nil })
		eff := limit
		if eff <= 0 {
			eff = engineio.DefaultMaxPayload
		}
		if r.n > eff+1 {
			t.Fatalf("read %d bytes with limit %d", r.n, limit)
		}
		if int64(len(in)) > eff {
			if !errors.Is(err, engineio.ErrTooLarge) || len(got) != 0 {
				t.Fatalf("%d bytes over limit %d: %v, %d packets", len(in), limit, err, len(got))
			}
			return
		}
		want, werr := engineio.DecodePayload(v, binary, in)
		if (err == nil) != (werr == nil) || !samePackets(got, want) {
			t.Fatalf("ReadPayload = %v, %v; DecodePayload = %v, %v", got, err, want, werr)
		}
		if err != nil {
			var a, b *engineio.DecodeError
			if !errors.As(err, &a) || !errors.As(werr, &b) || a.Offset != b.Offset || !errors.Is(err, errors.Unwrap(werr)) {
				t.Fatalf("ReadPayload error %v, DecodePayload error %v", err, werr)
			}
		}
	})
}
