package eioclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// errStop ends a payload walk early (after a close packet).
var errStop = errors.New("stop")

type getResult struct {
	status int
	binary bool
	body   []byte
	err    error
}

type postResult struct {
	hasClose bool
	status   int
	err      error
}

// readLimited reads r up to max bytes; more is ErrResponseTooLarge.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, max)
	}
	return b, nil
}

// isBinaryPayload tells whether a v3 response carries an XHR2 binary payload.
func isBinaryPayload(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "application/octet-stream"
}

func (c *Conn) newRequest(ctx context.Context, method, u string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	// A polling request is never replayed by the HTTP transport. net/http
	// sends a request again on a new connection when a reused one was cut
	// before the response, if the request has no body or a GetBody: a GET
	// sent again overlaps the one the server still holds (EIO-POLL-07:
	// the server ends the session), a POST sent again delivers its packets
	// twice. A body without GetBody opts out; an empty one sends nothing.
	if req.Body == nil {
		req.Body = io.NopCloser(strings.NewReader(""))
	}
	req.GetBody = nil
	for k, v := range c.opts.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "*/*")
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	return req, nil
}

// handshakePolling performs the polling handshake (EIO-HS-01, EIO-URL-07).
func (c *Conn) handshakePolling(ctx context.Context) error {
	hsErr := func(status int, body []byte, err error) error {
		e := &HandshakeError{Transport: Polling, Status: status, Err: err}
		if len(body) > 1024 {
			body = body[:1024]
		}
		e.Body = bytes.Clone(body)
		var he struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		}
		if status != http.StatusOK && json.Unmarshal(body, &he) == nil && he.Code != nil {
			e.HasCode, e.Code, e.Message = true, engineio.ErrorCode(*he.Code), he.Message
		}
		return e
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	u := c.requestURL(Polling, false, true, c.opts.ForceBase64)
	req, err := c.newRequest(rctx, http.MethodGet, u, nil)
	if err != nil {
		return hsErr(0, nil, err)
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return hsErr(0, nil, err)
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, c.opts.MaxResponseBytes)
	if err != nil {
		return hsErr(resp.StatusCode, nil, err)
	}
	if resp.StatusCode != http.StatusOK {
		return hsErr(resp.StatusCode, body, nil)
	}
	var pkts []engineio.Packet
	if c.version == engineio.V4 {
		pkts, err = engineio.DecodePayload(engineio.V4, false, body)
	} else {
		pkts, err = engineio.DecodePayload(engineio.V3, isBinaryPayload(resp.Header), body)
	}
	if err != nil {
		return hsErr(resp.StatusCode, body, fmt.Errorf("decode handshake payload: %w", err))
	}
	if len(pkts) == 0 {
		return hsErr(resp.StatusCode, body, fmt.Errorf("%w: empty handshake payload", engineio.ErrBadOpenPacket))
	}
	if err := c.acceptOpen(pkts[0]); err != nil {
		return hsErr(resp.StatusCode, body, err)
	}
	c.st.initial = pkts[1:]
	c.setActive(Polling)
	c.log.Debug("session open", "sid", c.open.SID, "transport", Polling)
	return nil
}

// acceptOpen checks and stores the open packet (EIO-HS-11).
func (c *Conn) acceptOpen(p engineio.Packet) error {
	if p.Type != engineio.Open || p.Binary {
		return fmt.Errorf("%w: first packet is %v, not open", engineio.ErrBadOpenPacket, p.Type)
	}
	o, err := engineio.ParseOpen(p.Data)
	if err != nil {
		return err
	}
	if o.PingInterval <= 0 || o.PingTimeout <= 0 {
		return fmt.Errorf("%w: pingInterval and pingTimeout must be positive", engineio.ErrBadOpenPacket)
	}
	c.open = o
	return nil
}

// startGet issues the next long-poll GET (EIO-POLL-17: one at a time).
func (c *Conn) startGet() {
	c.st.getting = true
	u := c.requestURL(Polling, true, true, false)
	timeout := c.open.PingInterval + c.open.PingTimeout + c.opts.RequestTimeout
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.post(c.doGet(u, timeout))
	}()
}

func (c *Conn) doGet(u string, timeout time.Duration) getResult {
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return getResult{err: err}
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return getResult{err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return getResult{status: resp.StatusCode}
	}
	body, err := readLimited(resp.Body, c.opts.MaxResponseBytes)
	return getResult{status: resp.StatusCode, binary: isBinaryPayload(resp.Header), body: body, err: err}
}

