package eioclient

import (
	"errors"
	"fmt"

	"github.com/siospec/siospec/protocol/engineio"
)

// Close reasons, spelled as the Node client spells them (NODE-DR-03), plus
// "parse error" for undecodable server input (see the package overview).
const (
	ReasonTransportClose = "transport close"
	ReasonTransportError = "transport error"
	ReasonPingTimeout    = "ping timeout"
	ReasonParseError     = "parse error"
	ReasonForcedClose    = "forced close"
)

// Transport names as they appear in the transport query parameter.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Operations named in a TransportError, Node's spellings (EIO-ERR-06).
const (
	OpPoll      = "xhr poll error"
	OpPost      = "xhr post error"
	OpWebSocket = "websocket error"
)

// Sentinel errors.
var (
	// ErrClosed is matched (errors.Is) by every *CloseError, and returned
	// wrapped by Send and Recv once the session is over.
	ErrClosed = errors.New("eioclient: session closed")
	// ErrResponseTooLarge reports a polling response body or WebSocket
	// message larger than Options.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("eioclient: response too large")
	// ErrServerClosed is the cause of a close initiated by the server: a
	// close packet, or the WebSocket closed by the peer.
	ErrServerClosed = errors.New("eioclient: transport closed by the server")
	// ErrPingTimeout is the cause of a "ping timeout" close.
	ErrPingTimeout = errors.New("eioclient: no heartbeat from the server in time")
	// ErrCloseTimeout is set when the graceful close did not finish within
	// Options.RequestTimeout and the session was torn down.
	ErrCloseTimeout = errors.New("eioclient: graceful close timed out")
	// ErrBadPacket reports a packet the client refuses to send.
	ErrBadPacket = errors.New("eioclient: packet not sendable")
)

// HandshakeError reports a failed handshake on one transport: a refused
// request (Status and, when the body is Engine.IO's JSON error, Code and
// Message), a network failure (Status 0, Err set), or a response that is not
// an open packet (Err wraps the codec's error).
type HandshakeError struct {
	Transport string
	// Status is the HTTP status of the response, 0 when there was none.
	Status int
	// HasCode tells whether Code and Message were decoded from the body.
	HasCode bool
	Code    engineio.ErrorCode
	Message string
	// Body is the start of the response body (at most 1 KiB).
	Body []byte
	Err  error
}

func (e *HandshakeError) Error() string {
	s := "eioclient: " + e.Transport + " handshake failed"
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.HasCode {
		s += fmt.Sprintf(" (code %d %q)", int(e.Code), e.Message)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *HandshakeError) Unwrap() error { return e.Err }

// TransportError reports a failure of an established transport (EIO-CLOSE-08,
// EIO-ERR-06): a non-200 answer to a poll (Op OpPoll) or a POST (OpPost),
// a network failure, an over-long body, or a WebSocket error (OpWebSocket).
type TransportError struct {
	Transport string
	Op        string
	// Status is the HTTP status of a polling response, 0 when none arrived.
	Status int
	Err    error
}

func (e *TransportError) Error() string {
	s := "eioclient: " + e.Op
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *TransportError) Unwrap() error { return e.Err }

// UpgradeError reports a failed upgrade probe (EIO-UPG-13). The session stays
// on polling and keeps working.
type UpgradeError struct {
	Transport string
	// Reason is a short description: "dial", "probe error", "probe timeout",
	// "unexpected packet", "write".
	Reason string
	Err    error
}

func (e *UpgradeError) Error() string {
	s := "eioclient: upgrade to " + e.Transport + " failed: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *UpgradeError) Unwrap() error { return e.Err }

// CloseError is the final state of a closed session: the Node close reason
// (one of the Reason constants) and the error that caused it, if any.
// errors.Is(err, ErrClosed) holds for every CloseError.
type CloseError struct {
	Reason string
	Err    error
}

func (e *CloseError) Error() string {
	if e.Err == nil {
		return "eioclient: session closed: " + e.Reason
	}
	return "eioclient: session closed: " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *CloseError) Unwrap() error { return e.Err }

// Is reports whether target is ErrClosed.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }
