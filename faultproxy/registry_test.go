package faultproxy

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite README.md's generated tables from the registry")

// Markers around README.md's generated tables.
const (
	faultTableBegin   = "<!-- BEGIN fault table: generated from the registry (registry.go); go test ./faultproxy -run TestREADMECatalogue -update -->\n"
	faultTableEnd     = "<!-- END fault table -->\n"
	profileTableBegin = "<!-- BEGIN profile table: generated from Profiles() (profile.go); go test ./faultproxy -run TestREADMECatalogue -update -->\n"
	profileTableEnd   = "<!-- END profile table -->\n"
)

// profileTableMarkdown renders README.md's profile table from Profiles().
func profileTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| profile | models | faults and parameters | a compliant client | a compliant server |\n|---|---|---|---|---|\n")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for _, p := range Profiles() {
		b.WriteString("| `" + p.Name + "` | " + esc(p.Models) + " (" + p.Reference + ") | " + esc(p.Faults) + " | " + esc(p.Client) + " | " + esc(p.Server) + " |\n")
	}
	return b.String()
}

// replaceBetween replaces what lies between begin and end in s.
func replaceBetween(t *testing.T, s, begin, end, with string) string {
	t.Helper()
	i := strings.Index(s, begin)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q ... %q", strings.TrimSpace(begin), strings.TrimSpace(end))
	}
	return s[:i+len(begin)] + with + s[j:]
}

// TestREADMECatalogue keeps README.md's fault and profile tables equal to
// what the registry and Profiles() generate; -update rewrites them.
func TestREADMECatalogue(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	old := string(b)
	want := replaceBetween(t, old, faultTableBegin, faultTableEnd, faultTableMarkdown())
	want = replaceBetween(t, want, profileTableBegin, profileTableEnd, profileTableMarkdown())
	if want == old {
		return
	}
	if *update {
		if err := os.WriteFile("README.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("README.md's tables rewritten from the registry")
		return
	}
	t.Errorf("README.md's generated tables differ from the registry: run go test ./faultproxy -run TestREADMECatalogue -update\nwant:\n%s\n%s", faultTableMarkdown(), profileTableMarkdown())
}

// TestRegistryComplete fails when a fault type is not registered, is
// registered under the wrong names, or does not live in its own file:
// every type with a meta() method (the Fault interface) must be declared in
// fault_<type>.go together with exactly one faultKind, and the table must
// name that kind.
func TestRegistryComplete(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{} // Go type with meta() -> file
	kindFile := map[string]string{} // faultKind var -> file
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, fn, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil && d.Name.Name == "meta" {
					if id, ok := d.Recv.List[0].Type.(*ast.Ident); ok {
						declared[id.Name] = fn
					}
				}
			case *ast.GenDecl:
				for _, sp := range d.Specs {
					vs, ok := sp.(*ast.ValueSpec)
					if !ok || len(vs.Values) != 1 {
						continue
					}
					if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
						if id, ok := cl.Type.(*ast.Ident); ok && id.Name == "faultKind" {
							kindFile[vs.Names[0].Name] = fn
						}
					}
				}
			}
		}
	}
	for _, p := range registryProblems(faultKinds[:], declared, kindFile) {
		t.Error(p)
	}
	// The check can fail: a table missing a kind, or a fault declared in
	// another file, is reported.
	broken := append([]faultKind(nil), faultKinds[1:]...)
	if len(registryProblems(broken, declared, kindFile)) == 0 {
		t.Error("registryProblems missed a kind left out of the table")
	}
	moved := map[string]string{}
	for k, v := range declared {
		moved[k] = v
	}
	moved["Latency"] = "fault.go"
	if len(registryProblems(faultKinds[:], moved, kindFile)) == 0 {
		t.Error("registryProblems missed a fault declared outside its file")
	}
}

