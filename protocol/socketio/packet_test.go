package socketio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// encoder returns a function that encodes the result of a builder call.
func encoder(t *testing.T) func(Packet, error) (string, [][]byte) {
	return func(p Packet, err error) (string, [][]byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		text, bins, err := Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(text), bins
	}
}

func TestPacketTypeNames(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"}
	for i, w := range want {
		if got := PacketType(i).String(); got != w {
			t.Errorf("%d: %s", i, got)
		}
	}
	if ConnectError.Name(V4) != "ERROR" || ConnectError.Name(V5) != "CONNECT_ERROR" || Event.Name(V4) != "EVENT" {
		t.Error("Name by version")
	}
	if PacketType(9).String() != "PacketType(9)" || PacketType(9).Valid() {
		t.Error("unknown type")
	}
}

// TestBuilders covers the helpers that build common packets from Go values.
func TestBuilders(t *testing.T) {
	mustEncode := encoder(t)
	text, bins := mustEncode(NewEvent("/", "message", 1, "2", map[string]any{"3": []bool{true}}))
	if text != `2["message",1,"2",{"3":[true]}]` || bins != nil {
		t.Errorf("event: %s", text)
	}
	p, err := NewEvent("/admin", "q")
	text, _ = mustEncode(p.WithID(0), err)
	if text != `2/admin,0["q"]` {
		t.Errorf("event with id 0: %s", text)
	}
	p, err = NewEvent("", "message", []byte{1, 2, 3}, []byte{4, 5, 6})
	text, bins = mustEncode(p.WithID(789), err)
	if text != `52-789["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]` || len(bins) != 2 || !bytes.Equal(bins[1], []byte{4, 5, 6}) {
		t.Errorf("binary event: %s %v", text, bins)
	}
	text, _ = mustEncode(NewAck("/", 456, 1, "2"))
	if text != `3456[1,"2"]` {
		t.Errorf("ack: %s", text)
	}
	text, _ = mustEncode(NewAck("/x", 0))
	if text != `3/x,0[]` {
		t.Errorf("empty ack: %s", text)
	}
	text, bins = mustEncode(NewAck("/", 1, Object{{"f", []byte{9}}}))
	if text != `61-1[{"f":{"_placeholder":true,"num":0}}]` || len(bins) != 1 {
		t.Errorf("binary ack: %s", text)
	}
	text, _ = mustEncode(NewConnect("/admin", Object{{"token", "abc"}}))
	if text != `0/admin,{"token":"abc"}` {
		t.Errorf("connect: %s", text)
	}
	text, _ = mustEncode(NewConnect("/", nil))
	if text != `0` {
		t.Errorf("connect without auth: %s", text)
	}
	text, _ = mustEncode(NewConnect("/", map[string][]byte{"k": {1}}))
	if text != `0{"k":{"type":"Buffer","data":[1]}}` {
		t.Errorf("connect with Buffer: %s", text)
	}
	text, _ = mustEncode(NewConnectError("/random", "Invalid namespace", nil))
	if text != `4/random,{"message":"Invalid namespace"}` {
		t.Errorf("connect error: %s", text)
	}
	text, _ = mustEncode(NewConnectError("/", "Not authorized", Object{{"code", 401}}))
	if text != `4{"message":"Not authorized","data":{"code":401}}` {
		t.Errorf("connect error with data: %s", text)
	}
	text, _ = mustEncode(NewDisconnect("/admin"), nil)
	if text != `1/admin,` {
		t.Errorf("disconnect: %s", text)
	}
	// A reserved name builds, but a strict encoder refuses it.
	p, err = NewEvent("/", "disconnect")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AppendPacket(nil, p); !errors.Is(err, ErrReservedEvent) || !errors.Is(err, ErrPayload) {
		t.Errorf("reserved: %v", err)
	}
	if _, err := NewEvent("/", "x", func() {}); !errors.Is(err, ErrUnsupportedValue) {
		t.Errorf("func arg: %v", err)
	}
}

