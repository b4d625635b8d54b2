package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/siospec/siospec/interop"
)

// defaultImpls is the implementations file `siospec matrix` reads by
// default (relative to the working directory).
const defaultImpls = "testees/impls.yaml"

// matrixRun is what runMatrix and certify share: a plan run into a Matrix.
type matrixRun struct {
	cfg      *interop.Config
	profiles []string
	seed     int64
	shard    interop.Shard
	cell     string // --cell CLIENT/SERVER/PROFILE, or ""
	only     func(interop.Planned) bool
	opts     interop.Options
	command  string
}

func (r *matrixRun) run(ctx context.Context) (*interop.Matrix, error) {
	plan := interop.Plan(r.cfg, r.profiles, r.seed)
	if r.cell != "" {
		var one []interop.Planned
		for _, p := range plan {
			if p.Key() == r.cell {
				one = append(one, p)
			}
		}
		if len(one) == 0 {
			return nil, fmt.Errorf("no cell %s in this plan (clients × servers × --profiles)", r.cell)
		}
		plan = one
	} else {
		plan = interop.ShardOf(plan, r.shard)
	}
	if r.only != nil {
		var keep []interop.Planned
		for _, p := range plan {
			if r.only(p) {
				keep = append(keep, p)
			}
		}
		plan = keep
	}
	m := &interop.Matrix{
		Schema: interop.Schema, Harness: harnessVersion(), Seed: r.seed, Created: time.Now().UTC(),
		Command: r.command, Shards: []string{r.shard.String()}, Profiles: r.profiles, Impls: interop.Infos(r.cfg),
	}
	if r.cell != "" {
		m.Shards = []string{"cell " + r.cell}
	}
	m.Cells = interop.RunMatrix(ctx, r.cfg, plan, &r.opts)
	return m, nil
}

func runMatrix(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "merge" {
		return runMatrixMerge(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("siospec matrix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		config    = fs.String("config", defaultImpls, "the implementations file (docs/matrix.md)")
		profiles  = fs.String("profiles", interop.ProfileNone, "comma-separated network profiles: none (direct, still tapped) and faultproxy's ("+strings.Join(interop.Profiles()[1:], ", ")+"), or all")
		reportDir = fs.String("report-dir", "", "write matrix.json, index.html and summary.md here")
		shard     = fs.String("shard", "1/1", "run shard K of N: a deterministic, balanced subset of the cells (join the shards with 'siospec matrix merge')")
		cell      = fs.String("cell", "", "run one cell alone: CLIENT/SERVER/PROFILE")
		seed      = fs.Int64("seed", 0, "root seed (default: from the clock); every cell derives its own")
		parallel  = fs.Int("parallel", 1, "cells run at a time")
		timeScale = fs.Float64("time-scale", 1, "multiply every wait by this factor")
		verbose   = fs.Bool("v", false, "log every cell as it ends")
	)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: siospec matrix [--config testees/impls.yaml] [--profiles none,corporate-firewall,...] [--report-dir DIR]")
		fmt.Fprintln(stderr, "                      [--shard K/N | --cell CLIENT/SERVER/PROFILE] [--seed N] [--parallel N] [--time-scale F]")
		fmt.Fprintln(stderr, "       siospec matrix merge --report-dir DIR SHARD/matrix.json...")
		fmt.Fprint(stderr, `
Runs every client implementation against every server implementation, directly and through each
network profile, and judges both sides of the wire (docs/matrix.md). Exit 0 when no cell failed,
1 when one did, 2 on a harness error, 4 on a usage error.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "siospec matrix: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usage("unexpected arguments %q", fs.Args())
	}
	cfg, err := interop.LoadConfig(*config)
	if err != nil {
		return usage("%v", err)
	}
	r := matrixRun{cfg: cfg, seed: *seed, command: "siospec matrix " + strings.Join(quoteArgs(args), " ")}
	if r.profiles, err = parseProfiles(*profiles); err != nil {
		return usage("--profiles: %v", err)
	}
	if r.shard, err = interop.ParseShard(*shard); err != nil {
		return usage("--shard: %v", err)
	}
	if *cell != "" {
		c, s, p, err := interop.ParseCellKey(*cell)
		if err != nil {
			return usage("--cell: %v", err)
		}
		r.cell = c + "/" + s + "/" + p
		if err := interop.CheckProfiles([]string{p}); err != nil {
			return usage("--cell: %v", err)
		}
		r.profiles = []string{p} // the cell's profile, whatever --profiles says
		if r.shard.N != 1 {
			return usage("--cell and --shard exclude each other")
		}
	}
	if *parallel < 1 || *timeScale <= 0 {
		return usage("--parallel must be 1 or more and --time-scale positive")
	}
	if r.seed == 0 {
		r.seed = time.Now().UnixNano() & (1<<53 - 1)
	}
	r.opts = interop.Options{Parallel: *parallel, TimeScale: *timeScale}
	if *verbose {
		r.opts.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	fmt.Fprintf(stdout, "siospec matrix: seed %d, shard %s, profiles %s\n", r.seed, r.shard, strings.Join(r.profiles, ","))
	m, err := r.run(ctx)
	if err != nil {
		return usage("%v", err)
	}
	return finishMatrix(m, *reportDir, stdout, stderr)
}

// finishMatrix prints the cells and writes the outputs; it returns the
// exit code.
func finishMatrix(m *interop.Matrix, dir string, stdout, stderr io.Writer) int {
	for _, c := range m.Cells {
		fmt.Fprintf(stdout, "  %-50s %s\n", c.Key(), c.Short())
	}
	t := m.Totals()
	fmt.Fprintf(stdout, "%d cells: %d pass, %d fail, %d unsupported, %d harness error\n", len(m.Cells), t[interop.Pass], t[interop.Fail], t[interop.Unsupported], t[interop.HarnessError])
	if dir != "" {
		if err := interop.WriteDir(dir, m); err != nil {
			fmt.Fprintf(stderr, "siospec matrix: write %s: %v\n", dir, err)
			return exitHarness
		}
		fmt.Fprintf(stdout, "matrix: %s\n", filepath.Join(dir, interop.FileHTML))
	}
	switch {
	case t[interop.Fail] > 0:
		return exitFailures
	case t[interop.HarnessError] > 0:
		return exitHarness
	}
	return exitOK
}

func runMatrixMerge(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("siospec matrix merge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	reportDir := fs.String("report-dir", "", "write the merged matrix.json, index.html and summary.md here (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *reportDir == "" || fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: siospec matrix merge --report-dir DIR SHARD/matrix.json...")
		return exitUsage
	}
	var ms []*interop.Matrix
	for _, p := range fs.Args() {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			p = filepath.Join(p, interop.FileJSON)
		}
		m, err := interop.Load(p)
		if err != nil {
			fmt.Fprintf(stderr, "siospec matrix merge: %v\n", err)
			return exitUsage
		}
		ms = append(ms, m)
	}
	m, err := interop.Merge(ms...)
	if err != nil {
		fmt.Fprintf(stderr, "siospec matrix merge: %v\n", err)
		return exitUsage
	}
	return finishMatrix(m, *reportDir, stdout, stderr)
}

func parseProfiles(s string) ([]string, error) {
	if s == "all" {
		return interop.Profiles(), nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out, interop.CheckProfiles(out)
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellArg(a)
	}
	return out
}
