# siospec build targets. `make test` is what CI runs (through .ci/run).
GO       ?= go
FUZZTIME ?= 30s
REPORT   ?= out/conformance
GOFILES   = $(shell git ls-files '*.go' 2>/dev/null)

.PHONY: all test fmt-check vet crossbuild staticcheck gotest fuzz bench conformance matrix build node-deps

all: test

## test: gofmt check, go vet, staticcheck, then every package's tests with -race
## (the suites and cmd/siospec packages last, together).
test: fmt-check vet crossbuild staticcheck gotest

fmt-check:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The codecs and the reference implementation are for users on any OS:
# they (and their tests) must build for Windows and macOS too.
crossbuild:
	GOOS=windows $(GO) vet ./protocol/... ./reference/...
	GOOS=darwin $(GO) vet ./protocol/... ./reference/...

staticcheck:
	$(GO) tool staticcheck ./...

# The two packages whose proofs run whole suites against real peers (suites
# and cmd/siospec) run together, after the rest. Their combined load once
# pushed the size-limit specs of the broken-server proofs past the proof
# fixtures' 0.8 s pingTimeout (the heartbeat answer queued behind a
# megabyte); those proofs' fixtures now allow 4 s (bulkFixtureOptions).
gotest:
	$(GO) test -race -shuffle=on -timeout 20m $$($(GO) list ./... | grep -v -x -e '$(shell $(GO) list -m)/suites' -e '$(shell $(GO) list -m)/cmd/siospec')
	$(GO) test -race -shuffle=on -timeout 20m ./suites ./cmd/siospec
	# Stack-size proofs: the race detector enlarges every frame, so they
	# are built without -race (//go:build !race) and run here.
	$(GO) test -shuffle=on -run 'KeepsReaderStack|StackGrowth' ./reference/sioserver
	# The load generator's own checks (bench/ is a module of its own).
	cd bench && $(GO) test -race -shuffle=on ./cmd/siobench/

## fuzz: run every fuzz target of the main module for FUZZTIME each, one at a time.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; \
	done

## bench: in-package benchmarks, the codec comparison in bench/, the load
## comparison of the servers (bench/cmd/siobench: reference, Node, zishang520,
## raw gorilla; about 25 minutes) and the cluster broadcast comparison
## (bench/cluster). Results and how to read them: bench/README.md.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	cd bench && $(GO) test -run='^$$' -bench=. -benchmem -count=10 ./...
	cd bench && $(GO) run ./cmd/siobench -rounds 3 -out results/load.md -raw results/load.jsonl
	cd bench/cluster && $(GO) run .

## conformance: the main job. Runs the server suites and the net suite's
## server role against the built-in reference server (fixture mode), writing
## reports to $(REPORT), then the client suites and the net suite's client
## role against the built-in reference client, writing reports to
## $(REPORT)/client.
conformance:
	$(GO) run ./cmd/siospec server --suite all,net --report-dir $(REPORT)
	$(GO) run ./cmd/siospec client --suite all,net --report-dir $(REPORT)/client

## matrix: the full interop matrix of testees/impls.yaml (every client
## against every server, directly and through every fault-proxy profile;
## about 2 minutes), written to out/matrix.
matrix:
	$(GO) run ./cmd/siospec matrix --config testees/impls.yaml --profiles all --parallel 2 --report-dir out/matrix

build:
	$(GO) build -o bin/siospec ./cmd/siospec

## node-deps: the Node peers the tests run against (pinned by package-lock.json).
node-deps:
	cd testees/node && npm ci --no-audit --no-fund
