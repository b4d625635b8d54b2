// Package faultproxy is a deterministic, fault-injecting TCP proxy for
// Engine.IO / Socket.IO traffic, with a Toxiproxy-compatible HTTP control API.
//
// # Model
//
// A [Proxy] listens on one address (127.0.0.1:0 by default, see [Proxy.Addr])
// and forwards every accepted connection to one upstream address. Each
// connection gets an ordinal (1, 2, ... in accept order) and two directions:
// [Upstream] (client → server) and [Downstream] (server → client). With no
// fault active the proxy forwards bytes unchanged, in order, with
// back-pressure, and propagates half-closes (FIN) and resets (RST).
//
// Faults are typed values ([Latency], [Bandwidth], [Slicer], [LimitData],
// [Blackhole], [Timeout], [SlowClose], [ResetPeer], [SlowOpen],
// [IdleTimeout], [MaxLifetime], [Down], [HTTPRejectUpgrade],
// [HTTPStripUpgrade], [WSUpgradeThenBlackhole]) added with [Proxy.Add], which
// returns a [Handle] whose Remove detaches the fault. Adding and removing
// affects connections that are already open as well as later ones. Every
// fault carries a [Scope]: which connections it matches, when it activates
// (after a delay, after N bytes, or once for the connections open at a
// moment: [Scope] Existing), for how long, and with what probability
// (Toxiproxy's "toxicity").
//
// # Pipeline
//
// Each direction of a connection is a reader goroutine that stamps chunks
// with their read time and queues them, and a writer goroutine that runs each
// chunk through the direction's chain of fault instances and writes what
// comes out. The chain is an immutable slice swapped atomically on Add and
// Remove (copy on write), so a change takes effect from the next chunk; a
// stage blocked on a chunk (latency, blackhole, bandwidth pacing) is woken by
// the removal or expiry of its fault and forwards the chunk without further
// harm. Stages must not keep a chunk's bytes after they return: buffers are
// pooled. Connection-level faults (reset_peer, idle_timeout, max_lifetime)
// run as per-connection timer goroutines instead of stages; slow_open acts
// before the upstream connect; down acts on the listener. A direction with
// no fault stage gathers the chunks already queued into one vectored write
// (at most 256 KiB), so a fast sender's many small reads do not each cost a
// write.
//
// Fault semantics that differ from Toxiproxy, deliberately: reset_peer resets
// idle connections too and sets SO_LINGER=0 only on the connection it resets;
// removing a timeout fault closes the connection only if data was discarded;
// blackhole holds bytes (TCP back-pressure) instead of discarding them;
// max_lifetime fires under constant traffic.
//
// # Determinism
//
// Every random choice (toxicity, latency jitter, slicer sizes) is drawn from a
// stream derived by SHA-256 from (seed, connection ordinal, direction, fault
// name), so adding a fault never changes another fault's decisions, and the
// same seed and scenario give the same decisions. Every decision is appended
// to a bounded decision log ([Proxy.Decisions], [Options.OnDecision], and
// GET /siospec/proxies/{name}/decisions) with its connection, direction,
// fault, per-stream step number and what it did. Compare logs by (Conn,
// Direction, Fault, Step), not by time. [Proxy.Reseed] restarts ordinals so
// a scenario can be replayed on a live proxy.
//
// # Control API
//
// [API] is an http.Handler with Toxiproxy's routes and JSON (see its doc) so
// existing Toxiproxy clients work unchanged; [APIServer] serves it (on
// loopback unless told otherwise). [ParseToxic] and [ToxicOf] convert between
// [Toxic] JSON and typed faults; [FaultTypes] lists the types, attributes and
// units. Invalid input yields a *[FieldError] naming the Go field and the JSON
// attribute, which the API reports as HTTP 400.
//
// # Fault registry
//
// Each fault type lives in its own file, fault_<type>.go: the Go type, its
// validation, its behaviour on a connection, and one descriptor (type and
// Go names, level, default stream, attributes with units, JSON parsing and
// rendering). The table in registry.go names every descriptor;
// [ParseToxic], [ToxicOf], [FaultTypes], the proxy's stages, README.md's
// catalogue and `siospec proxy --help` all read it. The table is built once
// and never written (no init-time registration); tests fail when a fault is
// left out of it or README.md drifts from it.
//
// # Extension point: protocol stages
//
// Implemented so far: the HTTP/1.1 request tap on the upstream direction
// ([Options.Tap], [Proxy.Conns], [Scope] Transport and SID matchers); the
// response tap, which pairs responses with requests, holds polling GET
// responses and polling POST requests whole (their v4 payloads are decoded
// with protocol/engineio), and follows a 101 on a connection whose first
// request was a WebSocket upgrade, after which both directions are cut into
// WebSocket frames whose whole messages are decoded with protocol/engineio;
// and the faults [HTTPRejectUpgrade], [HTTPStripUpgrade], [HTTPDowngrade10],
// [WSUpgradeThenBlackhole], [EIODropPacket], [EIODelayPacket],
// [EIODuplicatePacket], [DelayPollResponse], [WSCloseMidFrame],
// [HTTPResponseTimeout], [HTTPDuplicateRequest], [HTTPBufferResponse],
// [WSBufferFrames], [LBRoundRobin], [WSDropDirection], [SIODropPacket]
// (Socket.IO packets read with protocol/socketio, binary attachments dropped
// with their header) and the Go-only callback [EIODropIf].
// Polling requests that carry a sid get a per-session ordinal ("the 3rd
// polling GET", see [RequestMatch]) that decisions name. Protocol stages run
// in the order they were added, before byte-level stages, and each sees what
// earlier ones produced (a packet duplicated by one is counted by the next).
// Not yet: v3 payloads, chunked bodies, fragmented WebSocket messages,
// TLS interception, and the frame-mangling faults of the catalogue.
//
// # Profiles
//
// A [Profile] bundles faults into one real-world failure mode of faults doc
// A9 (corporate-firewall, ws-stripping-proxy, antivirus-buffering,
// idle-timeout-lb, non-sticky-lb, server-crash, half-open, mobile-3g):
// [NewProfile] builds one, [Proxy.ApplyProfile] applies it, [Profiles]
// documents each (what it models, its faults, and what a compliant client
// and server do under it, by requirement ID). The control API applies them
// as toxics (POST /siospec/proxies/{name}/profiles/{profile}) and
// `siospec proxy --profile NAME` at start. server-crash drives a
// faultproxy/process.Process when one is given.
//
// Protocol-aware faults (http_reject_upgrade, http_strip_upgrade,
// eio_drop_packet, ...) plug into the same per-direction chain. A per-link tap
// sits in front of the chain and cuts the byte stream into protocol units
// (HTTP/1.1 request heads and bodies; later WebSocket frames after a 101 and
// Engine.IO packets inside polling bodies and frames, decoded with
// protocol/engineio). A unit travels through the chain as an ordinary chunk
// whose bytes are the unit's exact wire bytes plus a pointer to the parsed
// unit, so byte-level stages keep working on it unchanged and unmodified
// units are forwarded byte-for-byte. Unit-aware stages are inserted before
// byte-level ones (a slicer must not split a head before an HTTP stage sees
// it) and may replace a unit's bytes, drop it, or answer the client
// themselves. The tap tags the connection with what it learns (method, path,
// sid, transport, EIO of the first request) for matchers and reports. Bytes
// the tap cannot parse switch it to opaque mode: they are forwarded untouched.
//
// # Concurrency
//
// All methods of [Proxy], [Handle], [API] and [APIServer] are safe for
// concurrent use. [Proxy.Close] and [APIServer.Close] wait for every goroutine
// they started and are idempotent.
package faultproxy
