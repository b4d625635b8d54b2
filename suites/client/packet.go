package client

import "github.com/siospec/siospec/suites/framework"

// declarePacket declares the packet specs (being written).
func declarePacket(s *framework.ClientSuite) {}
