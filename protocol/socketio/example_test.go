package socketio_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/siospec/siospec/protocol/socketio"
)

func ExampleNewEvent() {
	p, err := socketio.NewEvent("/admin", "upload", "report.pdf", []byte{1, 2, 3})
	if err != nil {
		panic(err)
	}
	text, attachments, err := socketio.Encode(p.WithID(0))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s + %d attachment(s)\n", text, len(attachments))
	// Output: 51-/admin,0["upload","report.pdf",{"_placeholder":true,"num":0}] + 1 attachment(s)
}

func ExampleDecode() {
	p, err := socketio.Decode([]byte(`2/admin,13["chat",{"text":"hi"}]`))
	if err != nil {
		panic(err)
	}
	name, _ := p.EventName()
	fmt.Println(p.Type, p.Nsp, p.ID, p.HasID, name)
	fmt.Println(p)

	_, err = socketio.Decode([]byte(`2["disconnect"]`))
	var de *socketio.DecodeError
	fmt.Println(errors.Is(err, socketio.ErrReservedEvent), errors.As(err, &de) && de.Offset == 2)
	// Output:
	// EVENT /admin 13 true chat
	// EVENT /admin id=13 ["chat",{"text":"hi"}]
	// true true
}

func ExampleReassembler() {
	var r socketio.Reassembler
	for _, msg := range []struct {
		binary bool
		data   string
	}{
		{false, `52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`},
		{true, "\x01\x02\x03"},
		{true, "\x04\x05\x06"},
	} {
		var p socketio.Packet
		var done bool
		var err error
		if msg.binary {
			p, done, err = r.AddBinary([]byte(msg.data))
		} else {
			p, done, err = r.AddText([]byte(msg.data))
		}
		if err != nil {
			panic(err)
		}
		if done {
			args, _ := p.Args()
			fmt.Println(p.Type, args)
		}
	}
	// Output: BINARY_EVENT [[1 2 3] [4 5 6]]
}

func ExampleEncoder_allowIllegal() {
	p := socketio.Packet{Type: socketio.Event, Data: []byte(`["message-with-ack",1]`), Raw: &socketio.RawHeader{ID: "abc"}}
	_, err := socketio.AppendPacket(nil, p)
	fmt.Println(errors.Is(err, socketio.ErrIllegal))
	b, _ := socketio.Encoder{AllowIllegal: true}.AppendPacket(nil, p)
	fmt.Printf("%s\n", b)
	// Output:
	// true
	// 2abc["message-with-ack",1]
}

func ExampleEncoder_v4() {
	enc := socketio.Encoder{Version: socketio.V4}
	b, _ := enc.AppendPacket(nil, socketio.Packet{Type: socketio.Connect, Nsp: "/admin", Query: "token=abc"})
	fmt.Printf("%s\n", b)
	e, _ := socketio.NewPacket(socketio.ConnectError, "/admin", "Not authorized")
	b, _ = enc.AppendPacket(nil, e)
	fmt.Printf("%s %s\n", e.Type.Name(socketio.V4), b)
	// Output:
	// 0/admin?token=abc,
	// ERROR 4/admin,"Not authorized"
}

func ExampleAppendJSON() {
	b, _ := socketio.AppendJSON(nil, socketio.Object{
		{Key: "z", Value: "<b>&\u2028"},
		{Key: "a", Value: []any{1e21, 0.1, math.Copysign(0, -1), 1.5e-7}},
	})
	fmt.Printf("%q\n", b)
	// Output: "{\"z\":\"<b>&\u2028\",\"a\":[1e+21,0.1,0,1.5e-7]}"
}

// AppendEvent writes an event from Go values straight into a buffer, here
// a binary event with an ack id whose attachment goes out separately.
func ExampleEncoder_AppendEvent() {
	buf := make([]byte, 0, 512) // reuse it for every packet
	buf, bins, err := socketio.Encoder{}.AppendEvent(buf[:0], "/admin", 7, "upload", "a.bin", []byte{1, 2})
	fmt.Printf("%s %d %v\n", buf, len(bins), err)
	// Output: 51-/admin,7["upload","a.bin",{"_placeholder":true,"num":0}] 1 <nil>
}
