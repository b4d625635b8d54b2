package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/suites/framework"
)

// lb starts a round-robin balancer over the node URLs, closed after the
// spec. The spec is unsupported when the suite was given fewer than two
// node URLs (one URL is taken for a balancer already in front of the
// nodes).
func (h *harness) lb(sticky faultproxy.Sticky) *faultproxy.Proxy {
	GinkgoHelper()
	if len(h.c.URLs) < 2 {
		Skip("unsupported: the balancer specs start their own balancer over the node URLs and need two or more (the suite was given one URL, perhaps a balancer already)")
	}
	var backends []string
	for _, u := range h.c.URLs {
		pu, err := url.Parse(u)
		must(err)
		backends = append(backends, pu.Host)
	}
	p, err := faultproxy.New(backends[0], nil)
	must(err)
	must(p.Start(context.Background()))
	DeferCleanup(p.Close)
	_, err = p.Add(faultproxy.LBRoundRobin{Backends: backends, Sticky: sticky})
	must(err)
	h.e.Step(fmt.Sprintf("balancer %s over %s, sticky %s", p.Addr(), strings.Join(backends, ", "), sticky))
	return p
}

// freshHTTP is an HTTP client that opens a new connection per request, so
// that the balancer routes every request anew.
func freshHTTP(jar http.CookieJar) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Jar: jar, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
	}}
}

// do sends one request through hc and records it and its answer.
func (h *harness) do(ctx context.Context, hc *http.Client, conn int, method, u, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	h.e.Rec.Add(conn, framework.DirC2S, framework.KindHTTPRequest, method+" "+u, []byte(body))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	h.e.Rec.Add(conn, framework.DirS2C, framework.KindHTTPResponse, resp.Status, b)
	return resp.StatusCode, b, nil
}

// roundTrip checks one client: ext:hello acked and message echoed.
func (h *harness) roundTrip(ctx context.Context, c *client) error {
	if err := c.call(ctx, h.call, nil, "ext:hello"); err != nil {
		return err
	}
	c.emitted("message", []any{"lb"})
	if err := c.s.Emit(ctx, "message", "lb"); err != nil {
		return err
	}
	if _, ok := c.waitEvent(ctx, "message-back", h.deliver.Max); !ok {
		return fmt.Errorf("no message-back on node %s within %v", c.node, h.deliver.Max.Round(time.Millisecond))
	}
	return nil
}

func specLB(s *framework.Suite, c *Config) {
	s.It("CLU-LB-01", "answers a polling request that a non-sticky balancer sends to a node without the session with HTTP 400 and {\"code\":1,\"message\":\"Session ID unknown\"}", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		p := h.lb(faultproxy.StickyNone)
		e.Expect("through a round-robin balancer without stickiness over %d nodes, some POST of a polling session reaches another node and gets HTTP 400 {\"code\":1,\"message\":\"Session ID unknown\"}; none gets anything else", len(c.URLs))
		hc := freshHTTP(nil)
		base := "http://" + p.Addr() + c.path() + "?EIO=4&transport=polling"
		conn := e.Rec.NewConn()
		status, body, err := h.do(ctx, hc, conn, http.MethodGet, base, "")
		must(err)
		sid := ""
		if i := bytes.Index(body, []byte(`"sid":"`)); i >= 0 {
			rest := body[i+7:]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				sid = string(rest[:j])
			}
		}
		if status != 200 || sid == "" {
			failf("polling handshake through the balancer: %d %q", status, body)
		}
		var lost []string
		for range len(c.URLs) {
			status, b, err := h.do(ctx, hc, conn, http.MethodPost, base+"&sid="+url.QueryEscape(sid), "40")
			must(err)
			if status == 200 {
				continue
			}
			if status != 400 || !bytes.Contains(b, []byte(`"code":1`)) || !bytes.Contains(b, []byte(`Session ID unknown`)) {
				failf("a POST for a session the node does not hold got %d %q, want 400 {\"code\":1,\"message\":\"Session ID unknown\"}", status, b)
			}
			lost = append(lost, string(b))
		}
		if len(lost) == 0 {
			failf("every POST of session %s succeeded through a non-sticky balancer over %d nodes: do the nodes share Engine.IO sessions?", sid, len(c.URLs))
		}
		e.Observe("%d of %d POSTs reached another node and got %s", len(lost), len(c.URLs), lost[0])
	}, timeout(s, 0))

	s.It("CLU-LB-02", "lets a polling client connect, join and exchange events behind a balancer sticky by sid or by cookie", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		e.Expect("behind a balancer sticky by sid, then by cookie, %d polling clients (one cookie jar each) land on at least two nodes and each gets ext:hello answered and its message echoed", len(c.URLs))
		for _, st := range []faultproxy.Sticky{faultproxy.StickySID, faultproxy.StickyCookie} {
			p := h.lb(st)
			nodes := map[string]bool{}
			for range len(c.URLs) {
				// One jar per client, as one browser each: the affinity
				// cookie of one client must not steer the next.
				var jar http.CookieJar
				if st == faultproxy.StickyCookie {
					jar, _ = cookiejar.New(nil)
				}
				cl, err := h.dial(ctx, "http://"+p.Addr(), &dialOptions{transports: []string{"polling"}, httpClient: freshHTTP(jar)})
				if err != nil {
					failf("sticky by %s: polling client: %v", st, err)
				}
				if err := h.roundTrip(ctx, cl); err != nil {
					failf("sticky by %s: polling client on node %s: %v", st, cl.node, err)
				}
				nodes[cl.node] = true
			}
			h.closeClients()
			if len(nodes) < 2 {
				failf("sticky by %s: every client landed on one node, the balancer did not spread them", st)
			}
		}
		e.Observe("polling clients worked through balancers sticky by sid and by cookie")
	}, timeout(s, 0))

	s.It("CLU-LB-03", "lets a WebSocket-only client work behind a round-robin balancer with or without stickiness", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		e.Expect("behind a round-robin balancer without stickiness, then sticky by sid, %d WebSocket-only clients each get ext:hello answered and their message echoed", len(c.URLs))
		for _, st := range []faultproxy.Sticky{faultproxy.StickyNone, faultproxy.StickySID} {
			p := h.lb(st)
			for range len(c.URLs) {
				cl, err := h.dial(ctx, "http://"+p.Addr(), &dialOptions{transports: []string{"websocket"}, httpClient: freshHTTP(nil)})
				if err != nil {
					failf("sticky %s: WebSocket-only client: %v", st, err)
				}
				if err := h.roundTrip(ctx, cl); err != nil {
					failf("sticky %s: WebSocket-only client on node %s: %v", st, cl.node, err)
				}
			}
			h.closeClients()
		}
		e.Observe("WebSocket-only clients worked through balancers with and without stickiness")
	}, timeout(s, 0))
}
