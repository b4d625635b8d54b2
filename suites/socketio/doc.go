// Package socketio holds siospec's Socket.IO server conformance specs:
// protocol v5 (socket.io 3.x/4.x over Engine.IO v4) and protocol v4
// (socket.io 1.x/2.x over Engine.IO v3). Register declares them in the
// Ginkgo tree of the calling test or runner; every spec checks one
// Socket.IO requirement of docs/requirements.md (its ID ends the
// spec text and is its req: label) against a black-box server that follows
// the sio5 fixture contract (testees/node/CONTRACT.md), reached with the raw
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
// label "extended". The runner's preflight asks each Socket.IO target once
// ([ProbeExtended]: ext:hello on "/") and records the answer in
// framework.Target.Extended and the report header. When the server did not
// acknowledge ext:hello there, the extended specs are skipped as
// "unsupported: ..." at once; when it did, a spec whose ext:hello goes
// unanswered later fails. Without a preflight each extended spec probes for
// itself and is unsupported on no answer.
//
// # Protocol revisions
//
// v5 specs carry proto:SIO5 and speak EIO=4; v4 specs carry proto:SIO4
// and speak EIO=3. Each spec reaches its suite's target (the runner's
// framework.Config.Targets).
//
// # Running
//
// The runner (package suites, siospec server) registers the specs with
// RegisterWith (Options.Suites selects v5 and/or v4, Options.ConnectTimeout
// is --connect-timeout). This package has no Ginkgo entry point of its own:
// package suites' TestServerSuite runs them, and its tests hold the proofs
// (Node and Go fixtures, broken variants):
//
//	siospec server --sio-url http://127.0.0.1:3000 --suite sio5,sio4
//	go test ./suites -run TestServerSuite -args --url http://127.0.0.1:3000 --suite sio5
//
// # Concurrency
//
// A Session runs one reader goroutine (and, on Engine.IO v3, one pinger);
// Close stops and waits for them. Sends are serialised, so a heartbeat
// answer never overlaps a spec's POST. The package keeps no mutable global
// state.
package socketio
