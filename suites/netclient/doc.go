// Package netclient holds the client role of the net suite (issue 11):
// the client under test, driven through the client contract
// (testees/CLIENT-CONTRACT.md, section 2.1), talks to the harness's
// scripted servers through a fault proxy (package faultproxy), and each
// spec judges one client-binding NET-* requirement (side C or B) from what
// the sequenced workload of package netload measured: delivered, lost,
// duplicated, reordered, acks, time to detect and to recover, the
// reconnection attempts and their delays, the final transport.
//
// # Shape of a case
//
// The spec starts one or two scripted servers (suites/scripted) with an
// [App] on each: the harness's Socket.IO application, which answers the
// client's CONNECT (with connection state recovery when the spec asks),
// records the client's stream (net:seq, dir up) and acks it with the seq,
// emits its own stream (dir down) and sends the contract's commands. A
// fault proxy sits in front of the first server (or balances over both);
// the testee's SIOSPEC_URL points at it. Faults the client must meet from
// its first connection are applied before the testee starts; the others
// (half-open, server-crash, idle-timeout-lb on a quiet connection) while
// the streams flow. The testee's reports feed the Ledger as they come.
//
// The net cases run with SIOSPEC_SUITE=sio5 and case names net-*; the
// harness server advertises NetPingInterval / NetPingTimeout (1000 ms /
// 800 ms times --time-scale; NET-3G-01 1000 / 1000 ms) and every window
// derives from it.
//
// # Tiers
//
// Labels tier:conformance (deterministic faults) and tier:resilience
// (NET-RES-*: ClientConfig.Trials seeded trials in one client run, each
// with its own ledger and faults derived from the case seed; the pass
// ratio is in the report, entry siospec.trials). The resilience rows are
// SHOULD, so they gate only with --strict.
//
// # Concurrency
//
// An App is safe for concurrent use; its goroutines end with Close, which
// the spec's cleanup calls before the environment stops the testee, the
// proxy and the servers.
package netclient
