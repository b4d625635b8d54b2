// Package client holds the client conformance specs: each spec plays the
// server for one case (package scripted), runs the client under test once
// through the client contract (testees/CLIENT-CONTRACT.md, package testee)
// and judges what the client did on the wire and what it reported.
//
// Specs are written once and declared for every suite they apply to:
// Engine.IO-level specs run in all four suites (a Socket.IO client is
// judged on its engine too) through framework.Peer; Socket.IO specs run in
// sio5 and sio4. Each area has its own file and declare function.
package client

import (
	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/suites/framework"
)

// areas are the declare functions of every area, in declaration order.
var areas = []func(s *framework.ClientSuite){
	declareHandshake,
	declarePolling,
	declarePacket,
	declareHeartbeat,
	declareUpgrade,
	declareClose,
	declareConnect,
	declareEvents,
	declareAcks,
	declareBinary,
	declareReconnect,
	declareBadInput,
	declareSIOExtra,
	declareWebSocket,
}

// Register declares the client specs of the given suites (all four when
// none is given) under s.
func Register(s *framework.ClientSuite, suites ...framework.Proto) {
	if len(suites) == 0 {
		suites = framework.AllSuites
	}
	for _, p := range suites {
		sp := s.WithProto(p)
		g.Describe("client "+string(p), func() {
			sp.Install()
			for _, declare := range areas {
				declare(sp)
			}
		})
	}
}
