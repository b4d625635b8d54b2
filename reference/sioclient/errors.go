package sioclient

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/siospec/siospec/reference/eioclient"
)

// Disconnect reasons, spelled as Node's client spells them (NODE-DR-02).
const (
	ReasonIOServerDisconnect = "io server disconnect"
	ReasonIOClientDisconnect = "io client disconnect"
	ReasonPingTimeout        = eioclient.ReasonPingTimeout
	ReasonTransportClose     = eioclient.ReasonTransportClose
	ReasonTransportError     = eioclient.ReasonTransportError
	ReasonParseError         = eioclient.ReasonParseError
	ReasonForcedClose        = eioclient.ReasonForcedClose
)

// Sentinel errors.
var (
	// ErrClosed is returned once the Manager is closed.
	ErrClosed = errors.New("sioclient: manager closed")
	// ErrAckTimeout: no ACK within the emit's timeout (Node: "operation has
	// timed out", NODE-ACK-01).
	ErrAckTimeout = errors.New("sioclient: operation has timed out")
	// ErrDisconnected: the socket was disconnected while waiting for an ACK
	// or for its connection (NODE-ACK-03).
	ErrDisconnected = errors.New("sioclient: socket has been disconnected")
	// ErrNoSID: a v5 CONNECT reply without sid, as a socket.io 2.x server
	// sends (SIO-CONN-12, SIO4-08); connect with Version socketio.V4.
	ErrNoSID = errors.New("sioclient: CONNECT reply has no sid (a Socket.IO v2 server? use protocol v4)")
	// ErrReconnectFailed: ReconnectionAttempts were used up
	// (reconnect_failed, NODE-RECON-03).
	ErrReconnectFailed = errors.New("sioclient: reconnection attempts exhausted")
	// ErrReservedEvent: an emit with a reserved event name (SIO-EVT-03).
	ErrReservedEvent = errors.New("sioclient: reserved event name")
	// ErrAckSent: an AckFunc was called a second time (SIO-ACK-01: once).
	ErrAckSent = errors.New("sioclient: ack already sent")
	// ErrNotConnected: an AckFunc was called after the session that carried
	// the event ended.
	ErrNotConnected = errors.New("sioclient: not connected")
	// ErrBadAuth: the auth payload does not encode as a JSON object.
	ErrBadAuth = errors.New("sioclient: auth must be a JSON object")
)

// ConnectError is a CONNECT_ERROR (v4: ERROR) received for a namespace
// (SIO-CONN-06, SIO-CONN-14): the server refused the connection. The socket
// is left inactive and is not retried automatically.
type ConnectError struct {
	// Nsp is the namespace.
	Nsp string
	// Message is the payload's message (v5), or the payload string (v4).
	Message string
	// Data is the payload's data member as raw JSON, nil when absent. For a
	// v4 ERROR whose payload is not a string, the whole payload.
	Data json.RawMessage
}

// Error implements error.
func (e *ConnectError) Error() string {
	if len(e.Data) > 0 {
		return fmt.Sprintf("sioclient: connect to %s refused: %s (data %s)", e.Nsp, e.Message, e.Data)
	}
	return fmt.Sprintf("sioclient: connect to %s refused: %s", e.Nsp, e.Message)
}

// ParseError reports a packet from the server that the client could not
// decode; the client closes the Engine.IO session with "parse error" and
// reconnects (SIO-ERR-02, SIO-EVT-03, SIO-BIN-07).
type ParseError struct {
	// Err is the codec's *socketio.DecodeError.
	Err error
}

// Error implements error.
func (e *ParseError) Error() string {
	return "sioclient: undecodable packet from the server: " + e.Err.Error()
}

// Unwrap returns the decode error.
func (e *ParseError) Unwrap() error { return e.Err }
