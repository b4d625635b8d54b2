package redisadapter

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/sioserver"
)

// request is one request of this node waiting for the other nodes.
type request struct {
	kind int

	mu       sync.Mutex
	numSub   int // answers expected (fetch: nodes, this one counted as 1)
	msgCount int
	sockets  []sioserver.SocketInfo
	answers  []any
	err      error
	done     chan struct{}
	finished bool

	// broadcast with acknowledgement
	expectedServers int // -1 until known
	actualServers   int
	expectedClients int
}

func newRequest(kind int) *request {
	return &request{kind: kind, done: make(chan struct{}), expectedServers: -1}
}

func (r *request) finish(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finishLocked(err)
}

func (r *request) finishLocked(err error) {
	if r.finished {
		return
	}
	r.finished = true
	r.err = err
	close(r.done)
}

// checkAckLocked completes a broadcast with ack once every node has counted
// its recipients and every recipient has answered.
func (r *request) checkAckLocked() {
	if r.expectedServers >= 0 && r.actualServers >= r.expectedServers && len(r.answers) >= r.expectedClients {
		r.finishLocked(nil)
	}
}

func (a *Adapter) register(kind int) (string, *request, error) {
	r := newRequest(kind)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return "", nil, ErrClosed
	}
	id := newID()
	for a.requests[id] != nil {
		id = newID()
	}
	a.requests[id] = r
	return id, r, nil
}

func (a *Adapter) unregister(id string) {
	a.mu.Lock()
	delete(a.requests, id)
	a.mu.Unlock()
}

func (a *Adapter) lookup(id string) *request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[id]
}

// wait blocks until r is done, ctx ends or the requests timeout passes.
func (a *Adapter) wait(ctx context.Context, r *request, what string) error {
	t := time.NewTimer(a.c.opts.RequestsTimeout)
	defer t.Stop()
	select {
	case <-r.done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (%w)", what, ErrTimeout, ctx.Err())
	case <-t.C:
		return fmt.Errorf("%s: %w", what, ErrTimeout)
	}
}

func selectionObject(opts sioserver.BroadcastOptions) socketio.Object {
	return socketio.Object{
		{Key: "rooms", Value: stringsToAny(opts.Rooms)},
		{Key: "except", Value: stringsToAny(dedup(opts.Except))},
	}
}

func (a *Adapter) publishJSON(channel string, o socketio.Object) error {
	b, err := encodeJSON(o)
	if err != nil {
		return err
	}
	a.publish(channel, b)
	return nil
}

// ServerCount implements sioserver.ClusterAdapter: the subscribers of the
// request channel (PUBSUB NUMSUB), as the Node adapter counts.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	m, err := a.c.client.PubSubNumSub(ctx, a.reqChannel).Result()
	if err != nil {
		return 0, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return int(m[a.reqChannel]), nil
}

// AddSockets implements sioserver.ClusterAdapter. Like the Node adapter it
// publishes the request and applies it when it comes back, on every node
// this one included.
func (a *Adapter) AddSockets(_ context.Context, opts sioserver.BroadcastOptions, rooms []string) error {
	if opts.Local {
		a.localJoin(opts, rooms)
		return nil
	}
	return a.publishJSON(a.reqChannel, socketio.Object{
		{Key: "uid", Value: a.uid},
		{Key: "type", Value: reqRemoteJoin},
		{Key: "opts", Value: selectionObject(opts)},
		{Key: "rooms", Value: stringsToAny(rooms)},
	})
}

// DelSockets implements sioserver.ClusterAdapter.
func (a *Adapter) DelSockets(_ context.Context, opts sioserver.BroadcastOptions, rooms []string) error {
	if opts.Local {
		a.localLeave(opts, rooms)
		return nil
	}
	return a.publishJSON(a.reqChannel, socketio.Object{
		{Key: "uid", Value: a.uid},
		{Key: "type", Value: reqRemoteLeave},
		{Key: "opts", Value: selectionObject(opts)},
		{Key: "rooms", Value: stringsToAny(rooms)},
	})
}

