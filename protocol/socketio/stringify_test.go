package socketio

import (
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"testing"
)

type inner struct {
	B []byte `json:"b"`
	N int    `json:"n,omitempty"`
}

type Embedded struct {
	E string
	X int `json:"x"`
}

type outer struct {
	Embedded
	Name  string            `json:"name"`
	Skip  string            `json:"-"`
	Opt   string            `json:"opt,omitempty"`
	Zero  netip.Addr        `json:"zero,omitzero"`
	X     int               `json:"x"` // shadows Embedded.X
	Inner *inner            `json:"inner"`
	Nil   *inner            `json:"nil"`
	Raw   json.RawMessage   `json:"raw"`
	M     map[string]any    `json:"m"`
	Tags  map[int]string    `json:"tags"`
	List  []inner           `json:"list"`
	Arr   [2]uint8          `json:"arr"`
	Any   any               `json:"any"`
	Bytes map[string][]byte `json:"bytes"`
}

var pointOne = 0.1 // a variable, so that 0.1+0.2 is computed in float64

// TestAppendJSON checks the JSON.stringify rules of SIO-ENC-08 for Go values.
func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, `null`},
		{"html not escaped", "<script>&</script>", `"<script>&</script>"`},
		{"line separators raw", "a\u2028b\u2029c", "\"a\u2028b\u2029c\""},
		{"utf8 raw", "café 😀 日本", `"café 😀 日本"`},
		{"controls", "\t\n\r\b\f\x00\x1f\x7f\"\\/", `"\t\n\r\b\f\u0000\u001f` + "\x7f" + `\"\\/"`},
		{"invalid utf8", "a\xffb", "\"a\uFFFDb\""},
		{"numbers", []any{0.1, pointOne + 0.2, 1e21, 1e20, -2.25e-7, 5e-324, math.MaxFloat64, 1e-6, 123456789.125},
			`[0.1,0.30000000000000004,1e+21,100000000000000000000,-2.25e-7,5e-324,1.7976931348623157e+308,0.000001,123456789.125]`},
		{"negative zero", math.Copysign(0, -1), `0`},
		{"nan inf", []any{math.NaN(), math.Inf(1), math.Inf(-1)}, `[null,null,null]`},
		{"float32", float32(0.1), `0.1`},
		{"ints", []any{int8(-8), uint64(math.MaxUint64), int64(math.MinInt64)}, `[-8,18446744073709551615,-9223372036854775808]`},
		{"json.Number", json.Number("1.50"), `1.5`},
		{"object order", Object{{"zeta", 1}, {"alpha", Object{{"y", true}, {"b", nil}}}}, `{"zeta":1,"alpha":{"y":true,"b":null}}`},
		{"map keys sorted, array indexes first", map[string]int{"b": 1, "2": 2, "a": 3, "10": 4, "01": 5, "-1": 6},
			`{"2":2,"10":4,"-1":6,"01":5,"a":3,"b":1}`},
		{"int map keys", map[int]bool{10: true, 2: false}, `{"2":false,"10":true}`},
		{"buffer form", []byte{1, 2, 255}, `{"type":"Buffer","data":[1,2,255]}`},
		{"empty slice vs nil slice", []any{[]int{}, []int(nil), map[string]int(nil)}, `[[],null,null]`},
		{"raw message normalised", json.RawMessage(" { \"b\" : \"\\u003c\\u2028\" , \"a\" : 1.0 } "), "{\"b\":\"<\u2028\",\"a\":1}"},
		{"text marshaler", netip.MustParseAddr("127.0.0.1"), `"127.0.0.1"`},
		{"struct", outer{
			Embedded: Embedded{E: "e", X: 9}, Name: "n", Skip: "s", X: 1,
			Inner: &inner{B: []byte{7}}, Raw: json.RawMessage(`[1, 2]`), M: map[string]any{"k": "v"},
			Tags: map[int]string{3: "c"}, List: []inner{{N: 2}}, Arr: [2]uint8{1, 2}, Any: Object{{"z", 1}},
		}, `{"E":"e","name":"n","x":1,"inner":{"b":{"type":"Buffer","data":[7]}},"nil":null,"raw":[1,2],"m":{"k":"v"},"tags":{"3":"c"},"list":[{"b":null,"n":2}],"arr":[1,2],"any":{"z":1},"bytes":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendJSON([]byte("prefix:"), tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix:"+tt.want {
				t.Errorf("got  %s\nwant prefix:%s", got, tt.want)
			}
		})
	}
}

func TestAppendJSONUnsupported(t *testing.T) {
	type cyc struct{ Next *cyc }
	c := &cyc{}
	c.Next = c
	for name, v := range map[string]any{
		"func": func() {}, "chan": make(chan int), "complex": complex(1, 2), "cycle": c,
		"bad marshaler": json.RawMessage(`{`), "bad number": json.Number("x"),
	} {
		if _, err := AppendJSON(nil, v); !errors.Is(err, ErrUnsupportedValue) && !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// TestDeconstruct checks depth-first placeholder numbering (SIO-BIN-01)
// through slices, maps, structs and Object, and the round trip back with
// Reconstruct.
func TestDeconstruct(t *testing.T) {
	b := func(x ...byte) []byte { return x }
	v := []any{
		"deep", b(0),
		Object{{"z", b(1)}, {"a", map[string]any{"k2": b(3), "k1": b(2)}}},
		[][]byte{b(4), b(5)},
		struct {
			P []byte `json:"p"`
			Q inner  `json:"q"`
		}{b(6), inner{B: b(7)}},
	}
	data, bins, err := Deconstruct(v)
	if err != nil {
		t.Fatal(err)
	}
	ph := func(n string) string { return `{"_placeholder":true,"num":` + n + `}` }
	want := `["deep",` + ph("0") + `,{"z":` + ph("1") + `,"a":{"k1":` + ph("2") + `,"k2":` + ph("3") + `}},[` + ph("4") + `,` + ph("5") + `],{"p":` + ph("6") + `,"q":{"b":` + ph("7") + `}}]`
	if string(data) != want {
		t.Fatalf("got  %s\nwant %s", data, want)
	}
	if len(bins) != 8 {
		t.Fatalf("%d attachments", len(bins))
	}
	for i, x := range bins {
		if len(x) != 1 || x[0] != byte(i) {
			t.Errorf("attachment %d = %v", i, x)
		}
	}
	back, err := Reconstruct(data, bins)
	if err != nil {
		t.Fatal(err)
	}
	again, bins2, err := Deconstruct(back)
	if err != nil || string(again) != want || len(bins2) != 8 {
		t.Errorf("round trip: %s %d %v", again, len(bins2), err)
	}
	if _, err := Reconstruct(data, bins[:7]); !errors.Is(err, ErrPlaceholder) {
		t.Errorf("short attachments: %v", err)
	}
}

func TestParseJSON(t *testing.T) {
	v, err := ParseJSON([]byte(` {"b":[1,"\ud83d\ude00\u00e9\ud800x",true,null,{}],"a":false,"b2":-1.5e2,"a":"dup"} `))
	if err != nil {
		t.Fatal(err)
	}
	o := v.(Object)
	if got := o.Keys(); len(got) != 3 || got[0] != "b" || got[1] != "a" || got[2] != "b2" {
		t.Fatalf("keys %v", got)
	}
	if a, _ := o.Get("a"); a != "dup" {
		t.Errorf("duplicate key: last value wins, got %v", a)
	}
	arr, _ := o.Get("b")
	if s := arr.([]any)[1]; s != "😀é\uFFFDx" {
		t.Errorf("string %q", s)
	}
	if n, _ := o.Get("b2"); n != -150.0 {
		t.Errorf("number %v", n)
	}
	if _, err := ParseJSON([]byte(`[1,]`)); !errors.Is(err, ErrInvalidJSON) {
		t.Errorf("invalid: %v", err)
	}
	o.Set("c", 1)
	o.Delete("a")
	if got := o.Keys(); len(got) != 3 || got[1] != "b2" || got[2] != "c" {
		t.Errorf("Set/Delete: %v", got)
	}
}

// TestParseJSONLargeObject covers the indexed path for objects with many
// keys, duplicates included.
func TestParseJSONLargeObject(t *testing.T) {
	src := []byte(`{`)
	for i := 0; i < 40; i++ {
		src = append(src, `"k`+strconv.Itoa(i)+`":`+strconv.Itoa(i)+`,`...)
	}
	src = append(src, `"k3":"dup","k17":"dup2","last":true}`...)
	v, err := ParseJSON(src)
	if err != nil {
		t.Fatal(err)
	}
	o := v.(Object)
	if len(o) != 41 || o[3].Value != "dup" || o[17].Value != "dup2" || o[40].Key != "last" {
		t.Errorf("got %d members: %v %v %v", len(o), o[3], o[17], o[40])
	}
}
