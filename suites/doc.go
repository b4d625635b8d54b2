// Package suites runs siospec's server conformance specs. RunServer runs
// them in-process (Ginkgo's RunSpecs behind a GinkgoTestingT adapter) and
// returns Ginkgo's report, so the siospec CLI needs no `go test`; the same
// specs also run as a plain Ginkgo suite:
//
//	go test ./suites -run TestServerSuite -args --url http://127.0.0.1:3000
//	go tool ginkgo ./suites -- --url http://127.0.0.1:3000
//
// The specs themselves live in sub-packages (suites/engineio) and are
// declared through their Register functions; the framework they share is
// suites/framework. Ginkgo allows one suite run per process, so RunServer
// may be called once per process.
package suites
