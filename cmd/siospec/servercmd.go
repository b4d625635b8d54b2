package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/siospec/siospec/faultproxy/process"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reference/sioserver"
	"github.com/siospec/siospec/suites/framework"
)

// netFlags are the net suite's flags of `siospec server`.
type netFlags struct {
	serverCmd, serverReady string
	readyTimeout           time.Duration
	trials                 int
}

func (n *netFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.serverCmd, "server-cmd", "", "net suite: a shell command that starts the server under test on the port that replaces "+framework.PortPlaceholder+
		", e.g. \"node sio5.js --port {port} --recovery\"; the suite starts its own instances with it (server-crash kills and restarts one, the load-balancer specs run two), and without --url one instance is the run's target")
	fs.StringVar(&n.serverReady, "server-ready", "", "net suite: when an instance started with --server-cmd is ready: a URL or path (GET answered 200, e.g. /socket.io/?EIO=4&transport=polling) or a regular expression matched against its stdout (default: its port accepts TCP)")
	fs.DurationVar(&n.readyTimeout, "server-ready-timeout", 0, fmt.Sprintf("net suite: how long an instance started with --server-cmd may take to be ready (default %v)", framework.NetReadyTimeout))
	fs.IntVar(&n.trials, "trials", 0, fmt.Sprintf("net suite: seeded trials per resilience-tier spec (default %d)", framework.DefaultNetTrials))
}

// config returns the NetConfig of the flags, or nil when none is set.
func (n *netFlags) config() *framework.NetConfig {
	if n.serverCmd == "" && n.serverReady == "" && n.trials == 0 && n.readyTimeout == 0 {
		return nil
	}
	return &framework.NetConfig{ServerCmd: n.serverCmd, ServerReady: n.serverReady, ReadyTimeout: n.readyTimeout, Trials: n.trials}
}

// netTarget is the instance of the server under test that `siospec server
// --suite net --server-cmd CMD` starts when no URL is given.
type netTarget struct {
	proc  *process.Process
	url   string
	net   *framework.NetConfig
	stops []func()
}

// startNetTarget starts one instance of --server-cmd as the run's target.
// A command that exits at once, never becomes ready, or cannot be started
// is an error that names the reason and the last output lines; no process
// is left running.
func startNetTarget(ctx context.Context, n *framework.NetConfig) (*netTarget, error) {
	port, err := process.FreePort()
	if err != nil {
		return nil, err
	}
	httpURL, line, err := n.Ready(port)
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	ready := process.ReadyCheck{StdoutLine: line, HTTP: httpURL}
	if line == nil && httpURL == "" {
		ready.TCP = host
	}
	p, err := process.New(process.Spec{Path: "sh", Args: []string{"-c", n.Command(port)}},
		&process.Options{Ready: ready, ReadyTimeout: n.ReadyWithin(), StopTimeout: 3 * time.Second})
	if err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		_ = p.Close()
		return nil, describeStartError(n.Command(port), err)
	}
	return &netTarget{proc: p, url: "http://" + host}, nil
}

// describeStartError explains why a --server-cmd did not become ready.
func describeStartError(cmd string, err error) error {
	var ex *process.ExitedError
	var nr *process.NotReadyError
	tail := func(out, errOut []string) string {
		var b strings.Builder
		for _, l := range out {
			fmt.Fprintf(&b, "\n  stdout: %s", l)
		}
		for _, l := range errOut {
			fmt.Fprintf(&b, "\n  stderr: %s", l)
		}
		return b.String()
	}
	switch {
	case errors.As(err, &ex):
		return fmt.Errorf("--server-cmd %q exited before it was ready (%s)%s", cmd, ex.Status, tail(ex.Stdout, ex.Stderr))
	case errors.As(err, &nr):
		return fmt.Errorf("--server-cmd %q was not ready within %v (waiting for: %s); stopped it%s", cmd, nr.Timeout, nr.Check, tail(nr.Stdout, nr.Stderr))
	}
	return fmt.Errorf("--server-cmd %q: %w", cmd, err)
}

// close stops the instance (SIGTERM, then SIGKILL after 3 s).
func (t *netTarget) close() {
	if t == nil {
		return
	}
	if t.proc != nil {
		_ = t.proc.Close()
	}
	for _, stop := range t.stops {
		stop()
	}
}