// DisconnectSockets implements sioserver.ClusterAdapter.
func (a *Adapter) DisconnectSockets(_ context.Context, opts sioserver.BroadcastOptions, close bool) error {
	if opts.Local {
		a.localDisconnect(opts, close)
		return nil
	}
	return a.publishJSON(a.reqChannel, socketio.Object{
		{Key: "uid", Value: a.uid},
		{Key: "type", Value: reqRemoteDisconnect},
		{Key: "opts", Value: selectionObject(opts)},
		{Key: "close", Value: close},
	})
}

func (a *Adapter) localJoin(opts sioserver.BroadcastOptions, rooms []string) {
	if a.nsp == nil {
		return
	}
	for _, id := range sioserver.LocalSocketIDs(a.nsp, opts) {
		if s, ok := a.nsp.Socket(id); ok {
			s.Join(rooms...)
		}
	}
}

func (a *Adapter) localLeave(opts sioserver.BroadcastOptions, rooms []string) {
	if a.nsp == nil {
		return
	}
	for _, id := range sioserver.LocalSocketIDs(a.nsp, opts) {
		if s, ok := a.nsp.Socket(id); ok {
			for _, r := range rooms {
				s.Leave(r)
			}
		}
	}
}

func (a *Adapter) localDisconnect(opts sioserver.BroadcastOptions, close bool) {
	if a.nsp == nil {
		return
	}
	for _, id := range sioserver.LocalSocketIDs(a.nsp, opts) {
		if s, ok := a.nsp.Socket(id); ok {
			s.Disconnect(close)
		}
	}
}

func (a *Adapter) localFetch(opts sioserver.BroadcastOptions) []sioserver.SocketInfo {
	if a.nsp == nil {
		return nil
	}
	var out []sioserver.SocketInfo
	for _, id := range sioserver.LocalSocketIDs(a.nsp, opts) {
		if s, ok := a.nsp.Socket(id); ok {
			out = append(out, sioserver.SocketInfo{ID: id, Rooms: s.Rooms(), Data: s.Data()})
		}
	}
	return out
}

// FetchSockets implements sioserver.ClusterAdapter.
func (a *Adapter) FetchSockets(ctx context.Context, opts sioserver.BroadcastOptions) ([]sioserver.SocketInfo, error) {
	local := a.localFetch(opts)
	if opts.Local || (a.c.opts.Fault == FaultFetchShortcut && len(local) == 0) {
		return local, nil
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return local, err
	}
	if n <= 1 {
		return local, nil
	}
	id, r, err := a.register(reqRemoteFetch)
	if err != nil {
		return local, err
	}
	defer a.unregister(id)
	r.mu.Lock()
	r.numSub, r.msgCount, r.sockets = n, 1, local
	r.mu.Unlock()
	if err := a.publishJSON(a.reqChannel, socketio.Object{
		{Key: "uid", Value: a.uid},
		{Key: "requestId", Value: id},
		{Key: "type", Value: reqRemoteFetch},
		{Key: "opts", Value: selectionObject(opts)},
	}); err != nil {
		return local, err
	}
	err = a.wait(ctx, r, "fetchSockets")
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sockets), err
}

// OnServerSideEmit implements sioserver.ClusterAdapter.
func (a *Adapter) OnServerSideEmit(event string, h sioserver.ServerSideHandler) {
	a.mu.Lock()
	a.handlers[event] = h
	a.mu.Unlock()
}

// ServerSideEmit implements sioserver.ClusterAdapter.
func (a *Adapter) ServerSideEmit(ctx context.Context, wantAck bool, event string, args ...any) ([]any, error) {
	if socketio.IsReservedEvent(event) {
		return nil, fmt.Errorf("serverSideEmit %q: %w", event, sioserver.ErrReservedEvent)
	}
	data := append([]any{event}, args...)
	if !wantAck {
		return nil, a.publishJSON(a.reqChannel, socketio.Object{
			{Key: "uid", Value: a.uid},
			{Key: "type", Value: reqServerSideEmit},
			{Key: "data", Value: data},
		})
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n-1 <= 0 {
		return []any{}, nil
	}
	id, r, err := a.register(reqServerSideEmit)
	if err != nil {
		return nil, err
	}
	defer a.unregister(id)
	r.mu.Lock()
	r.numSub = n - 1
	r.mu.Unlock()
	if err := a.publishJSON(a.reqChannel, socketio.Object{
		{Key: "uid", Value: a.uid},
		{Key: "requestId", Value: id},
		{Key: "type", Value: reqServerSideEmit},
		{Key: "data", Value: data},
	}); err != nil {
		return nil, err
	}
	err = a.wait(ctx, r, "serverSideEmit")
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.answers), err
}

