// Package scripted is the server the client suites play: an Engine.IO
// (v4 and v3) and Socket.IO (v5 and v4) server built on package protocol
// that records every HTTP request, WebSocket frame and packet from the
// moment a connection opens, behaves correctly by default, and misbehaves
// on purpose when a spec asks it to (withhold pings, go silent, refuse or
// stall the upgrade, close the transport, forget the sid, batch packets,
// send malformed bytes, stop listening and come back on the same port).
//
// A spec starts one Server per case, hands its URL to the client under
// test, takes the sessions the client opens (NextSession) and drives them
// packet by packet (Session, SIO). Nothing here imports Ginkgo.
//
// # Behaviour by default
//
// Polling: a GET long-polls until something is queued and carries every
// packet queued by then as one payload (v4: record separator, binary as
// "b"+base64; v3: "<len>:<packet>" text payload, or the XHR2 binary payload
// when a binary packet is queued and the client did not ask for b64). A POST
// is answered 200 "ok". A second GET while one is pending is answered 400
// and ends the session ("transport error"; the pending GET gets 1), as does
// a second concurrent POST. An unknown or ended sid gets 400
// {"code":1,"message":"Session ID unknown"}; a polling request on an
// upgraded session gets 400 code 3.
//
// Heartbeat: v4 pings every PingInterval (the first one PingInterval after
// the handshake, the next one PingInterval after each pong) and ends the
// session with "ping timeout" when the pong is PingTimeout late; v3
// answers every ping with a pong carrying the same data and ends the
// session when no ping came for PingInterval+PingTimeout. A v4 client
// that pings on an established transport ends its session ("transport
// error", as Node does).
//
// Upgrade: 101, 2probe → 3probe, every polling GET during the upgrade is
// answered with a noop 6, 5 switches the session's writes to the WebSocket
// and flushes what was queued. A packet other than 5 after the probe
// closes the probe WebSocket (the session stays on polling).
//
// Close: a client's 1 on polling ends the session with "client close
// packet" (the pending GET gets 6, the POST 200 "ok"); a WebSocket closed
// by the client ends it with "transport closed by the client".
// Session.Close queues 1 and ends the session: on polling the pending or
// next GET carries it, on WebSocket the 1 frame is followed by a close
// frame.
//
// # Recording
//
// Every event goes to Options.Recorder with one connection ordinal per TCP
// connection (NewConn at accept): http-request (summary: method, URL and
// the Content-Type and Upgrade headers; data: the body), http-response
// (status, Content-Type, size; data: the body), ws-open, ws-frame ("text
// frame NB" or "binary frame NB", both directions, data: the frame),
// ws-close, eio-packet (summary: the packet's wire text such as "4hello"
// or "2", or Packet.String for a binary packet), tcp-close and notes for
// the server's decisions.
//
// # Concurrency
//
// Every method of Server and Session is safe for concurrent use. An SIO
// serialises its readers: Recv, Accept and Command may be called from
// several goroutines but each packet goes to exactly one of them.
package scripted
