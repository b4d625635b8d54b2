package client

import "github.com/siospec/siospec/suites/framework"

// declareBinary declares the binary specs (being written).
func declareBinary(s *framework.ClientSuite) {}
