// Package bench compares siospec's codecs (protocol/engineio,
// protocol/socketio) with the Go parsers of github.com/zishang520/socket.io
// on identical inputs. It is a separate module so that the comparison
// dependency never reaches siospec's own go.mod; run it with
//
//	cd bench && go test -run='^$' -bench=. -count=10 ./... | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl new.txt
//
// Every benchmark has two sub-benchmarks, impl=siospec and impl=zishang520,
// that do the same work; the tests in this package first check that both
// produce the same bytes and packets for every input, so the numbers compare
// like with like. See README.md for results.
package bench
