package framework

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
}

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
		"endpoint":     t.Endpoint,
		"eio":          strconv.Itoa(t.EIO),
		"transports":   strings.Join(t.Transports, ","),
		"upgrades":     strings.Join(t.Upgrades, ","),
		"pingInterval": t.PingInterval.String(),
		"pingTimeout":  t.PingTimeout.String(),
		"maxPayload":   strconv.FormatInt(t.MaxPayload, 10),
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
	r, err := c.Get(ctx, q)
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
	return t, nil
}

func trim(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
