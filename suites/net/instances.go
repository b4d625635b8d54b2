package net

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/faultproxy/process"
	"github.com/siospec/siospec/suites/framework"
)

// instance is a server under test the spec started with --server-cmd.
type instance struct {
	proc *process.Process
	base string // http://127.0.0.1:PORT
	host string // 127.0.0.1:PORT
}

// startInstance starts one instance of NetConfig.ServerCmd on a free port;
// it is stopped when the spec ends.
func startInstance(ctx context.Context, n *framework.NetConfig) (*instance, error) {
	port, err := process.FreePort()
	if err != nil {
		return nil, &framework.HarnessError{Op: "free port", Err: err}
	}
	httpURL, line, err := n.Ready(port)
	if err != nil {
		return nil, &framework.HarnessError{Op: "--server-ready", Err: err}
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	ready := process.ReadyCheck{StdoutLine: line, HTTP: httpURL}
	if line == nil && httpURL == "" {
		ready.TCP = host
	}
	p, err := process.New(process.Spec{Path: "sh", Args: []string{"-c", n.Command(port)}},
		&process.Options{Ready: ready, ReadyTimeout: n.ReadyWithin(), StopTimeout: 3 * time.Second})
	if err != nil {
		return nil, &framework.HarnessError{Op: "--server-cmd", Err: err}
	}
	if err := p.Start(ctx); err != nil {
		_ = p.Close()
		return nil, &framework.HarnessError{Op: "start the server under test (" + n.Command(port) + ")", Err: err}
	}
	return &instance{proc: p, base: "http://" + host, host: host}, nil
}

// ownInstance returns an instance of the server under test that the spec
// may kill, or skips the spec as unsupported without --server-cmd.
func ownInstance(ctx context.Context, e *framework.Env) *instance {
	GinkgoHelper()
	n := e.Cfg.Net
	if n == nil || n.ServerCmd == "" {
		Skip("unsupported: needs --server-cmd to start (and kill) the server under test itself")
	}
	in, err := startInstance(ctx, n)
	if err != nil {
		Fail(err.Error())
	}
	DeferCleanup(in.proc.Close)
	return in
}

// twoInstances returns the host:port of two instances of the server under
// test sharing nothing: started with --server-cmd, or the target and
// NetConfig.Instances[0]; without either the spec is unsupported.
func twoInstances(ctx context.Context, e *framework.Env) []string {
	GinkgoHelper()
	n := e.Cfg.Net
	switch {
	case n != nil && n.ServerCmd != "":
		var hosts []string
		for range 2 {
			in, err := startInstance(ctx, n)
			if err != nil {
				Fail(err.Error())
			}
			DeferCleanup(in.proc.Close)
			hosts = append(hosts, in.host)
		}
		return hosts
	case n != nil && len(n.Instances) > 0:
		a, err1 := hostOf(e.Cfg.URL)
		b, err2 := hostOf(n.Instances[0])
		if err := errors.Join(err1, err2); err != nil {
			Fail(framework.HarnessPrefix + err.Error())
		}
		return []string{a, b}
	}
	Skip("unsupported: needs two instances of the server (--server-cmd with {port}, or a second instance URL)")
	return nil
}

// probePID reports whether the server's CONNECT reply for "/" carries a
// pid (connection state recovery offered), with one raw polling session
// opened directly on base. Protocol v4 has no recovery.
func probePID(ctx context.Context, base, path string, eio int) (bool, string, error) {
	if eio == 3 {
		return false, "Socket.IO v4 has no connection state recovery", nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	status, body, err := rawGet(ctx, base, path, eioQuery(eio, "polling", ""))
	if err != nil || status != 200 {
		return false, "", fmt.Errorf("probe handshake: HTTP %d %v", status, err)
	}
	sid, ok := openSID(body)
	if !ok {
		return false, "", fmt.Errorf("probe handshake: no sid in %q", body)
	}
	u, _ := url.Parse(base)
	u.Path, u.RawQuery = path, eioQuery(eio, "polling", sid).Encode()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader("40"))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return false, "", fmt.Errorf("probe CONNECT: %w", err)
	}
	resp.Body.Close()
	for range 3 {
		status, body, err = rawGet(ctx, base, path, eioQuery(eio, "polling", sid))
		if err != nil || status != 200 {
			return false, "", fmt.Errorf("probe poll: HTTP %d %v", status, err)
		}
		if i := strings.Index(body, "40{"); i >= 0 {
			reply := body[i:]
			if j := strings.IndexByte(reply, '\x1e'); j >= 0 {
				reply = reply[:j]
			}
			// Close the probe session.
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader("1"))
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
			if strings.Contains(reply, `"pid"`) {
				return true, reply, nil
			}
			return false, "the CONNECT reply carries no pid: " + reply, nil
		}
	}
	return false, "", errors.New("probe: no CONNECT reply")
}

// requireRecovery skips the spec as unsupported when the server at base
// offers no connection state recovery.
func requireRecovery(ctx context.Context, e *framework.Env, base, path string, eio int) {
	GinkgoHelper()
	ok, why, err := probePID(ctx, base, path, eio)
	if err != nil {
		Fail(framework.HarnessPrefix + "recovery probe: " + err.Error())
	}
	if !ok {
		Skip("unsupported: the server offers no connection state recovery (" + why + ")")
	}
	e.Observe("recovery offered: %s", why)
}
