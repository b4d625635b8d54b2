// Package framework is the machinery under siospec's server conformance
// suites: the requirement registry (every server-binding ID of
// docs/requirements.md with its level, protocol, area and source), the
// It wrapper that turns an ID into Ginkgo labels and a bracketed spec-text
// tag, the run configuration, the timing budgets derived from the target's
// handshake, the preflight check, and a raw Engine.IO client for specs.
//
// # Raw client and transcripts
//
// A [Client] speaks HTTP long-polling (net/http with a private transport,
// no keep-alive, no automatic gzip) and WebSocket (gorilla/websocket) with
// full control over the bytes. From the moment its first connection opens it
// records every request, response, frame and decoded packet into a
// [Recorder], with timestamps. Specs wait on that recorded stream (for
// example [WSConn.Next]) instead of racing the wire, and a failing spec
// attaches the transcript to its report entry "siospec.transcript".
//
// # Concurrency
//
// A Client, its sessions and its WebSocket connections are safe for
// concurrent use. Each WSConn runs one reader goroutine that Close stops and
// waits for. The package keeps no mutable global state; the requirement
// registry is a read-only table.
package framework
