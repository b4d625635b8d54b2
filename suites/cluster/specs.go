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
	"slices"
	"strings"
	"time"

	"github.com/siospec/siospec/faultproxy"
)

// Budgets. Cross-node traffic goes through Redis on loopback: a message
// takes well under a millisecond; the budgets leave room for a loaded CI
// machine.
const (
	defaultDeliverBudget = 3 * time.Second
	// quietWindow is how long a socket that must not get a broadcast is
	// watched after the ones that must have got it.
	quietWindow = 400 * time.Millisecond
	ackBudget   = 5 * time.Second
	// resumeBudget bounds cross-node delivery after Redis is back.
	resumeBudget = 10 * time.Second
)

type spec struct {
	ids []string
	run func(ctx context.Context, h *harness) verdicts
}

func specs() []spec {
	return []spec{
		{[]string{"CLU-BC-01"}, specBroadcastAll},
		{[]string{"CLU-BC-02"}, specBroadcastRoom},
		{[]string{"CLU-BC-03"}, specBroadcastExcept},
		{[]string{"CLU-BC-04"}, specBroadcastBinary},
		{[]string{"CLU-ROOM-01"}, specRoomSeen},
		{[]string{"CLU-JOIN-01"}, specSocketsJoin},
		{[]string{"CLU-JOIN-02"}, specSocketsLeave},
		{[]string{"CLU-DISC-01"}, specDisconnectSockets},
		{[]string{"CLU-FETCH-01"}, specFetchSockets},
		{[]string{"CLU-SSE-01"}, specServerSideEmit},
		{[]string{"CLU-ACK-01"}, specBroadcastAck},
		{[]string{"CLU-LB-01"}, specLBNoSticky},
		{[]string{"CLU-LB-02"}, specLBSticky},
		{[]string{"CLU-LB-03"}, specLBWebSocket},
		{[]string{"CLU-FAULT-01", "CLU-FAULT-02", "CLU-FAULT-03"}, specRedisAway},
	}
}

// target is the {room, except} object of the cluster events.
func target(room, except string) map[string]any {
	t := map[string]any{}
	if room != "" {
		t["room"] = room
	}
	if except != "" {
		t["except"] = except
	}
	return t
}

// expectDelivery checks that want got event name and the others did not.
func expectDelivery(ctx context.Context, deliverBudget time.Duration, name string, want, others []*client) (string, bool) {
	for _, c := range want {
		if _, ok := c.waitEvent(ctx, name, deliverBudget); !ok {
			return fmt.Sprintf("the socket on node %s got no %q within %v", c.node, name, deliverBudget), false
		}
	}
	if len(others) > 0 {
		t := time.NewTimer(quietWindow)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		for _, c := range others {
			if n := len(c.got(name)); n > 0 {
				return fmt.Sprintf("the socket on node %s, which was not selected, got %q %d time(s)", c.node, name, n), false
			}
		}
	}
	for _, c := range want {
		if n := len(c.got(name)); n != 1 {
			return fmt.Sprintf("the socket on node %s got %q %d times, want once", c.node, name, n), false
		}
	}
	return "", true
}

func nodesOf(cs []*client) string {
	var n []string
	for _, c := range cs {
		n = append(n, c.node)
	}
	return strings.Join(n, ", ")
}

func specBroadcastAll(ctx context.Context, h *harness) verdicts {
	const id = "CLU-BC-01"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	ev := h.token("ev")
	if err := cs[0].call(ctx, ackBudget, nil, "ext:cluster-broadcast", target("", ""), ev, 1); err != nil {
		return harnessFail(id, err)
	}
	if why, ok := expectDelivery(ctx, h.deliver, ev, cs, nil); !ok {
		return one(id, fail("broadcast from node %s: %s", cs[0].node, why))
	}
	return one(id, pass("broadcast from node "+cs[0].node+" reached nodes "+nodesOf(cs)))
}

