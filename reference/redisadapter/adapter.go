package redisadapter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/sioserver"
)

// Request types between nodes, numbered as in @socket.io/redis-adapter.
const (
	reqSockets              = 0
	reqAllRooms             = 1
	reqRemoteJoin           = 2
	reqRemoteLeave          = 3
	reqRemoteDisconnect     = 4
	reqRemoteFetch          = 5
	reqServerSideEmit       = 6
	reqBroadcast            = 7
	reqBroadcastClientCount = 8
	reqBroadcastAck         = 9
)

// Defaults.
const (
	DefaultKey             = "socket.io"
	DefaultRequestsTimeout = 5 * time.Second
	publishQueue           = 4096
)

// Fault makes an adapter deliberately non-compliant, so that the cluster
// suite can show which specs catch it. The zero value is a compliant
// adapter.
type Fault int

const (
	// FaultNone is a compliant adapter.
	FaultNone Fault = iota
	// FaultDropBroadcasts never publishes broadcasts (with or without
	// acknowledgement) to the other nodes: delivery stays local.
	FaultDropBroadcasts
	// FaultLoseRooms ignores room changes requested by other nodes
	// (socketsJoin / socketsLeave) and room-targeted broadcasts from them.
	FaultLoseRooms
	// FaultIgnoreRemoteDisconnect ignores disconnectSockets requested by
	// other nodes: only the issuing node disconnects its own sockets.
	FaultIgnoreRemoteDisconnect
	// FaultFetchSelectedRoomsOnly answers another node's fetchSockets with
	// only those rooms of each socket that the selection names (the
	// socket's other rooms are lost on the way).
	FaultFetchSelectedRoomsOnly
	// FaultFetchShortcut does not ask the other nodes in fetchSockets when
	// no local socket matches the selection (a wrong "nothing here, nothing
	// anywhere" shortcut).
	FaultFetchShortcut
	// FaultSelfServerSideEmit handles the node's own serverSideEmit as if
	// another node had sent it: the issuing node runs its handler and
	// answers itself.
	FaultSelfServerSideEmit
)

// Options configures a [Cluster]. A nil *Options, and every zero field,
// means the Node adapter's default.
type Options struct {
	// Key is the channel prefix. Default "socket.io".
	Key string
	// RequestsTimeout bounds requests to the other nodes (fetchSockets,
	// serverSideEmit with ack) when the caller's context has no earlier
	// deadline. Default 5s.
	RequestsTimeout time.Duration
	// Logger receives the adapter's diagnostics. Default: discarded.
	Logger *slog.Logger
	// Fault breaks the adapter on purpose (tests of the cluster suite).
	Fault Fault
}

// Cluster is one node's connection to the Redis of a cluster: it creates an
// [Adapter] per namespace (pass [Cluster.NewAdapter] as
// sioserver.Options.NewAdapter) and publishes on one shared client; each
// adapter holds its own subscription connection.
type Cluster struct {
	client *redis.Client
	opts   Options
	log    *slog.Logger

	mu       sync.Mutex
	closed   bool
	adapters []*Adapter
}

// Dial connects to the Redis at rawURL (redis://host:port[/db]) and checks
// it with a PING bounded by ctx.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Cluster, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Key == "" {
		o.Key = DefaultKey
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = DefaultRequestsTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return nil, fmt.Errorf("%w: %q", ErrURL, rawURL)
	}
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrURL, err)
	}
	ro.DialTimeout = time.Second
	ro.ReadTimeout = 2 * time.Second
	ro.WriteTimeout = time.Second
	ro.MaxRetries = 1
	ro.DisableIdentity = true
	ro.Protocol = 2
	c := &Cluster{client: redis.NewClient(ro), opts: o, log: o.Logger}
	if err := c.client.Ping(ctx).Err(); err != nil {
		_ = c.client.Close()
		return nil, fmt.Errorf("redisadapter: ping %s: %w", ro.Addr, err)
	}
	return c, nil
}

// Close closes every adapter still open and the Redis client.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	ads := c.adapters
	c.adapters = nil
	c.mu.Unlock()
	var errs []error
	for _, a := range ads {
		errs = append(errs, a.Close())
	}
	errs = append(errs, c.client.Close())
	return errors.Join(errs...)
}

