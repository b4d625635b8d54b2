package client

import "github.com/siospec/siospec/suites/framework"

// declareHandshake declares the handshake specs (being written).
func declareHandshake(s *framework.ClientSuite) {}
