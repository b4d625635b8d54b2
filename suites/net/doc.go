// Package net holds the server role of the net suite (issue 11): specs that
// judge a server under test through siospec's fault proxy. Every spec starts
// its own faultproxy.Proxy on loopback in front of the target (or of
// instances it starts itself with --server-cmd), applies one profile of
// faults doc A9, runs the reference client (reference/sioclient) through it
// with the sequenced workload of package suites/netload, and judges one
// NET-* requirement (suites/framework/requirements_net.go) from the ledger,
// the proxy's decision log and direct requests to the server. Every spec
// records its measures in the report (framework RecordNet, entry
// siospec.net).
//
// The target must speak Socket.IO v5 or v4 (the suite uses the revision the
// preflight found) and implement the extended contract's net part
// (testees/node/CONTRACT.md, "Net suite"); without it the workload specs are
// unsupported. Specs that need state the target may not offer (recovery: a
// pid in the CONNECT reply; a process to kill: --server-cmd; a second
// instance: --server-cmd or NetConfig.Instances) are unsupported with the
// reason when it is missing.
//
// Two tiers: specs labelled tier:conformance apply deterministic faults;
// tier:resilience specs (NET-RES-*) run NetConfig.Trials seeded trials of
// random faults each and report the pass ratio; their requirements are
// SHOULD, so they gate only under --strict. The same --seed gives the same
// fault decisions.
//
// Windows derive from the negotiated pingInterval and pingTimeout times
// --time-scale (framework.Timing).
package net
