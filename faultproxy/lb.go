package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Sticky says how [LBRoundRobin] keeps a client on one backend.
type Sticky uint8

const (
	// StickyNone routes every connection to the next backend in turn. It is
	// the zero value.
	StickyNone Sticky = iota
	// StickyCookie routes a request carrying the balancer's affinity cookie
	// to the backend it names, and sets that cookie on every response.
	// Clients that do not replay cookies (the Node client by default) are
	// not kept on one backend.
	StickyCookie
	// StickySID routes a request whose "sid" query parameter names a session
	// the balancer saw being opened (in a polling handshake response) to the
	// backend that opened it.
	StickySID
)

// String returns "none", "cookie" or "sid".
func (s Sticky) String() string {
	switch s {
	case StickyCookie:
		return "cookie"
	case StickySID:
		return "sid"
	}
	return "none"
}

// LBCookie is the affinity cookie [LBRoundRobin] sets with StickyCookie.
const LBCookie = "siospec_lb"

// lbState is the balancer state shared by the connections of one fault.
type lbState struct {
	mu   sync.Mutex
	next int
	sids map[string]int
}

const lbMaxSIDs = 1 << 16

func (s *lbState) learn(sid string, backend int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sids) >= lbMaxSIDs {
		clear(s.sids) // bounded memory; old sessions lose stickiness
	}
	s.sids[sid] = backend
}

// route picks a backend for a connection whose first request head is head
// (nil when not peeked). It returns the index and why.
func (s *lbState) route(f LBRoundRobin, head []byte) (int, string) {
	var sid, cookie string
	if head != nil {
		if req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head))); err == nil {
			sid = req.URL.Query().Get("sid")
			if ck, err := req.Cookie(LBCookie); err == nil {
				cookie = ck.Value
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch f.Sticky {
	case StickySID:
		if i, ok := s.sids[sid]; ok && sid != "" {
			return i, "sticky sid " + sid
		}
	case StickyCookie:
		if i, err := strconv.Atoi(cookie); err == nil && i >= 0 && i < len(f.Backends) {
			return i, "sticky cookie " + LBCookie + "=" + cookie
		}
	}
	i := s.next % len(f.Backends)
	s.next++
	why := "round robin"
	if sid != "" {
		why += ", sid " + sid
	}
	return i, why
}

// lbRoute returns the active balancer instance of c, if any, and the
// address to dial, peeking at the first request head when stickiness needs
// it. prefix holds the peeked bytes (to be forwarded first).
func (c *conn) lbRoute() (target string, prefix *chunk, err error) {
	c.mu.Lock()
	var lb *instance
	for e, list := range c.insts {
		if _, ok := e.f.(LBRoundRobin); ok && len(list) > 0 && list[0].isActive() {
			if lb == nil || e.seq < lb.e.seq {
				lb = list[0]
			}
		}
	}
	c.mu.Unlock()
	if lb == nil {
		return c.p.Upstream(), nil, nil
	}
	f := lb.e.f.(LBRoundRobin)
	var head []byte
	if f.Sticky != StickyNone {
		prefix, head, err = c.peekHead()
		if err != nil {
			return "", nil, err
		}
	}
	i, why := lb.e.lb.route(f, head)
	lb.beh.(*lbB).backend = i
	c.lb = lb.e.lb
	c.backend = i
	lb.decide("route", fmt.Sprintf("backend %d %s (%s)", i, f.Backends[i], why))
	return f.Backends[i], prefix, nil
}

// peekHead reads from the client until a request head is complete (or the
// buffer is full, or the client stops), before any upstream exists.
func (c *conn) peekHead() (*chunk, []byte, error) {
	bp := c.p.bufs.Get().(*[]byte)
	buf := *bp
	n := 0
	stop := context.AfterFunc(c.ctx, func() { _ = c.client.SetReadDeadline(time.Now()) })
	defer stop()
	_ = c.client.SetReadDeadline(time.Now().Add(c.p.opts.DialTimeout))
	var end int
	for n < len(buf) {
		k, err := c.client.Read(buf[n:])
		n += k
		if end = bytes.Index(buf[:n], []byte("\r\n\r\n")); end >= 0 {
			break
		}
		if err != nil {
			break
		}
	}
	_ = c.client.SetReadDeadline(time.Time{})
	if c.ctx.Err() != nil {
		c.p.bufs.Put(bp)
		return nil, nil, errAborted
	}
	if n == 0 {
		c.p.bufs.Put(bp)
		return nil, nil, nil
	}
	c.lastRead.Store(time.Now().UnixNano())
	var head []byte
	if end >= 0 {
		head = buf[:end+4]
	}
	return &chunk{data: buf[:n], at: time.Now(), buf: bp}, head, nil
}

// learnOpen records the sid of a polling handshake response body (an open
// packet "0{...}") for a StickySID balancer.
func (c *conn) learnOpen(body []byte) {
	if c.lb == nil || len(body) < 2 || body[0] != '0' || body[1] != '{' {
		return
	}
	var open struct {
		SID string `json:"sid"`
	}
	if json.Unmarshal(body[1:], &open) == nil && open.SID != "" {
		c.lb.learn(open.SID, c.backend)
	}
}
