package cluster

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/suites/framework"
)

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

// expectDelivery checks that every client of want got event name once
// within the deliver window and, after the quiet window, that none of
// others got it. It returns why not.
func (h *harness) expectDelivery(ctx context.Context, name string, want, others []*client) (string, bool) {
	h.e.Budget(h.deliver)
	for _, c := range want {
		if _, ok := c.waitEvent(ctx, name, h.deliver.Max); !ok {
			return fmt.Sprintf("the socket on node %s got no %q within %v", c.node, name, h.deliver.Max.Round(time.Millisecond)), false
		}
	}
	if len(others) > 0 {
		h.e.Idle(ctx, h.quiet) // the silence of the others is the condition
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

func specBroadcasts(s *framework.Suite, c *Config) {
	s.It("CLU-BC-01", "delivers a broadcast to the namespace from one node to the sockets of every node", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		e.Expect("a broadcast to \"/\" issued on node %s reaches one socket on each node once, within %v", cs[0].node, h.deliver.Max.Round(time.Millisecond))
		ev := h.token("ev")
		must(cs[0].call(ctx, h.call, nil, "ext:cluster-broadcast", target("", ""), ev, 1))
		if why, ok := h.expectDelivery(ctx, ev, cs, nil); !ok {
			failf("broadcast from node %s: %s", cs[0].node, why)
		}
		e.Observe("the broadcast from node %s reached nodes %s", cs[0].node, nodesOf(cs))
	}, timeout(s, 0))

	s.It("CLU-BC-02", "delivers a broadcast to a room to that room's sockets on every node and to no other socket", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		room, ev := h.token("room"), h.token("ev")
		e.Expect("a broadcast to room %q from node %s reaches the member on node %s, and no socket outside the room within %v", room, cs[0].node, cs[1].node, h.quiet)
		must(cs[1].call(ctx, h.call, nil, "ext:join", room))
		must(cs[0].call(ctx, h.call, nil, "ext:cluster-broadcast", target(room, ""), ev, "r"))
		others := append([]*client{cs[0]}, cs[2:]...)
		if why, ok := h.expectDelivery(ctx, ev, cs[1:2], others); !ok {
			failf("broadcast to a room from node %s: %s", cs[0].node, why)
		}
		e.Observe("the room broadcast reached only the member on node %s", cs[1].node)
	}, timeout(s, 0))

	s.It("CLU-BC-03", "leaves out the sockets of the exception room on every node", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		ex, ev := h.token("except"), h.token("ev")
		e.Expect("a broadcast from node %s except room %q reaches every socket but the one in that room on node %s", cs[0].node, ex, cs[1].node)
		must(cs[1].call(ctx, h.call, nil, "ext:join", ex))
		must(cs[0].call(ctx, h.call, nil, "ext:cluster-broadcast", target("", ex), ev))
		want := append([]*client{cs[0]}, cs[2:]...)
		if why, ok := h.expectDelivery(ctx, ev, want, cs[1:2]); !ok {
			failf("broadcast except a room from node %s: %s", cs[0].node, why)
		}
		e.Observe("the socket in the exception room on node %s was left out", cs[1].node)
	}, timeout(s, 0))

	s.It("CLU-BC-04", "delivers the binary arguments of a cross-node broadcast intact as attachments on every node", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		ev := h.token("ev")
		payload := []byte{0, 1, 2, 0xfe, 0xff, 'x'}
		e.Expect("a broadcast from node %s with attachment %x reaches the other nodes' sockets with the same bytes", cs[0].node, payload)
		e.Budget(h.deliver)
		must(cs[0].call(ctx, h.call, nil, "ext:cluster-broadcast", target("", ""), ev, "bin", payload))
		for _, cl := range cs[1:] {
			got, ok := cl.waitEvent(ctx, ev, h.deliver.Max)
			if !ok {
				failf("the socket on node %s got no binary broadcast within %v", cl.node, h.deliver.Max.Round(time.Millisecond))
			}
			b, ok := got.msg.Bytes(1)
			if !ok || !bytes.Equal(b, payload) {
				failf("node %s delivered %s, want \"bin\" and attachment %x", cl.node, got.msg, payload)
			}
		}
		e.Observe("the attachment arrived intact on nodes %s", nodesOf(cs[1:]))
	}, timeout(s, 0))
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

