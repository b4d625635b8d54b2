// Package proxy measures what siospec's fault proxy (faultproxy) costs
// against a direct connection and against Toxiproxy v2.5.0's proxy, used as
// a library in process and run the same way (no toxic, metrics off). One
// test, TestOverhead, measures in one run: the latency added to a one-byte
// ping-pong (p50/p99) over raw TCP and over an Engine.IO WebSocket, and the
// throughput of a TCP bulk stream and of 32 KiB binary WebSocket messages,
// with siospec's protocol tap on (so WebSocket frames are cut and their
// Engine.IO packets decoded). Run it with
//
//	cd bench && SIOSPEC_BENCH_PROXY=1 go test -run Overhead -v -count=1 -timeout 20m ./proxy/
//
// SIOSPEC_BENCH_SCALE=0.1 shrinks the run; SIOSPEC_BENCH_OUT=file writes the
// Markdown table. Results are in ../README.md.
package proxy
