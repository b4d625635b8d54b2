// Package eioclient is siospec's reference Engine.IO client, for protocol
// revisions 4 and 3 (socket.io 2.x servers). It speaks HTTP long-polling
// and WebSocket, upgrades from one to the other with the probe handshake,
// and keeps the heartbeat. The Socket.IO client is built on top of it.
// Requirement IDs (EIO-POLL-17, ...) name protocol rules
// (docs/requirements.md states those a server must follow); every wire rule goes through package protocol/engineio.
//
// # Model
//
// [Dial] returns once the open packet arrived. [Conn.Send] queues message
// packets and never waits for the network; [Conn.Recv] returns the server's
// messages in order (pings, pongs, noops and the upgrade are handled inside).
// [Conn.Events] reports the upgrade, a failed upgrade and the close;
// [Conn.Done] and [Conn.Err] report the end of the session. Received
// messages are buffered without bound until Recv takes them, so that a slow
// reader never delays the heartbeat.
//
// One goroutine runs the session's state machine; it starts every request
// and owns every decision, so that at most one GET and one POST are in flight
// (EIO-POLL-17) and the upgrade can pause polling exactly (EIO-UPG-05).
// Each request, each WebSocket reader and each WebSocket write runs in a
// goroutine of its own that reports back to it. [Conn.Close] waits for all
// of them.
//
// # Transports and upgrade
//
// By default the client starts on polling and, when the server lists
// "websocket" in upgrades, probes a WebSocket with the same sid: it sends
// "2probe", and on "3probe" stops issuing polling requests, waits for the
// GET and POST in flight (the server releases the GET with a noop), sends
// "5" on the WebSocket and then flushes its queue there. A probe that fails
// (dial error, refused or stripped upgrade, close, a reply other than
// "3probe", or no switch within Options.ProbeTimeout, by default
// pingInterval+pingTimeout) is dropped; the session stays on polling and an
// EventUpgradeError is sent. With Options.Transports ["websocket", ...] the
// session starts on WebSocket; Options.TryAllTransports falls back to the
// next transport when a handshake fails.
//
// # Heartbeat
//
// v4: the client answers every ping with a pong and closes with "ping
// timeout" when no ping arrived for pingInterval+pingTimeout (EIO-HB-04);
// other traffic does not count (EIO-HB-09). v3: the client pings every
// pingInterval and expects the pong within pingTimeout; as in Node's v3
// client any packet from the server also counts as liveness for
// pingInterval+pingTimeout.
//
// # Close reasons and errors
//
// The close reason is Node's: "transport close" (a close packet, or the
// WebSocket closed by the server), "transport error" (a non-200 answer, a
// network error, an over-long body: [*TransportError] with Node's operation
// names "xhr poll error", "xhr post error", "websocket error"), "ping
// timeout", "forced close" (Close). Once Close is called the client has
// decided to close: server input that arrives afterwards (a GET answered
// "400 Session ID unknown", the server's own close packet, a WebSocket
// frame) is ignored, as Node's client detaches its transport listeners, so
// a client-initiated close ends with a nil cause unless the close POST
// itself fails or times out. Undecodable server input closes with
// "parse error" and the codec's *engineio.DecodeError; Node's client reports
// that case as "transport error". Handshake failures are [*HandshakeError]
// values carrying the HTTP status and Engine.IO error code.
//
// # Limits
//
// A polling response body and a WebSocket message may be at most
// Options.MaxResponseBytes (default 32 MiB). A polling GET is bounded by
// pingInterval+pingTimeout+RequestTimeout; a POST, a WebSocket write, the
// handshake and the graceful close by Options.RequestTimeout (default 10 s).
//
// # Catalogue
//
// Implemented and tested here: EIO-URL-02/04/05/07/08, EIO-HS-01/11/12,
// EIO-PKT-02/04/06/07, EIO-POLL-02/17..19, EIO-BIN-01..04/06, EIO-WS-02/07/08,
// EIO-UPG-01/02/04/05/12/13, EIO-HB-02/04/07/09, EIO-CLOSE-01/02/05/08,
// EIO-LIMIT-04/05, EIO-ERR-06, EIO3-01..05/07..10/12, NODE-DR-03 and
// NODE-TR-02/03.
//
// # Node behaviour deliberately not reproduced
//
// Undecodable server input closes with "parse error" (Node's client says
// "transport error"), and the features below are left out.
//
// # Not implemented
//
// Node's rememberUpgrade, withCredentials cookie jar, JSONP, WebTransport,
// XHR2 binary POST bodies in v3 (binary is sent as base64 text) and
// reconnection (the Socket.IO layer's job) are left out.
//
// # Concurrency
//
// All methods of Conn are safe for concurrent use.
package eioclient