// pollFetch asks c for fetchSockets(t) until cond holds or the deliver
// window ends; it returns the last answer. A call that goes unanswered
// before the window ends is an error (harness).
func (h *harness) pollFetch(ctx context.Context, c *client, t map[string]any, cond func(fetched) bool) (fetched, bool, error) {
	h.e.Budget(h.deliver)
	ctx, cancel := context.WithTimeout(ctx, h.deliver.Max)
	defer cancel()
	var f fetched
	for {
		f = fetched{}
		if err := c.call(ctx, h.call, &f, "ext:fetch-sockets", t); err != nil {
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

func joinAll(ctx context.Context, h *harness, cs []*client, rooms ...string) error {
	for _, c := range cs {
		if err := c.call(ctx, h.call, nil, "ext:join", rooms); err != nil {
			return err
		}
	}
	return nil
}

// roomsOf asks c's node for its socket's rooms (ext:info).
func roomsOf(ctx context.Context, h *harness, c *client) ([]string, error) {
	var info struct {
		Rooms []string `json:"rooms"`
	}
	err := c.call(ctx, h.call, &info, "ext:info")
	return info.Rooms, err
}

func specRooms(s *framework.Suite, c *Config) {
	s.It("CLU-ROOM-01", "shows a room joined on one node from every other node (fetchSockets by room lists the socket with the room)", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 2)
		must(err)
		room := h.token("room")
		e.Expect("after the socket on node %s joins %q, fetchSockets on node %s for that room lists exactly that socket, with the room", cs[1].node, room, cs[0].node)
		must(cs[1].call(ctx, h.call, nil, "ext:join", room))
		f, ok, err := h.pollFetch(ctx, cs[0], target(room, ""), func(f fetched) bool {
			return slices.Equal(f.ids(), []string{cs[1].id}) && slices.Contains(f.rooms(cs[1].id), room)
		})
		must(err)
		if !ok {
			failf("node %s lists %v in room %q, want exactly the socket %s of node %s with that room", cs[0].node, f.Sockets, room, cs[1].id, cs[1].node)
		}
		e.Observe("node %s sees the room joined on node %s", cs[0].node, cs[1].node)
	}, timeout(s, 0))

	s.It("CLU-JOIN-01", "makes the selected sockets of every node join the rooms when socketsJoin is issued on one node", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		base, joined := h.token("base"), h.token("joined")
		e.Expect("socketsJoin(%q) for room %q issued on node %s puts the sockets of nodes %s in %q, as fetchSockets and each node's own view show", joined, base, cs[0].node, nodesOf(cs), joined)
		must(joinAll(ctx, h, cs, base))
		must(cs[0].call(ctx, h.call, nil, "ext:sockets-join", target(base, ""), []string{joined}))
		want := idsOf(cs)
		f, ok, err := h.pollFetch(ctx, cs[0], target(joined, ""), func(f fetched) bool { return slices.Equal(f.ids(), want) })
		must(err)
		if !ok {
			failf("after socketsJoin on node %s, room %q holds %v, want %v (nodes %s)", cs[0].node, joined, f.ids(), want, nodesOf(cs))
		}
		for _, cl := range cs[1:] {
			rooms, err := roomsOf(ctx, h, cl)
			must(err)
			if !slices.Contains(rooms, joined) {
				failf("node %s reports rooms %v for its socket, without %q", cl.node, rooms, joined)
			}
		}
		e.Observe("the sockets on nodes %s joined %q", nodesOf(cs), joined)
	}, timeout(s, 0))

	s.It("CLU-JOIN-02", "makes the selected sockets of every node leave the rooms when socketsLeave is issued on one node", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		base, left := h.token("base"), h.token("left")
		e.Expect("socketsLeave(%q) for room %q issued on node %s takes the sockets of nodes %s out of %q and keeps them in %q", left, base, cs[0].node, nodesOf(cs), left, base)
		must(joinAll(ctx, h, cs, base, left))
		must(cs[0].call(ctx, h.call, nil, "ext:sockets-leave", target(base, ""), []string{left}))
		f, ok, err := h.pollFetch(ctx, cs[0], target(left, ""), func(f fetched) bool { return len(f.Sockets) == 0 })
		must(err)
		if !ok {
			failf("after socketsLeave on node %s, room %q still holds %v", cs[0].node, left, f.ids())
		}
		for _, cl := range cs[1:] {
			rooms, err := roomsOf(ctx, h, cl)
			must(err)
			if slices.Contains(rooms, left) || !slices.Contains(rooms, base) {
				failf("node %s reports rooms %v, want %q kept and %q left", cl.node, rooms, base, left)
			}
		}
		e.Observe("the sockets on nodes %s left %q", nodesOf(cs), left)
	}, timeout(s, 0))

	s.It("CLU-DISC-01", "disconnects the selected sockets of every node, and only them, when disconnectSockets is issued on one node", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		room := h.token("disc")
		e.Expect("disconnectSockets for room %q issued on node %s disconnects the members on nodes %s with \"io server disconnect\" within %v, and keeps the socket of node %s", room, cs[0].node, nodesOf(cs[1:]), h.deliver.Max.Round(time.Millisecond), cs[0].node)
		e.Budget(h.deliver)
		must(joinAll(ctx, h, cs[1:], room))
		must(cs[0].call(ctx, h.call, nil, "ext:disconnect-sockets", target(room, "")))
		for _, cl := range cs[1:] {
			wctx, cancel := context.WithTimeout(ctx, h.deliver.Max)
			ok := cl.waitFor(wctx, func() bool { return len(cl.disconnects) > 0 })
			cancel()
			if !ok {
				failf("the socket on node %s in room %q was not disconnected within %v", cl.node, room, h.deliver.Max.Round(time.Millisecond))
			}
			cl.mu.Lock()
			reason := cl.disconnects[0]
			cl.mu.Unlock()
			if reason != "io server disconnect" {
				failf("the socket on node %s was disconnected with %q, want \"io server disconnect\"", cl.node, reason)
			}
		}
		if err := cs[0].call(ctx, h.call, nil, "ext:hello"); err != nil {
			failf("the socket outside the room on node %s no longer answers: %v", cs[0].node, err)
		}
		e.Observe("the sockets on nodes %s were disconnected, node %s's kept", nodesOf(cs[1:]), cs[0].node)
	}, timeout(s, 0))

	s.It("CLU-FETCH-01", "returns from fetchSockets on any node the selected sockets of every node, each once, with their rooms", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		room, extra := h.token("fetch"), h.token("extra")
		e.Expect("fetchSockets for room %q on each of nodes %s lists the sockets of all of them once, the one of node %s with rooms %q and %q", room, nodesOf(cs), cs[len(cs)-1].node, room, extra)
		must(joinAll(ctx, h, cs, room))
		must(cs[len(cs)-1].call(ctx, h.call, nil, "ext:join", extra))
		want := idsOf(cs)
		for _, cl := range cs {
			f, ok, err := h.pollFetch(ctx, cl, target(room, ""), func(f fetched) bool { return slices.Equal(f.ids(), want) })
			must(err)
			if !ok {
				failf("fetchSockets on node %s returned %v, want %v (nodes %s)", cl.node, f.ids(), want, nodesOf(cs))
			}
			last := cs[len(cs)-1]
			if r := f.rooms(last.id); !slices.Contains(r, room) || !slices.Contains(r, extra) {
				failf("fetchSockets on node %s gives rooms %v for the socket of node %s, want %q and %q", cl.node, r, last.node, room, extra)
			}
		}
		e.Observe("every node lists the sockets of nodes %s", nodesOf(cs))
	}, timeout(s, 0))

	s.It("CLU-SSE-01", "delivers serverSideEmit with an acknowledgement to every other node once and collects one answer from each", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		ev := h.token("sse")
		var info struct {
			Servers int `json:"servers"`
		}
		must(cs[0].call(ctx, h.call, &info, "ext:cluster-info"))
		e.Expect("serverSideEmitWithAck from node %s gets one answer from each of the %d other node(s), never its own, and each other node handles the event once", cs[0].node, info.Servers-1)
		var res struct {
			Responses []string `json:"responses"`
			Error     *string  `json:"error"`
		}
		must(cs[0].call(ctx, h.call, &res, "ext:server-side-emit", ev, 5))
		e.Observe("answers %v", res.Responses)
		if res.Error != nil {
			failf("serverSideEmitWithAck on node %s failed: %s (answers %v)", cs[0].node, *res.Error, res.Responses)
		}
		if len(res.Responses) != info.Servers-1 {
			failf("serverSideEmitWithAck on node %s got %d answers %v, want %d (one per other node)", cs[0].node, len(res.Responses), res.Responses, info.Servers-1)
		}
		for _, cl := range cs[1:] {
			if !slices.Contains(res.Responses, cl.node) {
				failf("no answer from node %s among %v", cl.node, res.Responses)
			}
		}
		if slices.Contains(res.Responses, cs[0].node) {
			failf("the emitting node %s answered its own server-side emit", cs[0].node)
		}
		if why, ok := h.expectDelivery(ctx, ev, cs[1:], cs[:1]); !ok {
			failf("the server-side event was not handled once per other node: %s", why)
		}
	}, timeout(s, 0))

	s.It("CLU-ACK-01", "collects the acknowledgement of every selected socket of every node for a broadcast with acknowledgements", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, err := h.onNodes(ctx, 3)
		must(err)
		room, ev := h.token("ack"), h.token("ev")
		e.Expect("a broadcast with acks to room %q from node %s (timeout %v) collects the answers of the sockets on nodes %s", room, cs[0].node, h.deliver.Max.Round(time.Millisecond), nodesOf(cs))
		e.Budget(h.deliver)
		must(joinAll(ctx, h, cs, room))
		var res struct {
			Responses []string `json:"responses"`
			Error     *string  `json:"error"`
		}
		t := target(room, "")
		t["timeout"] = int(h.deliver.Max / time.Millisecond)
		must(cs[0].call(ctx, h.call+h.deliver.Max, &res, "ext:broadcast-ack", t, ev, 1))
		if res.Error != nil {
			failf("broadcast with acks from node %s failed: %s", cs[0].node, *res.Error)
		}
		got := slices.Clone(res.Responses)
		slices.Sort(got)
		if want := idsOf(cs); !slices.Equal(got, want) {
			failf("broadcast with acks from node %s collected %v, want the answers of %v (nodes %s)", cs[0].node, got, want, nodesOf(cs))
		}
		e.Observe("answers of nodes %s collected", nodesOf(cs))
	}, timeout(s, 0))
}