func specBroadcastRoom(ctx context.Context, h *harness) verdicts {
	const id = "CLU-BC-02"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	room, ev := h.token("room"), h.token("ev")
	if err := cs[1].call(ctx, ackBudget, nil, "ext:join", room); err != nil {
		return harnessFail(id, err)
	}
	if err := cs[0].call(ctx, ackBudget, nil, "ext:cluster-broadcast", target(room, ""), ev, "r"); err != nil {
		return harnessFail(id, err)
	}
	others := append([]*client{cs[0]}, cs[2:]...)
	if why, ok := expectDelivery(ctx, h.deliver, ev, cs[1:2], others); !ok {
		return one(id, fail("broadcast to room from node %s: %s", cs[0].node, why))
	}
	return one(id, pass("room broadcast reached only the member on node "+cs[1].node))
}

func specBroadcastExcept(ctx context.Context, h *harness) verdicts {
	const id = "CLU-BC-03"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	ex, ev := h.token("except"), h.token("ev")
	if err := cs[1].call(ctx, ackBudget, nil, "ext:join", ex); err != nil {
		return harnessFail(id, err)
	}
	if err := cs[0].call(ctx, ackBudget, nil, "ext:cluster-broadcast", target("", ex), ev); err != nil {
		return harnessFail(id, err)
	}
	want := append([]*client{cs[0]}, cs[2:]...)
	if why, ok := expectDelivery(ctx, h.deliver, ev, want, cs[1:2]); !ok {
		return one(id, fail("broadcast except room from node %s: %s", cs[0].node, why))
	}
	return one(id, pass("the socket in the exception room on node "+cs[1].node+" was left out"))
}

func specBroadcastBinary(ctx context.Context, h *harness) verdicts {
	const id = "CLU-BC-04"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	ev := h.token("ev")
	payload := []byte{0, 1, 2, 0xfe, 0xff, 'x'}
	if err := cs[0].call(ctx, ackBudget, nil, "ext:cluster-broadcast", target("", ""), ev, "bin", payload); err != nil {
		return harnessFail(id, err)
	}
	for _, c := range cs[1:] {
		e, ok := c.waitEvent(ctx, ev, h.deliver)
		if !ok {
			return one(id, fail("the socket on node %s got no binary broadcast", c.node))
		}
		b, ok := e.msg.Bytes(1)
		if !ok || !bytes.Equal(b, payload) {
			return one(id, fail("node %s delivered %s, want \"bin\" and attachment %x", c.node, e.msg, payload))
		}
	}
	return one(id, pass("attachment intact on nodes "+nodesOf(cs[1:])))
}

type fetched struct {
	Sockets []struct {
		ID    string   `json:"id"`
		Rooms []string `json:"rooms"`
	} `json:"sockets"`
	Error *string `json:"error"`
}

func (f fetched) ids() []string {
	var out []string
	for _, s := range f.Sockets {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

func (f fetched) rooms(id string) []string {
	for _, s := range f.Sockets {
		if s.ID == id {
			return s.Rooms
		}
	}
	return nil
}

func idsOf(cs []*client) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.id)
	}
	slices.Sort(out)
	return out
}

// pollFetch asks c for fetchSockets(t) until cond holds or the budget ends;
// it returns the last answer.
func pollFetch(ctx context.Context, deliverBudget time.Duration, c *client, t map[string]any, cond func(fetched) bool) (fetched, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, deliverBudget)
	defer cancel()
	var f fetched
	for {
		f = fetched{}
		if err := c.call(ctx, ackBudget, &f, "ext:fetch-sockets", t); err != nil {
			if ctx.Err() != nil {
				return f, false, nil
			}
			return f, false, err
		}
		if f.Error == nil && cond(f) {
			return f, true, nil
		}
		tm := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			tm.Stop()
			return f, false, nil
		case <-tm.C:
		}
	}
}

func specRoomSeen(ctx context.Context, h *harness) verdicts {
	const id = "CLU-ROOM-01"
	cs, err := h.onNodes(ctx, 2)
	if err != nil {
		return harnessFail(id, err)
	}
	room := h.token("room")
	if err := cs[1].call(ctx, ackBudget, nil, "ext:join", room); err != nil {
		return harnessFail(id, err)
	}
	f, ok, err := pollFetch(ctx, h.deliver, cs[0], target(room, ""), func(f fetched) bool {
		return slices.Equal(f.ids(), []string{cs[1].id}) && slices.Contains(f.rooms(cs[1].id), room)
	})
	if err != nil {
		return harnessFail(id, err)
	}
	if !ok {
		return one(id, fail("node %s lists %v in room %q, want exactly the socket %s of node %s with that room", cs[0].node, f.Sockets, room, cs[1].id, cs[1].node))
	}
	return one(id, pass("node "+cs[0].node+" sees the room joined on node "+cs[1].node))
}

