package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/siospec/siospec/suites/cluster"
)

// isClusterRun reports whether "siospec server" was given --cluster: the
// cluster suite has its own runner (runCluster).
func isClusterRun(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "cluster" {
			return true
		}
	}
	return false
}

// clusterJSON is the report runCluster writes as cluster-report.json.
type clusterJSON struct {
	Suite   string             `json:"suite"`
	Nodes   []cluster.NodeInfo `json:"nodes"`
	Results []clusterResult    `json:"results"`
	Failed  int                `json:"failed"`
	Harness int                `json:"harness_errors"`
}

type clusterResult struct {
	ID         string `json:"id"`
	Level      string `json:"level"`
	Outcome    string `json:"outcome"`
	Detail     string `json:"detail"`
	Text       string `json:"text"`
	DurationMS int64  `json:"duration_ms"`
}

// runCluster implements "siospec server --cluster URL1,URL2,... --suite
// cluster": the cluster suite (suites/cluster) against the nodes of a
// cluster, or one balancer URL in front of them. Exit codes as for
// "siospec server": 0 no MUST failed, 1 failures, 2 harness error, 3
// preflight failed, 4 usage.
func runCluster(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("siospec server --cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	urls := fs.String("cluster", "", "comma-separated base URLs of the cluster's nodes (http://127.0.0.1:3001,...), or one load balancer URL")
	suite := fs.String("suite", "cluster", "must be cluster with --cluster")
	path := fs.String("path", "/socket.io/", "the Socket.IO path of the nodes")
	focus := fs.String("focus", "", "run only the specs whose requirement ID starts with one of these comma-separated prefixes (CLU-BC,CLU-LB-01)")
	reportDir := fs.String("report-dir", "", "write cluster-report.json here")
	verbose := fs.Bool("v", false, "log every spec to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: siospec server --cluster URL1,URL2[,URL3...] --suite cluster [--focus CLU-BC] [--report-dir DIR] [-v]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Each node must serve the extended fixture contract with its cluster part (testees/node/CONTRACT.md):")
		fmt.Fprintln(stderr, "node testees/node/fixtures/cluster.js --redis URL, or siospec serve --fixture sio5 --adapter URL.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "siospec server: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if *suite != "cluster" {
		fmt.Fprintf(stderr, "siospec server: --cluster runs --suite cluster only (got %q)\n", *suite)
		return exitUsage
	}
	var list []string
	for _, u := range strings.Split(*urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			list = append(list, strings.TrimRight(u, "/"))
		}
	}
	if len(list) == 0 {
		fmt.Fprintln(stderr, "siospec server: --cluster needs at least one URL")
		return exitUsage
	}
	o := &cluster.Options{URLs: list, Path: *path}
	if *focus != "" {
		o.Only = strings.Split(*focus, ",")
	}
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	start := time.Now()
	rep, err := cluster.Run(ctx, o)
	var pe *cluster.PreflightError
	switch {
	case errors.As(err, &pe):
		fmt.Fprintf(stderr, "siospec server: preflight failed: %v\n", err)
		return exitPreflight
	case err != nil:
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		return exitHarness
	}
	for _, n := range rep.Nodes {
		fmt.Fprintf(stdout, "node %s at %s (adapter sees %d servers)\n", n.Name, n.URL, n.Servers)
	}
	out := clusterJSON{Suite: "cluster", Nodes: rep.Nodes, Failed: rep.Failed(), Harness: rep.HarnessErrors()}
	counts := map[cluster.Outcome]int{}
	for _, r := range rep.Results {
		counts[r.Outcome]++
		fmt.Fprintf(stdout, "%-8s %-13s %s\n", r.Outcome, r.ID, r.Detail)
		out.Results = append(out.Results, clusterResult{ID: r.ID, Level: string(r.Level), Outcome: string(r.Outcome), Detail: r.Detail, Text: r.Text, DurationMS: r.Duration.Milliseconds()})
	}
	fmt.Fprintf(stdout, "cluster suite: %d passed, %d failed, %d skipped, %d harness errors in %v\n", counts[cluster.Pass], counts[cluster.Fail], counts[cluster.Skipped], counts[cluster.HarnessError], time.Since(start).Round(time.Millisecond))
	if *reportDir != "" {
		b, _ := json.MarshalIndent(out, "", "  ")
		err := os.MkdirAll(*reportDir, 0o755)
		if err == nil {
			err = os.WriteFile(filepath.Join(*reportDir, "cluster-report.json"), append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "siospec server: write report: %v\n", err)
			return exitHarness
		}
	}
	if rep.Failed() > 0 {
		return exitFailures
	}
	if rep.HarnessErrors() > 0 {
		return exitHarness
	}
	return exitOK
}