// waitResume broadcasts from cs[0] until every other client gets the
// broadcast, or until d has passed; it returns how long it took.
func (h *harness) waitResume(ctx context.Context, cs []*client, d time.Duration) (time.Duration, bool) {
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		ev := h.token("up")
		ok := cs[0].call(rctx, h.call, nil, "ext:cluster-broadcast", target("", ""), ev) == nil
		for _, cl := range cs[1:] {
			if !ok {
				break
			}
			_, ok = cl.waitEvent(rctx, ev, h.quiet)
		}
		if ok {
			return time.Since(start), true
		}
		if rctx.Err() != nil {
			return time.Since(start), false
		}
	}
}

// redisReconnectGrace is the stated allowance for the adapter's Redis
// clients to reconnect once Redis is back (node-redis 4.7.1 retries with a
// growing delay capped at 500 ms; the Go redisadapter within a second).
const redisReconnectGrace = 5 * time.Second

// resume is the window within which cross-node delivery must come back
// after Redis restarts: one heartbeat plus the reconnection grace.
func (h *harness) resume() framework.Window {
	tm := h.e.Timing
	w := tm.Within(tm.PingInterval+tm.PingTimeout, "pingInterval + pingTimeout")
	w.Max += redisReconnectGrace
	w.BaseMax += redisReconnectGrace
	w.Why += fmt.Sprintf(" + Redis reconnection grace %v", redisReconnectGrace)
	return w
}

