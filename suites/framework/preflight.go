package framework

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
)

// Target is what the preflight found out about the server under test.
type Target struct {
	// Endpoint is the Engine.IO URL that answered.
	Endpoint string
	// EIO is the revision that answered (3 or 4).
	EIO int
	// Transports lists the transports that opened a session.
	Transports []string
	// Upgrades is the polling handshake's upgrade list.
	Upgrades []string
	// PingInterval, PingTimeout and MaxPayload are the negotiated values.
	PingInterval time.Duration
	PingTimeout  time.Duration
	MaxPayload   int64
	// HasMaxPayload is false when the open packet left maxPayload out.
	HasMaxPayload bool
	// Extended is what the Socket.IO preflight found about the siospec
	// extended contract (ext:hello on "/"); ExtendedUnknown for Engine.IO
	// targets and when the probe did not run or could not decide.
	Extended Extended
	// ExtendedProbe says why the probe could not decide, when it ran and
	// Extended is ExtendedUnknown.
	ExtendedProbe string

	// What the target showed of the options a fixture contract fixes
	// (Contract), for the report: recorded here, judged by the specs.
	//
	// Cookies names the cookies the polling handshake set.
	Cookies []string
	// CORSOrigin is the Access-Control-Allow-Origin of the polling
	// handshake, sent with the Origin PreflightOrigin; empty when absent.
	CORSOrigin string
	// CORSCredentials is true when that answer also had
	// Access-Control-Allow-Credentials: true.
	CORSCredentials bool
	// AllowEIO3 says whether a polling handshake with EIO=3 opened a
	// session (always ShownYes for a v3 target).
	AllowEIO3 Shown
	// JSONP says whether a polling handshake with j=0 was answered with a
	// JSONP script.
	JSONP Shown
}

// Shown is what the preflight saw of an option: yes, no, or unknown when
// its probe got no answer.
type Shown string

// The preflight's answers about an option.
const (
	ShownUnknown Shown = ""
	ShownYes     Shown = "yes"
	ShownNo      Shown = "no"
)

func (s Shown) orUnknown() string {
	if s == ShownUnknown {
		return "unknown"
	}
	return string(s)
}

// PreflightOrigin is the Origin header of the preflight's handshake, so
// that the answer shows the target's CORS configuration.
const PreflightOrigin = "http://siospec.example"

// Extended is the answer of a Socket.IO target to the extended-contract
// probe.
type Extended string

// The probe's answers.
const (
	// ExtendedUnknown: not probed (an Engine.IO target, a run without a
	// preflight) or the probe failed; specs then probe for themselves.
	ExtendedUnknown Extended = ""
	// ExtendedYes: the server acknowledged ext:hello. A spec whose
	// extended exchange goes unanswered later fails.
	ExtendedYes Extended = "yes"
	// ExtendedNo: the server did not acknowledge ext:hello (it acked a
	// message sent after it first, or nothing within the reply window).
	// Specs that need the contract are unsupported.
	ExtendedNo Extended = "no"
)

// probed reports whether the Socket.IO probe ran (with or without an
// answer).
func (t *Target) probed() bool { return t.Extended != ExtendedUnknown || t.ExtendedProbe != "" }

// Summary returns the preflight findings as key/value pairs for reports;
// "extended" (yes, no or unknown, with "extendedProbe" saying why) only for
// targets the Socket.IO probe asked.
func (t *Target) Summary() map[string]string {
	m := map[string]string{
		"endpoint":        t.Endpoint,
		"eio":             strconv.Itoa(t.EIO),
		"transports":      strings.Join(t.Transports, ","),
		"upgrades":        strings.Join(t.Upgrades, ","),
		"pingInterval":    t.PingInterval.String(),
		"pingTimeout":     t.PingTimeout.String(),
		"maxPayload":      strconv.FormatInt(t.MaxPayload, 10),
		"cookie":          orNone(strings.Join(t.Cookies, ",")),
		"corsOrigin":      orNone(t.CORSOrigin),
		"corsCredentials": strconv.FormatBool(t.CORSCredentials),
		"allowEIO3":       t.AllowEIO3.orUnknown(),
		"jsonp":           t.JSONP.orUnknown(),
	}
	if !t.HasMaxPayload {
		m["maxPayload"] = "absent"
	}
	if t.probed() {
		m["extended"] = string(t.Extended)
		if t.Extended == ExtendedUnknown {
			m["extended"] = "unknown"
			m["extendedProbe"] = t.ExtendedProbe
		}
	}
	return m
}

