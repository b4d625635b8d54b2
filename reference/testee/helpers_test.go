package testee

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const wait = 5 * time.Second // bound on every wait of the tests

func anyCase(_, name string) bool { return name != "no-such-case" }

// lines collects report lines; each Write must be exactly one line.
type lines struct {
	t      *testing.T
	mu     sync.Mutex
	all    []map[string]any
	raw    []string
	sig    chan struct{}
	broken string
}

func newLines(t *testing.T) *lines { return &lines{t: t, sig: make(chan struct{}, 1)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := string(p)
	if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		l.broken = fmt.Sprintf("write is not one line: %q", s)
	}
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		l.broken = fmt.Sprintf("line is not JSON: %q: %v", s, err)
	}
	l.all = append(l.all, m)
	l.raw = append(l.raw, strings.TrimSuffix(s, "\n"))
	select {
	case l.sig <- struct{}{}:
	default:
	}
	return len(p), nil
}

// find returns the first report from index from on that matches ev and
// the fields of want (compared in their JSON form), and its index.
func (l *lines) find(from int, ev string, want map[string]any) (map[string]any, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := from; i < len(l.all); i++ {
		m := l.all[i]
		if m["ev"] != ev {
			continue
		}
		ok := true
		for k, v := range want {
			a, _ := json.Marshal(m[k])
			b, _ := json.Marshal(v)
			if !bytes.Equal(a, b) {
				ok = false
				break
			}
		}
		if ok {
			return m, i
		}
	}
	return nil, -1
}

// expect waits for a report as find matches it.
func (l *lines) expect(ev string, want map[string]any) map[string]any {
	l.t.Helper()
	deadline := time.After(wait)
	for {
		if m, _ := l.find(0, ev, want); m != nil {
			return m
		}
		select {
		case <-l.sig:
		case <-deadline:
			l.t.Fatalf("no %s report matching %v within %v; reports:\n%s", ev, want, wait, l.dump())
			return nil
		}
	}
}

// none asserts that no report matches.
func (l *lines) none(ev string, want map[string]any) {
	l.t.Helper()
	if m, _ := l.find(0, ev, want); m != nil {
		l.t.Fatalf("unexpected report %v; reports:\n%s", m, l.dump())
	}
}

func (l *lines) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.raw, "\n")
}

func (l *lines) check() {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.broken != "" {
		l.t.Fatal(l.broken)
	}
}

// running is a testee run in progress.
type running struct {
	t      *testing.T
	out    *lines
	stdin  *io.PipeWriter
	code   chan int
	cancel context.CancelFunc
}

// start runs the testee against url for suite with the client options.
func start(t *testing.T, url, suite, transports, clientOptions string) *running {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, out: newLines(t), stdin: pw, code: make(chan int, 1), cancel: cancel}
	o := &Options{
		URL: url, Suite: suite, Case: "some-case", Transports: transports,
		ClientOptions: clientOptions, Seed: 7, Cases: anyCase,
		Stdin: pr, Stdout: r.out, RequestTimeout: 2 * time.Second,
	}
	go func() { r.code <- Run(ctx, o) }()
	t.Cleanup(func() {
		r.cancel()
		_ = pw.Close()
		select {
		case <-r.code:
		case <-time.After(wait):
			t.Errorf("Run did not return after cancel")
		}
		r.out.check()
	})
	return r
}

// exitCode waits for Run's result.
func (r *running) exitCode() int {
	r.t.Helper()
	select {
	case c := <-r.code:
		r.code <- c
		return c
	case <-time.After(wait):
		r.t.Fatalf("Run did not return within %v; reports:\n%s", wait, r.out.dump())
		return -1
	}
}

// closeStdin closes the testee's stdin.
func (r *running) closeStdin() { _ = r.stdin.Close() }
