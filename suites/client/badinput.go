package client

import "github.com/siospec/siospec/suites/framework"

// declareBadInput declares the badinput specs (being written).
func declareBadInput(s *framework.ClientSuite) {}