// String renders the findings on one line.
func (t *Target) String() string {
	mp := strconv.FormatInt(t.MaxPayload, 10)
	if !t.HasMaxPayload {
		mp = "absent"
	}
	s := fmt.Sprintf("Engine.IO v%d at %s: transports %s, upgrades [%s], pingInterval %v, pingTimeout %v, maxPayload %s",
		t.EIO, t.Endpoint, strings.Join(t.Transports, "+"), strings.Join(t.Upgrades, ","), t.PingInterval, t.PingTimeout, mp)
	s += fmt.Sprintf(", cookie %s, CORS origin %s (credentials %v), EIO=3 accepted %s, JSONP %s",
		orNone(strings.Join(t.Cookies, ",")), orNone(t.CORSOrigin), t.CORSCredentials, t.AllowEIO3.orUnknown(), t.JSONP.orUnknown())
	switch {
	case t.Extended != ExtendedUnknown:
		s += ", extended contract " + string(t.Extended)
	case t.probed():
		s += ", extended contract unknown (" + t.ExtendedProbe + ")"
	}
	return s
}

// PreflightError explains why the target is not usable: what was tried and
// what to check.
type PreflightError struct {
	// Suite names the suite whose target failed (eio4, sio5...), when known.
	Suite string
	Tried string
	Err   error
	Hint  string
}

func (e *PreflightError) Error() string {
	who := ""
	if e.Suite != "" {
		who = " for suite " + e.Suite
	}
	return fmt.Sprintf("preflight failed%s: %s: %v\n  check: %s", who, e.Tried, e.Err, e.Hint)
}

// Unwrap returns the cause.
func (e *PreflightError) Unwrap() error { return e.Err }

// PreflightTimeout bounds the whole preflight.
const PreflightTimeout = 4 * time.Second

// Preflight checks that cfg's URL answers as Engine.IO of the configured
// revision: a polling handshake, then a WebSocket handshake. It closes both
// sessions' resources and returns within PreflightTimeout.
func Preflight(ctx context.Context, cfg *Config) (*Target, error) {
	ctx, cancel := context.WithTimeout(ctx, PreflightTimeout)
	defer cancel()
	c, err := NewClient(cfg, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	q := c.PollQuery()
	if c.version == engineio.V3 {
		q.Set("b64", "1")
	}
	tried := "GET " + c.Endpoint().String() + "?" + q.Encode()
	r, err := c.Do(ctx, Request{Query: q, Header: http.Header{"Origin": {PreflightOrigin}}})
	if err != nil {
		hint := "is the server running and listening on that host and port?"
		if ctx.Err() != nil {
			hint = fmt.Sprintf("something accepted the connection but sent no Engine.IO answer within %v: is the path right (%s; --path or the URL's path changes it)?", PreflightTimeout, c.Endpoint().Path)
		}
		return nil, &PreflightError{Tried: tried, Err: err, Hint: hint}
	}
	if r.Status != http.StatusOK {
		hint := "is the path right (" + c.Endpoint().Path + "; --path or the URL's path changes it; Engine.IO suites default to " + DefaultPath + ", Socket.IO suites to " + DefaultSIOPath + ")?"
		if r.Status == http.StatusBadRequest && strings.Contains(string(r.Body), `"code":5`) {
			hint = fmt.Sprintf("the server refuses EIO=%d: leave the v%d suites out of --suite (eio3 and sio4 need a server that accepts Engine.IO v3)", cfg.EIO, cfg.EIO)
		}
		return nil, &PreflightError{Tried: tried, Err: &StatusError{Op: "handshake", Status: r.Status, Body: r.Body}, Hint: hint}
	}
	pkts, err := c.DecodePayload(r)
	if err != nil || len(pkts) == 0 || pkts[0].Type != engineio.Open {
		if err == nil {
			err = errors.New("the body does not start with an open packet")
		}
		return nil, &PreflightError{Tried: tried, Err: fmt.Errorf("not an Engine.IO v%d handshake (body %q): %w", cfg.EIO, trim(r.Body), err),
			Hint: fmt.Sprintf("is this an Engine.IO server speaking v%d at this path?", cfg.EIO)}
	}
	op, err := engineio.ParseOpen(pkts[0].Data)
	if err != nil {
		return nil, &PreflightError{Tried: tried, Err: err, Hint: "the open packet must be JSON with sid, upgrades, pingInterval, pingTimeout"}
	}
	t := &Target{
		Endpoint: c.Endpoint().String(), EIO: cfg.EIO, Transports: []string{"polling"}, Upgrades: op.Upgrades,
		PingInterval: op.PingInterval, PingTimeout: op.PingTimeout, MaxPayload: op.MaxPayload, HasMaxPayload: !op.OmitMaxPayload,
		CORSOrigin: r.Header.Get("Access-Control-Allow-Origin"), CORSCredentials: r.Header.Get("Access-Control-Allow-Credentials") == "true",
	}
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		t.Cookies = append(t.Cookies, ck.Name)
	}
	if op.PingInterval <= 0 || op.PingTimeout <= 0 {
		return nil, &PreflightError{Tried: tried, Err: fmt.Errorf("pingInterval %v / pingTimeout %v", op.PingInterval, op.PingTimeout), Hint: "the heartbeat timings must be positive"}
	}
	w, _, err := c.OpenWebSocket(ctx)
	if err == nil {
		t.Transports = append(t.Transports, "websocket")
	}
	if w != nil {
		w.Close()
	}
	// Close the polling session politely so it does not linger.
	_, _ = c.Do(ctx, Request{Method: http.MethodPost, Query: c.PollQuery("sid", op.SID), Body: c.EncodePayload(engineio.TextPacket(engineio.Close, ""))})
	t.AllowEIO3 = ShownYes
	if c.version != engineio.V3 {
		t.AllowEIO3 = probeEIO3(ctx, c)
	}
	t.JSONP = probeJSONP(ctx, c)
	return t, nil
}