func joinAll(ctx context.Context, cs []*client, rooms ...string) error {
	for _, c := range cs {
		if err := c.call(ctx, ackBudget, nil, "ext:join", rooms); err != nil {
			return err
		}
	}
	return nil
}

// roomsOf asks c for its rooms (ext:info).
func roomsOf(ctx context.Context, c *client) ([]string, error) {
	var info struct {
		Rooms []string `json:"rooms"`
	}
	err := c.call(ctx, ackBudget, &info, "ext:info")
	return info.Rooms, err
}

func specSocketsJoin(ctx context.Context, h *harness) verdicts {
	const id = "CLU-JOIN-01"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	base, joined := h.token("base"), h.token("joined")
	if err := joinAll(ctx, cs, base); err != nil {
		return harnessFail(id, err)
	}
	if err := cs[0].call(ctx, ackBudget, nil, "ext:sockets-join", target(base, ""), []string{joined}); err != nil {
		return harnessFail(id, err)
	}
	want := idsOf(cs)
	f, ok, err := pollFetch(ctx, h.deliver, cs[0], target(joined, ""), func(f fetched) bool { return slices.Equal(f.ids(), want) })
	if err != nil {
		return harnessFail(id, err)
	}
	if !ok {
		return one(id, fail("after socketsJoin on node %s, room %q holds %v, want %v (nodes %s)", cs[0].node, joined, f.ids(), want, nodesOf(cs)))
	}
	for _, c := range cs[1:] {
		rooms, err := roomsOf(ctx, c)
		if err != nil {
			return harnessFail(id, err)
		}
		if !slices.Contains(rooms, joined) {
			return one(id, fail("node %s reports rooms %v for its socket, without %q", c.node, rooms, joined))
		}
	}
	return one(id, pass("sockets on nodes "+nodesOf(cs)+" joined"))
}

func specSocketsLeave(ctx context.Context, h *harness) verdicts {
	const id = "CLU-JOIN-02"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	base, left := h.token("base"), h.token("left")
	if err := joinAll(ctx, cs, base, left); err != nil {
		return harnessFail(id, err)
	}
	if err := cs[0].call(ctx, ackBudget, nil, "ext:sockets-leave", target(base, ""), []string{left}); err != nil {
		return harnessFail(id, err)
	}
	f, ok, err := pollFetch(ctx, h.deliver, cs[0], target(left, ""), func(f fetched) bool { return len(f.Sockets) == 0 })
	if err != nil {
		return harnessFail(id, err)
	}
	if !ok {
		return one(id, fail("after socketsLeave on node %s, room %q still holds %v", cs[0].node, left, f.ids()))
	}
	for _, c := range cs[1:] {
		rooms, err := roomsOf(ctx, c)
		if err != nil {
			return harnessFail(id, err)
		}
		if slices.Contains(rooms, left) || !slices.Contains(rooms, base) {
			return one(id, fail("node %s reports rooms %v, want %q kept and %q left", c.node, rooms, base, left))
		}
	}
	return one(id, pass("sockets on nodes "+nodesOf(cs)+" left"))
}

func specDisconnectSockets(ctx context.Context, h *harness) verdicts {
	const id = "CLU-DISC-01"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	room := h.token("disc")
	if err := joinAll(ctx, cs[1:], room); err != nil {
		return harnessFail(id, err)
	}
	if err := cs[0].call(ctx, ackBudget, nil, "ext:disconnect-sockets", target(room, "")); err != nil {
		return harnessFail(id, err)
	}
	for _, c := range cs[1:] {
		wctx, cancel := context.WithTimeout(ctx, h.deliver)
		ok := c.waitFor(wctx, func() bool { return len(c.disconnects) > 0 })
		cancel()
		if !ok {
			return one(id, fail("the socket on node %s in room %q was not disconnected", c.node, room))
		}
		c.mu.Lock()
		reason := c.disconnects[0]
		c.mu.Unlock()
		if reason != "io server disconnect" {
			return one(id, fail("the socket on node %s was disconnected with %q, want \"io server disconnect\"", c.node, reason))
		}
	}
	if err := cs[0].call(ctx, ackBudget, nil, "ext:hello"); err != nil {
		return one(id, fail("the socket outside the room on node %s no longer answers: %v", cs[0].node, err))
	}
	return one(id, pass("sockets on nodes "+nodesOf(cs[1:])+" disconnected, node "+cs[0].node+"'s kept"))
}

