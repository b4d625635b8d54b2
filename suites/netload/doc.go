// Package netload is the sequenced workload of the net suite (issue 11) and
// its accounting: which events and acks a peer sent, which arrived, how
// often and in what order, and the timeline of a fault (when it was
// applied, when the loss was detected, when the session recovered). Both
// roles of the suite use it: the server role (reference client → fault
// proxy → server under test) and the client role (client under test →
// fault proxy → harness server).
//
// # Wire shape of the workload
//
// Every workload event is the Socket.IO event [EventSeq] ("net:seq") on the
// main namespace "/" with one JSON object and, for binary events, one
// binary attachment:
//
//	["net:seq", {"seq": 7, "dir": "up"}]
//	["net:seq", {"seq": 10, "dir": "up"}, <Buffer 00 00 00 0a>]
//
// seq counts from 0 per direction; dir is "up" (client → server) or "down"
// (server → client). A binary event carries a 4-byte big-endian copy of seq
// as its attachment (see [SeqBytes]); it is every BinaryEvery-th event
// (seq % BinaryEvery == BinaryEvery-1). Every AckEvery-th event
// (seq % AckEvery == AckEvery-1) is emitted with an ack request, and the
// receiver answers the ack with the seq alone: [7].
//
// Server role (extended fixture contract, testees/node/CONTRACT.md):
//
//   - net:seq C→S: the server records seq under the run named by the
//     CONNECT auth's "netRun" (v4: the handshake query's netRun) and, when
//     asked, acks with [seq].
//   - ext:stream C→S with {"count": N, "intervalMs": I, "binaryEvery": B}:
//     the server acks with no arguments at once, then emits net:seq
//     dir "down", seq 0..N-1, one every I ms, to the socket's own room
//     (through the adapter, so that connection state recovery replays
//     what a disconnected client missed).
//   - ext:tally C→S: acks with one array, the up seqs recorded for the
//     connection's netRun, in arrival order, duplicates kept.
//
// # Concurrency
//
// A Ledger is safe for concurrent use; its methods never block on I/O.
package netload