// BroadcastWithAck implements sioserver.ClusterAdapter. The other nodes
// count their recipients and forward each recipient's first answer
// argument; every recipient gets its own ack id from its node's namespace
// counter.
func (a *Adapter) BroadcastWithAck(ctx context.Context, opts sioserver.BroadcastOptions, event string, args ...any) ([]any, error) {
	if socketio.IsReservedEvent(event) {
		return nil, fmt.Errorf("emit %q: %w", event, sioserver.ErrReservedEvent)
	}
	id, r, err := a.register(reqBroadcast)
	if err != nil {
		return nil, err
	}
	defer a.unregister(id)
	timeout := a.c.opts.RequestsTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if !opts.Local && a.c.opts.Fault != FaultDropBroadcasts {
		msg, err := encodeMsgpack(socketio.Object{
			{Key: "uid", Value: a.uid},
			{Key: "requestId", Value: id},
			{Key: "type", Value: reqBroadcast},
			{Key: "packet", Value: socketio.Object{
				{Key: "type", Value: int(socketio.Event)},
				{Key: "data", Value: append([]any{event}, args...)},
				{Key: "nsp", Value: a.host.Name()},
			}},
			{Key: "opts", Value: append(selectionObject(opts), socketio.Member{
				Key: "flags", Value: socketio.Object{{Key: "timeout", Value: int(timeout / time.Millisecond)}},
			})},
		})
		if err != nil {
			return nil, err
		}
		a.publish(a.reqChannel, msg)
	}
	count := a.localBroadcastWithAck(opts, event, args, timeout, func(arg any) {
		r.mu.Lock()
		r.answers = append(r.answers, arg)
		r.checkAckLocked()
		r.mu.Unlock()
	})
	servers := 1
	if !opts.Local {
		n, err := a.ServerCount(ctx)
		if err != nil {
			return nil, err
		}
		servers = max(n, 1)
	}
	r.mu.Lock()
	r.expectedClients += count
	r.actualServers++
	r.expectedServers = servers
	r.checkAckLocked()
	r.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		r.mu.Lock()
		defer r.mu.Unlock()
		return slices.Clone(r.answers), fmt.Errorf("emit %q: %w (%w)", event, sioserver.ErrAckTimeout, ctx.Err())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.answers), r.err
}

// localBroadcastWithAck emits to the selected local sockets with an ack
// request each and returns how many were asked; onAck gets the first
// argument of each answer.
func (a *Adapter) localBroadcastWithAck(opts sioserver.BroadcastOptions, event string, args []any, timeout time.Duration, onAck func(any)) int {
	if a.nsp == nil {
		return 0
	}
	n := 0
	for _, id := range sioserver.LocalSocketIDs(a.nsp, opts) {
		s, ok := a.nsp.Socket(id)
		if !ok {
			continue
		}
		err := s.EmitCallback(event, args, timeout, func(ans []any, err error) {
			if err != nil {
				return
			}
			var first any
			if len(ans) > 0 {
				first = ans[0]
			}
			onAck(first)
		})
		if err == nil {
			n++
		}
	}
	return n
}

