package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/siospec/siospec/reports"
	"github.com/siospec/siospec/suites"
)

// selection holds the flags that choose the specs of a run and its
// baseline, shared by siospec server and siospec client.
type selection struct {
	labelFilter    string
	focus          multiFlag
	expectFailures string
	rerunFailed    string
}

// register binds the selection flags to fs.
func (s *selection) register(fs *flag.FlagSet) {
	fs.StringVar(&s.labelFilter, "label-filter", "", "Ginkgo label filter, e.g. 'area:heartbeat && level:MUST' or 'req: containsAny {EIO-HS-02}'; specs labelled slow run only when the filter names slow")
	fs.Var(&s.focus, "focus", "run only specs whose full text matches this regular expression (repeatable)")
	fs.StringVar(&s.expectFailures, "expect-failures", "", "file of '<suite> <ID> <reason>' lines (suite eio4, eio3, sio5 or sio4; # comments): failures of that suite's specs that do not gate")
	fs.StringVar(&s.rerunFailed, "rerun-failed", "", "report.json of an earlier run: run only the requirements that failed there")
}

// resolve checks the selection flags and returns the label filter to run
// with (narrowed to the requirements to rerun) and the expected failures.
// When ok is false the command ends with code (a usage error, or nothing
// to rerun).
func (s *selection) resolve(cmd string, stdout, stderr io.Writer) (filter string, expected []reports.Expectation, code int, ok bool) {
	for _, f := range s.focus {
		if _, err := regexp.Compile(f); err != nil {
			fmt.Fprintf(stderr, "%s: --focus %q: %v\n", cmd, f, err)
			return "", nil, exitUsage, false
		}
	}
	if s.labelFilter != "" {
		if err := suites.CheckLabelFilter(s.labelFilter); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
			return "", nil, exitUsage, false
		}
	}
	if s.expectFailures != "" {
		f, err := os.Open(s.expectFailures)
		if err != nil {
			fmt.Fprintf(stderr, "%s: --expect-failures: %v\n", cmd, err)
			return "", nil, exitUsage, false
		}
		expected, err = reports.ReadExpectedFailures(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "%s: --expect-failures %s: %v\n", cmd, s.expectFailures, err)
			return "", nil, exitUsage, false
		}
	}
	filter = s.labelFilter
	if s.rerunFailed != "" {
		ids, err := failedIDs(s.rerunFailed)
		if err != nil {
			fmt.Fprintf(stderr, "%s: --rerun-failed: %v\n", cmd, err)
			return "", nil, exitUsage, false
		}
		if len(ids) == 0 {
			fmt.Fprintf(stdout, "%s: %s has no failed spec; nothing to rerun\n", cmd, s.rerunFailed)
			return "", nil, exitOK, false
		}
		sel := "req: containsAny {" + strings.Join(ids, ", ") + "}"
		if filter != "" {
			sel = "(" + filter + ") && " + sel
		}
		filter = sel
		fmt.Fprintf(stdout, "rerunning %d failed requirements: %s\n", len(ids), strings.Join(ids, " "))
	}
	return filter, expected, exitOK, true
}

// reportUnmatched says on stderr which expected failures matched no spec.
func (s *selection) reportUnmatched(cmd string, rep *reports.Report, stderr io.Writer) {
	for _, e := range rep.Unmatched {
		fmt.Fprintf(stderr, "%s: --expect-failures %s line %d: %s %s matched no spec (none of that suite's specs of that ID failed or passed in this run)\n",
			cmd, s.expectFailures, e.Line, e.Suite, e.ID)
	}
}
