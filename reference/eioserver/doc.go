// Package eioserver is siospec's reference Engine.IO server: protocol
// revisions 4 and (optionally) 3 over HTTP long-polling and WebSocket,
// with the polling-to-WebSocket upgrade, behaving on the wire like Node's
// engine.io 6.6 wherever a peer can tell (the Engine.IO rules of docs/requirements.md).
//
// # Use
//
// [NewServer] returns an [http.Handler]; mount it on any mux or server.
// Options.OnSession is called once per session before any packet is
// delivered: set [Session.OnMessage] and [Session.OnClose] there and reply
// with [Session.Send]. [Server.Close] closes every session and waits for the
// server's goroutines.
//
// # Node behaviour reproduced
//
// Request checks run in Node's order with Node's error codes, statuses and
// JSON bodies (EIO-ERR-01..05); overlapping GETs or POSTs, aborted requests,
// octet-stream POSTs on v4 and heartbeats in the wrong direction close the
// session with "transport error"; an undecodable POST is answered 200 "ok"
// and closes the session with "parse error" (Errata 1); an oversize POST
// gets 413 and leaves the session open; during an upgrade a parked GET is
// released with a noop every 100 ms; a probe that sends anything but
// "2probe" and "5" is closed; while a pong is awaited any other packet
// extends the deadline once (Errata 2).
//
// Catalogue rows implemented and tested here: EIO-URL-01..06/08/09,
// EIO-HS-01/03/05..10, EIO-PKT-01/02/05/06, EIO-POLL-01/02/04..16/19/20,
// EIO-BIN-01/04/06, EIO-WS-01..11, EIO-UPG-03/04/06..12/14/15,
// EIO-HB-01/03/05..08, EIO-CLOSE-01..03/06/07, EIO-LIMIT-01..03/05,
// EIO-CORS-01..04, EIO-ERR-01..05, EIO3-01..03/05..07/09/12, NODE-DR-03 and,
// through [Session.Writable], NODE-VOL-01.
//
// # Node behaviour deliberately not reproduced
//
//   - A "1" received over WebSocket closes the session at once (Node
//     ignores it and waits for the ping timeout, EIO-CLOSE-03).
//   - A plain HTTP request with transport=websocket, or one carrying the sid
//     of a WebSocket session, gets 400 code 3 (Node leaves the latter
//     unanswered).
//   - A compressed polling response carries Content-Length (Node streams it
//     chunked).
//   - A request outside Options.Path gets 404 (Node's http server leaves it
//     to other listeners, which usually means a hang or their 404).
//   - [Server.Close] closes sessions with reason "server shutting down", a
//     Socket.IO reason, where Node's engine.close() reports "forced close".
//   - EIO-UPG-14: when a session switches to WebSocket, a pending pong
//     deadline is restarted at a full pingTimeout instead of being cleared
//     as Node clears it. A compliant client, which answers as soon as the
//     ping reaches it on the new transport, sees no difference; a client
//     that never answers is still timed out (Node never times it out, since
//     its next ping waits for a pong). The ping cadence is not reset.
//   - JSONP polling (j=, EIO-URL-09) is served as Node serves it, except
//     that a v3 binary session over JSONP sends binary in base64 text
//     framing. As in Node, a v3 pong never echoes the ping's data.
//
// [Session.Send] never modifies the packets or their Data, so one encoded
// packet set can be queued on many sessions (a broadcast). [Session.Abort]
// is the non-graceful close: the queue is dropped and a WebSocket whose
// peer stopped reading is cut off at once.
//
// # Concurrency
//
// No goroutine is started per message or per idle polling session: timers
// drive the heartbeat, a parked GET waits on its own request goroutine, and
// a WebSocket has its request goroutine reading and one writer goroutine.
// Each session has a bounded send queue (Options.SendQueueLimit). Session
// callbacks run serially on the goroutine of the transport that received
// the packet, never while internal locks are held, so a handler may call
// Send or Close. Server.Close waits for request goroutines and so must not
// be called from a session callback.
package eioserver
