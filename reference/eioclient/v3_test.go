package eioclient

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
)

// pollSessionV3 opens a v3 polling session with slow timers; the handshake
// also carries a Socket.IO CONNECT, as socket.io 2.x servers send it.
func (s *scriptServer) pollSessionV3(o *Options) *Conn {
	s.t.Helper()
	if o == nil {
		o = &Options{}
	}
	o.Version = engineio.V3
	if o.Transports == nil {
		o.Transports = []string{Polling}
	}
	o.RequestTimeout = 2 * time.Second
	ch := dialAsync(s.URL(), o)
	op := openJSON("SID", o.Transports[1:], 10000, 5000, "")
	s.get().ok(strconv.Itoa(len(op)) + ":" + op + "2:40")
	c, err := s.dialResult(ch)
	if err != nil {
		s.t.Fatalf("Dial: %v", err)
	}
	return c
}

// TestEIO3_03_Payloads: v3 length-prefixed text payloads both ways, lengths
// in UTF-16 units; base64 binary as "b4" (EIO3-04); packets that came with
// the handshake are delivered.
func TestEIO3_03_Payloads(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSessionV3(nil)
	expectMsg(t, c, text("0")) // the "40" after the open packet
	g := s.get()
	sendT(t, c, text("€😀"), engineio.BinaryMessage([]byte{1, 2, 3, 4}))
	p := s.post()
	if string(p.Body) != "4:4€😀10:b4AQIDBA==" {
		t.Fatalf("POST %q", p.Body)
	}
	p.ok("ok")
	g.ok("6:4hello1:610:b4AQIDBA==")
	expectMsg(t, c, text("hello"))
	expectMsg(t, c, engineio.BinaryMessage([]byte{1, 2, 3, 4}))
}

// TestEIO3_05_BinaryPayload: an XHR2 binary payload (octet-stream) is
// decoded.
func TestEIO3_05_BinaryPayload(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSessionV3(nil)
	expectMsg(t, c, text("0"))
	g := s.get()
	g.reply <- pollReply{status: http.StatusOK, ctype: "application/octet-stream",
		body: []byte{0x00, 0x06, 0xFF, '4', 'h', 'e', 'l', 'l', 'o', 0x01, 0x05, 0xFF, 0x04, 1, 2, 3, 4}}
	expectMsg(t, c, text("hello"))
	expectMsg(t, c, engineio.BinaryMessage([]byte{1, 2, 3, 4}))
}

// TestEIO3_12_UpgradeV3: the v3 upgrade uses the same probe sequence; WS
// binary frames carry the 0x04 type byte (EIO3-07).
func TestEIO3_12_UpgradeV3(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSessionV3(&Options{Transports: []string{Polling, WebSocket}})
	expectMsg(t, c, text("0"))
	g := s.get()
	w := s.ws()
	if w.Query.Get("EIO") != "3" || w.Query.Get("sid") != "SID" {
		t.Fatalf("probe query %v", w.Query)
	}
	ws := s.accept(w)
	ws.expectText("2probe")
	ws.sendText("3probe")
	g.ok("1:6")
	s.releaseUntilFrame(ws, "1:6", "5")
	if ev := nextEvent(t, c); ev.Type != EventUpgrade {
		t.Fatalf("event %+v", ev)
	}
	sendT(t, c, engineio.BinaryMessage([]byte{1, 2}))
	if mt, d := ws.read(); mt != websocket.BinaryMessage || d != "\x04\x01\x02" {
		t.Fatalf("frame %d %q", mt, d)
	}
	ws.sendBinary([]byte{4, 9})
	expectMsg(t, c, engineio.BinaryMessage([]byte{9}))
}