func specFetchSockets(ctx context.Context, h *harness) verdicts {
	const id = "CLU-FETCH-01"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	room, extra := h.token("fetch"), h.token("extra")
	if err := joinAll(ctx, cs, room); err != nil {
		return harnessFail(id, err)
	}
	if err := cs[2].call(ctx, ackBudget, nil, "ext:join", extra); err != nil {
		return harnessFail(id, err)
	}
	want := idsOf(cs)
	for _, c := range cs {
		f, ok, err := pollFetch(ctx, h.deliver, c, target(room, ""), func(f fetched) bool { return slices.Equal(f.ids(), want) })
		if err != nil {
			return harnessFail(id, err)
		}
		if !ok {
			return one(id, fail("fetchSockets on node %s returned %v, want %v (nodes %s)", c.node, f.ids(), want, nodesOf(cs)))
		}
		if r := f.rooms(cs[2].id); !slices.Contains(r, room) || !slices.Contains(r, extra) {
			return one(id, fail("fetchSockets on node %s gives rooms %v for the socket of node %s, want %q and %q", c.node, r, cs[2].node, room, extra))
		}
	}
	return one(id, pass("every node lists the sockets of nodes "+nodesOf(cs)))
}

func specServerSideEmit(ctx context.Context, h *harness) verdicts {
	const id = "CLU-SSE-01"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	ev := h.token("sse")
	var res struct {
		Responses []string `json:"responses"`
		Error     *string  `json:"error"`
	}
	if err := cs[0].call(ctx, ackBudget+2*time.Second, &res, "ext:server-side-emit", ev, 5); err != nil {
		return harnessFail(id, err)
	}
	var info struct {
		Servers int `json:"servers"`
	}
	if err := cs[0].call(ctx, ackBudget, &info, "ext:cluster-info"); err != nil {
		return harnessFail(id, err)
	}
	if res.Error != nil {
		return one(id, fail("serverSideEmitWithAck on node %s failed: %s (answers %v)", cs[0].node, *res.Error, res.Responses))
	}
	if len(res.Responses) != info.Servers-1 {
		return one(id, fail("serverSideEmitWithAck on node %s got %d answers %v, want %d (one per other node)", cs[0].node, len(res.Responses), res.Responses, info.Servers-1))
	}
	for _, c := range cs[1:] {
		if !slices.Contains(res.Responses, c.node) {
			return one(id, fail("no answer from node %s among %v", c.node, res.Responses))
		}
	}
	if slices.Contains(res.Responses, cs[0].node) {
		return one(id, fail("the emitting node %s answered its own server-side emit", cs[0].node))
	}
	if why, ok := expectDelivery(ctx, h.deliver, ev, cs[1:], cs[:1]); !ok {
		return one(id, fail("the server-side event was not handled once per other node: %s", why))
	}
	return one(id, pass(fmt.Sprintf("answers %v", res.Responses)))
}

func specBroadcastAck(ctx context.Context, h *harness) verdicts {
	const id = "CLU-ACK-01"
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		return harnessFail(id, err)
	}
	room, ev := h.token("ack"), h.token("ev")
	if err := joinAll(ctx, cs, room); err != nil {
		return harnessFail(id, err)
	}
	var res struct {
		Responses []string `json:"responses"`
		Error     *string  `json:"error"`
	}
	t := target(room, "")
	t["timeout"] = int(h.deliver / time.Millisecond)
	if err := cs[0].call(ctx, ackBudget, &res, "ext:broadcast-ack", t, ev, 1); err != nil {
		return harnessFail(id, err)
	}
	if res.Error != nil {
		return one(id, fail("broadcast with acks from node %s failed: %s", cs[0].node, *res.Error))
	}
	got := slices.Clone(res.Responses)
	slices.Sort(got)
	if want := idsOf(cs); !slices.Equal(got, want) {
		return one(id, fail("broadcast with acks from node %s collected %v, want the answers of %v (nodes %s)", cs[0].node, got, want, nodesOf(cs)))
	}
	return one(id, pass("answers of nodes "+nodesOf(cs)+" collected"))
}

