package sioserver

import (
	"context"
	"hash/maphash"
	"sync"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// Outgoing is one Socket.IO packet encoded once for all its recipients: a
// broadcast builds it a single time and hands the same Frames to every
// target session. Frames are shared and must never be modified.
type Outgoing struct {
	// Packet is the Socket.IO packet, kept for adapters that forward
	// broadcasts to other nodes (they re-encode or ship Frames as they are).
	Packet socketio.Packet
	// Frames are the Engine.IO messages carrying Packet: its text form,
	// then one binary message per attachment.
	Frames []engineio.Packet

	// ack, set for a broadcast with acknowledgement, is registered on each
	// local recipient before the frames are queued.
	ack *broadcastAck
}

// BroadcastOptions selects the recipients of a broadcast.
type BroadcastOptions struct {
	// Rooms selects the sockets in any of these rooms; empty selects every
	// socket of the namespace.
	Rooms []string
	// Except leaves out the sockets in any of these rooms.
	Except []string
	// Volatile lets the packet be dropped for a recipient whose transport
	// is not writable at that moment (NODE-VOL-01).
	Volatile bool
	// Local restricts the broadcast to this node (a multi-node adapter
	// must not forward it).
	Local bool
}

// AdapterHost is the namespace side of an [Adapter]: it delivers an encoded
// packet to a socket connected to this node.
type AdapterHost interface {
	// Name returns the namespace name.
	Name() string
	// Deliver sends out to the local socket id; unknown or disconnected
	// ids are ignored. It never blocks on the network: the packet is
	// queued on the socket's session.
	Deliver(id string, out *Outgoing, volatile bool)
}

// Adapter keeps the room membership of one namespace and carries its
// broadcasts. The in-memory default is [NewMemoryAdapter]; an adapter for a
// multi-node deployment (Redis and the like) implements the same interface,
// forwards Broadcast to its peers unless opts.Local is set and delivers the
// broadcasts it receives through the AdapterHost of the namespace.
//
// Every method may be called from several goroutines at once and must not
// call back into the socket that triggered it while holding its own locks.
type Adapter interface {
	// AddAll adds socket id to rooms (a socket always joins the room named
	// after its own id first).
	AddAll(id string, rooms []string)
	// Del removes socket id from room.
	Del(id, room string)
	// DelAll removes socket id from every room.
	DelAll(id string)
	// Rooms returns the rooms socket id is in, in join order.
	Rooms(id string) []string
	// Sockets returns the ids of the local sockets in any of rooms, or of
	// every local socket when rooms is empty.
	Sockets(rooms []string) []string
	// Broadcast delivers out to the sockets opts selects.
	Broadcast(out *Outgoing, opts BroadcastOptions) error
	// Close releases the adapter's resources.
	Close() error
}

// shardCount is the number of independently locked shards of the in-memory
// adapter's maps; broadcasts take only read locks, one shard at a time.
const shardCount = 32

type roomShard struct {
	mu    sync.RWMutex
	rooms map[string]room // a room is present while it has members
}

// room holds the members of one room. Most rooms are a socket's own id
// room, with one member for its whole life: that member is held in one,
// and the set m is made only for a second member (a map per socket was a
// tenth of an idle Socket.IO session's heap).
type room struct {
	one string              // the only member, when m is nil
	m   map[string]struct{} // the members, once there were two
}

type sidShard struct {
	mu   sync.RWMutex
	sids map[string][]string
}

// memoryAdapter is the default in-memory Adapter.
type memoryAdapter struct {
	host  AdapterHost
	seed  maphash.Seed
	rooms [shardCount]roomShard
	sids  [shardCount]sidShard
}

// NewMemoryAdapter returns the default in-memory adapter for host: room
// membership in sharded maps, broadcasts delivered to local sockets only.
func NewMemoryAdapter(host AdapterHost) Adapter {
	a := &memoryAdapter{host: host, seed: maphash.MakeSeed()}
	for i := range a.rooms {
		a.rooms[i].rooms = make(map[string]room)
		a.sids[i].sids = make(map[string][]string)
	}
	return a
}

func (a *memoryAdapter) shard(key string) int {
	return int(maphash.String(a.seed, key) % shardCount)
}

// AddAll implements Adapter. Lock order: the socket's sid shard, then room
// shards.
func (a *memoryAdapter) AddAll(id string, rooms []string) {
	ss := &a.sids[a.shard(id)]
	ss.mu.Lock()
	defer ss.mu.Unlock()
	cur := ss.sids[id]
	for _, r := range rooms {
		if contains(cur, r) {
			continue
		}
		cur = append(cur, r)
		rs := &a.rooms[a.shard(r)]
		rs.mu.Lock()
		rm, ok := rs.rooms[r]
		switch {
		case !ok:
			rs.rooms[r] = room{one: id}
		case rm.m != nil:
			rm.m[id] = struct{}{}
		case rm.one != id:
			rs.rooms[r] = room{m: map[string]struct{}{rm.one: {}, id: {}}}
		}
		rs.mu.Unlock()
	}
	ss.sids[id] = cur
}

// Del implements Adapter.
func (a *memoryAdapter) Del(id, room string) {
	ss := &a.sids[a.shard(id)]
	ss.mu.Lock()
	defer ss.mu.Unlock()
	cur, ok := ss.sids[id]
	if !ok {
		return
	}
	for i, r := range cur {
		if r == room {
			ss.sids[id] = append(cur[:i:i], cur[i+1:]...)
			break
		}
	}
	a.delRoom(id, room)
}

func (a *memoryAdapter) delRoom(id, room string) {
	rs := &a.rooms[a.shard(room)]
	rs.mu.Lock()
	if rm, ok := rs.rooms[room]; ok {
		if rm.m == nil {
			if rm.one == id {
				delete(rs.rooms, room)
			}
		} else {
			delete(rm.m, id)
			if len(rm.m) == 0 {
				delete(rs.rooms, room)
			}
		}
	}
	rs.mu.Unlock()
}

// DelAll implements Adapter.
func (a *memoryAdapter) DelAll(id string) {
	ss := &a.sids[a.shard(id)]
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, r := range ss.sids[id] {
		a.delRoom(id, r)
	}
	delete(ss.sids, id)
}

// Rooms implements Adapter.
func (a *memoryAdapter) Rooms(id string) []string {
	ss := &a.sids[a.shard(id)]
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	return append([]string(nil), ss.sids[id]...)
}

// Sockets implements Adapter.
func (a *memoryAdapter) Sockets(rooms []string) []string {
	return a.collect(rooms, nil)
}

// collect appends to dst the ids selected by rooms (all sockets when
// empty), without duplicates.
func (a *memoryAdapter) collect(rooms []string, dst []string) []string {
	if len(rooms) == 0 {
		for i := range a.sids {
			ss := &a.sids[i]
			ss.mu.RLock()
			for id := range ss.sids {
				dst = append(dst, id)
			}
			ss.mu.RUnlock()
		}
		return dst
	}
	var seen map[string]struct{}
	if len(rooms) > 1 {
		seen = make(map[string]struct{})
	}
	add := func(id string) {
		if seen != nil {
			if _, dup := seen[id]; dup {
				return
			}
			seen[id] = struct{}{}
		}
		dst = append(dst, id)
	}
	for _, r := range rooms {
		rs := &a.rooms[a.shard(r)]
		rs.mu.RLock()
		if rm, ok := rs.rooms[r]; ok {
			if rm.m == nil {
				add(rm.one)
			}
			for id := range rm.m {
				add(id)
			}
		}
		rs.mu.RUnlock()
	}
	return dst
}

var idSlicePool = sync.Pool{New: func() any { s := make([]string, 0, 64); return &s }}

// Broadcast implements Adapter: targets are collected under read locks,
// then the shared frames are delivered with no adapter lock held.
func (a *memoryAdapter) Broadcast(out *Outgoing, opts BroadcastOptions) error {
	bp := idSlicePool.Get().(*[]string)
	ids := a.collect(opts.Rooms, (*bp)[:0])
	var except map[string]struct{}
	if len(opts.Except) > 0 {
		except = make(map[string]struct{})
		for _, id := range a.collect(opts.Except, nil) {
			except[id] = struct{}{}
		}
	}
	for _, id := range ids {
		if _, skip := except[id]; skip {
			continue
		}
		a.host.Deliver(id, out, opts.Volatile)
	}
	clear(ids)
	*bp = ids[:0]
	idSlicePool.Put(bp)
	return nil
}

// Close implements Adapter.
func (a *memoryAdapter) Close() error { return nil }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// NamespaceHost is the AdapterHost the server hands to adapters: besides
// delivering packets it gives a multi-node adapter the namespace itself, so
// that requests from other nodes (join, leave, disconnect, fetch, broadcast
// with acknowledgement) act on the local sockets through the public API.
type NamespaceHost interface {
	AdapterHost
	// Namespace returns the namespace the adapter serves.
	Namespace() *Namespace
}

// Namespace implements NamespaceHost.
func (h nspHost) Namespace() *Namespace { return h.n }

// SocketInfo describes a socket of any node of a cluster, as fetchSockets
// returns it.
type SocketInfo struct {
	// ID is the socket id.
	ID string
	// Rooms are the rooms the socket is in, its own id room included.
	Rooms []string
	// Data is the socket's data (see [Socket.SetData]).
	Data any
}

// ServerSideHandler receives an event another node of the cluster sent with
// [ClusterAdapter.ServerSideEmit]. ack is nil when the sender asked for no
// acknowledgement; otherwise the first call sends its argument back and
// later calls are ignored.
type ServerSideHandler func(args []any, ack func(arg any))

// ClusterAdapter is an [Adapter] that spans several nodes: the operations of
// Node's socket.io that act on every node of a cluster. The in-memory
// adapter does not implement it; callers type-assert Namespace.Adapter().
// Every selection is a BroadcastOptions (Rooms, Except; Local keeps the
// operation on this node).
type ClusterAdapter interface {
	Adapter
	// AddSockets makes the selected sockets of every node join rooms
	// (Node's socketsJoin).
	AddSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DelSockets makes the selected sockets of every node leave rooms
	// (Node's socketsLeave).
	DelSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the selected sockets of every node.
	DisconnectSockets(ctx context.Context, opts BroadcastOptions, close bool) error
	// FetchSockets returns the selected sockets of every node, waiting for
	// every node's answer until ctx ends.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]SocketInfo, error)
	// ServerSideEmit sends event to every other node. With wantAck it waits
	// until every other node has answered (or ctx ends) and returns their
	// answers, one per node.
	ServerSideEmit(ctx context.Context, wantAck bool, event string, args ...any) ([]any, error)
	// OnServerSideEmit registers the handler of event for server-side
	// emits from other nodes.
	OnServerSideEmit(event string, h ServerSideHandler)
	// BroadcastWithAck emits event to the selected sockets of every node
	// with an acknowledgement request and returns the first argument of
	// every answer, waiting until every node has counted its recipients
	// and every recipient has answered, or ctx ends (then the error wraps
	// ErrAckTimeout and the answers so far are returned).
	BroadcastWithAck(ctx context.Context, opts BroadcastOptions, event string, args ...any) ([]any, error)
	// ServerCount returns the number of nodes of the cluster, this one
	// included.
	ServerCount(ctx context.Context) (int, error)
}

// LocalSocketIDs returns the ids of the sockets of n on this node that opts
// selects (Rooms, then Except removed).
func LocalSocketIDs(n *Namespace, opts BroadcastOptions) []string {
	return (&BroadcastOperator{nsp: n, rooms: opts.Rooms, except: opts.Except}).SocketIDs()
}
