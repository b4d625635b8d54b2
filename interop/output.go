package interop

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Output file names in a report directory.
const (
	FileJSON    = "matrix.json"
	FileHTML    = "index.html"
	FileSummary = "summary.md"
)

// WriteDir writes matrix.json, index.html and summary.md into dir.
func WriteDir(dir string, m *Matrix) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, FileJSON), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var sb strings.Builder
	WriteSummary(&sb, m)
	if err := os.WriteFile(filepath.Join(dir, FileSummary), []byte(sb.String()), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, FileHTML))
	if err != nil {
		return err
	}
	if err := WriteHTML(f, m); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// grid returns the client and server names that have cells, in the
// implementations' order.
func (m *Matrix) grid() (clients, servers []string) {
	has := func(pick func(Cell) string, name string) bool {
		return slices.ContainsFunc(m.Cells, func(c Cell) bool { return pick(c) == name })
	}
	for _, im := range m.Impls {
		if len(im.Client) > 0 && has(func(c Cell) string { return c.Client }, im.Name) {
			clients = append(clients, im.Name)
		}
		if len(im.Server) > 0 && has(func(c Cell) string { return c.Server }, im.Name) {
			servers = append(servers, im.Name)
		}
	}
	return clients, servers
}

var mdIcon = map[string]string{Pass: "✅ pass", Fail: "❌", Unsupported: "➖ unsupported", HarnessError: "⚠️ harness error"}

