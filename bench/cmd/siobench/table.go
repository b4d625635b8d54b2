package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

func medianF(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	c := slices.Clone(xs)
	sort.Float64s(c)
	return c[len(c)/2]
}

type agg struct {
	rate, cpuPerOp, genShare []float64
	extra                    map[string][]float64
	errors                   int64
	ops                      []float64
}

// writeTable appends one workload's table: medians over rounds, and the
// ratios of the medians against the raw gorilla echo and against Node of
// the same protocol.
func writeTable(b *strings.Builder, wl workload, ims []impl, samples []sample, load0, load1 string) {
	by := map[string]*agg{}
	for _, s := range samples {
		a := by[s.Impl]
		if a == nil {
			a = &agg{extra: map[string][]float64{}}
			by[s.Impl] = a
		}
		a.errors += s.Errors
		a.ops = append(a.ops, float64(s.Ops))
		if s.Wall > 0 && s.Ops > 0 {
			a.rate = append(a.rate, float64(s.Ops)/s.Wall.Seconds())
			a.cpuPerOp = append(a.cpuPerOp, float64(s.SrvCPU)/float64(time.Microsecond)/float64(s.Ops))
			if t := s.SrvCPU + s.GenCPU; t > 0 {
				a.genShare = append(a.genShare, float64(s.GenCPU)/float64(t))
			}
		}
		for k, v := range s.Extra {
			a.extra[k] = append(a.extra[k], v)
		}
	}
	var keys []string
	for _, a := range by {
		for k := range a.extra {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	fmt.Fprintf(b, "### %s\n\nload average %s at the start, %s at the end; one op = one %s\n\n", wl.name, load0, load1, wl.unit)
	hdr := "| server | " + wl.unit + "s/s | server CPU µs/" + wl.unit + " | CPU ×gorilla | CPU ×node | rate ×node | rate ×zishang520 | generator CPU share | errors |"
	sep := "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for _, k := range keys {
		hdr += " " + k + " |"
		sep += "---:|"
	}
	fmt.Fprintln(b, hdr)
	fmt.Fprintln(b, sep)
	get := func(name string) *agg {
		if a := by[name]; a != nil {
			return a
		}
		return &agg{extra: map[string][]float64{}}
	}
	for _, im := range ims {
		key := im.name + "/" + im.proto
		a := get(key)
		cpu := medianF(a.cpuPerOp)
		rate := medianF(a.rate)
		ratio := func(x, y float64) string {
			if x == 0 || y == 0 {
				return "–"
			}
			return fmt.Sprintf("%.2f", x/y)
		}
		gor := get("gorilla/eio")
		node := get("node/" + im.proto)
		zis := get("zishang520/" + im.proto)
		cpuG := ratio(cpu, medianF(gor.cpuPerOp))
		fmt.Fprintf(b, "| %s | %.0f | %.2f | %s | %s | %s | %s | %.0f%% | %d |", key, rate, cpu, cpuG,
			ratio(cpu, medianF(node.cpuPerOp)), ratio(rate, medianF(node.rate)), ratio(rate, medianF(zis.rate)),
			100*medianF(a.genShare), a.errors)
		for _, k := range keys {
			fmt.Fprintf(b, " %.1f |", medianF(a.extra[k]))
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintln(b)
}
