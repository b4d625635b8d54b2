package framework

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// Client is a raw Engine.IO client for specs. It never retries, never
// follows redirects, never decompresses on its own and records every byte
// it sends and receives into its Recorder.
type Client struct {
	endpoint *url.URL
	version  engineio.Version
	rec      *Recorder
	hc       *http.Client

	// OfferCompression makes DialWS offer permessage-deflate. Default off.
	OfferCompression bool

	mu     sync.Mutex
	closed bool
	wss    []*WSConn
}

// NewClient returns a client for the configured endpoint and revision.
func NewClient(cfg *Config, rec *Recorder) (*Client, error) {
	ep, err := cfg.Endpoint()
	if err != nil {
		return nil, &HarnessError{Op: "parse --url", Err: err}
	}
	if rec == nil {
		rec = NewRecorder()
	}
	v := engineio.V4
	if cfg.EIO == 3 {
		v = engineio.V3
	}
	tr := &http.Transport{
		Proxy:              nil,
		DialContext:        (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		DisableKeepAlives:  true, // one TCP connection per request: conn ordinals stay honest
		DisableCompression: true, // specs that want gzip ask for it and decode it themselves
		MaxIdleConns:       -1,
	}
	hc := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{endpoint: ep, version: v, rec: rec, hc: hc}, nil
}

// Recorder returns the client's transcript.
func (c *Client) Recorder() *Recorder { return c.rec }

// Version returns the Engine.IO revision the client speaks.
func (c *Client) Version() engineio.Version { return c.version }

// Endpoint returns a copy of the Engine.IO endpoint URL.
func (c *Client) Endpoint() *url.URL { u := *c.endpoint; return &u }

// Close closes every WebSocket the client opened and waits for their
// readers. It is idempotent.
func (c *Client) Close() {
	c.mu.Lock()
	wss := c.wss
	c.wss, c.closed = nil, true
	c.mu.Unlock()
	for _, w := range wss {
		w.Close()
	}
	c.hc.CloseIdleConnections()
}

// Query builds a query from key/value pairs. The pair "EIO", "" leaves EIO
// out; a key given without a value pair panics (a spec bug).
func (c *Client) Query(kv ...string) url.Values {
	if len(kv)%2 != 0 {
		panic("framework: Query needs key/value pairs")
	}
	q := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return q
}

// PollQuery returns EIO=<version>&transport=polling plus extra pairs.
func (c *Client) PollQuery(kv ...string) url.Values {
	return c.Query(append([]string{"EIO", c.version.String(), "transport", "polling"}, kv...)...)
}

// WSQuery returns EIO=<version>&transport=websocket plus extra pairs.
func (c *Client) WSQuery(kv ...string) url.Values {
	return c.Query(append([]string{"EIO", c.version.String(), "transport", "websocket"}, kv...)...)
}

// Response is a complete HTTP response as the client saw it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Conn is the transcript ordinal of the request's connection.
	Conn int
	// Elapsed runs from sending the request to reading the whole body.
	Elapsed time.Duration
}

// ContentType returns the response's Content-Type header.
func (r *Response) ContentType() string { return r.Header.Get("Content-Type") }

// Request describes one raw HTTP request.
type Request struct {
	Method string
	Query  url.Values
	// RawQuery, when set, is used verbatim instead of Query.
	RawQuery string
	// Path overrides the endpoint path (for requests outside the prefix).
	Path   string
	Header http.Header
	Body   []byte
}

// Do sends one HTTP request and reads the whole response. Transport errors
// (connection refused, reset, context end) are returned as they are; the
// transcript shows them as a tcp-close event.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	u := c.Endpoint()
	if r.Path != "" {
		u.Path = r.Path
	}
	u.RawQuery = r.RawQuery
	if r.RawQuery == "" && r.Query != nil {
		u.RawQuery = r.Query.Encode()
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, &HarnessError{Op: "build request", Err: err}
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	conn := c.rec.NewConn()
	target := u.RequestURI()
	c.rec.Add(conn, DirC2S, KindHTTPRequest, fmt.Sprintf("%s %s%s", method, target, headerNote(r.Header)), r.Body)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.rec.Add(conn, DirLocal, KindTCPClose, "request failed: "+err.Error(), nil)
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: data, Conn: conn, Elapsed: time.Since(start)}
	sum := fmt.Sprintf("%d %s %dB", resp.StatusCode, resp.Header.Get("Content-Type"), len(data))
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		sum += " " + ce
	}
	c.rec.Add(conn, DirS2C, KindHTTPResponse, sum, data)
	if err != nil {
		c.rec.Add(conn, DirLocal, KindTCPClose, "body read failed: "+err.Error(), nil)
		return out, err
	}
	return out, nil
}

func headerNote(h http.Header) string {
	if len(h) == 0 {
		return ""
	}
	var parts []string
	for k := range h {
		parts = append(parts, k+": "+h.Get(k))
	}
	return " [" + strings.Join(parts, "; ") + "]"
}

// Get sends a GET with the query.
func (c *Client) Get(ctx context.Context, q url.Values) (*Response, error) {
	return c.Do(ctx, Request{Method: http.MethodGet, Query: q})
}

// DecodePayload decodes a polling response body for the client's revision
// and records each packet in the transcript. v3 binary framing is chosen by
// the response's Content-Type.
func (c *Client) DecodePayload(r *Response) ([]engineio.Packet, error) {
	binary := c.version == engineio.V3 && strings.HasPrefix(r.ContentType(), "application/octet-stream")
	pkts, err := engineio.DecodePayload(c.version, binary, r.Body)
	for _, p := range pkts {
		c.rec.Add(r.Conn, DirS2C, KindEIOPacket, p.String(), nil)
	}
	if err != nil {
		c.rec.Add(r.Conn, DirLocal, KindNote, "undecodable payload: "+err.Error(), nil)
	}
	return pkts, err
}

// EncodePayload encodes packets as a polling request body for the client's
// revision. Illegal packets are written on purpose (AllowIllegal).
func (c *Client) EncodePayload(pkts ...engineio.Packet) []byte {
	enc := engineio.Encoder{AllowIllegal: true}
	var b []byte
	var err error
	if c.version == engineio.V3 {
		b, err = enc.AppendPayloadV3(nil, pkts)
	} else {
		b, err = enc.AppendPayload(nil, pkts)
	}
	if err != nil {
		// AllowIllegal encoders only fail on impossible input; keep the
		// spec going with what was encoded.
		return b
	}
	return b
}