// registryProblems compares the table with the declarations found: Go
// types with a meta() method (type -> file) and faultKind values (var ->
// file).
func registryProblems(kinds []faultKind, declared, kindFile map[string]string) []string {
	var out []string
	byGo := map[string]faultKind{}
	seenTyp := map[string]bool{}
	for _, k := range kinds {
		if seenTyp[k.typ] {
			out = append(out, fmt.Sprintf("fault type %q registered twice", k.typ))
		}
		seenTyp[k.typ] = true
		byGo[k.goType] = k
	}
	if len(kindFile) != len(kinds) {
		out = append(out, fmt.Sprintf("%d faultKind values declared, %d in the table: every declared kind must be named in faultKinds", len(kindFile), len(kinds)))
	}
	for goType, fn := range declared {
		k, ok := byGo[goType]
		if !ok {
			out = append(out, fmt.Sprintf("%s (in %s) implements Fault but is not in the registry", goType, fn))
			continue
		}
		if want := "fault_" + k.typ + ".go"; fn != want {
			out = append(out, fmt.Sprintf("%s is declared in %s, want %s", goType, fn, want))
		}
	}
	for _, k := range kinds {
		if _, ok := declared[k.goType]; !ok {
			out = append(out, fmt.Sprintf("registry names %s, which has no meta() method", k.goType))
		}
		if k.summary == "" || k.where == "" || (k.stream != "upstream" && k.stream != "downstream") {
			out = append(out, fmt.Sprintf("%s: summary, where and stream must be set", k.typ))
		}
	}
	return out
}

// TestRegistryRoundTrip checks each registered type's descriptor against
// its Go type: the toxic of its zero-ish value parses back to the same
// type, named as registered, and renders to the same toxic.
func TestRegistryRoundTrip(t *testing.T) {
	for _, k := range faultKinds {
		if k.parse == nil {
			goOnly := map[string]Fault{"eio_drop_if": EIODropIf{}, "eio_observe": EIOObserve{}}
			if f, ok := goOnly[k.typ]; !ok || k.goType != reflect.TypeOf(f).Name() || k.typ != f.Type() {
				t.Errorf("Go-only kind %s/%s", k.typ, k.goType)
			}
			continue
		}
		var body string
		switch k.typ { // the types whose zero attributes are invalid
		case "slicer":
			body = `{"type":"slicer","attributes":{"average_size":10}}`
		case "idle_timeout":
			body = `{"type":"idle_timeout","attributes":{"idle_ms":10}}`
		case "eio_drop_packet", "eio_delay_packet", "eio_duplicate_packet":
			body = `{"type":"` + k.typ + `","attributes":{"packet":"ping"}}`
		case "lb_round_robin":
			body = `{"type":"lb_round_robin","attributes":{"backends":["127.0.0.1:1"]}}`
		case "http_buffer_response":
			body = `{"type":"http_buffer_response","attributes":{"until":"complete"}}`
		case "http_response_timeout":
			body = `{"type":"http_response_timeout","attributes":{"timeout_ms":5}}`
		case "sio_drop_packet":
			body = `{"type":"sio_drop_packet","attributes":{"packet":"event"}}`
		case "ws_buffer_frames":
			body = `{"type":"ws_buffer_frames","attributes":{"hold_ms":5}}`
		default:
			body = `{"type":"` + k.typ + `"}`
		}
		f, tx, err := ParseToxic([]byte(body))
		if err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if f.Type() != k.typ || reflect.TypeOf(f).Name() != k.goType {
			t.Errorf("%s parsed to %T (type %q), registered as %s/%s", body, f, f.Type(), k.goType, k.typ)
		}
		f2, err := tx.Fault()
		if err != nil || !reflect.DeepEqual(f, f2) {
			t.Errorf("%s: toxic %+v does not round-trip: %+v, %v", k.typ, tx, f2, err)
		}
	}
	if _, _, err := ParseToxic([]byte(`{"type":"eio_drop_if"}`)); err == nil {
		t.Error("the Go-only eio_drop_if has a JSON form")
	}
}
