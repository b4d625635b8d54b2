package scripted

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/nodepeer"
)

// testRecorder is a Recorder for tests.
type testRecorder struct {
	mu     sync.Mutex
	conns  int
	events []recEvent
}

type recEvent struct {
	Conn               int
	Dir, Kind, Summary string
	Data               []byte
}

func (r *testRecorder) NewConn() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.conns++
	return r.conns
}

func (r *testRecorder) Add(conn int, dir, kind, summary string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, recEvent{conn, dir, kind, summary, append([]byte(nil), data...)})
}

func (r *testRecorder) Note(s string) { r.Add(0, dirLocal, "note", s, nil) }

// has reports whether an event of kind and dir whose summary contains sub
// was recorded.
func (r *testRecorder) has(dir, kind, sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Dir == dir && e.Kind == kind && strings.Contains(e.Summary, sub) {
			return true
		}
	}
	return false
}

func (r *testRecorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.events {
		b.WriteString(e.Dir + " " + e.Kind + " #" + itoa(e.Conn) + " " + e.Summary + "\n")
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// startServer starts a server closed at cleanup.
func startServer(t *testing.T, opts *Options) (*Server, *testRecorder) {
	t.Helper()
	rec := &testRecorder{}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Recorder = rec
	if o.PingTimeout == 0 {
		// Tests that do not test the heartbeat get a generous budget: the
		// machine may be loaded and a late pong would end their session.
		o.PingTimeout = 2 * time.Second
	}
	srv, err := Start(context.Background(), &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("transcript:\n%s", rec.dump())
		}
	})
	return srv, rec
}

// nodeClient is a Node driver script (testdata/*.js) run for one test.
type nodeClient struct {
	t      *testing.T
	cmd    *exec.Cmd
	events chan map[string]any
	mu     sync.Mutex
	seen   []map[string]any
	stderr bytes.Buffer
}

// startNode runs testdata/script with env (KEY=VALUE) and URL=url.
func startNode(t *testing.T, script, url string, env ...string) *nodeClient {
	t.Helper()
	dir := nodepeer.Dir()
	abs, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", abs)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"), "URL="+url)
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &nodeClient{t: t, cmd: cmd, events: make(chan map[string]any, 100)}
	cmd.Stderr = &lockedWriter{mu: &c.mu, w: &c.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer close(c.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				ev = map[string]any{"ev": "junk", "line": sc.Text()}
			}
			c.events <- ev
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		for range c.events { // drain so the reader can finish
		}
		<-readDone
		_ = cmd.Wait()
		if t.Failed() {
			c.mu.Lock()
			t.Logf("node events: %v\nnode stderr:\n%s", c.seen, c.stderr.String())
			c.mu.Unlock()
		}
	})
	return c
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// wait returns the next report with ev, skipping others, within d.
func (c *nodeClient) wait(ev string, d time.Duration) map[string]any {
	c.t.Helper()
	e, ok := c.tryWait(ev, d)
	if !ok {
		c.t.Fatalf("no %q report from the Node client within %v", ev, d)
	}
	return e
}

func (c *nodeClient) tryWait(ev string, d time.Duration) (map[string]any, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				return nil, false
			}
			c.mu.Lock()
			c.seen = append(c.seen, e)
			c.mu.Unlock()
			if e["ev"] == ev {
				return e, true
			}
		case <-timer.C:
			return nil, false
		}
	}
}

// sawEvent reports whether a report with ev has been consumed so far.
func (c *nodeClient) sawEvent(ev string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.seen {
		if e["ev"] == ev {
			return true
		}
	}
	return false
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
