package suites

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
	"github.com/siospec/siospec/suites/cluster"
	"github.com/siospec/siospec/suites/framework"
)

// conformanceRegen is the command that rewrites suites/conformance.yaml.
const conformanceRegen = "go test ./suites -run '^TestConformanceYAML$' -update"

// configNeeded names, by "ID PROTO", the specs that need a server
// configured differently from the fixture contract (README, "Testing your
// server"); on a fixture-contract server they are unsupported. A spec whose
// configuration the contract fixes (framework.ContractFor) is judged there
// and is not listed. A key that names no spec fails TestConformanceYAML.
var configNeeded = map[string]string{
	"EIO-URL-09 EIO4":  "JSONP polling enabled",
	"EIO3-11 EIO3":     "JSONP polling enabled",
	"EIO-CORS-01 EIO4": "no CORS configuration",
	"EIO-CORS-03 EIO4": "credentialed CORS",
	"NODE-CSR-01 SIO5": "connection state recovery enabled",
	"NODE-CSR-02 SIO5": "connection state recovery enabled",
	"NODE-CSR-04 SIO5": "connection state recovery enabled",
	"NODE-CSR-05 SIO5": "connection state recovery enabled",
	"NODE-CSR-06 SIO5": "connection state recovery enabled",
}

// confSpec is one spec of a requirement in conformance.yaml.
type confSpec struct {
	Text      string
	Leaf      string
	File      string
	Line      int
	Proto     string
	Transport string
	Extended  bool
	Slow      bool
	Config    string
}

// confEntry is one requirement in conformance.yaml.
type confEntry struct {
	Req       framework.Requirement
	Specs     []confSpec
	Variants  []string
	NoVariant string
}

// labelValue returns the value of the first label key:value of a spec.
func labelValue(s types.SpecReport, key string) string {
	for _, l := range s.Labels() {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return v
		}
	}
	return ""
}

// variantKills maps each requirement ID to the names of the broken
// variants that want it to fail, sorted.
func variantKills(vs []variant) map[string][]string {
	out := map[string][]string{}
	for _, v := range vs {
		for _, id := range v.want {
			if !slices.Contains(out[id], v.name) {
				out[id] = append(out[id], v.name)
			}
		}
	}
	// The cluster suite's broken adapters (suites/cluster, proven by its
	// TestCluster) kill the CLU-* requirements their specs fail.
	for _, b := range cluster.BrokenAdapters() {
		for _, id := range b.Fails {
			out[id] = append(out[id], "cluster-"+b.Name)
		}
	}
	for _, names := range out {
		sort.Strings(names)
	}
	return out
}

// allKills is variantKills plus the broken servers of the net proofs
// (netVariantKills: the "fail" lines of testdata/net-verdicts.txt that
// TestNetBrokenServers proves).
func allKills(t *testing.T, vs []variant) map[string][]string {
	t.Helper()
	out := variantKills(vs)
	for id, names := range netVariantKills(t) {
		for _, n := range names {
			if !slices.Contains(out[id], n) {
				out[id] = append(out[id], n)
			}
		}
		sort.Strings(out[id])
	}
	return out
}

// buildConformance joins the registry, the dry run's specs and the broken
// variants into one entry per requirement, in SortIDs order. Specs that
// name no known requirement are left out (TestRequirementCoverage fails on
// them); t records unused configNeeded keys.
func buildConformance(t *testing.T, reg *framework.Registry, specs []types.SpecReport, kills map[string][]string, noVariant map[string]string) []confEntry {
	t.Helper()
	bySpecID := map[string][]confSpec{}
	usedConfig := map[string]bool{}
	for _, s := range specs {
		ids := specReqs(s)
		if len(ids) != 1 {
			continue
		}
		proto := labelValue(s, "proto")
		key := ids[0] + " " + proto
		if _, ok := configNeeded[key]; ok {
			usedConfig[key] = true
		}
		bySpecID[ids[0]] = append(bySpecID[ids[0]], confSpec{
			Text:      s.FullText(),
			Leaf:      s.LeafNodeText,
			File:      SpecFile(s),
			Line:      s.LeafNodeLocation.LineNumber,
			Proto:     proto,
			Transport: labelValue(s, "transport"),
			Extended:  slices.Contains(s.Labels(), "extended"),
			Slow:      slices.Contains(s.Labels(), "slow"),
			Config:    configNeeded[key],
		})
	}
	for key := range configNeeded {
		if !usedConfig[key] {
			t.Errorf("configNeeded names %q, which no spec has (ID PROTO)", key)
		}
	}
	all := reg.All()
	ids := make([]string, 0, len(all))
	for _, r := range all {
		if r.Bind.BindsServer() {
			ids = append(ids, r.ID)
		}
	}
	framework.SortIDs(ids)
	out := make([]confEntry, 0, len(ids))
	for _, id := range ids {
		r, _ := reg.Lookup(id)
		ss := bySpecID[id]
		sort.SliceStable(ss, func(i, j int) bool {
			a, b := ss[i], ss[j]
			if a.File != b.File {
				return a.File < b.File
			}
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Text < b.Text
		})
		out = append(out, confEntry{Req: r, Specs: ss, Variants: kills[id], NoVariant: noVariant[id]})
	}
	return out
}

