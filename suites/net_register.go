package suites

import (
	"context"
	"slices"

	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/net"
)

// registerNet declares the net suite's server-role specs when suites
// names it.
func registerNet(s *framework.Suite, suites []framework.Proto) {
	if slices.Contains(suites, framework.NET) {
		net.Register(s)
	}
}

// preflightSuite preflights the target of suite p. The net suite runs over
// whichever Socket.IO revision the target speaks: Engine.IO v4 (Socket.IO
// v5) is tried first, then v3 (Socket.IO v4, socket.io 2.x), and t.EIO is
// set to the one that answered.
func preflightSuite(ctx context.Context, p framework.Proto, t *framework.Config) (*framework.Target, error) {
	if p != framework.NET {
		return framework.Preflight(ctx, t)
	}
	t.EIO = 4
	tgt, err := framework.Preflight(ctx, t)
	if err == nil {
		return tgt, nil
	}
	v3 := *t
	v3.EIO = 3
	if tgt3, err3 := framework.Preflight(ctx, &v3); err3 == nil {
		t.EIO = 3
		return tgt3, nil
	}
	return tgt, err
}
