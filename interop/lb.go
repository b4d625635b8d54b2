package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/siospec/siospec/faultproxy/process"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/reference/sioclient"
)

// ProfileNonStickyLB is the profile under which a cell runs two instances
// of the server behind the fault proxy's round-robin balancer without
// stickiness (faultproxy.LBRoundRobin, StickyNone).
//
// The design of such a cell:
//
//   - Both instances start on their own port, each ready-checked; a crash
//     of either is IOP-RUN-02 of the server. They share nothing (no
//     adapter), as two instances of a deployment that forgot stickiness.
//   - The client testee is told to use WebSocket only (SIOSPEC_TRANSPORTS
//     =websocket): NET-LB-02 is the requirement a client can meet behind
//     such a balancer. Its one connection lands on one instance, the one
//     the balancer picked. A client that opens a polling session anyway
//     (seen on the tap: an open packet that offers upgrades) fails
//     NET-LB-02 on the client side.
//   - One driver connects to each instance directly, and every command is
//     relayed through every instance (a broadcast on one instance does not
//     reach a socket on the other): the instance that holds the testee's
//     socket delivers it, the other has nobody to deliver it to.
//   - The server's tally is read from every instance and joined in
//     instance order: the up events land on the instance(s) the testee's
//     session actually reached, and the others tally nothing for the run.
//   - Delivery is judged under NET-LB-02, like IOP-DELIV-01 under none.
//   - NET-LB-01 (server): before the testee starts, the cell opens a
//     polling session on one instance and sends a polling GET with its sid
//     to the other, directly: anything but HTTP 400 (a 500, or a 200 that
//     silently opens a new session) fails the server.
const ProfileNonStickyLB = "non-sticky-lb"

// startServers starts the cell's server instances: two under
// non-sticky-lb, else one. srvs holds every process created (to close,
// even when err is set).
func (c *cell) startServers(ctx context.Context, sv *ServerSpec) (srvs []*process.Process, hosts []string, err error) {
	n := 1
	if c.p.Profile == ProfileNonStickyLB {
		n = 2
	}
	for i := range n {
		srv, host, err := StartServer(ctx, sv, c.cfg.DirOf(c.p.Server), &c.o)
		if srv != nil {
			srvs = append(srvs, srv)
		}
		if err != nil {
			if n > 1 {
				err = fmt.Errorf("instance %d of %d: %w", i+1, n, err)
			}
			return srvs, hosts, err
		}
		hosts = append(hosts, host)
	}
	return srvs, hosts, nil
}

// closeServers stops the instances and keeps their output, each under a
// heading when there are several.
func (c *cell) closeServers(srvs []*process.Process) {
	var sb strings.Builder
	for i, s := range srvs {
		_ = s.Close()
		out := s.Output()
		if len(srvs) > 1 {
			fmt.Fprintf(&sb, "--- instance %d ---\n", i+1)
		}
		sb.Write(out.Stdout)
		sb.Write(out.Stderr)
	}
	c.res.ServerOut = clip(sb.String(), outputLimit)
}

// crashedServer names the first instance that is no longer running ("" if
// all run).
func (c *cell) crashedServer(srvs []*process.Process) string {
	for i, s := range srvs {
		if !s.Running() {
			if len(srvs) > 1 {
				return fmt.Sprintf("(instance %d of %d)", i+1, len(srvs))
			}
			return "process"
		}
	}
	return ""
}

// drivers are the reference driver's sockets, one per server instance.
type drivers []*sioclient.Socket

