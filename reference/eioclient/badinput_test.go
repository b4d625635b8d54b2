package eioclient

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// Bad input from the server: each case ends in a clear error or a clean
// close, never a panic, a hang or a leaked goroutine (goleak in TestMain).

func TestBadInputPolling(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		reason string
		is     error
	}{
		{"garbage", "abc", ReasonParseError, engineio.ErrUnknownType},
		{"unknown type", "9x", ReasonParseError, engineio.ErrUnknownType},
		{"unknown type after a message", "4ok\x1e8x", ReasonParseError, engineio.ErrUnknownType},
		{"bad base64", "b!!!", ReasonParseError, engineio.ErrBadBase64},
		{"empty body", "", ReasonParseError, engineio.ErrEmptyPayload},
		{"empty segment", "4a\x1e\x1e4b", ReasonParseError, engineio.ErrEmptyPacket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScriptServer(t)
			c := s.pollSession(nil, open4())
			s.get().ok(tc.body)
			ce := waitClosed(t, c)
			var de *engineio.DecodeError
			if ce.Reason != tc.reason || !errors.Is(ce, tc.is) || !errors.As(ce, &de) {
				t.Fatalf("close %v", ce)
			}
			if strings.HasPrefix(tc.body, "4ok") {
				expectMsg(t, c, text("ok")) // packets before the error are delivered
			}
		})
	}
}

func TestBadInputTruncatedResponse(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	s.get().rawReply("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4hel")
	ce := waitClosed(t, c)
	var te *TransportError
	if ce.Reason != ReasonTransportError || !errors.As(ce, &te) || te.Op != OpPoll {
		t.Fatalf("close %v", ce)
	}
}

func TestBadInputConnectionDropped(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(nil, open4())
	// Go's transport retries an idempotent request once when a reused
	// connection closes before any response byte; drop the retry too.
	s.get().rawReply("")
	for i := 0; i < 2; i++ {
		select {
		case r := <-s.reqs:
			r.rawReply("")
		case <-c.Done():
		case <-time.After(wait):
			t.Fatal("session still open")
		}
	}
	if ce := waitClosed(t, c); ce.Reason != ReasonTransportError {
		t.Fatalf("close %v", ce)
	}
}

// TestBadInputHugeBody: a body above MaxResponseBytes is refused, one at
// the limit accepted (EIO-LIMIT-05: bodies are not bounded by maxPayload).
func TestBadInputHugeBody(t *testing.T) {
	s := newScriptServer(t)
	c := s.pollSession(&Options{MaxResponseBytes: 1 << 16}, openJSON("SID", nil, 10000, 5000, `"maxPayload":100`))
	big := strings.Repeat("x", 1<<16-1)
	s.get().ok("4" + big)
	expectMsg(t, c, text(big))
	s.get().ok("4" + big + "x")
	ce := waitClosed(t, c)
	if ce.Reason != ReasonTransportError || !errors.Is(ce, ErrResponseTooLarge) {
		t.Fatalf("close %v", ce)
	}
}

func TestBadInputHugeWebSocketMessage(t *testing.T) {
	s := newScriptServer(t)
	c, ws, _ := s.wsSession(&Options{MaxResponseBytes: 1024}, open4())
	ws.sendText("4" + strings.Repeat("y", 2000))
	ce := waitClosed(t, c)
	var te *TransportError
	if ce.Reason != ReasonTransportError || !errors.As(ce, &te) || te.Op != OpWebSocket || !errors.Is(ce, ErrResponseTooLarge) {
		t.Fatalf("close %v", ce)
	}
}

func TestBadInputWebSocketFrames(t *testing.T) {
	for _, frame := range []string{"abc", "9", ""} {
		t.Run(strconv.Quote(frame), func(t *testing.T) {
			s := newScriptServer(t)
			c, ws, _ := s.wsSession(nil, open4())
			ws.sendText(frame)
			if ce := waitClosed(t, c); ce.Reason != ReasonParseError {
				t.Fatalf("close %v", ce)
			}
		})
	}
}

// TestBadInputStalledRequests: a server that stops answering is caught by
// the heartbeat (GET) or the request timeout (POST, handshake).
func TestBadInputStalledRequests(t *testing.T) {
	t.Run("GET stalls", func(t *testing.T) {
		s := newScriptServer(t)
		c := s.pollSession(nil, openJSON("SID", nil, 300, 200, ""))
		s.get() // never answered
		if ce := waitClosed(t, c); ce.Reason != ReasonPingTimeout {
			t.Fatalf("close %v", ce)
		}
	})
	t.Run("POST stalls", func(t *testing.T) {
		s := newScriptServer(t)
		c := s.pollSession(&Options{RequestTimeout: 200 * time.Millisecond}, open4())
		s.get()
		sendT(t, c, text("x"))
		s.post() // never answered
		ce := waitClosed(t, c)
		var te *TransportError
		if ce.Reason != ReasonTransportError || !errors.As(ce, &te) || te.Op != OpPost {
			t.Fatalf("close %v", ce)
		}
	})
	t.Run("handshake stalls", func(t *testing.T) {
		s := newScriptServer(t)
		ch := dialAsync(s.URL(), &Options{Transports: []string{Polling}, RequestTimeout: 200 * time.Millisecond})
		s.get()
		_, err := s.dialResult(ch)
		var he *HandshakeError
		if !errors.As(err, &he) || he.Status != 0 {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("WebSocket open packet never sent", func(t *testing.T) {
		s := newScriptServer(t)
		ch := dialAsync(s.URL(), &Options{Transports: []string{WebSocket}, RequestTimeout: 200 * time.Millisecond})
		s.accept(s.ws())
		_, err := s.dialResult(ch)
		var he *HandshakeError
		if !errors.As(err, &he) || he.Status != http.StatusSwitchingProtocols {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("graceful close unanswered", func(t *testing.T) {
		s := newScriptServer(t)
		c := s.pollSession(&Options{RequestTimeout: 200 * time.Millisecond}, open4())
		s.get()
		done := make(chan error, 1)
		go func() { done <- c.Close() }()
		s.post() // the close POST, never answered
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Close = nil, want the POST's failure")
			}
		case <-time.After(wait):
			t.Fatal("Close hung")
		}
	})
}

// TestBadInputV3: malformed v3 payloads (EIO3-10 seen from the client).
func TestBadInputV3(t *testing.T) {
	for _, body := range []string{"10:4abc", "x:4a", "2:4a junk", "3:4a"} {
		t.Run(strconv.Quote(body), func(t *testing.T) {
			s := newScriptServer(t)
			c := s.pollSessionV3(nil)
			s.get().ok(body)
			if ce := waitClosed(t, c); ce.Reason != ReasonParseError {
				t.Fatalf("close %v", ce)
			}
		})
	}
}
