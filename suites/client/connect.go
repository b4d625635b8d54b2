package client

import "github.com/siospec/siospec/suites/framework"

// declareConnect declares the connect specs (being written).
func declareConnect(s *framework.ClientSuite) {}
