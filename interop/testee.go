package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"
)

// outputLimit bounds what is kept of each stream of a peer.
const outputLimit = 32 << 10

// report is one line of a testee's stdout.
type report struct {
	Ev        string          `json:"ev"`
	Nsp       string          `json:"nsp"`
	Seq       *int            `json:"seq"`
	Dir       string          `json:"dir"`
	Ack       bool            `json:"ack"`
	Bin       bool            `json:"bin"`
	Connected bool            `json:"connected"`
	Tag       string          `json:"tag"`
	Cmd       string          `json:"cmd"`
	Count     int             `json:"count"`
	Args      json.RawMessage `json:"args"`
	Message   string          `json:"message"`
	Reason    string          `json:"reason"`
	Transport string          `json:"transport"`
	at        time.Time
}

// testeeRun is one running client testee: its own process group, stdin a
// pipe (closing it ends the testee), stdout read line by line.
type testeeRun struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	mu      sync.Mutex
	reports []report
	notify  chan struct{} // closed and replaced on every new report
	stdout  limitedBuffer
	stderr  limitedBuffer
	done    chan struct{} // closed when the process was reaped
	exitErr error
	readers sync.WaitGroup
}

func startTestee(command, dir string, env []string) (*testeeRun, error) {
	t := &testeeRun{notify: make(chan struct{}), done: make(chan struct{})}
	t.cmd = exec.Command("sh", "-c", command)
	t.cmd.Dir = dir
	t.cmd.Env = append(os.Environ(), env...)
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := t.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := t.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	t.cmd.Stderr = &t.stderr
	t.stdin = in
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	t.readers.Add(1)
	go func() {
		defer t.readers.Done()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = t.stdout.Write(append(line, '\n'))
			var r report
			if json.Unmarshal(line, &r) != nil || r.Ev == "" {
				continue
			}
			r.at = time.Now()
			t.mu.Lock()
			t.reports = append(t.reports, r)
			close(t.notify)
			t.notify = make(chan struct{})
			t.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		t.readers.Wait()
		err := t.cmd.Wait()
		t.mu.Lock()
		t.exitErr = err
		t.mu.Unlock()
		close(t.done)
	}()
	return t, nil
}

// waitFor waits until pred holds over the reports, the process ends, or ctx
// ends; it reports whether pred held.
func (t *testeeRun) waitFor(ctx context.Context, pred func([]report) bool) bool {
	for {
		t.mu.Lock()
		ok := pred(t.reports)
		ch := t.notify
		t.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-t.done:
			t.mu.Lock()
			defer t.mu.Unlock()
			return pred(t.reports)
		case <-ctx.Done():
			return false
		}
	}
}

func (t *testeeRun) snapshot() []report {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.reports)
}

// exited reports whether the process has ended, and how.
func (t *testeeRun) exited() (bool, int) {
	select {
	case <-t.done:
		t.mu.Lock()
		defer t.mu.Unlock()
		var ee *exec.ExitError
		if errors.As(t.exitErr, &ee) {
			return true, ee.ExitCode()
		}
		if t.exitErr != nil {
			return true, -1
		}
		return true, 0
	default:
		return false, 0
	}
}

// stop closes stdin, waits up to grace for the exit, then kills the whole
// process group and waits for it to be reaped (bounded).
func (t *testeeRun) stop(grace time.Duration) {
	_ = t.stdin.Close()
	select {
	case <-t.done:
	case <-time.After(grace):
	}
	if t.cmd.Process != nil {
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-t.done:
	case <-time.After(5 * time.Second):
	}
}

// limitedBuffer keeps the first outputLimit bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	cut bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := outputLimit - b.buf.Len(); room < len(p) {
		if room > 0 {
			b.buf.Write(p[:room])
		}
		b.cut = true
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return b.buf.String() + "\n[truncated]"
	}
	return b.buf.String()
}
