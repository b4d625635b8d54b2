package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listChildEnv makes TestListChild run `siospec list` with the arguments
// in the variable (space-separated). A dry run may happen once per
// process, so each listing runs in a child of this test binary.
const listChildEnv = "SIOSPEC_TEST_LIST_ARGS"

// TestListChild is the child of runListChild; it does nothing otherwise.
func TestListChild(t *testing.T) {
	args, ok := os.LookupEnv(listChildEnv)
	if !ok {
		t.Skip("runs only as the child of TestListFileLine")
	}
	code := run(context.Background(), append([]string{"list"}, strings.Fields(args)...), os.Stdout, os.Stderr)
	fmt.Printf("\nexit %d\n", code)
}

// runListChild runs `siospec list ARGS` in a child process and returns its
// output and exit code.
func runListChild(t *testing.T, args string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestListChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), listChildEnv+"="+args)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("siospec list %s: %v\n%s", args, err, out)
	}
	m := regexp.MustCompile(`\nexit (\d+)\n`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("siospec list %s: no exit code in the output\n%s", args, out)
	}
	code, _ := strconv.Atoi(string(m[1]))
	return string(out), code
}

// specLine matches a spec line of `siospec list`: file:line, two spaces,
// the full text ending with [ID].
var specLine = regexp.MustCompile(`· (\S+\.go):(\d+)  (.*) \[([A-Z0-9-]+)\]$`)

// TestListFileLine: `siospec list` shows each spec with a file:line
// relative to the repository, and the line there declares a spec of that
// requirement (an s.It call naming the ID as a string literal).
func TestListFileLine(t *testing.T) {
	out, code := runListChild(t, "")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0\n%s", code, out)
	}
	root := filepath.Join("..", "..")
	files := map[string][]string{}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		m := specLine.FindStringSubmatch(strings.TrimRight(l, " "))
		if m == nil {
			if strings.Contains(l, "·") {
				t.Errorf("spec line without file:line: %q", l)
			}
			continue
		}
		n++
		file, id := m[1], m[4]
		lines, ok := files[file]
		if !ok {
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
			if err != nil {
				t.Errorf("%s: %v (want a path relative to the repository)", l, err)
				files[file] = nil
				continue
			}
			lines = strings.Split(string(b), "\n")
			files[file] = lines
		}
		ln, _ := strconv.Atoi(m[2])
		if ln < 1 || ln > len(lines) {
			if lines != nil {
				t.Errorf("%s: line %d is outside %s", id, ln, file)
			}
			continue
		}
		if src := lines[ln-1]; !strings.Contains(src, ".It(") || !strings.Contains(src, strconv.Quote(id)) {
			t.Errorf("%s:%d does not declare a spec of %s: %q", file, ln, id, strings.TrimSpace(src))
		}
	}
	if n < 100 {
		t.Fatalf("only %d spec lines with file:line in the listing\n%s", n, out)
	}
	t.Logf("%d spec lines, each at the s.It naming its ID", n)
}

// TestListFilter: a label filter narrows the listing to the specs it
// selects, still with file:line.
func TestListFilter(t *testing.T) {
	out, code := runListChild(t, "--label-filter=area:cors")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0\n%s", code, out)
	}
	var ids []string
	for _, l := range strings.Split(out, "\n") {
		if m := specLine.FindStringSubmatch(strings.TrimRight(l, " ")); m != nil {
			ids = append(ids, m[4])
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no spec listed for area:cors\n%s", out)
	}
	for _, id := range ids {
		if !strings.HasPrefix(id, "EIO-CORS-") {
			t.Errorf("the filter area:cors listed a spec of %s", id)
		}
	}
	if !bytes.Contains([]byte(out), []byte("4 requirements listed, 4 covered")) {
		t.Errorf("want the summary to count the four CORS requirements\n%s", out)
	}
}