// redisDown stops the cluster's Redis for a CLU-FAULT spec, after
// connecting clients on up to three nodes, and arranges for it to come
// back after the spec (and for cross-node delivery to have resumed, so
// that the next spec finds a whole cluster). The spec is unsupported
// without control over Redis.
func (h *harness) redisDown(ctx context.Context) (cs []*client, restart func(context.Context) error) {
	GinkgoHelper()
	if h.c.Redis == nil {
		why := h.c.NoRedisWhy
		if why == "" {
			why = "siospec does not control the cluster's Redis (give --server-cmd with --nodes so that siospec starts Redis and the nodes)"
		}
		Skip("unsupported: " + why)
	}
	cs, err := h.onNodes(ctx, 3)
	must(err)
	h.e.Step("stop Redis")
	must(h.c.Redis.Stop(ctx))
	up := false
	restart = func(ctx context.Context) error {
		if up {
			return nil
		}
		h.e.Step("start Redis")
		if err := h.c.Redis.Start(ctx); err != nil {
			return err
		}
		up = true
		return nil
	}
	DeferCleanup(func(ctx context.Context) {
		if err := restart(ctx); err != nil {
			Fail(framework.HarnessPrefix + "restart Redis: " + err.Error())
		}
		var alive []*client
		for _, cl := range cs {
			cl.mu.Lock()
			if len(cl.disconnects) == 0 {
				alive = append(alive, cl)
			}
			cl.mu.Unlock()
		}
		if len(alive) < 2 {
			return
		}
		if d, ok := h.waitResume(ctx, alive, h.resume().Max); !ok {
			fmt.Fprintf(GinkgoWriter, "cross-node delivery did not resume within %v of Redis restarting\n", d.Round(time.Millisecond))
		}
	}, NodeTimeout(h.resume().Max+2*h.call))
	return cs, restart
}

