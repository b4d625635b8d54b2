package eioclient

import (
	"errors"
	"strings"
	"testing"

	"github.com/siospec/siospec/protocol/engineio"
)

func TestErrorStrings(t *testing.T) {
	cause := errors.New("boom")
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{&HandshakeError{Transport: Polling}, []string{"polling handshake failed"}},
		{&HandshakeError{Transport: WebSocket, Status: 403, HasCode: true, Code: engineio.CodeForbidden, Message: "no", Err: cause},
			[]string{"HTTP 403", `code 4 "no"`, "boom"}},
		{&TransportError{Op: OpPoll, Status: 502}, []string{"xhr poll error", "HTTP 502"}},
		{&TransportError{Op: OpWebSocket, Err: cause}, []string{"websocket error", "boom"}},
		{&UpgradeError{Transport: WebSocket, Reason: "probe timeout"}, []string{"upgrade to websocket failed: probe timeout"}},
		{&CloseError{Reason: ReasonPingTimeout}, []string{"session closed: ping timeout"}},
		{&CloseError{Reason: ReasonTransportError, Err: cause}, []string{"transport error: boom"}},
	} {
		s := tc.err.Error()
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("%q does not contain %q", s, w)
			}
		}
	}
	if !errors.Is(&CloseError{Reason: ReasonForcedClose}, ErrClosed) {
		t.Error("CloseError is not ErrClosed")
	}
	if !errors.Is(&UpgradeError{Err: cause}, cause) || !errors.Is(&TransportError{Err: cause}, cause) || !errors.Is(&HandshakeError{Err: cause}, cause) {
		t.Error("Unwrap broken")
	}
	for _, et := range []EventType{EventUpgrade, EventUpgradeError, EventClose, 9} {
		if et.String() == "" {
			t.Errorf("empty name for %d", int(et))
		}
	}
}
