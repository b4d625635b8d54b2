package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/suites"
	"github.com/siospec/siospec/suites/framework"
)

// runList implements `siospec list`: the server-binding requirements of
// the registry (docs/requirements.md) and the specs of every suite (eio4,
// eio3, sio5, sio4) that cover them, each with its file:line in the
// repository, without contacting any target (a Ginkgo dry run, the same
// data suites/conformance.yaml is generated from).
func runList(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("siospec list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	labelFilter := fs.String("label-filter", "", "list only specs matching this Ginkgo label filter (and the requirements they cover)")
	specs := fs.Bool("specs", true, "list each requirement's specs under it, with file:line")
	role := fs.String("role", "server", "server: the server suites' requirements and specs; client: the client suites' (siospec client)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: siospec list [--role server|client] [--label-filter EXPR] [--specs=false]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "siospec list: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	if *labelFilter != "" {
		if err := suites.CheckLabelFilter(*labelFilter); err != nil {
			fmt.Fprintf(stderr, "siospec list: %v\n", err)
			return exitUsage
		}
	}
	if *role != "server" && *role != "client" {
		fmt.Fprintf(stderr, "siospec list: --role %q: want server or client\n", *role)
		return exitUsage
	}
	list := suites.ListSpecs
	binds := framework.Bind.BindsServer
	if *role == "client" {
		list, binds = suites.ListClientSpecs, framework.Bind.BindsClient
	}
	rep, err := list(ctx, &suites.RunOptions{LabelFilter: *labelFilter})
	if err != nil {
		fmt.Fprintf(stderr, "siospec list: %v\n", err)
		if errors.Is(err, framework.ErrUsage) {
			return exitUsage
		}
		return exitHarness
	}
	byID := map[string][]string{}
	bySuite := map[string]int{}
	nspecs := 0
	for _, s := range rep.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt || s.State != types.SpecStatePassed {
			continue // a dry run reports selected specs as passed, filtered ones as skipped
		}
		nspecs++
		for _, l := range s.Labels() {
			if id, ok := strings.CutPrefix(l, "req:"); ok {
				byID[id] = append(byID[id], suites.SpecLocation(s)+"  "+s.FullText())
			}
			if p, ok := strings.CutPrefix(l, "proto:"); ok {
				bySuite[p]++
			}
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLEVEL\tPROTO\tAREA\tSPECS\tREQUIREMENT")
	nreq, covered := 0, 0
	for _, r := range framework.Requirements().All() {
		got := byID[r.ID]
		if !binds(r.Bind) && len(got) == 0 {
			continue
		}
		if *labelFilter != "" && len(got) == 0 {
			continue
		}
		nreq++
		if len(got) > 0 {
			covered++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.Level, r.Proto, r.Area, len(got), r.Summary)
		if *specs {
			for _, name := range got {
				fmt.Fprintf(tw, "\t\t\t\t\t  · %s\n", name)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return exitHarness
	}
	fmt.Fprintf(stdout, "\n%d requirements listed, %d covered by %d specs\n", nreq, covered, nspecs)
	var parts []string
	for _, p := range framework.AllSuites {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ToLower(string(p)), bySuite[string(p)]))
	}
	fmt.Fprintf(stdout, "specs by suite (siospec %s --suite): %s\n", *role, strings.Join(parts, ", "))
	return exitOK
}
