package socketio

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// plainJSONPrefixRef is the byte-by-byte definition plainJSONPrefix must
// match: the longest valid UTF-8 prefix without '"', '\\' or control
// characters.
func plainJSONPrefixRef(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == '"' || c == '\\' {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(s)
}

// TestPlainJSONPrefix compares the eight-bytes-at-a-time scan with the
// byte-by-byte definition: every one- and two-byte string at every offset
// of an ASCII run, and random strings built from a small alphabet of
// interesting bytes.
func TestPlainJSONPrefix(t *testing.T) {
	check := func(s string) {
		t.Helper()
		if got, want := plainJSONPrefix(s), plainJSONPrefixRef(s); got != want {
			t.Fatalf("plainJSONPrefix(%q) = %d, want %d", s, got, want)
		}
		if got, want := plainJSONPrefix([]byte(s)), plainJSONPrefixRef(s); got != want {
			t.Fatalf("plainJSONPrefix([]byte(%q)) = %d, want %d", s, got, want)
		}
	}
	pad := "abcdefghijklmnop"
	for a := range 256 {
		for off := range 10 {
			check(pad[:off] + string(rune(a)) + pad[off:])
			check(pad[:off] + string([]byte{byte(a)}) + pad[off:])
			for b := 0; b < 256; b += 5 {
				check(pad[:off] + string([]byte{byte(a), byte(b)}) + pad[:3])
			}
		}
	}
	pieces := []string{"a", "bcdefgh", "\"", "\\", "\n", "\x00", "\x1f", " ", "\x7f", "é", "€", "😀",
		"\xe2\x82", "\xf0\x9f", "\x80", "\xff", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xef\xbf\xbf", "\xe0\xa0\x80"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		check(b.String())
	}
}

// TestAppendJSStringFastPath checks the run-copying string writer against
// the byte-by-byte one on the same random strings.
func TestAppendJSStringFastPath(t *testing.T) {
	pieces := []string{"abcdefgh", "x", "\"", "\\", "\n", "\t", "\x01", "\x7f", "€", "😀", "\xff", "\xe2\x82", "\u2028"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(30) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		want := appendJSStringSlow([]byte{'"'}, s)
		if got := appendJSString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSString(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestBuiltPayloadCheck checks that a strict Encoder decides the same for a
// packet NewPacket built (whose JSON it does not scan again) as for the
// same packet with Data replaced by a copy (scanned in full), also after the
// caller changes the type or the attachment count, in both versions.
func TestBuiltPayloadCheck(t *testing.T) {
	bin := []byte{1, 2}
	values := []any{
		[]any{"chat", "hello"},
		[]any{"connect"},            // reserved in v5 (SIO-EVT-03)
		[]any{"disconnect", 1},      // reserved
		[]any{"dis\u0063onnect"},    // same name
		[]any{"say \"hi\"\n", "€😀"}, // escapes in the name
		[]any{42, true},
		[]any{[]any{1}, "x"}, // event name is an array
		[]any{},
		[]any{"up", bin, Object{{"k", []any{bin, bin}}}},
		[]any{"fake", Object{{"_placeholder", true}, {"num", 3}}, bin}, // a caller's own placeholder
		Object{{"token", "abc"}},
		Object{{"message", "no"}, {"data", nil}},
		"text",
		3.5,
		[]any{nil},
		map[string]any{"b": 1, "a": []byte("x")},
	}
	types := []PacketType{Connect, Disconnect, Event, Ack, ConnectError, BinaryEvent, BinaryAck}
	encoders := []Encoder{{}, {Version: V4}, {MaxAttachments: 2}}
	n := 0
	for _, v := range values {
		for _, typ := range types {
			p, err := NewPacket(typ, "/x", v)
			if err != nil {
				continue
			}
			variants := []Packet{p}
			q := p
			q.Attachments++
			variants = append(variants, q)
			if p.Attachments > 0 {
				q = p
				q.Attachments--
				q.Binary = q.Binary[:q.Attachments]
				variants = append(variants, q)
			}
			for _, t2 := range types {
				q = p
				q.Type = t2
				variants = append(variants, q)
			}
			for _, pv := range variants {
				// A caller's own "_placeholder" key is never vouched for.
				wantMark := pv.Data != nil && !bytes.Contains(pv.Data, []byte(`"fake"`))
				if pv.trusted() != wantMark {
					t.Fatalf("%v: marked %v, want %v", pv, pv.trusted(), wantMark)
				}
				scanned := pv
				scanned.Data = bytes.Clone(pv.Data)
				if scanned.Data != nil && scanned.trusted() {
					t.Fatal("a copied payload is still marked")
				}
				for _, e := range encoders {
					errFast, errFull := e.Check(pv), e.Check(scanned)
					if (errFast == nil) != (errFull == nil) || (errFast != nil && errFast.Error() != errFull.Error()) {
						t.Fatalf("%+v Check(%v): marked %v, scanned %v", e, pv, errFast, errFull)
					}
					if errFast != nil {
						var ee *EncodeError
						if !errors.As(errFast, &ee) {
							t.Fatalf("error %T", errFast)
						}
					}
					n++
				}
			}
		}
	}
	t.Logf("%d comparisons", n)
}

// TestBuiltMarkFollowsData checks that the mark vouches only for the slice
// NewPacket wrote: a new Data of the same length is scanned again, and Clone
// moves the mark to its copy.
func TestBuiltMarkFollowsData(t *testing.T) {
	p, err := NewEvent("/", "chat", "hi")
	if err != nil {
		t.Fatal(err)
	}
	bad := p
	bad.Data = []byte(`["chat","h\x01"]`)[:len(p.Data)]
	if bad.trusted() {
		t.Fatal("new Data is marked")
	}
	if err := (Encoder{}).Check(bad); !errors.Is(err, ErrInvalidJSON) {
		t.Fatalf("Check(%q) = %v, want ErrInvalidJSON", bad.Data, err)
	}
	c := p.WithID(7).Clone()
	if !c.trusted() || &c.Data[0] == &p.Data[0] {
		t.Fatal("Clone did not move the mark to its copy")
	}
	if !c.Equal(p.WithID(7)) {
		t.Fatal("clone differs")
	}
}

// TestNewEvent64KAllocs pins the allocations of building and encoding a
// 64 KiB event into a reused buffer: the argument list and the payload.
func TestNewEvent64KAllocs(t *testing.T) {
	buf := make([]byte, 0, 70<<10)
	allocs := testing.AllocsPerRun(20, func() {
		p, err := NewEvent("/", "blob", benchBigText)
		if err != nil {
			t.Fatal(err)
		}
		if buf, err = AppendPacket(buf[:0], p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2 {
		t.Fatalf("%v allocations, want at most 2", allocs)
	}
}

// TestNewEventSameAsNewPacket checks that NewEvent, which writes the
// argument list without building a []any, gives NewPacket's packet.
func TestNewEventSameAsNewPacket(t *testing.T) {
	for _, args := range [][]any{nil, {1}, {"a\"b", []byte{1}, Object{{"x", []byte{2}}}}, {nil, 1.5, "€"}} {
		got, err := NewEvent("/n", "ev\n", args...)
		if err != nil {
			t.Fatal(err)
		}
		want, err := NewPacket(Event, "/n", append([]any{"ev\n"}, args...))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Fatalf("NewEvent = %v, NewPacket = %v", got, want)
		}
	}
	if _, err := NewEvent("/", "x", make(chan int)); !errors.Is(err, ErrUnsupportedValue) {
		t.Fatalf("NewEvent(chan) = %v, want ErrUnsupportedValue", err)
	}
}

// TestAppendEvent checks that AppendEvent writes what Encode writes for
// NewEvent (plus WithID), attachments included, for every encoder setting,
// and refuses what it refuses.
func TestAppendEvent(t *testing.T) {
	bin := []byte{1, 2, 3}
	argSets := [][]any{
		nil,
		{"hello, world"},
		{1, "2", Object{{"3", []any{true}}}},
		{benchBigText[:1000]},
		{bin},
		{"a.bin", bin, Object{{"parts", [][]byte{bin, bin}}}, bin},
		{Object{{"_placeholder", true}, {"num", 0}}, bin},  // a caller's placeholder, valid for 1 attachment
		{Object{{"_placeholder", true}, {"num", 5}}, bin},  // and one that is not
		{Object{{"_placeholder", true}, {"num", 5}}, "no"}, // plain EVENT: not a placeholder at all
		{bin, bin, bin, bin, bin, bin, bin, bin, bin, bin, bin},
		{make(chan int)},
	}
	names := []string{"chat", "connect", "é\"\n", ""}
	nsps := []string{"", "/", "/admin", "/café,x", "admin", "/" + strings.Repeat("n", 70)}
	ids := []int64{NoAck, 0, 13, MaxAckID, MaxAckID + 1}
	encoders := []Encoder{{}, {Version: V4}, {AllowIllegal: true}, {MaxAttachments: 2}, {MaxSize: 40}}
	n := 0
	for _, args := range argSets {
		for _, name := range names {
			for _, nsp := range nsps {
				for _, id := range ids {
					for _, e := range encoders {
						var want []byte
						var wantBins [][]byte
						p, err := NewEvent(nsp, name, args...)
						if err == nil {
							if id != NoAck {
								p = p.WithID(uint64(id))
							}
							want, wantBins, err = e.Encode(p)
						}
						got, bins, gotErr := e.AppendEvent([]byte("prefix"), nsp, id, name, args...)
						if (err == nil) != (gotErr == nil) {
							t.Fatalf("%+v AppendEvent(%q, %d, %q, %v): error %v, Encode(NewEvent) error %v", e, nsp, id, name, args, gotErr, err)
						}
						n++
						sameAsEncode(t, fmt.Sprintf("%+v AppendEvent(%q, %d, %q, %v)", e, nsp, id, name, args), got, bins, gotErr, want, wantBins, err)
					}
				}
			}
		}
	}
	t.Logf("%d comparisons", n)
}

// sameAsEncode fails the test unless an Append* call (call names it) that
// wrote got and bins after "prefix" agrees with Encode's want and
// wantBins: on an error (err from Encode), an *EncodeError and dst left
// at "prefix"; otherwise the same bytes and attachments.
func sameAsEncode(t *testing.T, call string, got []byte, bins [][]byte, gotErr error, want []byte, wantBins [][]byte, err error) {
	t.Helper()
	if err != nil {
		var ee *EncodeError
		if !errors.As(gotErr, &ee) || string(got) != "prefix" {
			t.Fatalf("%s error %T %v, dst %q", call, gotErr, gotErr, got)
		}
		return
	}
	if string(got) != "prefix"+string(want) {
		t.Fatalf("%s =\n %q, want\n %q", call, got, "prefix"+string(want))
	}
	if len(bins) != len(wantBins) {
		t.Fatalf("%s: %d attachments, want %d", call, len(bins), len(wantBins))
	}
	for i := range bins {
		if !bytes.Equal(bins[i], wantBins[i]) {
			t.Fatalf("%s: attachment %d differs", call, i)
		}
	}
}

// TestAppendAck checks that AppendAck writes what Encode writes for
// NewAck, attachments included, for every encoder setting, and refuses
// what it refuses.
func TestAppendAck(t *testing.T) {
	bin := []byte{1, 2, 3}
	argSets := [][]any{
		nil,
		{},
		{"hello, world"},
		{1, "2", Object{{"3", []any{true}}}},
		{bin},
		{"a.bin", bin, Object{{"parts", [][]byte{bin, bin}}}, bin},
		{Object{{"_placeholder", true}, {"num", 0}}, bin},
		{Object{{"_placeholder", true}, {"num", 5}}, bin},
		{Object{{"_placeholder", true}, {"num", 5}}, "no"},
		{bin, bin, bin, bin, bin, bin, bin, bin, bin, bin, bin},
		{make(chan int)},
	}
	nsps := []string{"", "/", "/admin", "/café,x", "admin"}
	ids := []uint64{0, 13, MaxAckID, MaxAckID + 1}
	encoders := []Encoder{{}, {Version: V4}, {AllowIllegal: true}, {MaxAttachments: 2}, {MaxSize: 20}}
	n := 0
	for _, args := range argSets {
		for _, nsp := range nsps {
			for _, id := range ids {
				for _, e := range encoders {
					var want []byte
					var wantBins [][]byte
					p, err := NewAck(nsp, id, args...)
					if err == nil {
						want, wantBins, err = e.Encode(p)
					}
					got, bins, gotErr := e.AppendAck([]byte("prefix"), nsp, id, args...)
					if (err == nil) != (gotErr == nil) {
						t.Fatalf("%+v AppendAck(%q, %d, %v): error %v, Encode(NewAck) error %v", e, nsp, id, args, gotErr, err)
					}
					n++
					sameAsEncode(t, fmt.Sprintf("%+v AppendAck(%q, %d, %v)", e, nsp, id, args), got, bins, gotErr, want, wantBins, err)
				}
			}
		}
	}
	t.Logf("%d comparisons", n)
}

// TestAppendEventAllocs pins the one-pass promise: a text event appended to
// a buffer with room allocates nothing (the 64 KiB string included).
func TestAppendEventAllocs(t *testing.T) {
	buf := make([]byte, 0, 70<<10)
	args := []any{benchBigText}
	allocs := testing.AllocsPerRun(20, func() {
		var err error
		if buf, _, err = (Encoder{}).AppendEvent(buf[:0], "/", NoAck, "blob", args...); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations, want 0", allocs)
	}
}
