// Package interop is siospec's interoperability matrix: every client
// implementation against every server implementation, directly and through
// each chosen fault-proxy profile, judged on what both sides did.
//
// # Model
//
// A Config (testees/impls.yaml, see ParseConfig) lists implementations. Each
// one may declare a server command (the fixture contract of
// testees/node/CONTRACT.md with the extended part: "{port}" in the command
// is replaced by a free loopback port, and Ready says when it listens, with
// the same convention as `siospec server --server-cmd`/`--server-ready`)
// and a client testee command (testees/CLIENT-CONTRACT.md), and the protocol
// revisions it speaks (sio5, sio4). Plan lays out the cells (client × server
// × profile) in a fixed order; a cell whose client and server share no
// protocol revision is unsupported. Shard picks a deterministic, balanced
// subset of the cells for one CI job; Merge joins the shards' results.
//
// # A cell
//
// RunCell starts the server (two instances behind the balancer under
// non-sticky-lb, see ProfileNonStickyLB), puts a faultproxy.Proxy with its protocol tap
// in front of it (plus the profile's faults), starts the client testee on
// the proxy's address with the case "interop", and drives the workload
// through the server's extended contract: a driver (the reference client,
// connected to the server directly) relays commands to the testee with
// ext:broadcast, the testee streams net:seq events up (some with acks, some
// binary), then asks the server for a stream down (ext:stream), and the
// driver reads the server's tally (ext:tally). The cell is judged on
//
//   - delivery: every up and down event exactly once and in order, every
//     requested ack answered once (IOP-DELIV-01, SIO-ACK-01, or the
//     profile's NET-* requirement), with the side named from what the tap
//     saw pass the proxy;
//   - the wire, passively, in both directions: packet validity
//     (EIO-PKT-01, SIO decoding), packet types in their allowed direction
//     (EIO-PKT-04), heartbeat (EIO-HB-01/02, EIO3-02 for v3), Socket.IO ack
//     ids answered at most once (SIO-ACK-01) and binary attachment counts
//     (SIO-BIN-02, SIO-BIN-04);
//   - the run: a peer that does not start, crashes or hangs is a failure of
//     that side (IOP-RUN-01, IOP-RUN-02), never a hang: every wait is
//     bounded.
//
// Every failure names its requirement ID and the side that broke it
// (client, server, or pair when the evidence cannot tell).
//
// # Outputs
//
// A Matrix is written as matrix.json (schema "siospec.matrix/v1", see
// docs/matrix.md), index.html (the grid, self-contained) and summary.md.
//
// # Concurrency
//
// RunCell and RunMatrix start processes and goroutines and stop them all
// before they return. The package keeps no global state.
package interop