// yq quotes s as a YAML double-quoted scalar (JSON string syntax, which
// YAML accepts), without HTML escaping.
func yq(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // a string always encodes
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// bindName spells a registry binding side for the file.
func bindName(b framework.Bind) string {
	switch b {
	case framework.BindServer:
		return "server"
	case framework.BindBoth:
		return "both"
	}
	return string(b)
}

// renderConformance writes the entries as suites/conformance.yaml.
func renderConformance(entries []confEntry, km killMatrix) []byte {
	var w bytes.Buffer
	nspecs, covered := 0, 0
	for _, e := range entries {
		nspecs += len(e.Specs)
		if len(e.Specs) > 0 {
			covered++
		}
	}
	fmt.Fprintf(&w, "# siospec conformance: every requirement of the registry (suites/framework/requirements.go),\n")
	fmt.Fprintf(&w, "# stated in %s, with the specs that check it (Ginkgo dry run) and the broken\n", RequirementsDoc)
	fmt.Fprintf(&w, "# variants that prove those specs catch a server breaking it (suites/variants*_test.go).\n")
	fmt.Fprintf(&w, "# GENERATED, do not edit. Regenerate after changing a spec, a requirement or a variant:\n")
	fmt.Fprintf(&w, "#   %s\n", conformanceRegen)
	fmt.Fprintf(&w, "# %d requirements, %d with specs, %d specs. Kill matrix: %s.\n", len(entries), covered, nspecs, km.figure())
	fmt.Fprintf(&w, "#\n# Per requirement: id, side (server or both), level, proto, area, summary (siospec's\n")
	fmt.Fprintf(&w, "# wording), doc; specs (text, file:line, proto, transport, extended = needs the\n")
	fmt.Fprintf(&w, "# extended contract, slow, config = server configuration beyond the fixture contract),\n")
	fmt.Fprintf(&w, "# or covered: false; killed_by (broken variants), no_variant (why none can exist), or\n")
	fmt.Fprintf(&w, "# kill: open for a server-binding MUST or SHOULD with neither.\n")
	for _, e := range entries {
		r := e.Req
		fmt.Fprintf(&w, "\n- id: %s\n", r.ID)
		fmt.Fprintf(&w, "  side: %s\n", bindName(r.Bind))
		fmt.Fprintf(&w, "  level: %s\n", r.Level)
		fmt.Fprintf(&w, "  proto: %s\n", r.Proto)
		fmt.Fprintf(&w, "  area: %s\n", r.Area)
		fmt.Fprintf(&w, "  summary: %s\n", yq(r.Summary))
		fmt.Fprintf(&w, "  doc: %s#%s\n", RequirementsDoc, r.ID)
		fmt.Fprintf(&w, "  covered: %t\n", len(e.Specs) > 0)
		if len(e.Specs) > 0 {
			fmt.Fprintf(&w, "  specs:\n")
			for _, s := range e.Specs {
				fmt.Fprintf(&w, "    - text: %s\n", yq(s.Text))
				fmt.Fprintf(&w, "      file: %s:%d\n", s.File, s.Line)
				fmt.Fprintf(&w, "      proto: %s\n", s.Proto)
				if s.Transport != "" {
					fmt.Fprintf(&w, "      transport: %s\n", s.Transport)
				}
				fmt.Fprintf(&w, "      extended: %t\n", s.Extended)
				if s.Slow {
					fmt.Fprintf(&w, "      slow: true\n")
				}
				if s.Config != "" {
					fmt.Fprintf(&w, "      config: %s\n", yq(s.Config))
				}
			}
		}
		if len(e.Variants) > 0 {
			fmt.Fprintf(&w, "  killed_by: [%s]\n", strings.Join(e.Variants, ", "))
		}
		if e.NoVariant != "" {
			fmt.Fprintf(&w, "  no_variant: %s\n", yq(e.NoVariant))
		}
		if killBinding(r) && len(e.Variants) == 0 && e.NoVariant == "" {
			fmt.Fprintf(&w, "  kill: open # counts in the kill matrix, no variant yet\n")
		}
	}
	return w.Bytes()
}

// loadConformance builds the kill matrix and the entries of
// conformance.yaml from this package's dry run, registry and variants.
func loadConformance(t *testing.T, specs []types.SpecReport) ([]confEntry, killMatrix) {
	t.Helper()
	reg := framework.Requirements()
	kills := allKills(t, brokenVariants())
	noVar := noVariantSets()
	km := computeKillMatrix(reg, kills, noVar)
	return buildConformance(t, reg, specs, kills, noVar), km
}

// requirementsDocPath is docs/requirements.md from the package directory.
const requirementsDocPath = "../" + RequirementsDoc

// TestConformanceYAML checks that suites/conformance.yaml and
// docs/requirements.md are what the spec tree, the registry and the broken
// variants make of them today; -update rewrites both. Whoever changes a
// spec (even its line), a requirement or a variant regenerates them in the
// same commit.
func TestConformanceYAML(t *testing.T) {
	entries, km := loadConformance(t, dryRun(t))
	for _, err := range checkUncoveredWhy(entries) {
		t.Error(err)
	}
	for _, e := range entries {
		if !slices.ContainsFunc(areaTitles, func(a struct{ area, title string }) bool { return a.area == e.Req.Area }) {
			t.Errorf("%s has area %q, which areaTitles (conformance_doc_test.go) does not name: docs/requirements.md would leave it out", e.Req.ID, e.Req.Area)
		}
	}
	files := []struct {
		path, name string
		got        []byte
	}{
		{filepath.Base(ConformanceFile), ConformanceFile, renderConformance(entries, km)}, // the test runs in suites/
		{requirementsDocPath, RequirementsDoc, renderRequirementsDoc(withClientRules(entries), clientEntries(clientDryRun(t)))},
	}
	for _, f := range files {
		if *update {
			if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.path, f.got, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", f.name)
			continue
		}
		want, err := os.ReadFile(f.path)
		if err != nil {
			t.Errorf("%v; generate it with: %s", err, conformanceRegen)
			continue
		}
		if !bytes.Equal(want, f.got) {
			t.Errorf("%s is stale: a spec (its text or file:line), a requirement or a broken variant changed.\n"+
				"Review the difference and regenerate it with:\n\t%s\n%s",
				f.name, conformanceRegen, diffRegion(string(want), string(f.got)))
		}
	}
	t.Logf("%d requirements; kill matrix %s", len(entries), km.figure())
}

// diffRegion shows where two texts differ: the lines between their common
// prefix and common suffix, at most 40 of each side.
func diffRegion(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	p := 0
	for p < len(al) && p < len(bl) && al[p] == bl[p] {
		p++
	}
	q := 0
	for q < len(al)-p && q < len(bl)-p && al[len(al)-1-q] == bl[len(bl)-1-q] {
		q++
	}
	var w strings.Builder
	fmt.Fprintf(&w, "first difference at line %d (committed -, generated +):\n", p+1)
	show := func(sign string, lines []string) {
		for i, l := range lines {
			if i == 40 {
				fmt.Fprintf(&w, "%s ... %d more lines\n", sign, len(lines)-40)
				break
			}
			fmt.Fprintf(&w, "%s %s\n", sign, l)
		}
	}
	show("-", al[p:len(al)-q])
	show("+", bl[p:len(bl)-q])
	return w.String()
}

// withClientRules adds to the server entries the requirements that bind
// clients alone, in SortIDs order, for docs/requirements.md.
func withClientRules(entries []confEntry) []confEntry {
	out := slices.Clone(entries)
	for _, r := range framework.Requirements().All() {
		if !r.Bind.BindsServer() {
			out = append(out, confEntry{Req: r})
		}
	}
	slices.SortStableFunc(out, func(a, b confEntry) int {
		ids := []string{a.Req.ID, b.Req.ID}
		framework.SortIDs(ids)
		if a.Req.ID == b.Req.ID {
			return 0
		}
		if ids[0] == a.Req.ID {
			return -1
		}
		return 1
	})
	return out
}

// clientEntries groups the client specs of a dry run by requirement.
func clientEntries(specs []types.SpecReport) map[string]confEntry {
	reg := framework.Requirements()
	out := map[string]confEntry{}
	for _, s := range specs {
		id := labelValue(s, "req")
		r, ok := reg.Lookup(id)
		if !ok {
			continue
		}
		e := out[id]
		e.Req = r
		e.Specs = append(e.Specs, confSpec{Text: s.FullText(), Leaf: s.LeafNodeText, File: SpecFile(s), Line: s.LeafNodeLocation.LineNumber,
			Proto: labelValue(s, "proto"), Transport: labelValue(s, "transport")})
		out[id] = e
	}
	return out
}