// lb starts a round-robin balancer over the node URLs.
func (h *harness) lb(sticky faultproxy.Sticky) (*faultproxy.Proxy, error) {
	if len(h.o.URLs) < 2 {
		return nil, fmt.Errorf("needs two or more node URLs (got one, perhaps a balancer already)")
	}
	var backends []string
	for _, u := range h.o.URLs {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		backends = append(backends, pu.Host)
	}
	p, err := faultproxy.New(backends[0], nil)
	if err != nil {
		return nil, err
	}
	if err := p.Start(context.Background()); err != nil {
		return nil, err
	}
	if _, err := p.Add(faultproxy.LBRoundRobin{Backends: backends, Sticky: sticky}); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}

// freshHTTP is an HTTP client that opens a new connection per request, so
// that the balancer routes every request anew.
func freshHTTP(jar http.CookieJar) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Jar: jar, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
	}}
}

func specLBNoSticky(ctx context.Context, h *harness) verdicts {
	const id = "CLU-LB-01"
	p, err := h.lb(faultproxy.StickyNone)
	if err != nil {
		return one(id, skip(err.Error()))
	}
	defer func() { _ = p.Close() }()
	hc := freshHTTP(nil)
	base := "http://" + p.Addr() + h.o.Path + "?EIO=4&transport=polling"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return harnessFail(id, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	sid := ""
	if i := bytes.Index(body, []byte(`"sid":"`)); i >= 0 {
		rest := body[i+7:]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			sid = string(rest[:j])
		}
	}
	if resp.StatusCode != 200 || sid == "" {
		return one(id, fail("polling handshake through the balancer: %d %q", resp.StatusCode, body))
	}
	var lost []string
	for range len(h.o.URLs) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"&sid="+url.QueryEscape(sid), strings.NewReader("40"))
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		resp, err := hc.Do(req)
		if err != nil {
			return harnessFail(id, err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		if resp.StatusCode == 200 {
			continue
		}
		if resp.StatusCode != 400 || !bytes.Contains(b, []byte(`"code":1`)) || !bytes.Contains(b, []byte(`Session ID unknown`)) {
			return one(id, fail("a POST for a session the node does not hold got %d %q, want 400 {\"code\":1,\"message\":\"Session ID unknown\"}", resp.StatusCode, b))
		}
		lost = append(lost, string(b))
	}
	if len(lost) == 0 {
		return one(id, fail("every POST of session %s succeeded through a non-sticky balancer over %d nodes: the nodes share Engine.IO sessions?", sid, len(h.o.URLs)))
	}
	return one(id, pass(fmt.Sprintf("%d of %d POSTs reached another node and got %s", len(lost), len(h.o.URLs), lost[0])))
}

// roundTrip checks one client: ext:hello acked and message echoed.
func roundTrip(ctx context.Context, deliverBudget time.Duration, c *client) error {
	if err := c.call(ctx, ackBudget, nil, "ext:hello"); err != nil {
		return err
	}
	if err := c.s.Emit(ctx, "message", "lb"); err != nil {
		return err
	}
	if _, ok := c.waitEvent(ctx, "message-back", deliverBudget); !ok {
		return fmt.Errorf("no message-back on node %s", c.node)
	}
	return nil
}

func specLBSticky(ctx context.Context, h *harness) verdicts {
	const id = "CLU-LB-02"
	for _, st := range []faultproxy.Sticky{faultproxy.StickySID, faultproxy.StickyCookie} {
		p, err := h.lb(st)
		if err != nil {
			return one(id, skip(err.Error()))
		}
		nodes := map[string]bool{}
		for range len(h.o.URLs) {
			// One jar per client, as one browser each: the affinity
			// cookie of one client must not steer the next.
			var jar http.CookieJar
			if st == faultproxy.StickyCookie {
				jar, _ = cookiejar.New(nil)
			}
			c, err := h.dial(ctx, "http://"+p.Addr(), &dialOptions{transports: []string{"polling"}, httpClient: freshHTTP(jar)})
			if err != nil {
				_ = p.Close()
				return one(id, fail("sticky by %s: polling client: %v", st, err))
			}
			if err := roundTrip(ctx, h.deliver, c); err != nil {
				_ = p.Close()
				return one(id, fail("sticky by %s: polling client on node %s: %v", st, c.node, err))
			}
			nodes[c.node] = true
		}
		_ = p.Close()
		h.closeClients()
		if len(nodes) < 2 {
			return one(id, fail("sticky by %s: every client landed on one node, the balancer did not spread them", st))
		}
	}
	return one(id, pass("polling clients worked through balancers sticky by sid and by cookie"))
}

