package process

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// helperEnv selects the helper role when the test binary runs as a child.
const helperEnv = "SIOSPEC_PROCESS_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode, os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// helperMain is the child program: the test binary re-executed with
// helperEnv set. Modes:
//
//	echo    TCP echo server; prints "pid N" then "listening http://ADDR"
//	http    HTTP server answering 503 to the first -fail-first GETs, then 200
//	fail    writes lines to stdout and stderr and exits with status 3
//	silent  prints nothing and blocks until killed
//	parent  starts a grandchild echo server (same stdout, ignoring SIGUSR2)
//	        and waits for it
func helperMain(mode string, args []string) int {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	ignoreTerm := fs.Bool("ignore-term", false, "ignore SIGTERM")
	graceful := fs.Bool("graceful", false, "exit 0 on SIGTERM")
	quiet := fs.Bool("quiet", false, "do not print the listening line")
	delay := fs.Duration("delay", 0, "wait before listening")
	spam := fs.Int("spam", 0, "write this many numbered lines to stdout first")
	failFirst := fs.Int("fail-first", 0, "http: answer 503 to this many requests")
	usr2 := fs.String("usr2", "", "on SIGUSR2: ignore, or exit (with status 4)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	switch *usr2 {
	case "ignore":
		signal.Ignore(syscall.SIGUSR2)
	case "exit":
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR2)
		go func() { <-ch; os.Exit(4) }()
	}
	if *graceful {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		go func() { <-ch; fmt.Println("bye"); os.Exit(0) }()
	}
	for i := range *spam {
		fmt.Printf("spam %06d\n", i)
	}
	switch mode {
	case "fail":
		fmt.Println("starting")
		fmt.Fprintln(os.Stderr, "boom: first problem")
		fmt.Fprintln(os.Stderr, "boom: cannot bind")
		return 3
	case "silent":
		select {}
	case "parent":
		cmd := exec.Command(os.Args[0], "-addr", *addr, "-usr2", "ignore")
		cmd.Env = append(os.Environ(), helperEnv+"=echo")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Printf("parent %d\n", os.Getpid())
		_ = cmd.Wait()
		return 4
	}
	time.Sleep(*delay) // the child's own behaviour, not test synchronisation
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 2
	}
	fmt.Printf("pid %d\n", os.Getpid())
	if !*quiet {
		fmt.Printf("listening http://%s\n", ln.Addr())
	}
	switch mode {
	case "echo":
		for {
			c, err := ln.Accept()
			if err != nil {
				return 2
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	case "http":
		var n atomic.Int64
		err := http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			k := n.Add(1)
			w.Header().Set("X-Count", fmt.Sprint(k))
			if k <= int64(*failFirst) {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
		}))
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Fprintln(os.Stderr, "unknown mode", mode)
	return 2
}

// listening is the ready line of the helper and of the Node fixtures.
var listening = regexp.MustCompile(`^listening (http://\S+)`)

// helperSpec runs the test binary in a helper mode.
func helperSpec(mode string, args ...string) Spec {
	return Spec{Path: os.Args[0], Args: args, Env: []string{helperEnv + "=" + mode}}
}

// newProc creates a Process for a helper and closes it at cleanup.
func newProc(t *testing.T, spec Spec, opts *Options) *Process {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	o := *opts
	if o.Ready == (ReadyCheck{}) {
		o.Ready.StdoutLine = listening
	}
	p, err := New(spec, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			evs, _ := p.Events()
			for _, e := range evs {
				t.Log(e)
			}
			out := p.Output()
			t.Logf("stdout tail: %q", tail(out.Stdout, 400))
			t.Logf("stderr tail: %q", tail(out.Stderr, 400))
		}
	})
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func start(t *testing.T, p *Process) {
	t.Helper()
	if err := p.Start(ctxT(t, 20*time.Second)); err != nil {
		t.Fatalf("start: %v", err)
	}
}

func wait(t *testing.T, p *Process) ExitStatus {
	t.Helper()
	st, err := p.Wait(ctxT(t, 20*time.Second))
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return st
}

// echo checks that addr answers msg with msg over conn c (dialled when nil).
func echoOnce(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("echo: got %q want %q", got, msg)
	}
}

func dialT(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// actions returns the (fault, action) pairs of the log, optionally only for
// one fault stream.
func actions(p *Process) []string {
	evs, _ := p.Events()
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

// procState returns the state letter of pid from /proc ("Z", "T", "S"...),
// or "" when the process is gone.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// pollUntil polls cond every 10ms for at most d.
func pollUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond) // bounded polling of external state
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
