package sioclient

import (
	"bytes"
	"errors"
	"testing"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// FuzzFeed feeds arbitrary server messages into a Manager's packet path
// (decode, route, per-socket state: buffering, acks, CONNECT replies and
// errors, recovery offsets) with sockets in every state. Nothing may panic;
// a decode failure must be a *ParseError. Messages are separated by "\n";
// a message starting with "!" is a binary attachment.
func FuzzFeed(f *testing.F) {
	for _, seed := range []string{
		`0{"sid":"S","pid":"P"}` + "\n" + `2["e",1,"off"]` + "\n" + `3/admin,0[]`,
		`0/admin,{"sid":"A"}` + "\n" + `51-/admin,["b",{"_placeholder":true,"num":0}]` + "\n!\x01\x02",
		`4/admin,{"message":"no","data":[1]}` + "\n" + `4"str"` + "\n" + `1/admin,`,
		`2/late,["x"]` + "\n" + `0/late,{"sid":1}` + "\n" + `0/late,{"sid":"L","pid":7}`,
		`61-0[{"_placeholder":true,"num":0}]` + "\n!x" + "\n" + `29["q"]` + "\n" + `2[42,"x","y"]`,
		`0` + "\n" + `44/admin,null` + "\n" + `4/admin,[1]`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, v4 bool) {
		o := &ManagerOptions{}
		if v4 {
			o.Version = socketio.V4
		}
		m, err := NewManager("http://127.0.0.1:1", o)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var socks []*Socket
		for _, nsp := range []string{"/", "/admin", "/late"} {
			socks = append(socks, m.Socket(nsp, &SocketOptions{KeepRecoveryOffset: nsp == "/admin"}))
		}
		m.mu.Lock()
		for _, s := range socks {
			s.active = s.nsp != "/late"
			s.acks[0] = &pendingAck{id: 0, ch: make(chan ackResult, 1)}
		}
		m.gen = 1
		m.sockets["/late"].ghostGen = 1
		m.mu.Unlock()
		m.Socket("/", nil).On("e", func(msg Message, ack AckFunc) {
			_, _ = msg.Values()
			_, _ = msg.Bytes(0)
			if ack != nil {
				_ = ack("x")
			}
		})
		ra := socketio.Reassembler{Decoder: socketio.Decoder{Version: m.opts.Version}}
		for _, msg := range bytes.Split(data, []byte("\n")) {
			p := engineio.Packet{Type: engineio.Message, Data: msg}
			if len(msg) > 0 && msg[0] == '!' {
				p = engineio.BinaryMessage(msg[1:])
			}
			if err := m.feed(&ra, nil, p); err != nil {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("feed error %T %v", err, err)
				}
				ra.Reset()
			}
		}
	})
}