// setupNet validates the net flags and, for a run of the net suite
// without a URL, starts the server under test with --server-cmd. It returns
// the instance to close (or nil) and an exit code (exitOK to go on).
func setupNet(ctx context.Context, cfg *framework.Config, n *framework.NetConfig, stdout, stderr io.Writer) (*netTarget, int) {
	if err := n.Validate(); err != nil {
		fmt.Fprintf(stderr, "siospec server: %v\n", err)
		return nil, exitUsage
	}
	cfg.Net = n
	if !slices.Contains(cfg.Suites, framework.NET) {
		if n != nil {
			fmt.Fprintln(stderr, "siospec server: --server-cmd, --server-ready and --trials apply to the net suite only (--suite net)")
			return nil, exitUsage
		}
		return nil, exitOK
	}
	if cfg.HasTarget() {
		return nil, exitOK
	}
	if n == nil || n.ServerCmd == "" {
		t, err := startNetReference(n)
		if err != nil {
			fmt.Fprintf(stderr, "siospec server: start the built-in reference for the net suite: %v\n", err)
			return nil, exitHarness
		}
		presetNetTarget(cfg, t.url, t.net)
		fmt.Fprintf(stdout, "no --url: the net suite tests the built-in reference (sio5 with connection state recovery) at %s, second instance %s\n", t.url, t.net.Instances[0])
		return t, exitOK
	}
	t, err := startNetTarget(ctx, n)
	if err != nil {
		fmt.Fprintf(stderr, "siospec server: preflight failed: %v\n", err)
		return nil, exitPreflight
	}
	presetNetTarget(cfg, t.url, n)
	fmt.Fprintf(stdout, "started the server under test: %s (pid %d) at %s\n", n.Command(portOf(t.url)), t.proc.PID(), t.url)
	return t, exitOK
}

// presetNetTarget makes url the net suite's target (other suites keep
// theirs: the built-in reference when there is no URL).
func presetNetTarget(cfg *framework.Config, url string, n *framework.NetConfig) {
	if cfg.Targets == nil {
		cfg.Targets = map[framework.Proto]*framework.Config{}
	}
	c := *cfg
	c.URL, c.EIOURL, c.SIOURL, c.Net = url, "", "", n
	cfg.Targets[framework.NET] = c.For(framework.NET)
}

// withoutNet returns ps without the net suite.
func withoutNet(ps []framework.Proto) []framework.Proto {
	return slices.DeleteFunc(slices.Clone(ps), func(p framework.Proto) bool { return p == framework.NET })
}

// The built-in net reference's heartbeat: the one the Node
// measurements used (a mobile-3g round trip fits in it, unlike the official
// contract's 300/200 ms).
const (
	netRefPingInterval = 1000 * time.Millisecond
	netRefPingTimeout  = 800 * time.Millisecond
)

// startNetReference serves two in-process reference sio5 fixtures with
// connection state recovery (the net suite's target and its second
// instance); server-crash runs this executable's `serve --fixture sio5` as
// the process it kills.
func startNetReference(n *framework.NetConfig) (*netTarget, error) {
	var c framework.NetConfig
	if n != nil {
		c = *n
	}
	t := &netTarget{net: &c}
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.close()
			return nil, err
		}
		fx := fixture.NewSIO5(&fixture.SIOOptions{
			Options:        fixture.Options{PingInterval: netRefPingInterval, PingTimeout: netRefPingTimeout},
			ConnectTimeout: 5 * netRefPingInterval,
			Recovery:       &sioserver.RecoveryOptions{},
		})
		sctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = fixture.Serve(sctx, fx, ln) }()
		t.stops = append(t.stops, func() {
			_ = fx.Close(context.Background())
			stop()
			<-done
		})
		u := "http://" + ln.Addr().String()
		if t.url == "" {
			t.url = u
		} else {
			c.Instances = []string{u}
		}
	}
	if exe, err := os.Executable(); err == nil {
		c.ServerCmd = fmt.Sprintf("'%s' serve --fixture sio5 --addr 127.0.0.1:%s --ping-interval %v --ping-timeout %v", exe, framework.PortPlaceholder, netRefPingInterval, netRefPingTimeout)
		c.ServerReady = ""
	}
	return t, nil
}

// portOf returns the port of an http://127.0.0.1:PORT URL.
func portOf(u string) int {
	var p int
	_, _ = fmt.Sscanf(u[strings.LastIndexByte(u, ':')+1:], "%d", &p)
	return p
}
