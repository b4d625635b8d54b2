package nodepeer

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// fakeTB records what Require did instead of ending the test.
type fakeTB struct{ skipped, failed string }

func (f *fakeTB) Helper()                       {}
func (f *fakeTB) Skipf(format string, a ...any) { f.skipped = fmt.Sprintf(format, a...) }
func (f *fakeTB) Fatalf(format string, a ...any) {
	f.failed = fmt.Sprintf(format, a...)
}

// A missing peer is a skip on a developer's machine and a failure in CI.
func TestRequireMissingPeer(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			var f fakeTB
			Require(&f, "siospec-no-such-module")
			switch {
			case ci == "" && (f.skipped == "" || f.failed != ""):
				t.Errorf("outside CI: skipped %q failed %q, want a skip", f.skipped, f.failed)
			case ci == "true" && (f.failed == "" || f.skipped != ""):
				t.Errorf("in CI: skipped %q failed %q, want a failure", f.skipped, f.failed)
			}
		})
	}
}

func TestAwaitListening(t *testing.T) {
	ch := make(chan string, 1)
	ch <- "listening http://127.0.0.1:1"
	if u, err := awaitListening(ch); err != nil || u != "http://127.0.0.1:1" {
		t.Errorf("got %q, %v", u, err)
	}
	ch <- "Error: boom"
	if _, err := awaitListening(ch); err == nil || !strings.Contains(err.Error(), "Error: boom") {
		t.Errorf("a wrong first line: %v", err)
	}
	close(ch)
	if _, err := awaitListening(ch); err == nil || !strings.Contains(err.Error(), "closed its output") {
		t.Errorf("an exited peer: %v", err)
	}
}

// Start returns the URL of a fixture that answers, and stops it at cleanup.
func TestStart(t *testing.T) {
	Require(t)
	u := Start(t, "fixtures/eio4.js")
	r, err := http.Get(u + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Errorf("handshake %d", r.StatusCode)
	}
}