func specLBWebSocket(ctx context.Context, h *harness) verdicts {
	const id = "CLU-LB-03"
	for _, st := range []faultproxy.Sticky{faultproxy.StickyNone, faultproxy.StickySID} {
		p, err := h.lb(st)
		if err != nil {
			return one(id, skip(err.Error()))
		}
		for range len(h.o.URLs) {
			c, err := h.dial(ctx, "http://"+p.Addr(), &dialOptions{transports: []string{"websocket"}, httpClient: freshHTTP(nil)})
			if err != nil {
				_ = p.Close()
				return one(id, fail("sticky %s: WebSocket-only client: %v", st, err))
			}
			if err := roundTrip(ctx, h.deliver, c); err != nil {
				_ = p.Close()
				return one(id, fail("sticky %s: WebSocket-only client on node %s: %v", st, c.node, err))
			}
		}
		_ = p.Close()
		h.closeClients()
	}
	return one(id, pass("WebSocket-only clients worked through balancers with and without stickiness"))
}

func specRedisAway(ctx context.Context, h *harness) verdicts {
	ids := []string{"CLU-FAULT-01", "CLU-FAULT-02", "CLU-FAULT-03"}
	out := verdicts{}
	if h.o.Redis == nil {
		for _, id := range ids {
			out[id] = skip("no control over the cluster's Redis (the Go API's Options.Redis)")
		}
		return out
	}
	cs, err := h.onNodes(ctx, 3)
	if err != nil {
		for _, id := range ids {
			out[id] = verdict{HarnessError, err.Error()}
		}
		return out
	}
	if err := h.o.Redis.Stop(ctx); err != nil {
		for _, id := range ids {
			out[id] = verdict{HarnessError, "stop Redis: " + err.Error()}
		}
		return out
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = h.o.Redis.Start(context.WithoutCancel(ctx))
		}
	}()
	out["CLU-FAULT-01"] = pass("every node answered ext:hello with Redis down")
	for _, c := range cs {
		if err := c.call(ctx, ackBudget, nil, "ext:hello"); err != nil {
			out["CLU-FAULT-01"] = fail("node %s stopped answering once Redis was down: %v", c.node, err)
			break
		}
	}
	out["CLU-FAULT-02"] = pass("each node delivered its own broadcast locally with Redis down")
	for _, c := range cs {
		ev := h.token("down")
		if err := c.call(ctx, ackBudget, nil, "ext:cluster-broadcast", target("", ""), ev); err != nil {
			out["CLU-FAULT-02"] = fail("node %s did not broadcast with Redis down: %v", c.node, err)
			break
		}
		if _, ok := c.waitEvent(ctx, ev, h.deliver); !ok {
			out["CLU-FAULT-02"] = fail("node %s did not deliver a broadcast to its own socket with Redis down", c.node)
			break
		}
	}
	if err := h.o.Redis.Start(ctx); err != nil {
		out["CLU-FAULT-03"] = verdict{HarnessError, "restart Redis: " + err.Error()}
		return out
	}
	restarted = true
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, resumeBudget)
	defer cancel()
	for {
		ev := h.token("up")
		err := cs[0].call(rctx, ackBudget, nil, "ext:cluster-broadcast", target("", ""), ev)
		ok := err == nil
		if ok {
			for _, c := range cs[1:] {
				if _, got := c.waitEvent(rctx, ev, 300*time.Millisecond); !got {
					ok = false
					break
				}
			}
		}
		if ok {
			out["CLU-FAULT-03"] = pass(fmt.Sprintf("cross-node delivery from node %s resumed %v after Redis restarted", cs[0].node, time.Since(start).Round(10*time.Millisecond)))
			return out
		}
		if rctx.Err() != nil {
			out["CLU-FAULT-03"] = fail("no cross-node delivery from node %s within %v of Redis restarting", cs[0].node, resumeBudget)
			return out
		}
	}
}
