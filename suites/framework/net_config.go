package framework

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// PortPlaceholder is replaced in NetConfig.ServerCmd by a free loopback
// port, once per server instance the harness starts.
const PortPlaceholder = "{port}"

// DefaultNetTrials is the resilience tier's default number of seeded trials
// per spec.
const DefaultNetTrials = 3

// NetConfig is the net suite's part of the run configuration (--server-cmd,
// --server-ready, --trials, second instances). It is plain data, so that a
// child process of a parallel run gets it with the Config.
type NetConfig struct {
	// ServerCmd is a shell command (run with sh -c) that starts one
	// instance of the server under test on the port that replaces
	// PortPlaceholder ("{port}", required). The net suite starts its own
	// instances with it: one for server-crash (killed with SIGKILL and
	// restarted on the same port), two for the load-balancer specs. Empty:
	// those specs are unsupported unless Instances names a second one.
	ServerCmd string
	// ServerReady says when an instance is ready: a URL (absolute, or a path
	// such as /socket.io/?EIO=4&transport=polling, resolved against
	// http://127.0.0.1:PORT) that must answer a GET with 200, or else a
	// regular expression that a line of its standard output must match.
	// Empty: the instance's port accepts a TCP connection.
	ServerReady string
	// ReadyTimeout bounds the start of one instance; 0 means
	// NetReadyTimeout.
	ReadyTimeout time.Duration
	// Trials is the number of seeded trials of each resilience-tier spec;
	// 0 means DefaultNetTrials.
	Trials int
	// Instances are base URLs of further instances of the same server
	// (sharing nothing with the target), for the load-balancer specs when no
	// ServerCmd is given.
	Instances []string
	// Recovery tells the harness that the target was started with
	// connection state recovery; informative only (the specs find out from
	// the CONNECT reply's pid).
	Recovery bool
}

// TrialsOrDefault returns Trials, or DefaultNetTrials when it is 0.
func (n *NetConfig) TrialsOrDefault() int {
	if n == nil || n.Trials <= 0 {
		return DefaultNetTrials
	}
	return n.Trials
}

// Validate checks the net settings; errors wrap ErrUsage.
func (n *NetConfig) Validate() error {
	if n == nil {
		return nil
	}
	if n.ServerCmd != "" && !strings.Contains(n.ServerCmd, PortPlaceholder) {
		return fmt.Errorf("%w: --server-cmd must contain %s where the server's port goes, e.g. \"node fixtures/sio5.js --port %s\"", ErrUsage, PortPlaceholder, PortPlaceholder)
	}
	if n.ServerReady != "" && n.ServerCmd == "" {
		return fmt.Errorf("%w: --server-ready needs --server-cmd", ErrUsage)
	}
	if _, _, err := n.Ready(0); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if n.ReadyTimeout < 0 {
		return fmt.Errorf("%w: --server-ready-timeout must not be negative", ErrUsage)
	}
	if n.Trials < 0 || n.Trials > 1000 {
		return fmt.Errorf("%w: --trials must be within 0..1000, got %d", ErrUsage, n.Trials)
	}
	for _, u := range n.Instances {
		if v, err := url.Parse(u); err != nil || (v.Scheme != "http" && v.Scheme != "https") || v.Host == "" {
			return fmt.Errorf("%w: instance URL %q is not an absolute http(s) URL", ErrUsage, u)
		}
	}
	return nil
}

// Ready interprets ServerReady for an instance on port: an HTTP URL to GET,
// or a stdout regular expression; both empty means "TCP connect".
func (n *NetConfig) Ready(port int) (httpURL string, line *regexp.Regexp, err error) {
	if n == nil || n.ServerReady == "" {
		return "", nil, nil
	}
	r := n.ServerReady
	if strings.HasPrefix(r, "/") {
		return fmt.Sprintf("http://127.0.0.1:%d%s", port, r), nil, nil
	}
	if strings.HasPrefix(r, "http://") || strings.HasPrefix(r, "https://") {
		return strings.ReplaceAll(r, PortPlaceholder, fmt.Sprint(port)), nil, nil
	}
	re, err := regexp.Compile(r)
	if err != nil {
		return "", nil, fmt.Errorf("--server-ready %q is neither a URL nor a regular expression: %w", r, err)
	}
	return "", re, nil
}

// Command returns ServerCmd for an instance on port.
func (n *NetConfig) Command(port int) string {
	return strings.ReplaceAll(n.ServerCmd, PortPlaceholder, fmt.Sprint(port))
}

// NetReadyTimeout is the default bound of the start of one server
// instance.
const NetReadyTimeout = 15 * time.Second

// ReadyWithin returns ReadyTimeout, or NetReadyTimeout when it is 0.
func (n *NetConfig) ReadyWithin() time.Duration {
	if n == nil || n.ReadyTimeout <= 0 {
		return NetReadyTimeout
	}
	return n.ReadyTimeout
}
