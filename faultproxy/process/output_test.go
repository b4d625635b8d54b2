package process

import (
	"errors"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPumpMatchesLinesAcrossReads feeds the stdout pump in pieces: a
// matching line longer than maxLine is not matched, a line split across
// writes and ended by CRLF is, and only the first match is reported.
func TestPumpMatchesLinesAcrossReads(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	dst := &ring{limit: 1 << 20}
	found := make(chan string, 1)
	done := make(chan struct{})
	go func() { defer close(done); pump(r, dst, listening, found) }()

	writes := []string{
		"listening http://long" + strings.Repeat("x", maxLine) + "\n",
		"noise\nlis", "tening http://127.0.0.1:9", "\r\n",
		"listening http://second:1\n",
	}
	for _, s := range writes {
		if _, err := w.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("pump did not finish at EOF")
	}
	if got := <-found; got != "http://127.0.0.1:9" {
		t.Fatalf("capture %q", got)
	}
	b, total := dst.snapshot()
	if want := strings.Join(writes, ""); string(b) != want || total != int64(len(want)) {
		t.Fatalf("ring kept %d of %d bytes", len(b), total)
	}
}

func TestStartMissingProgram(t *testing.T) {
	p, err := New(Spec{Path: "/nonexistent/siospec-program"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Start(ctxT(t, 5*time.Second)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
	if p.Running() {
		t.Fatal("running")
	}
	evs, _ := p.Events()
	if len(evs) != 0 {
		t.Fatalf("events %v", evs)
	}
}

func TestReadyOnAbsoluteHTTPURLSetsAddr(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + itoa(port)
	p := newProc(t, helperSpec("http", "-addr", addr, "-quiet", "-fail-first", "2"),
		&Options{Ready: ReadyCheck{HTTP: "http://" + addr + "/x", HTTPStatus: 200, Interval: 10 * time.Millisecond}})
	start(t, p)
	if p.Addr() != addr || p.URL() != "" {
		t.Fatalf("Addr %q URL %q", p.Addr(), p.URL())
	}
	if !regexp.MustCompile(`^127\.0\.0\.1:\d+ after \S+$`).MatchString(lastEvent(p).Detail) {
		t.Fatalf("ready detail %q", lastEvent(p).Detail)
	}
}

func lastEvent(p *Process) Event {
	evs, _ := p.Events()
	return evs[len(evs)-1]
}

func itoa(n int) string { return strconv.Itoa(n) }