// probeTimeout bounds each of the preflight's configuration probes; a probe
// without an answer in time records ShownUnknown.
const probeTimeout = time.Second

// probeEIO3 asks a v4 target for an EIO=3 polling handshake and closes the
// session it opens.
func probeEIO3(ctx context.Context, c *Client) Shown {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	r, err := c.Do(ctx, Request{RawQuery: "EIO=3&transport=polling&b64=1"})
	if err != nil {
		return ShownUnknown
	}
	pkts, err := engineio.DecodePayload(engineio.V3, false, r.Body)
	if r.Status != http.StatusOK || err != nil || len(pkts) == 0 || pkts[0].Type != engineio.Open {
		return ShownNo
	}
	if op, err := engineio.ParseOpen(pkts[0].Data); err == nil {
		_, _ = c.Do(ctx, Request{Method: http.MethodPost, RawQuery: "EIO=3&transport=polling&b64=1&sid=" + url.QueryEscape(op.SID), Body: []byte("1:1")})
	}
	return ShownYes
}

// jsonpOpen matches the sid in a JSONP handshake script.
var jsonpOpen = regexp.MustCompile(`^___eio\[0\]\(".*?\\"sid\\":\\"([^\\"]+)\\"`)

// probeJSONP asks for a polling handshake with j=0 and closes the session a
// JSONP script opens (a form-encoded close, as JSONP clients post).
func probeJSONP(ctx context.Context, c *Client) Shown {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	q := c.PollQuery("j", "0")
	if c.version == engineio.V3 {
		q.Set("b64", "1")
	}
	r, err := c.Do(ctx, Request{Query: q})
	if err != nil {
		return ShownUnknown
	}
	if r.Status != http.StatusOK || !strings.HasPrefix(string(r.Body), "___eio") {
		return ShownNo
	}
	if m := jsonpOpen.FindSubmatch(r.Body); m != nil {
		q.Set("sid", string(m[1]))
		body := "d=" + url.QueryEscape(string(c.EncodePayload(engineio.TextPacket(engineio.Close, ""))))
		_, _ = c.Do(ctx, Request{Method: http.MethodPost, Query: q, Body: []byte(body),
			Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}})
	}
	return ShownYes
}

// orNone returns s, or "none" when it is empty.
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func trim(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
