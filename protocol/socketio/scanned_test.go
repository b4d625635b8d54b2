package socketio

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
)

// parseNumber's integer fast path gives the float64 strconv.ParseFloat
// gives, bit for bit (negative zero included), and hands everything else
// to it.
func TestParseNumberMatchesParseFloat(t *testing.T) {
	cases := []string{"0", "-0", "1", "-1", "7", "42", "123456789012345", "-123456789012345",
		"1234567890123456", "9007199254740993", "1.5", "-2.25e3", "1e400", "0.1", "1E2", "-0.0"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := r.Int64N(1 << 62)
		s := strconv.FormatInt(n>>r.IntN(62), 10)
		if r.IntN(2) == 0 {
			s = "-" + s
		}
		cases = append(cases, s)
	}
	for _, c := range cases {
		want, _ := strconv.ParseFloat(c, 64)
		if got := parseNumber([]byte(c)); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseNumber(%s) = %v, want %v", c, got, want)
		}
	}
}

// A decoded packet's values, built without a second scan, are the ones
// ParseJSON and Reconstruct build; a payload changed in place after
// decoding is scanned again and its error reported, never a panic.
func TestDecodedValueSkipsScan(t *testing.T) {
	texts := []string{
		`2["echo","hello",1,{"a":[true,null,-0,1.5e3]},"\u00e9\n"]`,
		`2/admin,13["x",[],{}]`,
		`3[]`,
		`0{"token":"abc"}`,
		`51-["up",{"_placeholder":true,"num":0}]`,
	}
	for _, text := range texts {
		p, err := Decode([]byte(text))
		if err != nil {
			t.Fatalf("Decode(%s): %v", text, err)
		}
		if !p.scanned() {
			t.Fatalf("Decode(%s): not marked as scanned", text)
		}
		if p.Type.IsBinary() {
			p.Binary = [][]byte{{1, 2}}
		}
		got, err := p.Value()
		if err != nil {
			t.Fatalf("Value(%s): %v", text, err)
		}
		var want any
		if p.Type.IsBinary() {
			want, err = Reconstruct(p.Data, p.Binary)
		} else {
			want, err = ParseJSON(p.Data)
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Value(%s) = %#v, want %#v (%v)", text, got, want, err)
		}
	}
	// The same bytes, changed in place: the mark still names the slice,
	// but the parser's failure brings back the full scan and its error.
	b := []byte(`2["echo",[1,2]]`)
	p, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[9:], `[[[[[[`)
	if _, err := p.Value(); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("changed payload: error %v, want ErrInvalidJSON", err)
	}
	// A changed type or attachment count drops the mark.
	p, _ = Decode([]byte(`51-["up",{"_placeholder":true,"num":0}]`))
	p.Attachments = 2
	if p.scanned() {
		t.Fatal("attachment count changed, still marked")
	}
	p, _ = Decode([]byte(`2["up",{"_placeholder":true,"num":5}]`))
	p.Type, p.Attachments, p.Binary = BinaryEvent, 1, [][]byte{{1}}
	if p.scanned() {
		t.Fatal("type changed to binary, still marked")
	}
	if _, err := p.Value(); !errors.Is(err, ErrPlaceholder) {
		t.Fatalf("placeholder out of range: error %v, want ErrPlaceholder", err)
	}
}

// Args of a decoded packet (parsed without a second scan, the event name
// stepped over) equals Args through the general path, for events and
// acks, text and binary, names of both kinds, whitespace and nesting.
func TestDecodedArgsMatchGeneralPath(t *testing.T) {
	texts := []string{
		`2["echo"]`, `2["echo","hello"]`, `2[ "e\"v" , 1 ,{"a":[1,{"b":null}]} ]`,
		`2[42,"x"]`, `2[-1.5e2]`, `2/admin,7["x",[],{},[[]]]`, `3[]`, `31[1,"2",[3]]`,
		`3/a,0[ ]`, `51-["up",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":0}]]`,
		`62-[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`,
		`2["\u0041\n",true,false,null]`,
	}
	for _, text := range texts {
		for _, v := range []Version{V5, V4} {
			p, err := Decoder{Version: v}.Decode([]byte(text))
			if err != nil {
				t.Fatalf("Decode(%s) %v: %v", text, v, err)
			}
			if p.Type.IsBinary() {
				for range p.Attachments {
					p.Binary = append(p.Binary, []byte{byte(len(p.Binary))})
				}
			}
			got, gotErr := p.Args()
			q := p
			q.built = builtMark{}
			want, wantErr := q.Args()
			if (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) || (got == nil) != (want == nil) {
				t.Fatalf("Args(%s) %v = %#v, %v; general path %#v, %v", text, v, got, gotErr, want, wantErr)
			}
		}
	}
	// Bytes changed in place: the general path and its error.
	b := []byte(`2["echo",[1,2]]`)
	p, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[9:], `[[[[[[`)
	if _, err := p.Args(); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("changed payload: error %v, want ErrInvalidJSON", err)
	}
}