// TestPacketValues covers Value, Args, EventName, Unmarshal and SID.
func TestPacketValues(t *testing.T) {
	var r Reassembler
	if _, done, err := r.AddText([]byte(`52-7["m",{"a":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0},"x"]`)); done || err != nil {
		t.Fatal(done, err)
	}
	if r.Waiting() != 2 {
		t.Fatalf("waiting %d", r.Waiting())
	}
	r.AddBinary([]byte{1})
	p, done, err := r.AddBinary([]byte{2, 2})
	if !done || err != nil {
		t.Fatal(done, err)
	}
	if name, err := p.EventName(); name != "m" || err != nil {
		t.Errorf("name %q %v", name, err)
	}
	args, err := p.Args()
	if err != nil || len(args) != 3 {
		t.Fatal(args, err)
	}
	if a, _ := args[0].(Object).Get("a"); !bytes.Equal(a.([]byte), []byte{2, 2}) {
		t.Errorf("nested attachment %v", a)
	}
	if !bytes.Equal(args[1].([]byte), []byte{1}) || args[2] != "x" {
		t.Errorf("args %v", args)
	}
	var typed []struct {
		A []byte `json:"a"`
	}
	var rest []any
	if err := p.Unmarshal(&rest); err != nil || len(rest) != 4 {
		t.Fatalf("Unmarshal []any: %v %v", rest, err)
	}
	q := p
	q.Data = []byte(`[{"a":{"_placeholder":true,"num":1}}]`)
	q.Type = BinaryAck
	if err := q.Unmarshal(&typed); err != nil || !bytes.Equal(typed[0].A, []byte{2, 2}) {
		t.Errorf("Unmarshal typed: %v %v", typed, err)
	}
	var generic any
	if err := p.Unmarshal(&generic); err != nil || !bytes.Equal(generic.([]any)[2].([]byte), []byte{1}) {
		t.Errorf("Unmarshal any: %v %v", generic, err)
	}
	header, _ := Decode([]byte(`51-["m",{"_placeholder":true,"num":0}]`))
	if _, err := header.Value(); !errors.Is(err, ErrIncomplete) {
		t.Errorf("incomplete: %v", err)
	}
	num, _ := Decode([]byte(`2[42,"x"]`))
	if name, _ := num.EventName(); name != "42" {
		t.Errorf("numeric name %q", name)
	}
	plain, _ := Decode([]byte(`2["m",{"_placeholder":true,"num":0}]`))
	if v, _ := plain.Value(); v.([]any)[1].(Object)[0].Key != "_placeholder" {
		t.Errorf("SIO-BIN-12: placeholder substituted in a plain event: %v", v)
	}
	reply, _ := Decode([]byte(`0/admin,{"sid":"abc"}`))
	if sid, ok := reply.SID(); sid != "abc" || !ok {
		t.Errorf("sid %q %v", sid, ok)
	}
	v4reply, _ := Decode([]byte(`0/admin,`))
	if _, ok := v4reply.SID(); ok {
		t.Error("SIO-CONN-12: reply without sid reported one")
	}
}

