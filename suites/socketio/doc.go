// Package socketio holds siospec's Socket.IO server conformance specs:
// protocol v5 (socket.io 3.x/4.x over Engine.IO v4) and protocol v4
// (socket.io 1.x/2.x over Engine.IO v3). Register declares them in the
// Ginkgo tree of the calling test or runner; every spec checks one
// requirement of protocol-requirements.md section 2 or 4 (its ID ends the
// spec text and is its req: label) against a black-box server that follows
// the FX-SIO5 fixture contract (catalogue 3.1), reached with the raw
// Engine.IO client of package framework.
//
// # Socket.IO layer
//
// A [Session] puts a Socket.IO client over one raw Engine.IO session of
// package framework: it sends Socket.IO packets encoded with
// protocol/socketio (illegal ones on purpose where a spec needs them),
// reads the server's packets in a background reader that reassembles binary
// packets with socketio.Reassembler, keeps the Engine.IO heartbeat alive
// (answering v4 pings, sending v3 pings) and notices when the server ends
// the session. Every Socket.IO packet in both directions is recorded in the
// spec's transcript as a "sio-packet" event.
//
// # Extended contract
//
// Behaviour the official fixture cannot show (server-initiated events,
// rooms, broadcasts, server-side disconnects, server-to-client acks) uses
// the extended contract of testees/node/CONTRACT.md. Such specs carry the
// label "extended" and are skipped as "unsupported: ..." when the server
// does not acknowledge ext:hello.
//
// # Protocol revisions
//
// v5 specs carry proto:SIO5 and always speak EIO=4; v4 specs carry
// proto:SIO4 and always speak EIO=3, whatever --eio says. A runner selects
// the revision of the target with a label filter (proto:SIO5 or proto:SIO4).
//
// # Running
//
// The runner (package suites, siospec server) registers the specs with
// Register. This package's own test binary runs them too, against a URL or
// a fixture it starts (Node fixtures by PID, Go fixtures in-process):
//
//	go test ./suites/socketio -run TestSocketIO -args -fixture node-sio5 [-no-ext]
//	go test ./suites/socketio -run TestSocketIO -args -fixture node-sio4
//	go test ./suites/socketio -run TestSocketIO -args -url http://127.0.0.1:3000 -sio 5
//	go test ./suites/socketio -run 'TestNode|TestGo|TestBroken' -v
//
// The last line runs the proofs: every spec against the Node and Go
// fixtures (failures must be listed in suites/testdata/expected-failures-
// node-sio*.txt) and against deliberately broken servers, which must fail
// exactly the specs of the rule they break.
//
// # Concurrency
//
// A Session runs one reader goroutine (and, on Engine.IO v3, one pinger);
// Close stops and waits for them. Sends are serialised, so a heartbeat
// answer never overlaps a spec's POST. The package keeps no mutable global
// state.
package socketio
