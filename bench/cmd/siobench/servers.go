package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// impl is one server implementation under comparison.
type impl struct {
	name  string
	proto string // "eio" or "sio"
	// raw: no Engine.IO framing (gorilla echo), WebSocket only.
	raw bool
	cmd func(gomaxprocs int) *exec.Cmd
}

// path is the HTTP path the implementation serves.
func (im impl) path() string {
	if im.proto == "sio" {
		return "/socket.io/"
	}
	return "/engine.io/"
}

func goImpl(bin, name, kind, proto string, raw bool) impl {
	return impl{name: name, proto: proto, raw: raw, cmd: func(procs int) *exec.Cmd {
		c := exec.Command(bin, "-kind", kind)
		c.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(procs))
		return c
	}}
}

func nodeImpl(script, name, proto string) impl {
	return impl{name: name, proto: proto, cmd: func(int) *exec.Cmd {
		return exec.Command("node", "--expose-gc", script, proto)
	}}
}

// allImpls lists the implementations in a fixed order; runs rotate it.
func allImpls(bin, benchDir string) []impl {
	script := filepath.Join(benchDir, "node", "echo.js")
	return []impl{
		goImpl(bin, "siospec", "eio", "eio", false),
		nodeImpl(script, "node", "eio"),
		goImpl(bin, "zishang520", "zeio", "eio", false),
		goImpl(bin, "gorilla", "gorilla", "eio", true),
		goImpl(bin, "siospec", "sio", "sio", false),
		nodeImpl(script, "node", "sio"),
		goImpl(bin, "zishang520", "zsio", "sio", false),
	}
}

// proc is a running server process, in its own process group.
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	pid   int
}

func startServer(ctx context.Context, im impl, procs int) (*proc, error) {
	c := im.cmd(procs)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Stderr = os.Stderr
	stdin, err := c.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := c.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: c, stdin: stdin, pid: c.Process.Pid}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				select {
				case line <- a:
				default:
				}
			}
		}
	}()
	select {
	case p.addr = <-line:
		return p, nil
	case <-time.After(15 * time.Second):
	case <-ctx.Done():
	}
	p.stop()
	return nil, fmt.Errorf("%s: no listening line", im.name)
}

// stop closes stdin, then kills the process group if it has not exited
// within 3 s.
func (p *proc) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		<-done
	}
}

// cpu returns the process's user+system CPU time.
func (p *proc) cpu() time.Duration { return procCPU(strconv.Itoa(p.pid)) }

// rss returns the process's resident set size in bytes.
func (p *proc) rss() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n * 1024
		}
	}
	return 0
}

// heap asks the server for its heap and stack in use after a collection.
func (p *proc) heap() (heap, stack int64) {
	c := &http.Client{Timeout: 30 * time.Second}
	r, err := c.Get("http://" + p.addr + "/_bench/mem")
	if err != nil {
		return 0, 0
	}
	defer r.Body.Close()
	var m map[string]int64
	if json.NewDecoder(r.Body).Decode(&m) != nil {
		return 0, 0
	}
	return m["heap"], m["stack"]
}

// profDir, if set (-pprof), receives profiles of Go servers: a heap
// profile with the idle sessions open, a CPU profile of each echo window.
var profDir string

// profile saves /debug/pprof/<what> of a Go server as
// profDir/<workload>-<impl>-<name>.pb.gz.
func (p *proc) profile(workload string, im impl, what, name string) {
	if profDir == "" || strings.HasPrefix(im.name, "node") {
		return
	}
	c := &http.Client{Timeout: time.Minute}
	r, err := c.Get("http://" + p.addr + "/debug/pprof/" + what)
	if err != nil {
		return
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil || r.StatusCode != http.StatusOK {
		return
	}
	fn := strings.NewReplacer("/", "_").Replace(workload + "-" + im.name + "-" + im.proto + "-" + name + ".pb.gz")
	_ = os.WriteFile(filepath.Join(profDir, fn), b, 0o644)
}

// procCPU reads utime+stime of /proc/<pid>/stat ("self" for this process).
func procCPU(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+2:])
	// fields after the command: state(3) ... utime(14) stime(15)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * time.Second / 100 // USER_HZ = 100
}