// relay sends a client-contract command to the testee through every
// instance (ext:broadcast, event "siospec"); every instance must ack.
func (d drivers) relay(ctx context.Context, timeout time.Duration, cmd map[string]any) error {
	var errs []error
	for i, s := range d {
		if _, err := s.Timeout(timeout).EmitWithAck(ctx, "ext:broadcast", map[string]any{}, "siospec", cmd); err != nil {
			if len(d) > 1 {
				err = fmt.Errorf("instance %d: %w", i+1, err)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// tally reads ext:tally from every instance and joins the tallies in
// instance order.
func (d drivers) tally(ctx context.Context, timeout time.Duration) ([]int, error) {
	var all []int
	for _, s := range d {
		msg, err := s.Timeout(timeout).EmitWithAck(ctx, "ext:tally")
		if err != nil {
			return nil, err
		}
		var t []int
		_ = msg.Unmarshal(0, &t)
		all = append(all, t...)
	}
	return all, nil
}

var sidRE = regexp.MustCompile(`"sid"\s*:\s*"([^"]+)"`)

// probeUnknownSID checks NET-LB-01 on the server: a polling session opened
// on the first instance, its sid sent in a polling GET to the second,
// must get HTTP 400. A probe that cannot open its session records nothing
// (the drivers connected: the workload will tell).
func (c *cell) probeUnknownSID(ctx context.Context, hosts []string, path string) {
	if len(hosts) < 2 {
		return
	}
	eio := "4"
	if c.p.Protocol == ProtoSIO4 {
		eio = "3"
	}
	pctx, cancel := context.WithTimeout(ctx, c.o.scale(5*time.Second))
	defer cancel()
	hc := &http.Client{}
	get := func(host, sid string) (int, string, error) {
		q := url.Values{"EIO": {eio}, "transport": {"polling"}, "t": {"siospec-lb"}}
		if eio == "3" {
			q.Set("b64", "1")
		}
		if sid != "" {
			q.Set("sid", sid)
		}
		req, err := http.NewRequestWithContext(pctx, http.MethodGet, "http://"+host+path+"?"+q.Encode(), nil)
		if err != nil {
			return 0, "", err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(b), nil
	}
	code, body, err := get(hosts[0], "")
	m := sidRE.FindStringSubmatch(body)
	if err != nil || code != http.StatusOK || m == nil {
		return
	}
	sid := m[1]
	// Close the probe's session on its own instance, whatever happens.
	defer func() {
		payload := "1"
		if eio == "3" {
			payload = "1:1"
		}
		q := url.Values{"EIO": {eio}, "transport": {"polling"}, "sid": {sid}}
		req, err := http.NewRequestWithContext(pctx, http.MethodPost, "http://"+hosts[0]+path+"?"+q.Encode(), strings.NewReader(payload))
		if err == nil {
			req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			if resp, err := hc.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}
		hc.CloseIdleConnections()
	}()
	code, body, err = get(hosts[1], sid)
	switch {
	case err != nil:
		c.fail("NET-LB-01", SideServer, "a polling GET with sid %s (issued by instance 1) to instance 2 got no response: %v", sid, err)
	case code == http.StatusOK:
		c.fail("NET-LB-01", SideServer, "instance 2 answered a polling GET with sid %s, issued by instance 1, with 200 (%q): a session it cannot have, want HTTP 400", sid, clip(body, 200))
	case code != http.StatusBadRequest:
		c.fail("NET-LB-01", SideServer, "instance 2 answered a polling GET with sid %s, issued by instance 1, with HTTP %d (%q), want 400", sid, code, clip(body, 200))
	}
}

// checkWebSocketOnly fails NET-LB-02 on the client when the tap saw it
// open a polling session although it was told to use WebSocket only (an
// open packet on polling offers the upgrade; on a WebSocket it offers
// none). With replace, the failures the polling session caused (no
// connect: IOP-RUN-01 of the pair) give way to this one.
func (c *cell) checkWebSocketOnly(pkts []wirePacket, replace bool) {
	for _, w := range pkts {
		if w.Up || w.Type != engineio.Open {
			continue
		}
		var open struct {
			SID      string   `json:"sid"`
			Upgrades []string `json:"upgrades"`
		}
		if json.Unmarshal(w.Data, &open) != nil || len(open.Upgrades) == 0 {
			continue
		}
		if replace {
			kept := c.res.Failures[:0]
			for _, f := range c.res.Failures {
				if f.ID != IDStart || f.Side == SideServer {
					kept = append(kept, f)
				}
			}
			c.res.Failures = kept
		}
		c.fail("NET-LB-02", SideClient, "told to use WebSocket only (SIOSPEC_TRANSPORTS=websocket), the client opened a polling session (sid %s, upgrades %v) behind a balancer without stickiness", open.SID, open.Upgrades)
		return
	}
}
