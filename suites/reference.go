package suites

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// ReferenceOptions tunes StartReference. Nil means defaults.
type ReferenceOptions struct {
	// Suites are the suites to serve; empty serves all four.
	Suites []framework.Proto
	// Wrap, when set, wraps each suite's fixture handler (self-proofs use
	// it to break one rule). Default: the fixture as it is.
	Wrap func(p framework.Proto, h http.Handler) http.Handler
	// PingInterval and PingTimeout replace the fixtures' heartbeat when
	// positive: the self-proofs serve a slower one, which the specs judge
	// as well since they derive every budget from the advertised values.
	// Default: the official contract's (fixture.PingInterval,
	// fixture.PingTimeout).
	PingInterval, PingTimeout time.Duration
	// ConnectTimeout replaces the Socket.IO v5 fixture's connectTimeout
	// when positive; Configure then tells the suites. Default: the
	// official contract's (fixture.ConnectTimeout).
	ConnectTimeout time.Duration
}

// Reference is the built-in reference: one in-process fixture per suite,
// each on its own 127.0.0.1 listener: FX-EIO4 (fixture.NewEIO4) for eio4,
// FX-EIO3 (fixture.NewEIO3) for eio3, FX-SIO5 (fixture.NewSIO5) for sio5 and
// its v4 equivalent (fixture.NewSIO4) for sio4, the Socket.IO ones with the
// extended contract.
type Reference struct {
	jitter         *framework.JitterMonitor
	connectTimeout time.Duration
	urls           map[framework.Proto]string
	close          []func(context.Context) error
	once           sync.Once
	err            error
}

// StartReference starts the reference fixtures and returns once they
// listen. Close stops them.
func StartReference(opts *ReferenceOptions) (*Reference, error) {
	var o ReferenceOptions
	if opts != nil {
		o = *opts
	}
	if len(o.Suites) == 0 {
		o.Suites = framework.AllSuites
	}
	// The monitor's 10 ms ticker keeps this process's runtime awake: on a
	// loaded machine a Go process whose only activity is a 300 ms timer
	// can wake hundreds of milliseconds late, and the fixtures' heartbeat
	// timers would drift by that much.
	r := &Reference{urls: map[framework.Proto]string{}, jitter: framework.StartJitterMonitor(), connectTimeout: o.ConnectTimeout}
	fo := fixture.Options{PingInterval: o.PingInterval, PingTimeout: o.PingTimeout}
	for _, p := range o.Suites {
		var fx fixture.Fixture
		switch p {
		case framework.EIO4:
			fx = fixture.NewEIO4(&fo)
		case framework.EIO3:
			fx = fixture.NewEIO3(&fo)
		case framework.SIO5:
			fx = fixture.NewSIO5(&fixture.SIOOptions{Options: fo, ConnectTimeout: o.ConnectTimeout})
		case framework.SIO4:
			fx = fixture.NewSIO4(&fixture.SIOOptions{Options: fo})
		default:
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			_ = fx.Close(context.Background())
			_ = r.Close()
			return nil, err
		}
		r.urls[p] = "http://" + ln.Addr().String()
		if o.Wrap == nil {
			// As `siospec serve` serves it: the lean polling path.
			sctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = fixture.Serve(sctx, fx, ln)
			}()
			r.close = append(r.close, func(ctx context.Context) error {
				err := fx.Close(ctx)
				stop()
				<-done
				return err
			})
			continue
		}
		// A wrapper must see every request: net/http serves them all.
		srv := &http.Server{Handler: o.Wrap(p, fx), ReadHeaderTimeout: 10 * time.Second}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.Serve(ln)
		}()
		r.close = append(r.close, func(ctx context.Context) error {
			err := fx.Close(ctx)
			_ = srv.Shutdown(ctx)
			_ = srv.Close()
			<-done
			return err
		})
	}
	return r, nil
}

// URL returns the base URL of suite p's fixture, or "" when not served.
func (r *Reference) URL(p framework.Proto) string { return r.urls[p] }

// Configure points cfg at the reference: one resolved target per served
// suite (cfg.For with the fixture's URL), cfg.Suites defaulting to the
// served suites, and cfg.ConnectTimeout set to the fixtures' when they were
// started with one of their own (ReferenceOptions.ConnectTimeout).
func (r *Reference) Configure(cfg *framework.Config) {
	if r.connectTimeout > 0 {
		cfg.ConnectTimeout = r.connectTimeout
	}
	if len(cfg.Suites) == 0 {
		for _, p := range framework.AllSuites {
			if r.urls[p] != "" {
				cfg.Suites = append(cfg.Suites, p)
			}
		}
	}
	if cfg.Targets == nil {
		cfg.Targets = map[framework.Proto]*framework.Config{}
	}
	for p, u := range r.urls {
		c := *cfg
		c.URL, c.EIOURL, c.SIOURL, c.Path = u, "", "", ""
		cfg.Targets[p] = c.For(p)
	}
}

// Jitter returns the largest lateness of this process's timers within the
// last d: how late the fixtures' own timers may have fired.
func (r *Reference) Jitter(d time.Duration) time.Duration { return r.jitter.Recent(d) }

// Close stops every fixture and waits for their goroutines. It is
// idempotent.
func (r *Reference) Close() error {
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		for _, c := range r.close {
			errs = append(errs, c(ctx))
		}
		r.err = errors.Join(errs...)
		r.jitter.Close()
	})
	return r.err
}