func specRedis(s *framework.Suite, c *Config) {
	s.It("CLU-FAULT-01", "keeps every node answering its connected sockets while the adapter's Redis is away", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, _ := h.redisDown(ctx)
		e.Expect("with Redis killed, nodes %s each broadcast once (traffic that needs the adapter) and then, %v later, still answer ext:hello on their connected sockets", nodesOf(cs), h.quiet)
		for _, cl := range cs {
			// The node's answer does not matter here (CLU-FAULT-02 judges
			// it); a node must survive it.
			_ = cl.call(ctx, h.call, nil, "ext:cluster-broadcast", target("", ""), h.token("away"))
		}
		e.Idle(ctx, h.quiet) // a crash after the broadcasts is what is watched for
		for _, cl := range cs {
			if err := cl.call(ctx, h.call, nil, "ext:hello"); err != nil {
				failf("node %s stopped answering its connected socket once Redis was down and it had broadcast (crashed?): %v", cl.node, err)
			}
		}
		e.Observe("every node answered ext:hello with Redis down, after broadcasting")
	}, timeout(s, 2*redisReconnectGrace))

	s.It("CLU-FAULT-02", "keeps each node delivering broadcasts to its own sockets while the adapter's Redis is away", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, _ := h.redisDown(ctx)
		e.Expect("with Redis killed, a broadcast issued on each of nodes %s reaches that node's own socket within %v", nodesOf(cs), h.deliver.Max.Round(time.Millisecond))
		e.Budget(h.deliver)
		for _, cl := range cs {
			ev := h.token("down")
			if err := cl.call(ctx, h.call, nil, "ext:cluster-broadcast", target("", ""), ev); err != nil {
				failf("node %s did not broadcast with Redis down: %v", cl.node, err)
			}
			if _, ok := cl.waitEvent(ctx, ev, h.deliver.Max); !ok {
				failf("node %s did not deliver a broadcast to its own socket with Redis down", cl.node)
			}
		}
		e.Observe("each node delivered its own broadcast locally with Redis down")
	}, timeout(s, 2*redisReconnectGrace))

	s.It("CLU-FAULT-03", "resumes cross-node delivery once the adapter's Redis is back, without a node restarting", func(ctx context.Context, e *framework.Env) {
		h := start(e, c)
		cs, restart := h.redisDown(ctx)
		w := h.resume()
		e.Expect("after Redis restarts on the same port, a broadcast from node %s reaches nodes %s again within %v", cs[0].node, nodesOf(cs[1:]), w.Max.Round(time.Millisecond))
		must(restart(ctx))
		d, ok := h.waitResume(ctx, cs, w.Max)
		e.Measured("cross-node delivery resumed", d)
		if !e.InWindow(w, d) || !ok {
			failf("no cross-node delivery from node %s within %v of Redis restarting", cs[0].node, w.Max.Round(time.Millisecond))
		}
		e.Observe("cross-node delivery from node %s resumed %v after Redis restarted", cs[0].node, d.Round(10*time.Millisecond))
	}, timeout(s, 2*redisReconnectGrace))
}