// NewAdapter returns the adapter of one namespace; it has the signature of
// sioserver.Options.NewAdapter. Its subscriptions are confirmed (bounded by
// the requests timeout) before it returns, so that a broadcast published by
// another node right after is not missed.
func (c *Cluster) NewAdapter(host sioserver.AdapterHost) sioserver.Adapter {
	ctx, cancel := context.WithCancel(context.Background())
	a := &Adapter{
		c:        c,
		host:     host,
		mem:      sioserver.NewMemoryAdapter(host),
		uid:      newID(),
		out:      make(chan pubMsg, publishQueue),
		ctx:      ctx,
		cancel:   cancel,
		requests: make(map[string]*request),
		handlers: make(map[string]sioserver.ServerSideHandler),
		log:      c.log.With("nsp", host.Name()),
	}
	if nh, ok := host.(sioserver.NamespaceHost); ok {
		a.nsp = nh.Namespace()
	}
	nsp := host.Name()
	a.channel = c.opts.Key + "#" + nsp + "#"
	a.reqChannel = c.opts.Key + "-request#" + nsp + "#"
	a.resChannel = c.opts.Key + "-response#" + nsp + "#"
	a.specificResChannel = a.resChannel + a.uid + "#"
	a.ps = c.client.PSubscribe(ctx, a.channel+"*")
	sctx, scancel := context.WithTimeout(ctx, c.opts.RequestsTimeout)
	err := a.ps.Subscribe(sctx, a.reqChannel, a.resChannel, a.specificResChannel)
	for n := 0; err == nil && n < 4; {
		var m any
		m, err = a.ps.Receive(sctx)
		if _, ok := m.(*redis.Subscription); ok {
			n++
		}
	}
	scancel()
	if err != nil {
		a.log.Warn("redisadapter: subscriptions not confirmed", "err", err)
	}
	ch := a.ps.Channel(redis.WithChannelSize(1024))
	a.wg.Add(2)
	go a.readLoop(ch)
	go a.publishLoop()
	c.mu.Lock()
	if !c.closed {
		c.adapters = append(c.adapters, a)
	}
	c.mu.Unlock()
	return a
}

type pubMsg struct {
	channel string
	payload []byte
}

// Adapter is the adapter of one namespace on one node: room membership of
// the local sockets in a sioserver memory adapter, everything that concerns
// other nodes on Redis channels in @socket.io/redis-adapter 8.3.0's format:
//
//   - broadcasts on "<key>#<nsp>#" (or "<key>#<nsp>#<room>#" for a single
//     room), msgpack [uid, packet, {rooms, except, flags}];
//   - requests on "<key>-request#<nsp>#" (JSON, msgpack for a broadcast with
//     acknowledgement) and responses on "<key>-response#<nsp>#".
//
// All methods are safe for concurrent use. Publishing goes through one
// queue per adapter, so the other nodes see this node's messages in order
// and a missing Redis never blocks a local broadcast.
type Adapter struct {
	c    *Cluster
	host sioserver.AdapterHost
	nsp  *sioserver.Namespace
	mem  sioserver.Adapter
	uid  string
	log  *slog.Logger

	channel, reqChannel, resChannel, specificResChannel string

	ps     *redis.PubSub
	out    chan pubMsg
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	requests map[string]*request
	handlers map[string]sioserver.ServerSideHandler
}

var _ sioserver.ClusterAdapter = (*Adapter)(nil)

// UID returns the adapter's id on the channels (the first member of its
// broadcast messages).
func (a *Adapter) UID() string { return a.uid }

// AddAll implements sioserver.Adapter.
func (a *Adapter) AddAll(id string, rooms []string) { a.mem.AddAll(id, rooms) }

// Del implements sioserver.Adapter.
func (a *Adapter) Del(id, room string) { a.mem.Del(id, room) }

// DelAll implements sioserver.Adapter.
func (a *Adapter) DelAll(id string) { a.mem.DelAll(id) }

// Rooms implements sioserver.Adapter.
func (a *Adapter) Rooms(id string) []string { return a.mem.Rooms(id) }

// Sockets implements sioserver.Adapter (local sockets).
func (a *Adapter) Sockets(rooms []string) []string { return a.mem.Sockets(rooms) }

// Broadcast implements sioserver.Adapter: delivered to the local sockets,
// then published for the other nodes unless opts.Local.
func (a *Adapter) Broadcast(out *sioserver.Outgoing, opts sioserver.BroadcastOptions) error {
	err := a.mem.Broadcast(out, opts)
	if opts.Local || a.c.opts.Fault == FaultDropBroadcasts {
		return err
	}
	if out.Packet.HasID {
		// A packet with an ack id is a local broadcast with ack; the
		// cluster-wide form is BroadcastWithAck.
		return err
	}
	pkt, perr := wirePacket(out.Packet)
	if perr != nil {
		return errors.Join(err, perr)
	}
	flags := socketio.Object{}
	if opts.Volatile {
		flags = append(flags, socketio.Member{Key: "volatile", Value: true})
	}
	msg, perr := encodeMsgpack([]any{a.uid, pkt, socketio.Object{
		{Key: "rooms", Value: stringsToAny(opts.Rooms)},
		{Key: "except", Value: stringsToAny(dedup(opts.Except))},
		{Key: "flags", Value: flags},
	}})
	if perr != nil {
		return errors.Join(err, perr)
	}
	ch := a.channel
	if len(opts.Rooms) == 1 {
		ch += opts.Rooms[0] + "#"
	}
	a.publish(ch, msg)
	return err
}

