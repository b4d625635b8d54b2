package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"
)

// partSep separates messages in FuzzReassemble inputs; a message starting
// with 'b' is binary (the rest of it), any other is text.
const partSep = 0x1e

// fuzzSeeds returns every message sequence of the wire vectors and of the
// Node vectors (when present).
func fuzzSeeds(f *testing.F) [][][]byte {
	var seqs [][][]byte
	for _, v := range loadVectors(f) {
		var seq [][]byte
		for _, p := range v.parts {
			if p.isBin {
				seq = append(seq, append([]byte{'b'}, p.bin...))
			} else {
				seq = append(seq, p.text)
			}
		}
		seqs = append(seqs, seq)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "node", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var cases []nodeCase
		if err := json.Unmarshal(b, &cases); err != nil {
			f.Fatal(err)
		}
		for _, c := range cases {
			var seq [][]byte
			for _, p := range parseNodeParts(f, append(c.Encode, c.Input...)) {
				if p.isBin {
					seq = append(seq, append([]byte{'b'}, p.binary...))
				} else {
					seq = append(seq, p.text)
				}
			}
			seqs = append(seqs, seq)
		}
	}
	return seqs
}

// checkDecoded asserts the properties every successfully decoded packet
// has: the strict encoder accepts it, its encoding decodes to the same
// packet and re-encodes to the same bytes, the payload is valid JSON for
// encoding/json too, and the value parser agrees with the validator.
func checkDecoded(t *testing.T, d Decoder, p Packet) {
	t.Helper()
	enc := Encoder{Version: d.Version, MaxAttachments: d.MaxAttachments}
	if p.Type.IsBinary() && p.Attachments == 0 {
		enc.AllowIllegal = true // only AllowZeroAttachments decodes "50-"
	}
	text, err := enc.AppendPacket(nil, p)
	if err != nil {
		t.Fatalf("strict encoder refused decoded packet %v: %v", p, err)
	}
	dd := d
	dd.AllowZeroAttachments = true
	q, err := dd.Decode(text)
	if err != nil {
		t.Fatalf("re-decode %q: %v", text, err)
	}
	q.Binary = p.Binary
	if !samePacket(p, q) {
		t.Fatalf("re-decode %q:\n got %v\nwant %v", text, q, p)
	}
	again, _ := enc.AppendPacket(nil, q)
	if !bytes.Equal(again, text) {
		t.Fatalf("unstable encoding: %q then %q", text, again)
	}
	if p.Data == nil {
		return
	}
	if !json.Valid(p.Data) {
		t.Fatalf("accepted payload encoding/json rejects: %q", p.Data)
	}
	if p.Type.IsBinary() && len(p.Binary) != p.Attachments {
		p.Binary = make([][]byte, p.Attachments)
	}
	v, err := p.Value()
	if err != nil {
		t.Fatalf("Value of accepted payload %q: %v", p.Data, err)
	}
	s1, err := AppendJSON(nil, v)
	if err != nil {
		t.Fatalf("AppendJSON(Value): %v", err)
	}
	v2, err := ParseJSON(s1)
	if err != nil {
		t.Fatalf("ParseJSON(%q): %v", s1, err)
	}
	s2, _ := AppendJSON(nil, v2)
	if !bytes.Equal(s1, s2) {
		t.Fatalf("stringify(parse(x)) unstable: %q then %q", s1, s2)
	}
}

func FuzzDecode(f *testing.F) {
	for _, seq := range fuzzSeeds(f) {
		for _, m := range seq {
			if len(m) == 0 || m[0] != 'b' {
				f.Add(m, uint8(0))
				f.Add(m, uint8(1))
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, opts uint8) {
		d := Decoder{MaxAttachments: int(opts>>2) % 16}
		if opts&1 != 0 {
			d.Version = V4
		}
		d.AllowZeroAttachments = opts&2 != 0
		in := bytes.Clone(b)
		p, err := d.Decode(in)
		if err != nil {
			de, ok := err.(*DecodeError)
			if !ok || de.Err == nil || de.Offset < 0 || de.Offset > len(b) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if len(p.Data) > 0 && &p.Data[0] != &in[len(in)-len(p.Data)] {
			t.Fatal("Data does not alias the input's tail")
		}
		checkDecoded(t, d, p)
		// Values built without the second scan are those of the
		// general path.
		for len(p.Binary) < p.Attachments {
			p.Binary = append(p.Binary, []byte{byte(len(p.Binary))})
		}
		q := p
		q.built = builtMark{}
		for _, pair := range [][2]func() (any, error){
			{p.Value, q.Value},
			{func() (any, error) { return p.Args() }, func() (any, error) { return q.Args() }},
		} {
			got, gotErr := pair[0]()
			want, wantErr := pair[1]()
			if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: %#v, %v; general path %#v, %v", b, got, gotErr, want, wantErr)
			}
		}
	})
}

func FuzzReassemble(f *testing.F) {
	for _, seq := range fuzzSeeds(f) {
		f.Add(bytes.Join(seq, []byte{partSep}))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Reassembler
		for _, m := range bytes.Split(b, []byte{partSep}) {
			var p Packet
			var done bool
			var err error
			if len(m) > 0 && m[0] == 'b' {
				p, done, err = r.AddBinary(m[1:])
			} else {
				p, done, err = r.AddText(m)
			}
			if w := r.Waiting(); w < 0 || (err != nil && w != 0) {
				t.Fatalf("Waiting() = %d after err %v", w, err)
			}
			if err != nil || !done {
				continue
			}
			if !p.Complete() {
				t.Fatalf("complete packet %v lacks attachments", p)
			}
			checkDecoded(t, r.Decoder, p)
			// The encoded form reassembles to the same packet.
			text, bins, err := Encode(p)
			if err != nil {
				continue // e.g. zero attachments, refused in v5
			}
			var r2 Reassembler
			q, done2, err := r2.AddText(text)
			for i := 0; err == nil && !done2 && i < len(bins); i++ {
				q, done2, err = r2.AddBinary(bins[i])
			}
			if err != nil || !done2 || !samePacket(p, q) {
				t.Fatalf("reassemble own encoding of %v: %v %v %v", p, q, done2, err)
			}
		}
	})
}

// toStd converts ParseJSON's values to encoding/json's generic form.
func toStd(v any) any {
	switch x := v.(type) {
	case Object:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = toStd(e.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = toStd(x[i])
		}
		return out
	}
	return v
}

// FuzzJSON compares the validator and parser with encoding/json: the same
// inputs are accepted (plus the UTF-8 requirement) and give the same values.
func FuzzJSON(f *testing.F) {
	for _, seq := range fuzzSeeds(f) {
		for _, m := range seq {
			if i := bytes.IndexAny(m, "[{\""); i >= 0 {
				f.Add(m[i:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 5000 {
			return // stay below the nesting limit
		}
		v, err := ParseJSON(b)
		want := json.Valid(b) && utf8.Valid(b)
		if (err == nil) != want {
			t.Fatalf("ParseJSON(%q) err=%v, encoding/json valid=%v", b, err, want)
		}
		if err != nil {
			return
		}
		var std any
		if err := json.Unmarshal(b, &std); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return // a number beyond float64: JavaScript reads Infinity
			}
			t.Fatal(err)
		}
		if got := toStd(v); !reflect.DeepEqual(got, std) {
			t.Fatalf("ParseJSON(%q) = %#v, encoding/json %#v", b, got, std)
		}
	})
}
