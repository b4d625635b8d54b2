package eioserver

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Default option values, Node's engine.io 6.6 defaults.
const (
	DefaultPath                 = "/engine.io/"
	DefaultPingInterval         = 25 * time.Second
	DefaultPingTimeout          = 20 * time.Second
	DefaultUpgradeTimeout       = 10 * time.Second
	DefaultMaxHTTPBufferSize    = 1_000_000
	DefaultCompressionThreshold = 1024
	DefaultSendQueueLimit       = 16384
)

// Transport names.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// pollingCloseTimeout is how long a gracefully closing polling transport
// waits for the next GET to carry its close packet (Node's closeTimeout).
const pollingCloseTimeout = 30 * time.Second

// upgradeCheckInterval is how often Node releases a pending GET with a noop
// while an upgrade is in progress (EIO-UPG-04).
const upgradeCheckInterval = 100 * time.Millisecond

// wsCloseGrace bounds how long a WebSocket stays open after the server sent
// its close frame, waiting for the peer's.
const wsCloseGrace = time.Second

// Options configures a [Server]. A nil *Options, and every zero field, means
// Node's default. NewServer copies the struct.
type Options struct {
	// Path is the URL path prefix served, with a trailing slash added when
	// missing (Node's addTrailingSlash). Requests outside it get 404.
	// Default "/engine.io/".
	Path string
	// PingInterval is the heartbeat period (v4: the server pings; v3: the
	// client pings). Default 25s. Advertised in whole milliseconds.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong (v4), or the
	// grace added to PingInterval before a v3 session without pings is
	// closed. Default 20s.
	PingTimeout time.Duration
	// UpgradeTimeout is how long a probe WebSocket may take to send the
	// upgrade packet "5" before it is closed. Default 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest POST body and WebSocket message
	// accepted, in bytes, also advertised as maxPayload. Default 1e6.
	MaxHTTPBufferSize int64
	// Transports lists the enabled transports, "polling" and/or
	// "websocket". Default both.
	Transports []string
	// DisableUpgrades advertises no upgrades in the open packet (Node
	// allowUpgrades=false). As in Node, an upgrade a client attempts
	// anyway is still accepted.
	DisableUpgrades bool
	// AllowEIO3 accepts Engine.IO v3 sessions (any EIO other than "4",
	// including a missing one, EIO-URL-03). Default false: such requests
	// get code 5.
	AllowEIO3 bool
	// CORS enables CORS headers and preflight answers. Default nil: CORS
	// off, as in Node.
	CORS *CORSOptions
	// AllowRequest, if set, vets every handshake (not later requests of a
	// session). A non-nil error rejects it: polling gets 403
	// {"code":4,"message":<error text>}, a WebSocket a raw HTTP 400.
	AllowRequest func(r *http.Request) error
	// Cookie makes the polling handshake response set a sticky-session
	// cookie. Default nil: no cookie.
	Cookie *CookieOptions
	// CompressionThreshold is the smallest polling response body, in
	// bytes, that is gzip- or deflate-compressed when the request's
	// Accept-Encoding allows it. Default 1024; negative disables
	// compression.
	CompressionThreshold int
	// PerMessageDeflate negotiates permessage-deflate on WebSockets;
	// messages of at least 1024 bytes are then compressed. Default off.
	PerMessageDeflate bool
	// SendQueueLimit bounds the packets queued per session and not yet
	// handed to a transport; Send returns ErrQueueFull beyond it.
	// Default 16384; negative means unbounded. Heartbeat and control
	// packets are never refused.
	SendQueueLimit int
	// OnSession is called once for each new session, before any packet
	// from the peer is delivered; set the session's handlers there. It
	// runs on the handshake request's goroutine and must not block.
	OnSession func(s *Session)
	// Clock is the time source for timers. Default: real time.
	Clock Clock
	// Logger receives debug logs (session open/close, rejected
	// requests). Default: discard.
	Logger *slog.Logger
}

// CORSOptions mirrors the options of the Node cors middleware that engine.io
// uses (EIO-CORS-01..04).
type CORSOptions struct {
	// Origins lists the allowed origins. Empty, or the single entry "*",
	// answers Access-Control-Allow-Origin: * to everyone. A single other
	// entry is sent as it is (with Vary: Origin). Several entries reflect
	// the request's Origin when it is listed and send no
	// Access-Control-Allow-Origin otherwise.
	Origins []string
	// ReflectOrigin echoes the request's Origin whatever it is (Node
	// origin:true); it overrides Origins.
	ReflectOrigin bool
	// Credentials adds Access-Control-Allow-Credentials: true.
	Credentials bool
	// Methods is the preflight's Access-Control-Allow-Methods. Default
	// GET,HEAD,PUT,PATCH,POST,DELETE.
	Methods []string
	// AllowedHeaders is the preflight's Access-Control-Allow-Headers.
	// Default: echo the request's Access-Control-Request-Headers.
	AllowedHeaders []string
	// ExposedHeaders is sent as Access-Control-Expose-Headers.
	ExposedHeaders []string
	// MaxAge, if positive, is sent as Access-Control-Max-Age (seconds).
	MaxAge time.Duration
}

// CookieOptions configures the sticky-session cookie (EIO-HS-10). Zero
// fields take Node's defaults: name "io", path "/", HttpOnly, SameSite=Lax.
type CookieOptions struct {
	Name     string
	Path     string
	Domain   string
	MaxAge   time.Duration
	Secure   bool
	SameSite http.SameSite
	// NoHTTPOnly leaves the HttpOnly attribute out.
	NoHTTPOnly bool
}

// withDefaults returns a copy of o (nil allowed) with every default filled in.
func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = DefaultUpgradeTimeout
	}
	if c.MaxHTTPBufferSize <= 0 {
		c.MaxHTTPBufferSize = DefaultMaxHTTPBufferSize
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{TransportPolling, TransportWebSocket}
	} else {
		c.Transports = append([]string(nil), c.Transports...)
	}
	if c.CORS != nil {
		cors := *c.CORS
		if len(cors.Methods) == 0 {
			cors.Methods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"}
		}
		c.CORS = &cors
	}
	if c.Cookie != nil {
		ck := *c.Cookie
		if ck.Name == "" {
			ck.Name = "io"
		}
		if ck.Path == "" {
			ck.Path = "/"
		}
		if ck.SameSite == 0 {
			ck.SameSite = http.SameSiteLaxMode
		}
		c.Cookie = &ck
	}
	if c.CompressionThreshold == 0 {
		c.CompressionThreshold = DefaultCompressionThreshold
	}
	if c.SendQueueLimit == 0 {
		c.SendQueueLimit = DefaultSendQueueLimit
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (o *Options) hasTransport(name string) bool {
	for _, t := range o.Transports {
		if t == name {
			return true
		}
	}
	return false
}
