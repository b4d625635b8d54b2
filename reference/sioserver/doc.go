// Package sioserver is siospec's reference Socket.IO server: protocol v5
// (socket.io 3.x/4.x clients over Engine.IO v4) and, with
// Options.AllowEIO3, protocol v4 (socket.io 2.x clients over Engine.IO v3),
// on top of package eioserver. On the wire it behaves like Node's socket.io
// 4.8.4 wherever a peer can tell (the Socket.IO rules of docs/requirements.md); in v4 mode
// like socket.io 2.5.1.
//
// # Model
//
// A [Server] owns namespaces ([Namespace], created with [Server.Of] or on
// demand by a [ParentNamespace] from [Server.OfFunc] / [Server.OfRegexp]).
// Each Engine.IO session gets a client that decodes its messages with
// protocol/socketio and routes them; each namespace the client joins gets a
// [Socket]. Middlewares ([Namespace.Use]) vet a CONNECT and may refuse it
// with a [ConnectError]; connection handlers ([Namespace.OnConnection]) run
// right after the CONNECT reply. Sockets receive events ([Socket.On]) and
// acknowledge them ([Event.Ack]); they emit events ([Socket.Emit]), ask for
// acknowledgements ([Socket.EmitWithAck], [Socket.EmitCallback]; ack ids come
// from one counter per namespace, as in Node, SIO-ACK-07), join rooms and
// broadcast through a [BroadcastOperator].
//
// # Invalid input
//
// Any decode failure closes the session with "forced close"; a packet that
// is invalid in the session's state (first packet not a CONNECT, a packet
// for a namespace not joined, a duplicate CONNECT, a CONNECT_ERROR from the
// client) closes it with "forced server close" (SIO-ERR-01). A session that
// joins no namespace within Options.ConnectTimeout is closed too
// (SIO-CONN-08). In protocol v4 mode the rules are socket.io 2.5.1's:
// packets for a namespace not joined and client ERROR packets are ignored,
// and a redundant CONNECT replaces the socket (SIO4-06); an unknown packet
// type still closes the session (see below).
//
// # Broadcasts and adapters
//
// Room membership and broadcasts go through the [Adapter] of each namespace;
// [NewMemoryAdapter] is the default and a multi-node adapter can replace it
// (Options.NewAdapter). A broadcast is encoded once and the same Engine.IO
// packets are queued on every target session; room maps are sharded and read
// under per-shard read locks, so broadcasts in different rooms or namespaces
// do not contend.
//
// # Connection state recovery
//
// With Options.ConnectionStateRecovery, the CONNECT reply carries a private
// "pid"; every non-volatile event without ack id gets an offset appended as
// its last argument and is logged per namespace; a session that ends for a
// recoverable reason is kept for MaxDisconnectionDuration, and a CONNECT
// carrying its pid and last offset restores its id, rooms and data and
// replays the missed events before the CONNECT reply (NODE-CSR-01..06).
//
// # Catalogue
//
// Implemented and tested here: SIO-ENC-01/03/06/07/09..11, SIO-CONN-02..08,
// SIO-CONN-10/11/16/17, SIO-NSP-01/03..07/09, SIO-EVT-02..04/06,
// SIO-ACK-02..08, SIO-BIN-02/05..08/11, SIO-DISC-02..06, SIO-ERR-01/04,
// SIO4-02..06, NODE-CSR-01..06, NODE-ACK-04, NODE-DR-01 and NODE-VOL-01 (a
// volatile emit is dropped unless the engine session is writable: an idle
// WebSocket or a parked polling GET).
//
// # Node behaviour deliberately not reproduced
//
//   - A pending server ack (EmitCallback, EmitWithAck, a broadcast with
//     ack) fails with [ErrDisconnected] when the socket disconnects; Node
//     errors only emitWithAck and timeout callbacks and silently drops
//     plain ones.
//   - Middlewares are synchronous functions returning an error; Node's
//     next() may be called later.
//   - Events and acks are handled strictly in arrival order on the
//     session's goroutine; Node's async middlewares and handlers can
//     interleave.
//   - The recovery log is capped at RecoveryOptions.MaxPackets per
//     namespace (Node keeps everything younger than
//     maxDisconnectionDuration).
//   - A client whose send queue overflows is cut off at once with
//     [ReasonSendQueueFull] and its queue released (eioserver
//     Session.Abort); Node buffers without limit.
//   - Protocol v4 mode closes the session on an unknown packet type
//     (SIO-ENC-07, a MUST); socket.io 2.5.1 ignores it.
//
// # Concurrency
//
// No goroutine is started per message: packets are handled on the engine
// session's transport goroutine, serially and in order; event handlers run
// there too and must not block on their own session. Emits never block: they
// queue packets on the session's bounded send queue (eioserver
// Options.SendQueueLimit); a client whose queue overflows is disconnected
// with [ReasonSendQueueFull]. All exported methods are safe for concurrent
// use. [Server.Close] waits for every goroutine the server started.
package sioserver
