// Package suites runs siospec's server conformance specs. RunServer runs
// them in-process (Ginkgo's RunSpecs behind a GinkgoTestingT adapter) and
// returns Ginkgo's report, so the siospec CLI needs no `go test`; the same
// specs also run as a plain Ginkgo suite:
//
//	go test ./suites -run TestServerSuite -args --url http://127.0.0.1:3000
//	go tool ginkgo ./suites -- --url http://127.0.0.1:3000
//
// The specs themselves live in sub-packages (suites/engineio,
// suites/socketio) and are declared through their Register functions; the
// framework they share is suites/framework. Ginkgo allows one suite run per
// process, so RunServer (or ListSpecs) may be called once per process.
//
// # Selection
//
// A run selects role:server and the Engine.IO revision of --eio
// (proto:EIO4 or proto:EIO3) unless the user's label filter names a proto:
// itself, and leaves out specs labelled slow unless the filter names slow.
//
// # Self-proofs
//
// The plain tests of this package check the spec tree against the
// requirement registry (TestRequirementCoverage, over a Ginkgo dry run and
// testdata/covered-ids.golden), run the Engine.IO suites against Node's
// fixtures (TestNodeEIO4, TestNodeEIO3, with
// testdata/expected-failures-node.txt) and against deliberately broken
// servers that must fail exactly the specs of their broken rule
// (TestMutantsFailExactlyTheirRule). testdata/official-cases.md maps every
// official Engine.IO suite case to the specs that cover it.
package suites
