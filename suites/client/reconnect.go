package client

import "github.com/siospec/siospec/suites/framework"

// declareReconnect declares the reconnect specs (being written).
func declareReconnect(s *framework.ClientSuite) {}