// WriteSummary writes the Markdown summary (for CI job summaries): one grid
// per profile, then the failures with their IDs and sides.
func WriteSummary(w io.Writer, m *Matrix) {
	clients, servers := m.grid()
	t := m.Totals()
	fmt.Fprintf(w, "# Interop matrix\n\n%d cells: %d pass, %d fail, %d unsupported, %d harness error. Seed %d, siospec %s, shards %s.\n\n",
		len(m.Cells), t[Pass], t[Fail], t[Unsupported], t[HarnessError], m.Seed, m.Harness, strings.Join(m.Shards, ","))
	for _, pr := range m.Profiles {
		fmt.Fprintf(w, "## Profile `%s`\n\nRows: clients; columns: servers.\n\n| client \\ server |", pr)
		for _, s := range servers {
			fmt.Fprintf(w, " %s |", s)
		}
		fmt.Fprint(w, "\n|---|")
		for range servers {
			fmt.Fprint(w, "---|")
		}
		fmt.Fprintln(w)
		for _, cl := range clients {
			fmt.Fprintf(w, "| %s |", cl)
			for _, s := range servers {
				c, ok := m.Cell(cl + "/" + s + "/" + pr)
				switch {
				case !ok:
					fmt.Fprint(w, " · |")
				case c.Outcome == Fail:
					fmt.Fprintf(w, " ❌ %s %s |", strings.Join(c.Sides(), "+"), strings.Join(c.IDs(), " "))
				default:
					fmt.Fprintf(w, " %s |", mdIcon[c.Outcome])
				}
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	var failed []Cell
	for _, c := range m.Cells {
		if c.Outcome == Fail || c.Outcome == HarnessError {
			failed = append(failed, c)
		}
	}
	if len(failed) > 0 {
		fmt.Fprint(w, "## Failures\n\n")
		for _, c := range failed {
			fmt.Fprintf(w, "- `%s` (%s, seed %d): %s\n", c.Key(), c.Protocol, c.Seed, c.Short())
			for _, f := range c.Failures {
				fmt.Fprintf(w, "  - %s, %s side: %s\n", f.ID, f.Side, f.Detail)
			}
			if c.Reason != "" {
				fmt.Fprintf(w, "  - %s\n", c.Reason)
			}
			fmt.Fprintf(w, "  - rerun: `siospec matrix --cell %s --seed %d`\n", c.Key(), m.Seed)
		}
	}
}

// WriteHTML writes the self-contained grid page: one table per profile
// (a filter picks the profile), row = client, column = server; a cell opens
// its failures, transcript and decision log.
func WriteHTML(w io.Writer, m *Matrix) error {
	clients, servers := m.grid()
	type cellView struct {
		Cell
		ID    string
		Found bool
	}
	type row struct {
		Client string
		Cells  []cellView
	}
	type table struct {
		Profile string
		Rows    []row
	}
	var tables []table
	var details []cellView
	n := 0
	for _, pr := range m.Profiles {
		tb := table{Profile: pr}
		for _, cl := range clients {
			r := row{Client: cl}
			for _, s := range servers {
				c, ok := m.Cell(cl + "/" + s + "/" + pr)
				n++
				v := cellView{Cell: c, ID: fmt.Sprintf("c%d", n), Found: ok}
				r.Cells = append(r.Cells, v)
				if ok {
					details = append(details, v)
				}
			}
			tb.Rows = append(tb.Rows, r)
		}
		tables = append(tables, tb)
	}
	return pageTmpl.Execute(w, map[string]any{
		"M": m, "Servers": servers, "Tables": tables, "Details": details, "Totals": m.Totals(),
		"Shards": strings.Join(m.Shards, ", "),
	})
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"join":  strings.Join,
	"lines": func(s []string) string { return strings.Join(s, "\n") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>siospec interop matrix</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.35em .6em;text-align:center;font-size:.9em}
th{background:#f4f4f4}
td.pass{background:#d9f2d9}td.fail{background:#f8d0d0}td.unsupported{background:#eee;color:#777}td.harness-error{background:#fde8b0}
td a{color:inherit;text-decoration:none;display:block}
pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;overflow:auto;max-height:30em;font-size:.8em}
.detail{display:none;border-top:2px solid #999;margin-top:1em}.detail:target{display:block}
.hidden{display:none}
</style></head><body>
<h1>siospec interop matrix</h1>
<p>{{len .M.Cells}} cells: {{index .Totals "pass"}} pass, {{index .Totals "fail"}} fail, {{index .Totals "unsupported"}} unsupported, {{index .Totals "harness-error"}} harness error.
Seed {{.M.Seed}}, siospec {{.M.Harness}}, schema {{.M.Schema}}, shards {{.Shards}}.</p>
<p>Profile: <select id="profile" onchange="show(this.value)"><option value="">all</option>{{range .M.Profiles}}<option>{{.}}</option>{{end}}</select>
Rows are clients, columns servers; click a cell for its failures, transcript and decision log.</p>
{{range .Tables}}<section class="profile" data-profile="{{.Profile}}"><h2>Profile {{.Profile}}</h2>
<table><tr><th>client \ server</th>{{range $.Servers}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><th>{{.Client}}</th>{{range .Cells}}{{if .Found}}<td class="{{.Outcome}}"><a href="#{{.ID}}">{{.Short}}</a></td>{{else}}<td>·</td>{{end}}{{end}}</tr>
{{end}}</table></section>
{{end}}
{{range .Details}}<div class="detail" id="{{.ID}}"><h3>{{.Key}}: {{.Short}}</h3>
<p>Protocol {{.Protocol}}, seed {{.Seed}}, {{.DurationMS}} ms.{{if .Reason}} {{.Reason}}{{end}}</p>
{{if .Failures}}<ul>{{range .Failures}}<li><b>{{.ID}}</b> ({{.Side}} side): {{.Detail}}</li>{{end}}</ul>{{end}}
{{if .Delivery}}<p>Delivery: up {{.Delivery.UpSent}} sent, {{.Delivery.UpTallied}} tallied by the server, {{.Delivery.UpAcked}}/{{.Delivery.UpAcks}} acks; down {{.Delivery.DownSent}} on the wire, {{.Delivery.DownRecved}} received.</p>{{end}}
{{with .Visibility}}<p>Visibility: {{.String}}.{{if .Partial}} Partially visible (rules that conclude from absence were not applied to these, and delivery losses there are charged to the pair):{{end}}</p>
{{if .Partial}}<ul>{{range .Partial}}<li>{{if .SID}}session <code>{{.SID}}</code>{{else}}traffic of no known session{{end}}: {{.Undecoded}} unit(s), {{.Bytes}} bytes not decoded; {{join .Why "; "}}</li>{{end}}</ul>{{end}}{{end}}
<h4>Transcript (the proxy's tap, both directions)</h4><pre>{{lines .Transcript}}</pre>
<h4>Decision log</h4><pre>{{lines .Decisions}}</pre>
<h4>Client testee stdout</h4><pre>{{.TesteeOut}}</pre>
<h4>Client testee stderr</h4><pre>{{.TesteeErr}}</pre>
<h4>Server output</h4><pre>{{.ServerOut}}</pre>
</div>
{{end}}
<script>
function show(p){document.querySelectorAll('.profile').forEach(function(s){s.classList.toggle('hidden',p!==''&&s.dataset.profile!==p)})}
</script>
</body></html>
`))
