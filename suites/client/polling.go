package client

import "github.com/siospec/siospec/suites/framework"

// declarePolling declares the polling specs (being written).
func declarePolling(s *framework.ClientSuite) {}
