package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reference/redisadapter"
	"github.com/siospec/siospec/reference/sioserver"
)

// serveShutdownTimeout bounds how long "siospec serve" waits for sessions and
// connections to close once it is asked to stop.
const serveShutdownTimeout = 5 * time.Second

// runServe implements "siospec serve": the reference server in fixture mode
// (testees/node/CONTRACT.md) on --addr. It prints "listening http://ADDR" once it
// listens and runs until ctx is cancelled (SIGINT/SIGTERM); it returns 0
// then, 4 on usage errors and 2 when it cannot listen or serve.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("siospec serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("fixture", "", "fixture to serve: eio4, eio3, sio5 or sio4 (required)")
	addr := fs.String("addr", "127.0.0.1:3000", "address to listen on (port 0 picks a free port)")
	verbose := fs.Bool("v", false, "log sessions to stderr")
	adapter := fs.String("adapter", "", "sio5 only: join a cluster through the Redis at this URL (redis://127.0.0.1:6379), @socket.io/redis-adapter's wire format")
	pingInterval := fs.Duration("ping-interval", 0, "replace the contract's pingInterval (300ms), e.g. for load tests")
	pingTimeout := fs.Duration("ping-timeout", 0, "replace the contract's pingTimeout (200ms), e.g. for load tests")
	recovery := fs.Bool("recovery", false, "sio5 only: turn connection state recovery on (the net suite's recovery specs need it), like the Node fixture's --recovery")
	nodeName := fs.String("node-name", "", "with --adapter: this node's name in the cluster part of the extended contract (default go-<pid>)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: siospec serve --fixture eio4|eio3|sio5|sio4 [--addr 127.0.0.1:3000] [--recovery] [--adapter redis://HOST:PORT [--node-name NAME]] [-v]")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "siospec serve: "+format+"\n", a...)
		fs.Usage()
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected arguments %q", fs.Args())
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return usageErr("--addr %q: want host:port", *addr)
	}
	if *pingInterval < 0 || *pingTimeout < 0 {
		return usageErr("--ping-interval and --ping-timeout must be positive")
	}
	opts := &fixture.Options{PingInterval: *pingInterval, PingTimeout: *pingTimeout}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if *adapter != "" && *name != "sio5" {
		return usageErr("--adapter needs --fixture sio5")
	}
	if *recovery && *name != "sio5" {
		return usageErr("--recovery needs --fixture sio5 (Socket.IO v4 has no connection state recovery)")
	}
	var cluster *redisadapter.Cluster
	sioOpts := fixture.SIOOptions{Options: *opts}
	if *recovery {
		sioOpts.Recovery = &sioserver.RecoveryOptions{}
	}
	if *adapter != "" {
		rlog := opts.Logger
		if rlog == nil {
			rlog = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := redisadapter.Dial(dctx, *adapter, &redisadapter.Options{Logger: rlog})
		cancel()
		if errors.Is(err, redisadapter.ErrURL) {
			return usageErr("--adapter: %v", err)
		}
		if err != nil {
			fmt.Fprintf(stderr, "siospec serve: %v\n", err)
			return exitHarness
		}
		cluster = c
		defer func() { _ = cluster.Close() }()
		sioOpts.NewAdapter = cluster.NewAdapter
		sioOpts.NodeName = *nodeName
		if sioOpts.NodeName == "" {
			sioOpts.NodeName = fmt.Sprintf("go-%d", os.Getpid())
		}
	}
	var fx fixture.Fixture
	switch *name {
	case "eio4":
		fx = fixture.NewEIO4(opts)
	case "eio3":
		fx = fixture.NewEIO3(opts)
	case "sio5":
		fx = fixture.NewSIO5(&sioOpts)
	case "sio4":
		fx = fixture.NewSIO4(&fixture.SIOOptions{Options: *opts})
	case "":
		return usageErr("--fixture is required")
	default:
		return usageErr("unknown fixture %q (want eio4, eio3, sio5 or sio4)", *name)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		_ = fx.Close(context.Background())
		fmt.Fprintf(stderr, "siospec serve: %v\n", err)
		return exitHarness
	}
	serveCtx, stopServe := context.WithCancel(context.Background())
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- fixture.Serve(serveCtx, fx, ln) }()
	fmt.Fprintf(stdout, "listening http://%s\n", dialable(ln.Addr()))

	code := exitOK
	select {
	case <-ctx.Done():
	case err := <-served:
		fmt.Fprintf(stderr, "siospec serve: %v\n", err)
		code = exitHarness
	}
	sctx, cancel := context.WithTimeout(context.Background(), serveShutdownTimeout)
	defer cancel()
	// Close the sessions first so that parked polls and WebSockets end,
	// then the HTTP server.
	if err := fx.Close(sctx); err != nil {
		fmt.Fprintf(stderr, "siospec serve: close fixture: %v\n", err)
	}
	stopServe()
	if code == exitOK {
		if err := <-served; err != nil {
			fmt.Fprintf(stderr, "siospec serve: %v\n", err)
			code = exitHarness
		}
	}
	return code
}

// dialable renders a listener address as a host:port a client can dial:
// unspecified addresses become loopback.
func dialable(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	switch {
	case tcp.IP.IsUnspecified() && tcp.IP.To4() != nil:
		host = "127.0.0.1"
	case tcp.IP.IsUnspecified():
		host = "::1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return fmt.Sprintf("%s:%d", host, tcp.Port)
}
