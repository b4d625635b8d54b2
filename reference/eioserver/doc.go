// Package eioserver is siospec's reference Engine.IO server: protocol
// revisions 4 and (optionally) 3 over HTTP long-polling and WebSocket,
// with the polling-to-WebSocket upgrade, behaving on the wire like Node's
// engine.io 6.6 wherever a peer can tell (catalogue section 1 and 4.1).
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
// Deliberate differences: a "1" received over WebSocket closes the session
// at once (Node ignores it and waits for the ping timeout, EIO-CLOSE-03);
// an upgrade does not cancel an outstanding pong deadline (Node clears it,
// EIO-UPG-14); a plain HTTP request with the sid of a WebSocket session
// gets 400 code 3 (Node leaves it unanswered). JSONP polling (j=,
// EIO-URL-09) is served as Node serves it, except that a v3 binary session
// over JSONP sends binary in base64 text framing. As in Node, a v3 pong
// never echoes the ping's data.
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