// onRequestOrResponse handles a message on the request or response
// channels.
func (a *Adapter) onRequestOrResponse(channel string, payload []byte) {
	if strings.HasPrefix(channel, a.resChannel) {
		a.onResponse(payload)
		return
	}
	if channel != a.reqChannel {
		return
	}
	req, err := decodeMessage(payload)
	if err != nil {
		a.log.Debug("redisadapter: malformed request", "err", err)
		return
	}
	typ, _ := getNumber(req, "type")
	reqID := getString(req, "requestId")
	own := reqID != "" && a.lookup(reqID) != nil
	sel := func() sioserver.BroadcastOptions {
		o := getObject(req, "opts")
		return sioserver.BroadcastOptions{Rooms: getStrings(o, "rooms"), Except: getStrings(o, "except")}
	}
	switch int(typ) {
	case reqSockets:
		if own {
			return
		}
		_ = a.publishJSON(a.resChannel, socketio.Object{
			{Key: "requestId", Value: reqID},
			{Key: "sockets", Value: stringsToAny(a.mem.Sockets(getStrings(req, "rooms")))},
		})
	case reqAllRooms:
		if own {
			return
		}
		var rooms []string
		for _, id := range a.mem.Sockets(nil) {
			for _, r := range a.mem.Rooms(id) {
				if !contains(rooms, r) {
					rooms = append(rooms, r)
				}
			}
		}
		_ = a.publishJSON(a.resChannel, socketio.Object{
			{Key: "requestId", Value: reqID},
			{Key: "rooms", Value: stringsToAny(rooms)},
		})
	case reqRemoteJoin, reqRemoteLeave, reqRemoteDisconnect:
		a.onRemoteChange(int(typ), req, sel)
	case reqRemoteFetch:
		if own {
			return
		}
		var socks []any
		for _, s := range a.localFetch(sel()) {
			if a.c.opts.Fault == FaultFetchSelectedRoomsOnly {
				s.Rooms = slices.DeleteFunc(slices.Clone(s.Rooms), func(r string) bool { return !contains(sel().Rooms, r) })
			}
			socks = append(socks, a.socketObject(s))
		}
		if socks == nil {
			socks = []any{}
		}
		_ = a.publishJSON(a.resChannel, socketio.Object{
			{Key: "requestId", Value: reqID},
			{Key: "sockets", Value: socks},
		})
	case reqServerSideEmit:
		if getString(req, "uid") == a.uid && a.c.opts.Fault != FaultSelfServerSideEmit {
			return
		}
		data := getArray(req, "data")
		if len(data) == 0 {
			return
		}
		event, _ := data[0].(string)
		a.mu.Lock()
		h := a.handlers[event]
		a.mu.Unlock()
		if h == nil {
			return
		}
		var ack func(any)
		if reqID != "" {
			var once sync.Once
			ack = func(arg any) {
				once.Do(func() {
					_ = a.publishJSON(a.resChannel, socketio.Object{
						{Key: "type", Value: reqServerSideEmit},
						{Key: "requestId", Value: reqID},
						{Key: "data", Value: arg},
					})
				})
			}
		}
		h(data[1:], ack)
	case reqBroadcast:
		if own {
			return
		}
		pkt := getObject(req, "packet")
		data := getArray(pkt, "data")
		if len(data) == 0 {
			return
		}
		event, ok := data[0].(string)
		if !ok {
			return
		}
		o := getObject(req, "opts")
		timeout := a.c.opts.RequestsTimeout
		if ms, ok := getNumber(getObject(o, "flags"), "timeout"); ok && ms > 0 {
			timeout = time.Duration(ms) * time.Millisecond
		}
		// The count goes out before any answer can be forwarded, as in
		// Node: the publish queue keeps the order.
		var mu sync.Mutex
		var pending []any
		counted := false
		forward := func(arg any) {
			msg, err := encodeMsgpack(socketio.Object{
				{Key: "type", Value: reqBroadcastAck},
				{Key: "requestId", Value: reqID},
				{Key: "packet", Value: arg},
			})
			if err == nil {
				a.publish(a.resChannel, msg)
			}
		}
		n := a.localBroadcastWithAck(sel(), event, data[1:], timeout, func(arg any) {
			mu.Lock()
			defer mu.Unlock()
			if !counted {
				pending = append(pending, arg)
				return
			}
			forward(arg)
		})
		mu.Lock()
		_ = a.publishJSON(a.resChannel, socketio.Object{
			{Key: "type", Value: reqBroadcastClientCount},
			{Key: "requestId", Value: reqID},
			{Key: "clientCount", Value: n},
		})
		counted = true
		for _, arg := range pending {
			forward(arg)
		}
		mu.Unlock()
	}
}

