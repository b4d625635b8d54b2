package client

import "github.com/siospec/siospec/suites/framework"

// declareHeartbeat declares the heartbeat specs (being written).
func declareHeartbeat(s *framework.ClientSuite) {}