// wirePacket is the packet object the Node adapter publishes: {type, data,
// nsp}, with the event's values (binary attachments as bin).
func wirePacket(p socketio.Packet) (socketio.Object, error) {
	v, err := p.Value()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncode, err)
	}
	return socketio.Object{
		{Key: "type", Value: int(socketio.Event)},
		{Key: "data", Value: v},
		{Key: "nsp", Value: p.Namespace()},
	}, nil
}

func dedup(s []string) []string {
	var out []string
	for _, v := range s {
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (a *Adapter) publish(channel string, payload []byte) {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		return
	}
	select {
	case a.out <- pubMsg{channel, payload}:
	default:
		a.log.Warn("redisadapter: publish queue full, message dropped", "channel", channel)
	}
}

func (a *Adapter) publishLoop() {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case m := <-a.out:
			ctx, cancel := context.WithTimeout(a.ctx, 2*time.Second)
			if err := a.c.client.Publish(ctx, m.channel, m.payload).Err(); err != nil {
				a.log.Warn("redisadapter: publish failed", "channel", m.channel, "err", err)
			}
			cancel()
		}
	}
}

// Close implements sioserver.Adapter: unsubscribes and stops the adapter's
// goroutines. Requests still waiting end with ErrClosed.
func (a *Adapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	reqs := a.requests
	a.requests = make(map[string]*request)
	a.mu.Unlock()
	for _, r := range reqs {
		r.finish(ErrClosed)
	}
	a.cancel()
	err := a.ps.Close()
	a.wg.Wait()
	return err
}

func (a *Adapter) readLoop(ch <-chan *redis.Message) {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if m.Pattern != "" {
				a.onBroadcast(m.Channel, []byte(m.Payload))
			} else {
				a.onRequestOrResponse(m.Channel, []byte(m.Payload))
			}
		}
	}
}

// onBroadcast handles a broadcast published by another node.
func (a *Adapter) onBroadcast(channel string, payload []byte) {
	if !strings.HasPrefix(channel, a.channel) || len(channel) < len(a.channel)+1 && channel != a.channel {
		return
	}
	room := ""
	if len(channel) > len(a.channel) {
		room = channel[len(a.channel) : len(channel)-1]
	}
	if room != "" && len(a.mem.Sockets([]string{room})) == 0 {
		return
	}
	v, err := decodeMsgpack(payload)
	if err != nil {
		a.log.Debug("redisadapter: malformed broadcast", "err", err)
		return
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 3 {
		return
	}
	if uid, _ := arr[0].(string); uid == a.uid {
		return
	}
	pkt, _ := arr[1].(socketio.Object)
	opts, _ := arr[2].(socketio.Object)
	if pkt == nil {
		return
	}
	nsp := getString(pkt, "nsp")
	if nsp == "" {
		nsp = "/"
	}
	if nsp != a.host.Name() {
		return
	}
	bo := sioserver.BroadcastOptions{
		Rooms:  getStrings(opts, "rooms"),
		Except: getStrings(opts, "except"),
		Local:  true,
	}
	if v, _ := getObject(opts, "flags").Get("volatile"); v == true {
		bo.Volatile = true
	}
	if a.c.opts.Fault == FaultLoseRooms && len(bo.Rooms) > 0 {
		return
	}
	out, err := outgoing(nsp, pkt)
	if err != nil {
		a.log.Debug("redisadapter: broadcast not deliverable", "err", err)
		return
	}
	_ = a.mem.Broadcast(out, bo)
}

// outgoing encodes a wire packet object for the local sockets.
func outgoing(nsp string, pkt socketio.Object) (*sioserver.Outgoing, error) {
	data := getArray(pkt, "data")
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: broadcast packet without data", ErrDecode)
	}
	p, err := socketio.NewPacket(socketio.Event, nsp, data)
	if err != nil {
		return nil, err
	}
	if id, ok := getNumber(pkt, "id"); ok && id >= 0 {
		p = p.WithID(uint64(id))
	}
	text, bins, err := socketio.Encode(p)
	if err != nil {
		return nil, err
	}
	fr := make([]engineio.Packet, 1, 1+len(bins))
	fr[0] = engineio.Packet{Type: engineio.Message, Data: text}
	for _, b := range bins {
		fr = append(fr, engineio.BinaryMessage(b))
	}
	return &sioserver.Outgoing{Packet: p, Frames: fr}, nil
}

func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
