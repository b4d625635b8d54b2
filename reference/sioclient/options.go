package sioclient

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
)

// Clock is the time source of the reconnection delays and the ack timeouts.
// It is the same interface as eioclient.Clock, so one manual clock can drive
// both layers in tests.
type Clock = eioclient.Clock

// Timer is a one-shot timer created by a Clock.
type Timer = eioclient.Timer

// Defaults of ManagerOptions, Node's values.
const (
	DefaultPath                 = "/socket.io/"
	DefaultReconnectionDelay    = 1000 * time.Millisecond
	DefaultReconnectionDelayMax = 5000 * time.Millisecond
	DefaultRandomizationFactor  = 0.5
	DefaultTimeout              = 20 * time.Second
)

// ManagerOptions configures a Manager. A nil *ManagerOptions, and every zero
// field, means the default written beside the field (Node's default).
// NewManager copies the struct; later changes by the caller have no effect.
type ManagerOptions struct {
	// Path is the Socket.IO endpoint path. Default "/socket.io/". The path of
	// the URL given to NewManager is ignored: namespaces are chosen with
	// Manager.Socket.
	Path string
	// Version is the Socket.IO protocol revision: socketio.V5 (default,
	// socket.io 3.x/4.x over Engine.IO v4) or socketio.V4 (socket.io 2.x over
	// Engine.IO v3).
	Version socketio.Version
	// Engine holds the Engine.IO settings (transports, upgrade, headers,
	// query, HTTP client, timeouts...). Default nil: eioclient's defaults.
	// Its Path and Version are replaced by the fields above.
	Engine *eioclient.Options
	// NoReconnection turns automatic reconnection off (Node reconnection:
	// false). Default false: reconnect after every close the client did not
	// cause (NODE-RECON-01).
	NoReconnection bool
	// ReconnectionAttempts is the number of reconnection attempts before
	// giving up with reconnect_failed. Default 0: unlimited (Node Infinity).
	ReconnectionAttempts int
	// ReconnectionDelay is the base delay of the first reconnection attempt;
	// it doubles for each attempt (NODE-RECON-02). Default 1 s. Delays are
	// computed in whole milliseconds, as Node does.
	ReconnectionDelay time.Duration
	// ReconnectionDelayMax caps each delay, after the jitter. Default 5 s.
	ReconnectionDelayMax time.Duration
	// RandomizationFactor is the jitter: each delay moves by up to this
	// fraction of itself, up or down. Default 0 means 0.5; a negative value
	// turns the jitter off.
	RandomizationFactor float64
	// Rand is the random source of the jitter; seed it for reproducible
	// delays (rand.New(rand.NewPCG(seed, 0))). It is used only by the
	// Manager's own goroutine and must not be shared. Default: the runtime's
	// random numbers (math/rand/v2 top-level functions).
	Rand *rand.Rand
	// Timeout bounds one connection attempt (the Engine.IO handshake).
	// Default 20 s.
	Timeout time.Duration
	// Clock drives the reconnection delays and the ack timeouts. Default:
	// the system clock. (The Engine.IO heartbeat uses Engine.Clock.)
	Clock Clock
	// Logger receives debug logs. Default: discard.
	Logger *slog.Logger
}

// SocketOptions configures a namespace Socket. A nil *SocketOptions, and
// every zero field, means the default written beside the field.
type SocketOptions struct {
	// Auth is the CONNECT payload (SIO-CONN-04); it must encode as a JSON
	// object. Default nil: no payload. In protocol v4 its members are sent
	// as a query string after the namespace instead (SIO4-03): strings as
	// they are, other values in their JSON form; for "/" the query goes on
	// the Engine.IO handshake URL, where socket.io 2.x reads it.
	Auth any
	// AuthFunc, if set, is called for every CONNECT, so once per
	// (re)connection (SIO-CONN-15), and its result replaces Auth. An error
	// fails the connection with connect_error and leaves the socket
	// inactive. It runs on the Manager's goroutine; ctx ends with the
	// connection attempt.
	AuthFunc func(ctx context.Context) (any, error)
	// AckTimeout is the default ack timeout of EmitWithAck (Node ackTimeout);
	// Emitter.Timeout overrides it per emit. Default 0: no timeout besides
	// the caller's ctx.
	AckTimeout time.Duration
	// Retries makes every non-volatile emit go through a queue, one at a
	// time, each with an ack id, resent with a new ack id after a timeout or
	// a disconnection, up to Retries+1 sends in all (NODE-ACK-02). Default 0:
	// no queue.
	Retries int
	// KeepRecoveryOffset keeps the connection-state-recovery offset that a
	// Node server appends to every event as its last argument
	// (NODE-CSR-02). Default false: once the server has sent a pid, the last
	// argument of an event without ack id is taken as the offset and
	// removed from Message.Args. (A volatile server emit carries no offset;
	// with CSR on, its last string argument is taken for one, as Node's
	// client does.)
	KeepRecoveryOffset bool
}