func (a *Adapter) onRemoteChange(typ int, req socketio.Object, sel func() sioserver.BroadcastOptions) {
	if _, ok := req.Get("opts"); !ok {
		// The older per-socket form ({sid, room}), answered on the
		// response channel.
		if a.nsp == nil {
			return
		}
		s, ok := a.nsp.Socket(getString(req, "sid"))
		if !ok {
			return
		}
		switch typ {
		case reqRemoteJoin:
			if a.c.opts.Fault == FaultLoseRooms {
				return
			}
			s.Join(getString(req, "room"))
		case reqRemoteLeave:
			if a.c.opts.Fault == FaultLoseRooms {
				return
			}
			s.Leave(getString(req, "room"))
		default:
			c, _ := req.Get("close")
			s.Disconnect(c == true)
		}
		_ = a.publishJSON(a.resChannel, socketio.Object{{Key: "requestId", Value: getString(req, "requestId")}})
		return
	}
	switch typ {
	case reqRemoteJoin:
		if a.c.opts.Fault == FaultLoseRooms && getString(req, "uid") != a.uid {
			return
		}
		a.localJoin(sel(), getStrings(req, "rooms"))
	case reqRemoteLeave:
		if a.c.opts.Fault == FaultLoseRooms && getString(req, "uid") != a.uid {
			return
		}
		a.localLeave(sel(), getStrings(req, "rooms"))
	default:
		if a.c.opts.Fault == FaultIgnoreRemoteDisconnect && getString(req, "uid") != a.uid {
			return
		}
		c, _ := req.Get("close")
		a.localDisconnect(sel(), c == true)
	}
}

// socketObject is a fetchSockets answer entry: {id, handshake, rooms, data}.
func (a *Adapter) socketObject(si sioserver.SocketInfo) socketio.Object {
	hs := socketio.Object{}
	if a.nsp != nil {
		if s, ok := a.nsp.Socket(si.ID); ok {
			h := s.Handshake()
			headers := socketio.Object{}
			for k, v := range h.Headers {
				headers = append(headers, socketio.Member{Key: strings.ToLower(k), Value: strings.Join(v, ", ")})
			}
			query := socketio.Object{}
			for k, v := range h.Query {
				if len(v) > 0 {
					query = append(query, socketio.Member{Key: k, Value: v[0]})
				}
			}
			hs = socketio.Object{
				{Key: "headers", Value: headers},
				{Key: "time", Value: h.Time.UTC().Format(http.TimeFormat)},
				{Key: "address", Value: h.Address},
				{Key: "xdomain", Value: h.Headers.Get("Origin") != ""},
				{Key: "secure", Value: h.Secure},
				{Key: "issued", Value: float64(h.Time.UnixMilli())},
				{Key: "url", Value: h.URL},
				{Key: "query", Value: query},
				{Key: "auth", Value: h.Auth},
			}
		}
	}
	data := si.Data
	if data == nil {
		data = socketio.Object{}
	}
	return socketio.Object{
		{Key: "id", Value: si.ID},
		{Key: "handshake", Value: hs},
		{Key: "rooms", Value: stringsToAny(si.Rooms)},
		{Key: "data", Value: data},
	}
}

// onResponse handles an answer to one of this node's requests.
func (a *Adapter) onResponse(payload []byte) {
	res, err := decodeMessage(payload)
	if err != nil {
		return
	}
	r := a.lookup(getString(res, "requestId"))
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.kind {
	case reqBroadcast:
		typ, _ := getNumber(res, "type")
		switch int(typ) {
		case reqBroadcastClientCount:
			n, _ := getNumber(res, "clientCount")
			r.expectedClients += int(n)
			r.actualServers++
		case reqBroadcastAck:
			v, _ := res.Get("packet")
			r.answers = append(r.answers, v)
		}
		r.checkAckLocked()
	case reqRemoteFetch:
		r.msgCount++
		for _, e := range getArray(res, "sockets") {
			o, ok := e.(socketio.Object)
			if !ok {
				continue
			}
			d, _ := o.Get("data")
			r.sockets = append(r.sockets, sioserver.SocketInfo{ID: getString(o, "id"), Rooms: getStrings(o, "rooms"), Data: d})
		}
		if r.msgCount >= r.numSub {
			r.finishLocked(nil)
		}
	case reqServerSideEmit:
		v, _ := res.Get("data")
		r.answers = append(r.answers, v)
		if len(r.answers) >= r.numSub {
			r.finishLocked(nil)
		}
	}
}
