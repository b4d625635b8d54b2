package client

import "github.com/siospec/siospec/suites/framework"

// declareEvents declares the events specs (being written).
func declareEvents(s *framework.ClientSuite) {}
