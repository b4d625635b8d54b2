package suites

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/siospec/siospec/suites/framework"
)

// uncoveredWhy says, for each requirement without a spec, why siospec does
// not check it. TestConformanceYAML fails when a requirement without a spec
// has no entry, or when an entry's requirement has a spec.
var uncoveredWhy = map[string]string{
	"EIO-CLOSE-07": "Not checked: the fixture contract gives a client no way to make the server shut down gracefully.",
	"EIO-HS-09":    "Not checked: the refusal comes from an application hook that the fixture contract does not install.",
	"EIO-WT-01":    "Not checked: WebTransport (HTTP/3) is outside the suites' scope.",
	"EIO-WT-02":    "Not checked: WebTransport (HTTP/3) is outside the suites' scope.",
	"NODE-ACK-04":  "Not checked: the timeout fires inside the server's application code; nothing on the wire shows it.",
	"NODE-CSR-07":  "Not checked: a race inside Node's timers that no black-box client can provoke reliably.",
	"NODE-DR-01":   "Not checked: disconnect reasons are handed to the server's application and never sent.",
	"NODE-DR-03":   "Not checked: close reasons stay inside the server; nothing on the wire shows them.",
	"NODE-OPT-01":  "Not checked: what answers outside the Engine.IO path belongs to the host server, not to the protocol.",
	"NODE-TR-02":   "Not checked by its own spec; the WebSocket-only handshake specs (EIO-HS-03, EIO-WS-01) see the empty upgrades list.",
	"NODE-VOL-01":  "Not checked: volatile emits are server-side application calls the fixture contract does not make.",
	"SIO-CONN-16":  "Not checked: it needs slow connection middleware that the fixture contract does not install.",
	"SIO-DISC-06":  "Not checked: the fixture contract gives a client no way to shut the server down.",
	"SIO-NSP-09":   "Not checked: dynamic namespaces need a server configuration the fixture contract does not have.",
}

// areaTitles names the registry areas in registry order.
var areaTitles = []struct{ area, title string }{
	{"url", "Endpoint and query"},
	{"handshake", "Handshake"},
	{"packet", "Packets"},
	{"polling", "HTTP long-polling"},
	{"binary", "Binary data"},
	{"websocket", "WebSocket"},
	{"upgrade", "Upgrade from polling to WebSocket"},
	{"heartbeat", "Heartbeat"},
	{"close", "Closing a session"},
	{"limits", "Size limits"},
	{"cors", "CORS"},
	{"errors", "Errors"},
	{"connect", "Connecting to a namespace"},
	{"namespace", "Namespaces"},
	{"event", "Events"},
	{"ack", "Acknowledgements"},
	{"disconnect", "Disconnecting"},
	{"recovery", "Connection state recovery"},
	{"net", "Network failures"},
	{"cluster", "Clusters (nodes sharing an adapter)"},
}

// protoName spells a revision for readers.
func protoName(p framework.Proto) string {
	switch p {
	case framework.EIO4:
		return "Engine.IO v4"
	case framework.EIO3:
		return "Engine.IO v3"
	case framework.SIO5:
		return "Socket.IO v5"
	case framework.SIO4:
		return "Socket.IO v4"
	}
	return string(p)
}

// sideText explains a binding side.
func sideText(b framework.Bind) string {
	switch b {
	case framework.BindBoth:
		return "binds both sides"
	case framework.BindClient:
		return "binds the client"
	}
	return "binds the server"
}

// checkUncoveredWhy reports entries of uncoveredWhy that disagree with
// the spec tree.
func checkUncoveredWhy(entries []confEntry) []string {
	var errs []string
	known := map[string]bool{}
	for _, e := range entries {
		known[e.Req.ID] = true
		_, has := uncoveredWhy[e.Req.ID]
		switch {
		case len(e.Specs) == 0 && !has:
			errs = append(errs, fmt.Sprintf("%s has no spec: say why in uncoveredWhy (conformance_doc_test.go)", e.Req.ID))
		case len(e.Specs) > 0 && has:
			errs = append(errs, fmt.Sprintf("%s has specs now: drop its uncoveredWhy entry (conformance_doc_test.go)", e.Req.ID))
		}
	}
	for id := range uncoveredWhy {
		if !known[id] {
			errs = append(errs, fmt.Sprintf("uncoveredWhy names unknown requirement %s", id))
		}
	}
	slices.Sort(errs)
	return errs
}

