package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ReadyCheck says when a started process is ready. The checks that are set
// run in this order, each after the previous one passed: StdoutLine, TCP,
// HTTP. With none set the process is ready once the program is executing.
type ReadyCheck struct {
	// StdoutLine, if set, must match a line of the run's standard output
	// (without its line ending; lines over 64 KiB are not matched). Its
	// first capture group, if any, is the process's URL when it contains
	// "://" (see [Process.URL]) or else its host:port address. Example:
	// regexp.MustCompile(`^listening (http://\S+)`).
	StdoutLine *regexp.Regexp
	// TCP, if set, is a host:port address that must accept a TCP
	// connection (the connection is closed at once).
	TCP string
	// HTTP, if set, is a URL that must answer a GET with HTTPStatus. A
	// value starting with "/" is resolved against the URL captured by
	// StdoutLine, e.g. "/socket.io/?EIO=4&transport=polling".
	HTTP string
	// HTTPStatus is the status HTTP must answer. Default 200.
	HTTPStatus int
	// Interval is the pause between two TCP or HTTP attempts. Default 25ms.
	Interval time.Duration
}

func (c *ReadyCheck) validate() error {
	if c.HTTPStatus != 0 && (c.HTTPStatus < 100 || c.HTTPStatus > 999) {
		return &ConfigError{Field: "Options.Ready.HTTPStatus", Reason: fmt.Sprintf("not an HTTP status: %d", c.HTTPStatus)}
	}
	if c.TCP != "" {
		if _, _, err := net.SplitHostPort(c.TCP); err != nil {
			return &ConfigError{Field: "Options.Ready.TCP", Reason: err.Error()}
		}
	}
	if c.HTTP != "" {
		if strings.HasPrefix(c.HTTP, "/") {
			if c.StdoutLine == nil || c.StdoutLine.NumSubexp() < 1 {
				return &ConfigError{Field: "Options.Ready.HTTP", Reason: "a path needs a StdoutLine with a capture group for the URL"}
			}
		} else if u, err := url.Parse(c.HTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &ConfigError{Field: "Options.Ready.HTTP", Reason: fmt.Sprintf("not an absolute http(s) URL or a path: %q", c.HTTP)}
		}
	}
	return nil
}

// errReadyTimeout is the cause of the ready deadline.
var errReadyTimeout = errors.New("ready timeout")

// waitReady runs the ready checks for r.
func (p *Process) waitReady(ctx context.Context, r *run, fault string) error {
	start := time.Now()
	ctx, cancel := p.withClose(ctx)
	defer cancel()
	ctx, cancelT := context.WithTimeoutCause(ctx, p.opts.ReadyTimeout, errReadyTimeout)
	defer cancelT()

	c := p.opts.Ready
	var capURL, capAddr string
	stage := "stdout line"
	var last error

	fail := func() error {
		select {
		case <-r.done:
			return p.exitedError(r)
		default:
		}
		cause := context.Cause(ctx)
		if errors.Is(cause, errReadyTimeout) {
			out, errs := p.tails(r)
			p.event(r, "not_ready", fault, "waiting for "+stage)
			return &NotReadyError{Check: stage, Timeout: p.opts.ReadyTimeout, Err: last, Stdout: out, Stderr: errs}
		}
		if errors.Is(cause, ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("process: wait for ready (%s): %w", stage, cause)
	}

	if c.StdoutLine != nil {
		select {
		case capture := <-r.line:
			if strings.Contains(capture, "://") {
				capURL = capture
				if u, err := url.Parse(capture); err == nil {
					capAddr = u.Host
				}
			} else {
				capAddr = capture
			}
		case <-r.done:
			return p.exitedError(r)
		case <-ctx.Done():
			return fail()
		}
	}
	if c.TCP != "" {
		stage = "tcp"
		for {
			var d net.Dialer
			actx, acancel := context.WithTimeout(ctx, time.Second)
			conn, err := d.DialContext(actx, "tcp", c.TCP)
			acancel()
			if err == nil {
				conn.Close()
				break
			}
			last = keepInformative(ctx, last, err)
			if err := p.pauseAttempt(ctx, r); err != nil {
				return fail()
			}
		}
	}
	if c.HTTP != "" {
		stage = "http"
		target := c.HTTP
		if strings.HasPrefix(target, "/") {
			target = strings.TrimRight(capURL, "/") + target
		}
		tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
		client := &http.Client{Transport: tr, Timeout: 2 * time.Second}
		for {
			err := getStatus(ctx, client, target, c.HTTPStatus)
			if err == nil {
				last = nil
				break
			}
			last = keepInformative(ctx, last, err)
			if err := p.pauseAttempt(ctx, r); err != nil {
				tr.CloseIdleConnections()
				return fail()
			}
		}
		tr.CloseIdleConnections()
	}
	select {
	case <-r.done:
		return p.exitedError(r)
	default:
	}
	if capAddr == "" {
		switch {
		case c.TCP != "":
			capAddr = c.TCP
		case c.HTTP != "" && !strings.HasPrefix(c.HTTP, "/"):
			if u, err := url.Parse(c.HTTP); err == nil {
				capAddr = u.Host
			}
		}
	}
	p.mu.Lock()
	p.url, p.addr = capURL, capAddr
	p.mu.Unlock()
	detail := capURL
	if detail == "" {
		detail = capAddr
	}
	p.event(r, "ready", fault, strings.TrimSpace(detail+" after "+time.Since(start).Round(time.Millisecond).String()))
	return nil
}

// pauseAttempt waits one ready-check interval; it fails when the run exited
// or ctx ended.
func (p *Process) pauseAttempt(ctx context.Context, r *run) error {
	t := time.NewTimer(p.opts.Ready.Interval)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.done:
		return errors.New("exited")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// keepInformative returns the error to report for a failed ready attempt:
// err, unless the attempt was cut short by the ready deadline (ctx ended)
// and an earlier attempt already failed for a reason that says more, such
// as a wrong HTTP status.
func keepInformative(ctx context.Context, last, err error) error {
	if ctx.Err() != nil && last != nil {
		return last
	}
	return err
}

func getStatus(ctx context.Context, client *http.Client, target string, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != want {
		return &StatusError{URL: target, Got: resp.StatusCode, Want: want}
	}
	return nil
}

// exitedError waits until r is done (its output drained) and describes it.
func (p *Process) exitedError(r *run) error {
	<-r.done
	out, errs := p.tails(r)
	return &ExitedError{Status: r.status, Stdout: out, Stderr: errs}
}

func (p *Process) tails(r *run) (stdout, stderr []string) {
	return lastLines(p.stdout.since(r.outMark), 10), lastLines(p.stderr.since(r.errMark), 10)
}
