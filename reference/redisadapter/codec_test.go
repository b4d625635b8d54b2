package redisadapter

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/siospec/siospec/protocol/socketio"
)

// Vectors: what notepack.io 3.0.1 (the Node adapter's encoder) writes for
// these values, checked by running it: node -e 'console.log(require("notepack.io").encode(V).toString("hex"))'.
var msgpackVectors = []struct {
	name string
	v    any
	hex  string
}{
	{"broadcast message", []any{"abc123", socketio.Object{
		{Key: "type", Value: 2},
		{Key: "data", Value: []any{"ev", 1.0, []byte{1, 2}}},
		{Key: "nsp", Value: "/"},
	}, socketio.Object{
		{Key: "rooms", Value: []any{"r"}},
		{Key: "except", Value: []any{}},
		{Key: "flags", Value: socketio.Object{}},
	}}, "93a6616263313233" + "83a47479706502a46461746193a2657601c4020102a36e7370a12f" + "83a5726f6f6d7391a172a6657863657074" + "90a5666c61677380"},
	{"float", 1.5, "cb3ff8000000000000"},
	{"negative int", -3.0, "fd"},
	{"nil and bool", []any{nil, true, false}, "93c0c3c2"},
}

func TestMsgpackVectors(t *testing.T) {
	for _, tc := range msgpackVectors {
		t.Run(tc.name, func(t *testing.T) {
			b, err := encodeMsgpack(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.hex {
				t.Fatalf("encode = %s, want %s", got, tc.hex)
			}
			want, _ := hex.DecodeString(tc.hex)
			v, err := decodeMsgpack(want)
			if err != nil {
				t.Fatal(err)
			}
			again, err := encodeMsgpack(v)
			if err != nil || !bytes.Equal(again, want) {
				t.Fatalf("round trip: %x, %v", again, err)
			}
		})
	}
}

func TestDecodeMessage(t *testing.T) {
	o, err := decodeMessage([]byte(`{"uid":"u","type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b",1]}`))
	if err != nil {
		t.Fatal(err)
	}
	if getString(o, "uid") != "u" || !reflect.DeepEqual(getStrings(o, "rooms"), []string{"b", "1"}) || !reflect.DeepEqual(getStrings(getObject(o, "opts"), "rooms"), []string{"a"}) {
		t.Fatalf("decoded %v", o)
	}
	for _, bad := range [][]byte{nil, []byte("{"), []byte("[1]"), {0x91}, {0xc1}, {0xdc, 0xff, 0xff}} {
		if _, err := decodeMessage(bad); !errors.Is(err, ErrDecode) {
			t.Errorf("decodeMessage(%x) = %v, want ErrDecode", bad, err)
		}
	}
}

func TestEncodeUnsupported(t *testing.T) {
	if _, err := encodeMsgpack(struct{}{}); !errors.Is(err, ErrEncode) {
		t.Fatalf("err = %v, want ErrEncode", err)
	}
	deep := any("x")
	for range maxDepth + 2 {
		deep = []any{deep}
	}
	if _, err := encodeMsgpack(deep); !errors.Is(err, ErrEncode) {
		t.Fatalf("deep: err = %v, want ErrEncode", err)
	}
}

// FuzzDecode: no input makes the decoders panic.
func FuzzDecode(f *testing.F) {
	for _, tc := range msgpackVectors {
		b, _ := hex.DecodeString(tc.hex)
		f.Add(b)
	}
	f.Add([]byte(`{"type":7,"requestId":"x","packet":{"data":["e"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := decodeMsgpack(b); err == nil {
			_, _ = encodeMsgpack(v)
		}
		_, _ = decodeMessage(b)
	})
}
