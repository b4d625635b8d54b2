package eioserver

import "errors"

// Close reasons passed to the OnClose handler of a [Session]. They are Node's
// engine.io strings (docs/requirements.md#NODE-DR-03) plus Socket.IO's
// "server shutting down" for [Server.Close].
const (
	// ReasonTransportClose: the peer closed the transport (WebSocket closed,
	// polling close packet "1").
	ReasonTransportClose = "transport close"
	// ReasonPingTimeout: v4, no pong within pingTimeout of a ping; v3, no
	// ping within pingInterval+pingTimeout.
	ReasonPingTimeout = "ping timeout"
	// ReasonParseError: the peer sent an undecodable packet or payload.
	ReasonParseError = "parse error"
	// ReasonTransportError: a transport-level fault (overlapping polls, an
	// aborted request, a heartbeat in the wrong direction, a write error,
	// a WebSocket message over the size limit).
	ReasonTransportError = "transport error"
	// ReasonForcedClose: the server closed the session ([Session.Close]
	// with an empty reason).
	ReasonForcedClose = "forced close"
	// ReasonServerShutdown: [Server.Close] closed the session.
	ReasonServerShutdown = "server shutting down"
)

// Sentinel errors returned by [Session.Send].
var (
	// ErrClosed: the session is closing or closed.
	ErrClosed = errors.New("eioserver: session closed")
	// ErrQueueFull: the session's send queue already holds
	// Options.SendQueueLimit packets; the peer is not reading fast enough.
	ErrQueueFull = errors.New("eioserver: send queue full")
)

// TransportError is the error passed to OnClose with
// [ReasonTransportError]: Msg is Node's description of the fault (for example
// "invalid heartbeat direction" or "poll connection closed prematurely") and
// Err the underlying error, if any.
type TransportError struct {
	Msg string
	Err error
}

// Error returns the description, prefixed with the package name.
func (e *TransportError) Error() string {
	if e.Err != nil {
		return "eioserver: " + e.Msg + ": " + e.Err.Error()
	}
	return "eioserver: " + e.Msg
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }
