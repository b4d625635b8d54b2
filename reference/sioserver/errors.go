package sioserver

import (
	"errors"
	"fmt"
)

// Disconnect reasons passed to [Socket.OnDisconnect] handlers. They are the
// server-side strings of Node's socket.io 4.8 (docs/requirements.md#NODE-DR-01);
// Engine.IO-level reasons ("transport close", "ping timeout", "transport
// error", "parse error", "forced close", "server shutting down") are passed
// through unchanged from the engine.
const (
	// ReasonClientNamespaceDisconnect: the client sent DISCONNECT.
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	// ReasonServerNamespaceDisconnect: [Socket.Disconnect] was called.
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	// ReasonForcedServerClose: connectTimeout expired, or the client sent
	// a packet that is invalid in the current state (a packet for a
	// namespace it has not joined, a duplicate CONNECT, a CONNECT_ERROR).
	ReasonForcedServerClose = "forced server close"
	// ReasonForcedClose: the client sent a packet that does not decode
	// (SIO-ERR-01), or the engine session was closed by the server.
	ReasonForcedClose = "forced close"
	// ReasonServerShuttingDown: [Server.Close].
	ReasonServerShuttingDown = "server shutting down"
	// ReasonTransportClose: the peer closed the transport.
	ReasonTransportClose = "transport close"
	// ReasonTransportError: the transport failed.
	ReasonTransportError = "transport error"
	// ReasonPingTimeout: the peer stopped answering heartbeats.
	ReasonPingTimeout = "ping timeout"
	// ReasonParseError: the peer sent an undecodable Engine.IO packet.
	ReasonParseError = "parse error"
	// ReasonSendQueueFull: the client did not read fast enough and its
	// session's bounded send queue overflowed; the server closed the
	// session rather than buffer without limit. Node has no such reason.
	ReasonSendQueueFull = "send queue full"
)

// Sentinel errors.
var (
	// ErrClosed: the server, socket or session is closed.
	ErrClosed = errors.New("sioserver: closed")
	// ErrDisconnected: the socket disconnected before the client answered
	// an acknowledgement request.
	ErrDisconnected = errors.New("sioserver: socket has been disconnected")
	// ErrAckTimeout: the client did not answer an acknowledgement request
	// in time (Node's "operation has timed out", NODE-ACK-04).
	ErrAckTimeout = errors.New("sioserver: operation has timed out")
	// ErrNoAck: Event.Ack was called on an event the client sent without
	// an ack id.
	ErrNoAck = errors.New("sioserver: event has no acknowledgement")
	// ErrAckSent: Event.Ack was called twice; only the first answer is
	// sent, as in Node.
	ErrAckSent = errors.New("sioserver: acknowledgement already sent")
	// ErrReservedEvent: the application tried to emit a reserved event name
	// (connect, disconnect, ...), which Node refuses too.
	ErrReservedEvent = errors.New("sioserver: reserved event name")
	// ErrDropped: a volatile packet was not sent because the transport was
	// not writable (NODE-VOL-01).
	ErrDropped = errors.New("sioserver: volatile packet dropped")
)

// ConnectError is returned by a namespace [Middleware] to refuse a
// connection. The client receives CONNECT_ERROR {"message":Message,
// "data":Data} (data left out when nil, SIO-CONN-06); a protocol v4 client
// receives the ERROR packet Data, or Message when Data is nil (SIO4-05).
// Any other error refuses with its Error() text as the message.
type ConnectError struct {
	Message string
	Data    any
}

// Error implements error.
func (e *ConnectError) Error() string {
	if e.Data != nil {
		return fmt.Sprintf("sioserver: connection refused: %s (data %v)", e.Message, e.Data)
	}
	return "sioserver: connection refused: " + e.Message
}

// ProtocolError describes why the server closed a client's session after
// an invalid packet. It is passed, wrapped, to Options.OnProtocolError.
type ProtocolError struct {
	// SessionID is the Engine.IO session id.
	SessionID string
	// Reason is the disconnect reason reported to the sockets.
	Reason string
	// Err is the decode error (a *socketio.DecodeError) or a description of
	// the invalid state.
	Err error
}

// Error implements error.
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("sioserver: session %s closed (%s): %v", e.SessionID, e.Reason, e.Err)
}

// Unwrap returns the underlying error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// errInvalidState builds the error for an invalid-state close.
type stateError string

func (e stateError) Error() string { return "sioserver: " + string(e) }