func TestPacketString(t *testing.T) {
	p, _ := NewEvent("/admin", "x", 1, []byte{1, 2, 3})
	got := p.WithID(13).String()
	want := `BINARY_EVENT /admin id=13 attachments=1 ["x",1,{"_placeholder":true,"num":0}] binary=[3 B]`
	if got != want || p.GomegaString() != p.String() {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	long, _ := NewEvent("/", strings.Repeat("é", 200))
	if s := long.String(); !strings.HasSuffix(s, "…(404 bytes)") || len(s) > 300 {
		t.Errorf("long: %s", s)
	}
	q := Packet{Type: Connect, Nsp: "/a", Query: "t=1"}
	if q.String() != "CONNECT /a?t=1" {
		t.Errorf("query: %s", q.String())
	}
}

// TestReassembler covers SIO-BIN-02/03/04 state handling.
func TestReassembler(t *testing.T) {
	var r Reassembler
	if _, _, err := r.AddBinary([]byte{1}); !errors.Is(err, ErrUnexpectedBinary) {
		t.Fatalf("stray binary: %v", err)
	}
	p, done, err := r.AddText([]byte(`2["x"]`))
	if !done || err != nil || p.Type != Event {
		t.Fatal(p, done, err)
	}
	if _, done, _ := r.AddText([]byte(`51-["e",{"_placeholder":true,"num":0}]`)); done {
		t.Fatal("header reported complete")
	}
	if _, _, err := r.AddText([]byte(`2["x"]`)); !errors.Is(err, ErrUnexpectedText) {
		t.Fatalf("text during reassembly: %v", err)
	}
	if r.Waiting() != 0 {
		t.Fatal("pending packet kept after an error")
	}
	// A decode error leaves no pending state either.
	if _, _, err := r.AddText([]byte(`5x-`)); !errors.Is(err, ErrAttachments) {
		t.Fatal(err)
	}
	if _, _, err := r.AddBinary(nil); !errors.Is(err, ErrUnexpectedBinary) {
		t.Fatal(err)
	}
	// Zero attachments (where allowed) completes at once.
	r.Decoder.AllowZeroAttachments = true
	p, done, err = r.AddText([]byte(`50-["e"]`))
	if !done || err != nil || p.Binary == nil {
		t.Fatal(p, done, err)
	}
	r.AddText([]byte(`51-["e",{"_placeholder":true,"num":0}]`))
	r.Reset()
	if r.Waiting() != 0 {
		t.Fatal("Reset")
	}
}

func TestDecodeErrorText(t *testing.T) {
	_, err := Decode([]byte(`2abc["x"]`))
	if err == nil || err.Error() != `socketio: invalid ack id at byte 1: ack id must be decimal digits, found 'a'` {
		t.Errorf("%v", err)
	}
	var de *DecodeError
	if !errors.As(err, &de) || de.Offset != 1 || de.Err != ErrAckID {
		t.Errorf("%#v", de)
	}
	if errors.Is(err, ErrPayload) {
		t.Error("ErrAckID must not match ErrPayload")
	}
}

// TestDecodeAllocs: decoding a small event in the main namespace allocates
// nothing; in a custom namespace, only the namespace string.
func TestDecodeAllocs(t *testing.T) {
	main := []byte(`2["message",1,"2",{"3":[true]}]`)
	custom := []byte(`2/admin,13["message",1,"2",{"3":[true]}]`)
	bin := []byte(`52-789["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	var d Decoder
	for _, tc := range []struct {
		b    []byte
		want float64
	}{{main, 0}, {custom, 1}, {bin, 0}} {
		if n := testing.AllocsPerRun(100, func() { d.Decode(tc.b) }); n > tc.want {
			t.Errorf("%s: %v allocs, want <= %v", tc.b, n, tc.want)
		}
	}
	p, _ := NewEvent("/", "message", 1, "2")
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { AppendPacket(buf[:0], p) }); n > 0 {
		t.Errorf("AppendPacket: %v allocs", n)
	}
}

func TestPacketEqualClone(t *testing.T) {
	in := []byte(`51-/a,3["m",{"_placeholder":true,"num":0}]`)
	var r Reassembler
	r.AddText(in)
	att := []byte{1, 2}
	p, _, _ := r.AddBinary(att)
	c := p.Clone()
	if !c.Equal(p) || !p.Equal(c) {
		t.Fatal("clone differs")
	}
	in[len(in)-2] = 'X'
	att[0] = 9
	if c.Equal(p) {
		t.Fatal("clone shares memory with the input")
	}
	base := Packet{Type: Event, Data: []byte(`["x"]`)}
	for name, q := range map[string]Packet{
		"type": {Type: Ack, Data: []byte(`["x"]`)}, "nsp": {Type: Event, Nsp: "/b", Data: []byte(`["x"]`)},
		"id": base.WithID(0), "data": {Type: Event, Data: []byte(`["y"]`)}, "no data": {Type: Event},
	} {
		if base.Equal(q) {
			t.Errorf("%s: equal", name)
		}
	}
	if !base.Equal(Packet{Type: Event, Nsp: "/", Data: []byte(`["x"]`)}) {
		t.Error(`"" and "/" differ`)
	}
}
