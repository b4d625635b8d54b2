package client

import "github.com/siospec/siospec/suites/framework"

// declareUpgrade declares the upgrade specs (being written).
func declareUpgrade(s *framework.ClientSuite) {}
