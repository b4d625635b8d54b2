// Package nodepeer starts the Node peers of testees/node for siospec's own
// tests: the one helper for a test that needs a Node fixture server. It is
// for _test files only and imports the standard library alone.
//
// Require skips a test when Node or the installed peers are missing, except
// in CI (the environment variable CI set to a true value), where a missing
// peer fails the test: .ci/run installs them, so a skip there could only
// hide a proof that did not run.
package nodepeer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TB is the part of a test (or a prooftest.Attempt) that Start uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// SkipTB is the part of a test that Require uses.
type SkipTB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// ReadyTimeout bounds how long Start waits for a peer's "listening" line.
const ReadyTimeout = 10 * time.Second

// stopGrace is how long a peer has to exit after SIGINT before it is
// killed.
const stopGrace = 5 * time.Second

// Dir returns testees/node, found by walking up from the working directory
// (a package directory under the repository), or "" when there is none.
func Dir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "testees", "node")
		if st, err := os.Stat(filepath.Join(p, "package.json")); err == nil && !st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// inCI reports whether the tests run in CI.
func inCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Require checks that node is on PATH and that each of modules (default
// engine.io and socket.io) is installed in testees/node/node_modules. When
// one is missing it skips t, or fails it in CI.
func Require(t SkipTB, modules ...string) {
	t.Helper()
	if len(modules) == 0 {
		modules = []string{"engine.io", "socket.io"}
	}
	miss := func(why string) {
		t.Helper()
		if inCI() {
			t.Fatalf("%s: CI installs the Node peers (.ci/run), so this proof must run", why)
			return
		}
		t.Skipf("%s", why)
	}
	if _, err := exec.LookPath("node"); err != nil {
		miss("node is not on PATH; install Node 20 to run the Node proofs")
		return
	}
	dir := Dir()
	if dir == "" {
		miss("testees/node not found above the working directory")
		return
	}
	for _, m := range modules {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m, "package.json")); err != nil {
			miss(fmt.Sprintf("testees/node/node_modules/%s is missing; run `npm ci` in testees/node", m))
			return
		}
	}
}

// Start runs `node SCRIPT --port 0 ARGS` in testees/node (SCRIPT relative
// to it), waits for its "listening URL" line and returns URL. At cleanup the
// peer gets SIGINT, is killed after a grace period, and is waited for. A
// peer that exits or prints something else first fails t with what it said.
func Start(t TB, script string, args ...string) string {
	t.Helper()
	name := filepath.Base(script)
	dir := Dir()
	if dir == "" {
		t.Fatalf("%s: testees/node not found above the working directory", name)
		return ""
	}
	cmd := exec.Command("node", append([]string{script, "--port", "0"}, args...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
		return ""
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
		return ""
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(stopGrace):
			_ = cmd.Process.Kill()
			<-done
		}
		wg.Wait()
	})
	first := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(first)
		sc := bufio.NewScanner(stdout)
		for n := 0; sc.Scan(); n++ {
			if n == 0 {
				first <- sc.Text()
			}
		}
	}()
	u, err := awaitListening(first)
	if err != nil {
		t.Fatalf("%s %q: %v (see its stderr above)", name, args, err)
		return ""
	}
	return u
}

// awaitListening reads the peer's first line and returns the URL it
// announces.
func awaitListening(first <-chan string) (string, error) {
	select {
	case l, ok := <-first:
		if !ok {
			return "", errors.New("closed its output before reporting that it listens")
		}
		u, found := strings.CutPrefix(l, "listening ")
		if !found {
			return "", fmt.Errorf("first line %q, want %q", l, "listening URL")
		}
		return u, nil
	case <-time.After(ReadyTimeout):
		return "", fmt.Errorf("did not report listening within %v", ReadyTimeout)
	}
}
