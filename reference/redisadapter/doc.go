// Package redisadapter is a sioserver.Adapter on Redis that speaks the wire
// format of @socket.io/redis-adapter 8.3.0, so that Go reference nodes and
// Node socket.io nodes share one cluster (rooms, broadcasts, socketsJoin,
// socketsLeave, disconnectSockets, fetchSockets, serverSideEmit with acks,
// broadcasts with acks).
//
// # Model
//
// A [Cluster] holds one Redis client per node; [Cluster.NewAdapter] is passed
// as sioserver.Options.NewAdapter and creates one [Adapter] per namespace.
// An adapter keeps the room membership of its local sockets in a sioserver
// memory adapter and uses three kinds of channels (key "socket.io"):
//
//   - "socket.io#<nsp>#" and "socket.io#<nsp>#<room>#" (pattern-subscribed):
//     broadcasts, msgpack [uid, {type, data, nsp}, {rooms, except, flags}];
//     a node ignores its own uid and single-room messages for rooms it has
//     no socket in.
//   - "socket.io-request#<nsp>#": requests {uid, requestId, type, ...} in
//     JSON (msgpack for a broadcast with acknowledgement, type 7); the
//     number of its subscribers (PUBSUB NUMSUB) is the number of nodes.
//   - "socket.io-response#<nsp>#": responses, JSON or msgpack.
//
// Request types: 0 SOCKETS, 1 ALL_ROOMS, 2 REMOTE_JOIN, 3 REMOTE_LEAVE,
// 4 REMOTE_DISCONNECT, 5 REMOTE_FETCH, 6 SERVER_SIDE_EMIT, 7 BROADCAST (with
// ack), 8 BROADCAST_CLIENT_COUNT, 9 BROADCAST_ACK. As in Node, socketsJoin,
// socketsLeave and disconnectSockets are published and applied by every node
// when the request arrives, this one included.
//
// # Concurrency
//
// Every method is safe for concurrent use. Each adapter owns two goroutines
// (a reader of its subscription, a publisher draining an ordered queue) that
// Close stops and waits for. A Redis that goes away never blocks a local
// broadcast: publishes fail (logged) and go-redis reconnects the
// subscription; cross-node delivery resumes once Redis is back.
package redisadapter
