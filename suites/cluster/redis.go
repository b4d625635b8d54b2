package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"time"

	"github.com/siospec/siospec/faultproxy/process"
)

// ErrNoRedisServer: redis-server is not installed.
var ErrNoRedisServer = errors.New("cluster: redis-server not found in PATH (install it: apt-get install -y redis-server)")

// Redis is a redis-server started for a test or a benchmark, on a loopback
// port of its own, without persistence. It implements [RedisControl]: Stop
// kills it, Start brings it back on the same port.
type Redis struct {
	p    *process.Process
	port int
}

// RedisOptions configures StartRedis. Nil means defaults.
type RedisOptions struct {
	// Stderr receives the server's output. Default: discarded.
	Stderr io.Writer
}

// StartRedis starts redis-server on a free loopback port and waits until
// it says it is ready. Readiness is the server's own "Ready to accept
// connections" line, not a TCP connect: another server may have taken the
// same free port in the meantime (FreePort cannot reserve it), and a
// connect would then reach that one while ours exits on its failed bind.
// Such a start is tried again on another port, up to three times.
func StartRedis(ctx context.Context, o *RedisOptions) (*Redis, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoRedisServer
	}
	var errs []error
	for range 3 {
		r, err := startRedisOnce(ctx, path, o)
		if err == nil {
			return r, nil
		}
		errs = append(errs, err)
		var ee *process.ExitedError
		if !errors.As(err, &ee) {
			break
		}
	}
	return nil, fmt.Errorf("cluster: start redis-server: %w", errors.Join(errs...))
}

// redisReady is the line redis-server prints once it listens.
var redisReady = regexp.MustCompile(`Ready to accept connections`)

func startRedisOnce(ctx context.Context, path string, o *RedisOptions) (*Redis, error) {
	port, err := process.FreePort()
	if err != nil {
		return nil, err
	}
	po := &process.Options{Ready: process.ReadyCheck{StdoutLine: redisReady}, ReadyTimeout: 10 * time.Second, StopTimeout: 2 * time.Second}
	if o != nil && o.Stderr != nil {
		po.Stdout, po.Stderr = o.Stderr, o.Stderr
	}
	p, err := process.New(process.Spec{Path: path, Args: []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
	}}, po)
	if err != nil {
		return nil, err
	}
	if err := p.Start(ctx); err != nil {
		_ = p.Close()
		return nil, err
	}
	return &Redis{p: p, port: port}, nil
}

// URL returns redis://127.0.0.1:PORT.
func (r *Redis) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) }

// Stop implements RedisControl: the server is killed (SIGKILL), as a
// crashed or unreachable Redis.
func (r *Redis) Stop(ctx context.Context) error {
	return r.p.Inject(ctx, process.Crash{})
}

// Start implements RedisControl.
func (r *Redis) Start(ctx context.Context) error { return r.p.Start(ctx) }

// Close stops the server and waits for it.
func (r *Redis) Close() error { return r.p.Close() }
