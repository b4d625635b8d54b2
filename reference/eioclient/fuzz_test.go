package eioclient

import (
	"net/url"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// bareConn is a Conn with no network, for feeding server input straight
// into the state machine.
func bareConn(t *testing.T, v engineio.Version) *Conn {
	o, err := (&Options{Version: v, Clock: newFakeClock()}).withDefaults(&url.URL{})
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(o, &url.URL{Scheme: "http", Host: "127.0.0.1:1"})
	c.open = engineio.OpenPacket{SID: "x", PingInterval: time.Hour, PingTimeout: time.Hour, MaxPayload: 100}
	c.active = Polling
	return c
}

// FuzzPollResponse feeds arbitrary poll response bodies to the client: it
// must never panic, and must end either open or closed with a known reason.
func FuzzPollResponse(f *testing.F) {
	for _, s := range []string{"4hello", "2", "1", "6\x1e4a", "bAQID", "abc", "", "\x1e", "4a\x1e1\x1e4b",
		"6:4hello", "1:1", "10:b4AQIDBA==", "0:", "x:", "\x00\x06\xff4hello", "\x01\x05\xff\x04\x01\x02\x03\x04"} {
		f.Add(false, false, []byte(s))
		f.Add(true, false, []byte(s))
		f.Add(true, true, []byte(s))
	}
	f.Fuzz(func(t *testing.T, v3, binary bool, body []byte) {
		v := engineio.V4
		if v3 {
			v = engineio.V3
		}
		c := bareConn(t, v)
		c.st.getting = true
		c.onGet(getResult{status: 200, binary: binary, body: body})
		c.onFrame(wsFrame{}) // not the active WebSocket: ignored
		if err := c.Err(); err != nil {
			switch err.(*CloseError).Reason {
			case ReasonParseError, ReasonTransportClose:
			default:
				t.Fatalf("unexpected close %v", err)
			}
		} else {
			c.teardown(ReasonForcedClose, nil)
		}
		for range c.Events() {
		}
	})
}