// onGet handles a finished GET: EIO-CLOSE-08 for failures, then the payload.
func (c *Conn) onGet(r getResult) {
	s := &c.st
	s.getting = false
	if s.finished {
		return
	}
	if s.closing {
		// A GET answered after Close: typically "400 Session ID
		// unknown" or the server's close packet once it handled ours.
		// It is not the cause of the close, and it must not tear the
		// session down before the close POST is answered.
		c.log.Debug("poll response after close ignored", "sid", c.open.SID, "status", r.status, "err", r.err)
		return
	}
	if r.err != nil || r.status != http.StatusOK {
		c.teardown(ReasonTransportError, &TransportError{Transport: Polling, Op: OpPoll, Status: r.status, Err: r.err})
		return
	}
	onlyNoops := true
	fn := func(p engineio.Packet) error {
		onlyNoops = onlyNoops && p.Type == engineio.Noop
		c.handlePacket(p)
		if s.finished {
			return errStop // EIO-CLOSE-05: ignore what follows a close
		}
		return nil
	}
	var err error
	switch {
	case c.version == engineio.V4:
		err = engineio.ParsePayload(r.body, fn)
	case r.binary:
		err = engineio.ParseBinaryPayloadV3(r.body, fn)
	default:
		err = engineio.ParsePayloadV3(r.body, fn)
	}
	if err != nil && !errors.Is(err, errStop) {
		c.teardown(ReasonParseError, fmt.Errorf("decode poll response: %w", err))
		return
	}
	if onlyNoops && s.probe != nil && !s.probe.gotPong && !s.paused {
		// A GET released with a noop while our probe is out means the
		// server has the probe (EIO-UPG-04) and its 3probe is on the
		// way: hold polling until the probe resolves (commit, failure or
		// the probe timeout), so that no GET starts after the 3probe the
		// WebSocket reader has not delivered yet (EIO-UPG-05). The hold
		// is bounded (probeHold): a 3probe that a buffering middlebox
		// keeps back must not starve the polling transport of the
		// server's pings (NET-AV-01).
		s.paused = true
		s.holdT = c.clock.NewTimer(c.probeHold())
		c.log.Debug("noop during the probe, holding polling", "sid", c.open.SID)
	}
}

// startPost sends one batch (EIO-POLL-17: one POST at a time).
func (c *Conn) startPost(batch []engineio.Packet) {
	var body []byte
	var err error
	if c.version == engineio.V4 {
		body, err = engineio.AppendPayload(nil, batch)
	} else {
		body, err = engineio.AppendPayloadV3(nil, batch)
	}
	if err != nil {
		c.teardown(ReasonTransportError, &TransportError{Transport: Polling, Op: OpPost, Err: err})
		return
	}
	hasClose := false
	for _, p := range batch {
		if p.Type == engineio.Close {
			hasClose = true
		}
	}
	c.st.posting = true
	u := c.requestURL(Polling, true, true, false)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.post(c.doPost(u, body, hasClose))
	}()
}

func (c *Conn) doPost(u string, body []byte, hasClose bool) postResult {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RequestTimeout)
	defer cancel()
	req, err := c.newRequest(ctx, http.MethodPost, u, body)
	if err != nil {
		return postResult{hasClose: hasClose, err: err}
	}
	resp, err := c.httpc.Do(req)
	if err != nil {
		return postResult{hasClose: hasClose, err: err}
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		err = nil
	}
	return postResult{hasClose: hasClose, status: resp.StatusCode, err: err}
}

// onPost handles a finished POST.
func (c *Conn) onPost(r postResult) {
	s := &c.st
	s.posting = false
	if s.finished {
		return
	}
	var err error
	if r.err != nil || r.status != http.StatusOK {
		err = &TransportError{Transport: Polling, Op: OpPost, Status: r.status, Err: r.err}
	}
	if r.hasClose {
		if err != nil {
			c.setGracefulErr(err)
		}
		c.teardown(ReasonForcedClose, err)
		return
	}
	if err != nil {
		c.teardown(ReasonTransportError, err)
	}
}

// probeHold is how long polling is held after a noop released a GET while
// the probe is out: a quarter of pingTimeout (at least 50 ms), ample for a
// 3probe already on the wire and short enough that the server's next ping
// is still fetched and answered in time if the 3probe is held back.
func (c *Conn) probeHold() time.Duration {
	return max(c.open.PingTimeout/4, 50*time.Millisecond)
}

// endHold resumes polling when the hold ran out before the probe was
// answered; the probe itself stays out until it succeeds or times out. A
// GET started now may cross a late 3probe, which the commit waits for
// (maybeCommit).
func (c *Conn) endHold() {
	s := &c.st
	if s.finished || s.probe == nil || s.probe.gotPong || !s.paused {
		return
	}
	s.paused = false
	c.log.Debug("no 3probe after the hold, polling again", "sid", c.open.SID)
	c.pump()
}