// observedBy lists, for the doc, how the specs of an entry observe the
// rule: each distinct spec text (without the suite prefix and the [ID]),
// with the suites and transports it runs in.
func observedBy(e confEntry) []string {
	type where struct{ protos, transports []string }
	var order []string
	by := map[string]*where{}
	for _, s := range e.Specs {
		text := strings.TrimSuffix(s.Leaf, " ["+e.Req.ID+"]")
		w, ok := by[text]
		if !ok {
			w = &where{}
			by[text] = w
			order = append(order, text)
		}
		if p := strings.ToLower(s.Proto); !slices.Contains(w.protos, p) {
			w.protos = append(w.protos, p)
		}
		if s.Transport != "" && !slices.Contains(w.transports, s.Transport) {
			w.transports = append(w.transports, s.Transport)
		}
	}
	out := make([]string, 0, len(order))
	for _, text := range order {
		w := by[text]
		slices.Sort(w.protos)
		slices.Sort(w.transports)
		at := strings.Join(w.protos, ", ")
		if len(w.transports) > 0 {
			at += "; " + strings.Join(w.transports, ", ")
		}
		out = append(out, fmt.Sprintf("%s (%s)", text, at))
	}
	return out
}

// renderRequirementsDoc writes docs/requirements.md: every requirement of
// the registry, by layer and area, in siospec's words, with how its specs
// observe it.
func renderRequirementsDoc(entries []confEntry, clients map[string]confEntry) []byte {
	var w bytes.Buffer
	w.WriteString(`# Requirements

Every requirement ID that siospec's specs, reports and code name, in siospec's own words. The
registry in ` + "`suites/framework/requirements.go`" + ` holds the one-line statements; the "Checked by"
lines are the texts of the specs that observe each rule, with the suites and transports they
run in. ` + "`suites/conformance.yaml`" + ` adds each spec's file:line and the broken variants that prove
the specs catch a server breaking the rule.

Generated together with ` + "`suites/conformance.yaml`" + `; do not edit by hand. Regenerate with
` + "`" + conformanceRegen + "`" + `.

Levels: **MUST** fails a run; **SHOULD** and **NODE** (what Node's socket.io does and peers rely
on) are reported as non-strict unless ` + "`--strict`" + `; **MAY** and **EDGE** document behaviour and never
fail a target. A rule binds the server, the client or both sides; "Checked by" lists the server
suites' specs (` + "`siospec server`" + `), "Checked on clients by" the client suites' specs
(` + "`siospec client`" + `, each run as one case of the client contract).
`)
	layers := []struct {
		title string
		is    func(framework.Proto) bool
	}{
		{"Engine.IO", func(p framework.Proto) bool { return !p.IsSocketIO() }},
		{"Socket.IO", framework.Proto.IsSocketIO},
	}
	for _, layer := range layers {
		fmt.Fprintf(&w, "\n## %s\n", layer.title)
		for _, a := range areaTitles {
			var in []confEntry
			for _, e := range entries {
				if e.Req.Area == a.area && layer.is(e.Req.Proto) {
					in = append(in, e)
				}
			}
			if len(in) == 0 {
				continue
			}
			fmt.Fprintf(&w, "\n### %s\n", a.title)
			for _, e := range in {
				r := e.Req
				fmt.Fprintf(&w, "\n<a id=\"%s\"></a>\n**%s** · %s · %s · %s\n\n%s\n", r.ID, r.ID, r.Level, protoName(r.Proto), sideText(r.Bind), r.Summary)
				if obs := observedBy(e); len(obs) > 0 {
					w.WriteString("\nChecked by:\n")
					for _, o := range obs {
						fmt.Fprintf(&w, "- %s\n", o)
					}
				} else if why := uncoveredWhy[r.ID]; why != "" {
					fmt.Fprintf(&w, "\n%s\n", why)
				}
				if obs := observedBy(clients[r.ID]); len(obs) > 0 {
					w.WriteString("\nChecked on clients by:\n")
					for _, o := range obs {
						fmt.Fprintf(&w, "- %s\n", o)
					}
				} else if why := clientUncovered[r.ID]; why != "" && r.Bind.BindsClient() {
					fmt.Fprintf(&w, "\nOn clients: %s\n", why)
				}
			}
		}
	}
	if rows := framework.Requirements().Interop(); len(rows) > 0 {
		w.WriteString("\n## Interop matrix\n\nJudged by `siospec matrix` and `siospec certify` on a client and a server together, not by a suite\n(docs/matrix.md): each failure is charged to the side that broke the rule, or to the pair.\n")
		for _, r := range rows {
			fmt.Fprintf(&w, "\n<a id=\"%s\"></a>\n**%s** · %s · interop matrix · %s\n\n%s\n", r.ID, r.ID, r.Level, sideText(r.Bind), r.Summary)
		}
	}
	return w.Bytes()
}
