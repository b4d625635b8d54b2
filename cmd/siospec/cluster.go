package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites"
	"github.com/siospec/siospec/suites/cluster"
	"github.com/siospec/siospec/suites/framework"
)

// AdapterPlaceholder is replaced in --server-cmd, for the cluster suite,
// by the URL of the Redis siospec started (redis://127.0.0.1:PORT).
const AdapterPlaceholder = "{adapter}"

// defaultClusterNodes is the default of --nodes.
const defaultClusterNodes = 3

// isClusterRun reports whether "siospec server" runs the cluster suite:
// --cluster URLs, or --suite cluster.
func isClusterRun(args []string) bool {
	for i, a := range args {
		if a == "--" {
			return false
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "cluster" {
			return true
		}
		if name == "suite" {
			if !hasValue && i+1 < len(args) {
				value = args[i+1]
			}
			if strings.EqualFold(strings.TrimSpace(value), "cluster") {
				return true
			}
		}
	}
	return false
}

// runCluster implements "siospec server --cluster URL1,URL2,... [--suite
// cluster]" and "siospec server --suite cluster --server-cmd CMD [--nodes
// N]": the cluster suite (suites/cluster) through suites.RunCluster, with
// the selection flags, reports and exit codes of every "siospec server"
// run: 0 no MUST failed, 1 failures, 2 harness error, 3 preflight failed,
// 4 usage.
func runCluster(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("siospec server --suite cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg framework.Config
	if v, err := strconv.ParseFloat(os.Getenv(framework.EnvTimeScale), 64); err == nil {
		cfg.TimeScale = v
	}
	suite := fs.String("suite", "cluster", "must be cluster")
	fs.StringVar(&cfg.Path, "path", "", "the Socket.IO path of the nodes (default "+framework.DefaultSIOPath+")")
	fs.Float64Var(&cfg.TimeScale, "time-scale", cfg.TimeScale, "multiply every timing budget and grace by this factor (default 1; env "+framework.EnvTimeScale+")")
	fs.BoolVar(&cfg.Strict, "strict", false, "SHOULD and NODE failures fail the run")
	fs.Int64Var(&cfg.Seed, "seed", 0, "root seed for random choices (default: from the clock)")
	urls := fs.String("cluster", "", "comma-separated base URLs of the cluster's nodes (http://127.0.0.1:3001,...), or one load balancer URL")
	nodes := fs.Int("nodes", defaultClusterNodes, "with --server-cmd: how many nodes siospec starts")
	reportDir := fs.String("report-dir", "", "write report.json, junit.xml, summary.md and index.html here")
	var sel selection
	sel.register(fs)
	var nf netFlags
	nf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: siospec server --cluster URL1,URL2[,URL3...] [--suite cluster] [--path /socket.io/]")
		fmt.Fprintln(stderr, "       siospec server --suite cluster --server-cmd CMD [--nodes N] [--server-ready REGEX|URL] [--server-ready-timeout D]")
		fmt.Fprintln(stderr, "                      [--label-filter EXPR] [--focus REGEX] [--strict] [--time-scale N] [--seed N]")
		fmt.Fprintln(stderr, "                      [--report-dir DIR] [--expect-failures FILE] [--rerun-failed report.json]")
		fmt.Fprint(stderr, `
The cluster suite judges what the nodes of a multi-node Socket.IO deployment do together (CLU-*):
cross-node broadcasts, rooms, remote socket operations, server-side emits, balancers, and what
happens when the adapter's Redis goes away. Each node must serve the extended fixture contract with
its cluster part (testees/node/CONTRACT.md): node testees/node/fixtures/cluster.js --redis URL, or
siospec serve --fixture sio5 --adapter URL.

--cluster URLs   the nodes, already running (or one balancer URL: the balancer specs then are
                 unsupported). siospec does not control their Redis: the CLU-FAULT specs are
                 unsupported, with the reason in the report.
--server-cmd CMD siospec starts redis-server on a free loopback port and --nodes N nodes with CMD,
                 {port} replaced by a free port for each node and {adapter} by the Redis URL, e.g.
  siospec server --suite cluster --nodes 3 --server-ready '^listening' \
    --server-cmd "node --unhandled-rejections=warn fixtures/cluster.js --port {port} --redis {adapter}"
                 The CLU-FAULT specs then stop and restart that Redis.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "siospec server: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected arguments %q", fs.Args())
	}
	if !strings.EqualFold(strings.TrimSpace(*suite), "cluster") {
		return usage("--cluster runs --suite cluster only (got %q)", *suite)
	}
	if set["trials"] {
		return usage("--trials does not apply to the cluster suite")
	}
	if cfg.Path != "" && !strings.HasPrefix(cfg.Path, "/") {
		return usage("--path must start with /, got %q", cfg.Path)
	}
	var list []string
	for _, u := range strings.Split(*urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			list = append(list, strings.TrimRight(u, "/"))
		}
	}
	n := nf.config()
	switch {
	case set["cluster"] && n != nil:
		return usage("give either --cluster URLs (running nodes) or --server-cmd (siospec starts them), not both")
	case set["cluster"] && len(list) == 0:
		return usage("--cluster needs at least one URL")
	case !set["cluster"] && (n == nil || n.ServerCmd == ""):
		return usage("--suite cluster needs the nodes: --cluster URL1,URL2,... or --server-cmd CMD (with %s and %s) --nodes N", framework.PortPlaceholder, AdapterPlaceholder)
	case set["nodes"] && n == nil:
		return usage("--nodes needs --server-cmd")
	case *nodes < 2 || *nodes > 16:
		return usage("--nodes must be within 2..16, got %d", *nodes)
	}
	if n != nil {
		if err := n.Validate(); err != nil {
			return usage("%v", err)
		}
		if !strings.Contains(n.ServerCmd, AdapterPlaceholder) {
			return usage("--server-cmd must contain %s where the Redis URL of the cluster goes, e.g. \"node fixtures/cluster.js --port %s --redis %s\"", AdapterPlaceholder, framework.PortPlaceholder, AdapterPlaceholder)
		}
	}
	cfg.Suites = []framework.Proto{framework.CLUSTER}
	cfg.Normalize()
	if err := cfg.Validate(false); err != nil {
		return usage("%v", err)
	}
	filter, expected, code, ok := sel.resolve("siospec server", stdout, stderr)
	if !ok {
		return code
	}

	cc := &cluster.Config{URLs: list, Path: cfg.Path,
		NoRedisWhy: "the nodes were given with --cluster: siospec does not control their Redis (start the cluster with --server-cmd and --nodes so that it does)"}
	if n != nil {
		started, code := startCluster(ctx, n, *nodes, stdout, stderr)
		defer started.close()
		if code != exitOK {
			return code
		}
		cc.URLs, cc.Redis, cc.NoRedisWhy = started.urls, started.redis, ""
	}
	fmt.Fprintf(stdout, "seed %d, time scale %g, strict %v\n", cfg.Seed, cfg.TimeScale, cfg.Strict)
	opts := &suites.RunOptions{LabelFilter: filter, Focus: sel.focus}
	if isTerminal(stderr) {
		opts.Progress = stderr
	}
	started := time.Now()
	greport, err := suites.RunCluster(ctx, cfg, cc, opts)
	finished := time.Now()
	if err != nil {
		var pe *framework.PreflightError
		switch {
		case errors.As(err, &pe):
			fmt.Fprintf(stderr, "siospec server: preflight failed: %v\n", err)
			return exitPreflight
		case errors.Is(err, framework.ErrUsage):
			fmt.Fprintf(stderr, "siospec server: %v\n", err)
			return exitUsage
		}
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		return exitHarness
	}
	pre := map[string]string{}
	for i, nd := range cc.Nodes {
		fmt.Fprintf(stdout, "preflight cluster: node %s at %s (its adapter sees %d servers)\n", nd.Name, nd.URL, nd.Servers)
		pre[fmt.Sprintf("cluster.node%d", i+1)] = fmt.Sprintf("%s %s servers=%d", nd.Name, nd.URL, nd.Servers)
	}
	if cc.Redis != nil {
		pre["cluster.redis"] = "started by siospec (CLU-FAULT specs run)"
	} else {
		pre["cluster.redis"] = "not controlled: " + cc.NoRedisWhy
	}
	rep := reports.FromGinkgo(greport, reports.Meta{
		HarnessVersion:   harnessVersion(),
		Target:           "cluster=" + strings.Join(cc.URLs, ","),
		Role:             "server",
		Seed:             cfg.Seed,
		TimeScale:        cfg.TimeScale,
		Strict:           cfg.Strict,
		Preflight:        pre,
		Started:          started,
		Finished:         finished,
		ExpectedFailures: expected,
		Command:          append([]string{"siospec", "server"}, args...),
	})
	if !writeRun("siospec server", rep, &sel, *reportDir, stdout, stderr) {
		return exitHarness
	}
	finalLines(stdout, *reportDir, args)
	return rep.ExitCode()
}

// startedCluster is what startCluster started: Redis and the nodes.
type startedCluster struct {
	redis *cluster.Redis
	nodes []*netTarget
	urls  []string
}

func (s *startedCluster) close() {
	if s == nil {
		return
	}
	for _, n := range s.nodes {
		n.close()
	}
	if s.redis != nil {
		_ = s.redis.Close()
	}
}

// startCluster starts redis-server on a free loopback port and count nodes
// with the --server-cmd of n ({adapter} replaced by the Redis URL, {port}
// by a free port per node, through startNetTarget). What it started is
// returned even on failure, for the caller to close.
func startCluster(ctx context.Context, n *framework.NetConfig, count int, stdout, stderr io.Writer) (*startedCluster, int) {
	s := &startedCluster{}
	r, err := cluster.StartRedis(ctx, nil)
	if err != nil {
		fmt.Fprintf(stderr, "siospec server: start the cluster's Redis: %v\n", err)
		return s, exitHarness
	}
	s.redis = r
	fmt.Fprintf(stdout, "started redis-server at %s\n", r.URL())
	nc := *n
	nc.ServerCmd = strings.ReplaceAll(n.ServerCmd, AdapterPlaceholder, r.URL())
	for range count {
		t, err := startNetTarget(ctx, &nc)
		if err != nil {
			fmt.Fprintf(stderr, "siospec server: preflight failed: %v\n", err)
			return s, exitPreflight
		}
		s.nodes = append(s.nodes, t)
		s.urls = append(s.urls, t.url)
		fmt.Fprintf(stdout, "started node: %s (pid %d) at %s\n", nc.Command(portOf(t.url)), t.proc.PID(), t.url)
	}
	return s, exitOK
}
