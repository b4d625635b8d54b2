package eioclient

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
)

// Defaults applied by Dial for zero Options fields.
const (
	DefaultPath             = "/engine.io/"
	DefaultTimestampParam   = "t"
	DefaultRequestTimeout   = 10 * time.Second
	DefaultMaxResponseBytes = 32 << 20
)

// Options configures Dial. A nil *Options, and every zero field, means the
// default written beside the field. Dial copies the struct; later changes by
// the caller have no effect.
type Options struct {
	// Path is the Engine.IO endpoint path. Default: the path of the URL given
	// to Dial when it is neither empty nor "/", else "/engine.io/".
	Path string
	// Transports lists the transports to use, in the order they are tried
	// for the handshake: "polling" and "websocket". Default
	// ["polling", "websocket"]. An upgrade is only attempted to a transport
	// that is listed here (EIO-HS-12).
	Transports []string
	// DisableUpgrade turns off the polling → WebSocket upgrade (default:
	// upgrade when the server offers it, EIO-UPG-01).
	DisableUpgrade bool
	// TryAllTransports makes Dial try the next transport of Transports when
	// the handshake on one fails, as Node's tryAllTransports (NODE-TR-03).
	// Default false: the first transport's failure is final. With
	// ["websocket", "polling"] this gives the fallback to polling when the
	// WebSocket is refused or the Upgrade header is stripped.
	TryAllTransports bool
	// Header is added to every HTTP request and to the WebSocket handshake.
	Header http.Header
	// Query is merged into every request's query (after the URL's own query);
	// the Engine.IO parameters EIO, transport, sid, b64 and the timestamp are
	// always set by the client.
	Query url.Values
	// TimestampParam names the cache-busting parameter added to every
	// polling request (EIO-URL-07). Default "t".
	TimestampParam string
	// TimestampRequests also adds the timestamp to WebSocket URLs
	// (default false, like Node).
	TimestampRequests bool
	// Version selects the protocol revision: engineio.V4 (default) or
	// engineio.V3 for socket.io 2.x servers.
	Version engineio.Version
	// ForceBase64 sends b64=1 (polling: on the handshake only; WebSocket:
	// always) and sends binary messages on WebSocket as "b"+base64 text
	// frames (EIO-URL-08).
	ForceBase64 bool
	// HTTPClient carries the polling requests. Default: a private client
	// whose idle connections are closed by Conn.Close. A caller-supplied
	// client (for example one routed through the fault proxy) is used as is;
	// its Timeout should be zero or above the long-poll wait.
	HTTPClient *http.Client
	// Dialer opens WebSocket connections. Default: a private dialer that uses
	// the DialContext, Proxy and TLS configuration of HTTPClient's transport
	// when it is an *http.Transport.
	Dialer *websocket.Dialer
	// TLSConfig is used by the private HTTP client and dialer (default nil:
	// Go's defaults). Ignored for a caller-supplied client or dialer.
	TLSConfig *tls.Config
	// RequestTimeout bounds every request beyond the protocol's own waits:
	// a POST, the handshake, a WebSocket write, the graceful close. A
	// polling GET may take pingInterval+pingTimeout+RequestTimeout.
	// Default 10 s.
	RequestTimeout time.Duration
	// ProbeTimeout bounds an upgrade from the start of the probe dial to the
	// switch (default: pingInterval+pingTimeout of the session). When it
	// expires the probe is dropped and the session stays on polling.
	ProbeTimeout time.Duration
	// MaxResponseBytes bounds the size of one polling response body and of
	// one WebSocket message, in bytes (default 32 MiB). A larger one is a
	// transport error. Servers do not bound what they send by maxPayload
	// (EIO-LIMIT-05), so keep it generous.
	MaxResponseBytes int64
	// Clock drives the protocol timers (default: the system clock).
	Clock Clock
	// Logger receives debug logs of the session (default: discard).
	Logger *slog.Logger

	// onPaused, for this package's tests, is called by the session loop
	// when polling is paused for the upgrade.
	onPaused func()
	// afterEvent, for this package's tests, is called by the session loop
	// after it handled a report of a transport goroutine (a getResult, a
	// postResult, ...).
	afterEvent func(ev any)
}

// withDefaults copies o and fills defaults. u is the parsed Dial URL.
func (o *Options) withDefaults(u *url.URL) (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Path == "" {
		c.Path = DefaultPath
		if u.Path != "" && u.Path != "/" {
			c.Path = u.Path
		}
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{Polling, WebSocket}
	} else {
		c.Transports = append([]string(nil), c.Transports...)
	}
	for _, t := range c.Transports {
		if t != Polling && t != WebSocket {
			return c, fmt.Errorf("eioclient: unsupported transport %q", t)
		}
	}
	c.Header = c.Header.Clone()
	if c.Query != nil {
		q := url.Values{}
		for k, v := range c.Query {
			q[k] = append([]string(nil), v...)
		}
		c.Query = q
	}
	if c.TimestampParam == "" {
		c.TimestampParam = DefaultTimestampParam
	}
	if c.Version == 0 {
		c.Version = engineio.V4
	}
	if !c.Version.Valid() {
		return c, fmt.Errorf("eioclient: unsupported protocol version %d", int(c.Version))
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// httpClient returns the client for polling and, when it is private, its
// transport (so that Close can drop its idle connections).
func (o *Options) httpClient() (*http.Client, *http.Transport) {
	if o.HTTPClient != nil {
		return o.HTTPClient, nil
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: o.RequestTimeout}).DialContext,
		TLSClientConfig:     o.TLSConfig,
		TLSHandshakeTimeout: o.RequestTimeout,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &http.Client{Transport: tr}, tr
}

// wsDialer returns the WebSocket dialer.
func (o *Options) wsDialer() *websocket.Dialer {
	if o.Dialer != nil {
		return o.Dialer
	}
	d := &websocket.Dialer{
		HandshakeTimeout: o.RequestTimeout,
		TLSClientConfig:  o.TLSConfig,
		NetDialContext:   (&net.Dialer{Timeout: o.RequestTimeout}).DialContext,
	}
	if o.HTTPClient != nil {
		if tr, ok := o.HTTPClient.Transport.(*http.Transport); ok {
			if tr.DialContext != nil {
				d.NetDialContext = tr.DialContext
			}
			d.Proxy = tr.Proxy
			if d.TLSClientConfig == nil {
				d.TLSClientConfig = tr.TLSClientConfig
			}
		}
	}
	return d
}
