package client

import "github.com/siospec/siospec/suites/framework"

// declareClose declares the close specs (being written).
func declareClose(s *framework.ClientSuite) {}
