package sioserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/reference/eioserver"
)

// Default option values (Node's socket.io 4.8 defaults).
const (
	DefaultPath           = "/socket.io/"
	DefaultConnectTimeout = 45 * time.Second
)

// Options configures a [Server]. A nil *Options, and every zero field, means
// Node's default. NewServer copies the struct.
type Options struct {
	// Options are the Engine.IO options. Path defaults to "/socket.io/"
	// (not eioserver's "/engine.io/"); OnSession is reserved for the
	// Socket.IO layer and ignored. AllowEIO3 admits socket.io 2.x clients,
	// which then speak Socket.IO protocol v4 (docs/requirements.md#SIO4-01).
	eioserver.Options
	// ConnectTimeout closes a session that has not joined any namespace
	// this long after its handshake (SIO-CONN-08). Default 45s.
	ConnectTimeout time.Duration
	// ConnectionStateRecovery turns on connection state recovery
	// (NODE-CSR). Default nil: off, and CONNECT replies carry only "sid".
	ConnectionStateRecovery *RecoveryOptions
	// MaxAttachments is the largest attachment count accepted per binary
	// packet. Default 10, as socket.io-parser 4.2.6+ (SIO-BIN-07);
	// negative means no limit.
	MaxAttachments int
	// NewAdapter creates the adapter of each namespace. Default
	// NewMemoryAdapter.
	NewAdapter func(AdapterHost) Adapter
	// OnProtocolError, if set, is called with a *ProtocolError each time
	// a session is closed for an invalid packet. It must not block.
	OnProtocolError func(error)
}

// Server is a Socket.IO server on top of an eioserver.Server. It is an
// http.Handler; mount it at Options.Path.
type Server struct {
	reg    *registry
	engine *eioserver.Server

	closeOnce sync.Once
	closeErr  error
}

// NewServer returns a server configured by opts (nil means Node's
// defaults). The main namespace "/" always exists (SIO-NSP-01).
func NewServer(opts *Options) *Server {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	cfg := config{
		connectTimeout: o.ConnectTimeout,
		maxAttachments: o.MaxAttachments,
		newAdapter:     o.NewAdapter,
		logger:         o.Logger,
		onProtocolErr:  o.OnProtocolError,
		clock:          realClock{},
	}
	if o.Clock != nil {
		cfg.clock = engineClock{o.Clock}
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if o.ConnectionStateRecovery != nil {
		r := o.ConnectionStateRecovery.withDefaults()
		cfg.recovery = &r
	}
	s := &Server{reg: newRegistry(cfg)}
	eo := o.Options
	eo.OnSession = func(es *eioserver.Session) { s.reg.attach(sessionAdapter{es}) }
	s.engine = eioserver.NewServer(&eo)
	return s
}

// ServeHTTP serves the Engine.IO transports.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *eioserver.Server { return s.engine }

// Of returns the static namespace name ("/admin"), creating it.
func (s *Server) Of(name string) *Namespace { return s.reg.of(name) }

// Sockets returns the main namespace "/".
func (s *Server) Sockets() *Namespace { return s.reg.of("/") }

// OfFunc adds a dynamic parent namespace: a CONNECT for an unknown name that
// match accepts (given the name and the CONNECT auth) creates a child
// namespace of that name (SIO-NSP-09). Parents are tried in the order they
// were added.
func (s *Server) OfFunc(match func(name string, auth any) bool) *ParentNamespace {
	return s.reg.addParent(match)
}

// OfRegexp adds a dynamic parent namespace for names matching re.
func (s *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return s.reg.addParent(regexpMatcher(re))
}

// Close disconnects every socket with reason "server shutting down"
// without sending DISCONNECT packets (SIO-DISC-06), closes the Engine.IO
// server and waits, bounded by ctx, for every goroutine the server started.
// It is idempotent.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.reg.clients.Range(func(k, _ any) bool {
			k.(*client).onclose(ReasonServerShuttingDown)
			return true
		})
		err := s.engine.Close(ctx)
		var errs []error
		if err != nil {
			errs = append(errs, err)
		}
		for _, n := range s.reg.namespaces() {
			if err := n.adapter.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		done := s.reg.closeBG()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// sessionAdapter adapts *eioserver.Session to engineSession.
type sessionAdapter struct{ *eioserver.Session }

func (a sessionAdapter) Protocol() engineio.Version { return a.Version() }

func (a sessionAdapter) Send(pkts ...engineio.Packet) error {
	err := a.Session.Send(pkts...)
	if errors.Is(err, eioserver.ErrQueueFull) {
		return errQueueFull
	}
	return err
}

type engineClock struct{ c eioserver.Clock }

func (e engineClock) Now() time.Time { return e.c.Now() }
func (e engineClock) AfterFunc(d time.Duration, f func()) stopper {
	return e.c.AfterFunc(d, f)
}
