package client

import "github.com/siospec/siospec/suites/framework"

// declareAcks declares the acks specs (being written).
func declareAcks(s *framework.ClientSuite) {}
