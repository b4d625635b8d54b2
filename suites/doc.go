// Package suites runs siospec's server conformance specs: the Engine.IO
// suites (eio4, eio3; package suites/engineio) and the Socket.IO suites
// (sio5, sio4; package suites/socketio), all declared in one Ginkgo tree on
// the shared machinery of suites/framework. One run covers any subset of
// the four suites, each spec reaching the target of its suite (its proto:
// label) through framework.Config.Targets, and yields one Ginkgo report.
//
// # Entry points
//
// RunServer runs the suites in-process or in child processes and returns
// Ginkgo's report; the siospec CLI (`siospec server`) uses it, so it needs
// no `go test`. Resolve resolves and preflights the targets first;
// StartReference starts the built-in reference (one in-process fixture per
// suite, each on its own port), which `siospec server` without a URL and
// `make conformance` test.
//
// This package's TestServerSuite is the one Ginkgo entry point for
// embedders (suites/socketio has none of its own): it runs the selected
// suites in this process, one spec after another, against the flags'
// targets:
//
//	go test ./suites -run TestServerSuite -args --url http://127.0.0.1:3000                 # eio4
//	go test ./suites -run TestServerSuite -args --url http://127.0.0.1:3000 --suite sio5,sio4
//	go test ./suites -run TestServerSuite -args --eio-url http://127.0.0.1:3000 --sio-url http://127.0.0.1:3001 --suite all
//	go tool ginkgo ./suites/... -- --url http://127.0.0.1:3000 --suite eio4,eio3
//
// The flags are framework.Config's: --url (every suite), --eio-url and
// --sio-url (per family), --path, --suite (default: eio4 for --url or
// --eio-url, plus sio5 for --sio-url; eio3 and sio4 only when named),
// --time-scale, --strict, --seed, --connect-timeout. Default paths are
// /engine.io/ for eio* and /socket.io/ for sio*.
//
// # Parallel runs
//
// Ginkgo allows one RunSpecs per process. With RunOptions.Procs > 0 the
// runners start their own executable again Procs times (a child gets its
// job through the environment variable EnvChild or EnvClientChild and runs
// it in ChildMain or ClientChildMain, which main or TestMain calls first)
// and merge the children's reports into one. A server run's children are
// lanes that claim specs one at a time from the parent (speed_lanes.go);
// specs labelled serial run in lane 0, one after another. A client run's
// children each declare every Procs-th spec of the tree
// (framework.ClientSuite.Shard): each case is a process of its own against
// a server of its own, so no two cases share anything. With Procs 0
// everything runs in the calling process, once per process. A child
// unsets the job variables, so that a process it starts (a client under
// test, a peer) never takes itself for a child.
//
// # Timing
//
// Every budget derives from the target's negotiated pingInterval and
// pingTimeout, scaled by --time-scale, plus a grace (framework.Timing). A
// framework.JitterMonitor in every harness process (and in the process
// that serves the reference fixtures) keeps the Go runtime awake, so that
// timers do not wake hundreds of milliseconds late on a loaded machine, and
// adds the lateness it measures to grace and tolerance.
//
// # Self-proofs
//
// The plain tests of this package check the spec tree against the
// requirement registry (TestRequirementCoverage, over a Ginkgo dry run:
// every server-binding MUST or SHOULD of Engine.IO and Socket.IO has a
// spec; TestConformanceYAML keeps conformance.yaml and docs/requirements.md
// current; TestKillMatrix and TestTransportMatrix), run every suite against the
// reference (TestReference) and against Node's fixtures (TestNodeFixtures,
// TestNodeSIO5NoExt, TestNodeSIO5CSR, with the documented deviations of
// testdata/expected-failures-node*.txt), and against deliberately broken
// servers that must fail exactly the specs of their broken rule
// (TestBrokenVariants: the reference fixtures with one rule broken by a
// wrapping handler or the fixture's clock, covering polling, WebSocket,
// upgrade, heartbeat and Socket.IO rules).
// TestRepeat, behind SIOSPEC_REPEAT=N, runs everything N times and requires
// identical verdicts:
//
//	SIOSPEC_REPEAT=20 go test -race -run TestRepeat -timeout 90m -v ./suites
//
// testdata/official-cases.md and official-cases-sio.md map every official
// suite case to the specs that cover it.
package suites
