package suites

import (
	"context"
	"errors"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/suites/cluster"
	"github.com/siospec/siospec/suites/framework"
)

// RunCluster runs the cluster suite (suites/cluster) against the nodes of
// cc and returns Ginkgo's report, like RunServer for the other suites: the
// specs carry proto:CLUSTER, the selection of opts (LabelFilter, Focus)
// applies, and the reports package turns the report into report.json,
// junit.xml, summary.md and index.html. cluster.Preflight runs first
// (within framework.PreflightTimeout × (3 + nodes)); a cluster that fails it
// is a *framework.PreflightError. The specs run in this process, one
// after another (they share the cluster; opts.Procs is ignored), and, as
// every in-process run, once per process (a Ginkgo restriction).
func RunCluster(ctx context.Context, cfg framework.Config, cc *cluster.Config, opts *RunOptions) (types.Report, error) {
	cfg.Suites = []framework.Proto{framework.CLUSTER}
	cfg.Normalize()
	if err := cfg.Validate(false); err != nil {
		return types.Report{}, err
	}
	if cc == nil || len(cc.URLs) == 0 {
		return types.Report{}, errors.Join(framework.ErrUsage, cluster.ErrNoURLs)
	}
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	if err := CheckLabelFilter(LabelFilter(&cfg, o.LabelFilter)); err != nil {
		return types.Report{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, framework.PreflightTimeout*time.Duration(3+len(cc.URLs)))
	t, err := cluster.Preflight(pctx, cc, &cfg)
	cancel()
	if err != nil {
		return types.Report{}, err
	}
	cfg.Targets = map[framework.Proto]*framework.Config{framework.CLUSTER: t}
	o.cluster = cc
	o.Procs = 0
	return runGinkgo(ctx, cfg, &o, false)
}
