package sioserver

import (
	"errors"
	"fmt"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// errQueueFull is what an engineSession's Send returns when its bounded
// queue is full.
var errQueueFull = errors.New("sioserver: engine send queue full")

// client is the Socket.IO side of one Engine.IO session (Node's Client): it
// decodes the session's messages, routes packets to the namespace sockets
// and enforces the connect and error rules of docs/requirements.md
// (SIO-CONN-*, SIO-ERR-*).
type client struct {
	reg     *registry
	conn    engineSession
	version socketio.Version
	enc     socketio.Encoder
	// reasm is used only from the engine's message callback, which the
	// engine calls serially.
	reasm socketio.Reassembler

	mu sync.Mutex
	// socks are the connected sockets, one per namespace, in join order:
	// a client has one or a few, so a slice searched by name is smaller
	// than a map (an idle session pays for it).
	socks         []*Socket
	closed        bool
	everConnected bool
	connectTimer  stopper
	closeReason   string
	// mainJoined: protocol v4, "/" has been joined once (its CONNECT was
	// sent).
	mainJoined bool
}

// attach creates the client of a new engine session. It runs before any
// message of the session is delivered.
func (r *registry) attach(conn engineSession) *client {
	c := &client{reg: r, conn: conn, version: socketio.V5}
	if conn.Protocol() == engineio.V3 {
		c.version = socketio.V4
	}
	c.enc = socketio.Encoder{Version: c.version, MaxAttachments: r.cfg.maxAttachments}
	c.reasm.Decoder = socketio.Decoder{Version: c.version, MaxAttachments: r.cfg.maxAttachments}
	r.clients.Store(c, struct{}{})
	conn.OnMessage(c.onMessage)
	conn.OnClose(func(reason string, _ error) { c.onEngineClose(reason) })
	c.mu.Lock()
	if !c.closed {
		c.connectTimer = r.cfg.clock.AfterFunc(r.cfg.connectTimeout, c.onConnectTimeout)
	}
	c.mu.Unlock()
	if c.version == socketio.V4 {
		// SIO4-02: protocol v4 joins "/" at once, without a CONNECT.
		c.connect("/", socketio.Packet{Type: socketio.Connect, Nsp: "/"})
	}
	return c
}

func (c *client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// onConnectTimeout closes a session that never joined a namespace within
// connectTimeout (SIO-CONN-08).
func (c *client) onConnectTimeout() {
	c.mu.Lock()
	idle := !c.closed && !c.everConnected
	c.connectTimer = nil
	c.mu.Unlock()
	if idle {
		c.fail(ReasonForcedServerClose, stateError("no namespace joined within connectTimeout"))
	}
}

// onMessage handles one Engine.IO message (text or binary).
//
// It runs on the session's reader goroutine, whose stack stays at its
// initial 4 KiB only if everything an event needs (decoding, dispatch, the
// handlers, an Emit and the Engine.IO send) fits in it: a stack that grew
// once is never shrunk back while the reader is parked. So the common path
// keeps its frames small: the packet being handled is decoded in place
// (Reassembler.AddTextTo) and passed by pointer, never copied from frame
// to frame; rare branches are functions of their own (see
// TestEventPathKeepsReaderStack).
func (c *client) onMessage(p engineio.Packet) {
	if c.isClosed() {
		return
	}
	var pkt socketio.Packet
	if c.decode(&pkt, p.Binary, p.Data) {
		c.dispatch(&pkt)
	}
}

// decode feeds one message to the reassembler and reports whether *pkt
// holds a complete packet. A decode failure closes the session.
//
//go:noinline
func (c *client) decode(pkt *socketio.Packet, binary bool, data []byte) bool {
	if binary {
		return c.decodeBinary(pkt, data)
	}
	done, err := c.reasm.AddTextTo(pkt, data)
	if err != nil {
		c.decodeFailed(err)
		return false
	}
	return done
}

//go:noinline
func (c *client) decodeBinary(pkt *socketio.Packet, data []byte) bool {
	var (
		done bool
		err  error
	)
	*pkt, done, err = c.reasm.AddBinary(data)
	if err != nil {
		c.decodeFailed(err)
		return false
	}
	return done
}

// decodeFailed closes the session after a decode failure (SIO-ERR-01,
// SIO-ENC-07): any decode failure, an unknown packet type included.
// socket.io 2.x ignores unknown types in protocol v4; the reference
// follows the protocol.
//
//go:noinline
func (c *client) decodeFailed(err error) {
	c.fail(ReasonForcedClose, err)
}

// dispatch routes a complete packet (Node's Client.ondecoded).
func (c *client) dispatch(pkt *socketio.Packet) {
	s := c.socketOf(pkt.Nsp)
	if s != nil && pkt.Type != socketio.Connect && pkt.Type != socketio.ConnectError {
		s.onPacket(pkt)
		return
	}
	c.dispatchOther(s, pkt)
}

// dispatchOther handles what dispatch's common case does not: CONNECT,
// CONNECT_ERROR and packets for namespaces not joined.
//
//go:noinline
func (c *client) dispatchOther(s *Socket, p *socketio.Packet) {
	pkt := *p
	name := pkt.Namespace()
	switch {
	case s == nil && pkt.Type == socketio.Connect:
		c.connectOnFreshStack(name, pkt)
	case c.version == socketio.V4 && pkt.Type == socketio.Connect:
		// SIO4-06: socket.io 2.x accepts a CONNECT for a namespace
		// already joined and replaces the socket with a new one of the
		// same id (the old one is dropped without a disconnect event).
		s.drop()
		c.remove(s)
		c.connectOnFreshStack(name, pkt)
	case c.version == socketio.V4:
		// socket.io 2.x ignores packets for namespaces it has no socket
		// for and client ERROR packets.
	case s == nil:
		// SIO-CONN-07, SIO-NSP-05, SIO-DISC-03.
		c.fail(ReasonForcedServerClose, stateError(fmt.Sprintf("%s for namespace %q, which is not joined", pkt.Type, name)))
	case pkt.Type == socketio.Connect:
		// SIO-CONN-10.
		c.fail(ReasonForcedServerClose, stateError(fmt.Sprintf("duplicate CONNECT for namespace %q", name)))
	default:
		// SIO-CONN-17.
		c.fail(ReasonForcedServerClose, stateError("CONNECT_ERROR sent by the client"))
	}
}

// connectOnFreshStack runs connect on a short-lived goroutine and waits
// for it to return, so that its stack, however deep, is released with it.
//
// A CONNECT's handling (auth decoding, middlewares, the CONNECT reply's
// encoding, the user's connection handlers) runs once per socket and needs
// several KiB of stack, where the session's reader (eioserver's WebSocket
// read loop, which calls onMessage) needs less than 4 KiB for the rest of
// its life. Run on the reader, it would grow the reader's stack to 8 KiB,
// which the collector never shrinks back: parked in its read, the reader
// uses more than a quarter of it. The caller does nothing until connect
// has returned, so packets and events keep the order they would have if
// it ran on the caller, and a panic that connect does not recover is
// raised again, with the same value, on the caller (where it would have
// happened; net/http recovers a polling request's), after its stack has
// been logged.
func (c *client) connectOnFreshStack(name string, pkt socketio.Packet) {
	done := make(chan any, 1)
	go func() {
		var p any
		defer func() { done <- p }() // also on runtime.Goexit
		defer func() {
			if r := recover(); r != nil {
				p = r
				c.reg.cfg.logger.Error("sioserver: CONNECT handling panicked", "nsp", name, "panic", r, "stack", string(debug.Stack()))
			}
		}()
		c.connect(name, pkt)
	}()
	if p := <-done; p != nil {
		panic(p)
	}
}

// connect handles a CONNECT for a namespace the client has not joined.
func (c *client) connect(name string, pkt socketio.Packet) {
	var auth any = socketio.Object{}
	if c.version == socketio.V4 {
		auth = queryObject(pkt.Query)
	} else if pkt.Data != nil {
		if v, err := pkt.Value(); err == nil && v != nil {
			auth = v
		}
	}
	n := c.reg.lookup(name, auth)
	if n == nil {
		c.connectError(name, &ConnectError{Message: "Invalid namespace"})
		return
	}
	c.join(n, auth)
}

// join runs recovery, middlewares and the CONNECT reply for namespace n
// (Node's Namespace._add and _doConnect).
func (c *client) join(n *Namespace, auth any) {
	cfg := &c.reg.cfg
	s := &Socket{nsp: n, client: c, handshake: c.handshake(auth)}
	if n.csr != nil && c.version == socketio.V5 {
		if pid, off, ok := recoveryKeys(auth); ok {
			if rs, ok := n.csr.restore(pid, off); ok {
				s.id, s.pid, s.data, s.recovered = rs.sid, rs.pid, rs.data, true
				n.adapter.AddAll(s.id, rs.rooms)
				// NODE-CSR-05: missed packets come before the CONNECT
				// reply.
				for _, out := range rs.missed {
					_ = c.send(out.Frames, false)
				}
			}
		}
	}
	if s.id == "" {
		switch {
		case c.version == socketio.V4 && n.name == "/":
			s.id = c.conn.ID()
		case c.version == socketio.V4:
			s.id = n.name + "#" + c.conn.ID()
		default:
			s.id = newID()
		}
		if n.csr != nil {
			s.pid = newID()
		}
	}
	mws, handlers := n.snapshot()
	if !s.recovered || cfg.recovery.RunMiddlewares {
		for _, mw := range mws {
			if err := c.runMiddleware(mw, s); err != nil {
				n.adapter.DelAll(s.id)
				if !c.isClosed() {
					c.connectError(n.name, err)
				}
				return
			}
		}
	}
	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
	n.sockets.set(s)
	if !c.add(s) {
		// The session closed while the middlewares ran (SIO-CONN-16).
		n.sockets.del(s)
		n.adapter.DelAll(s.id)
		return
	}
	n.adapter.AddAll(s.id, []string{s.id})
	var reply socketio.Packet
	sendReply := true
	if c.version == socketio.V4 {
		// SIO4-04: no sid. socket.io 2.x sends the CONNECT of "/" once,
		// with the Engine.IO handshake, unless "/" has middlewares; a
		// redundant CONNECT for "/" gets no second reply.
		if n.name == "/" && len(mws) == 0 && c.mainJoined {
			sendReply = false
		} else {
			reply, _ = socketio.NewConnect(n.name, nil)
		}
		if n.name == "/" {
			c.mainJoined = true
		}
	} else {
		o := socketio.Object{{Key: "sid", Value: s.id}}
		if s.pid != "" {
			o = append(o, socketio.Member{Key: "pid", Value: s.pid})
		}
		reply, _ = socketio.NewConnect(n.name, o)
	}
	if sendReply {
		_ = s.sendPacket(reply, false)
	}
	for _, h := range handlers {
		c.runHandler(h, s)
	}
}

func (c *client) runMiddleware(mw Middleware, s *Socket) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("middleware panicked: %v", r)
		}
	}()
	return mw(s)
}

func (c *client) runHandler(h ConnectionHandler, s *Socket) {
	defer func() {
		if r := recover(); r != nil {
			c.reg.cfg.logger.Error("sioserver: connection handler panicked", "sid", s.id, "nsp", s.nsp.name, "panic", r)
		}
	}()
	h(s)
}

// add registers a connected socket; false if the session is closed.
func (c *client) add(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if i := c.indexLocked(s.nsp.name); i >= 0 {
		c.socks[i] = s
	} else {
		c.socks = append(c.socks, s)
	}
	c.everConnected = true
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil
	}
	return true
}

// remove forgets a socket that disconnected.
func (c *client) remove(s *Socket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := c.indexLocked(s.nsp.name); i >= 0 && c.socks[i] == s {
		c.socks = append(c.socks[:i:i], c.socks[i+1:]...)
		if len(c.socks) == 0 {
			c.socks = nil
		}
	}
}

// indexLocked returns the index in c.socks of the socket of namespace
// name, or -1.
func (c *client) indexLocked(name string) int {
	for i, s := range c.socks {
		if s.nsp.name == name {
			return i
		}
	}
	return -1
}

// socketOf returns the socket of namespace nsp ("" meaning "/"), or nil.
//
//go:noinline
func (c *client) socketOf(nsp string) *Socket {
	if nsp == "" {
		nsp = "/"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.socketLocked(nsp)
}

// socketLocked returns the socket of namespace name, or nil.
func (c *client) socketLocked(name string) *Socket {
	if i := c.indexLocked(name); i >= 0 {
		return c.socks[i]
	}
	return nil
}

// sockets returns the connected sockets in join order.
func (c *client) sockets() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.socks)
}

// connectError refuses a CONNECT (SIO-CONN-05, SIO-CONN-06, SIO4-05).
func (c *client) connectError(nsp string, err error) {
	msg := err.Error()
	var data any
	var ce *ConnectError
	if errors.As(err, &ce) {
		msg, data = ce.Message, ce.Data
	}
	var p socketio.Packet
	if c.version == socketio.V4 {
		// Node 2.x: err.data || err.message.
		v := data
		if falsy(v) {
			v = msg
		}
		p, err = socketio.NewPacket(socketio.ConnectError, nsp, v)
	} else {
		p, err = socketio.NewConnectError(nsp, msg, data)
	}
	if err != nil {
		c.reg.cfg.logger.Error("sioserver: encode CONNECT_ERROR", "nsp", nsp, "err", err)
		return
	}
	fr, err := frames(c.enc, p)
	if err != nil {
		c.reg.cfg.logger.Error("sioserver: encode CONNECT_ERROR", "nsp", nsp, "err", err)
		return
	}
	_ = c.send(fr, false)
}

// send queues frames on the engine session. A full queue closes the
// session: a slow client must not make the server buffer without limit.
func (c *client) send(fr []engineio.Packet, volatile bool) error {
	if volatile {
		if w, ok := c.conn.(writableSession); ok && !w.Writable() {
			return ErrDropped
		}
	}
	err := c.conn.Send(fr...)
	if err == nil {
		return nil
	}
	if errors.Is(err, errQueueFull) {
		c.slowClose()
	}
	return fmt.Errorf("send: %w", ErrClosed)
}

// slowClose disconnects a client whose send queue overflowed. The sockets
// are closed on a separate (tracked) goroutine so that the emitting
// goroutine, which may be a broadcast, is not re-entered by disconnect
// handlers.
func (c *client) slowClose() {
	c.mu.Lock()
	if c.closed || c.closeReason != "" {
		c.mu.Unlock()
		return
	}
	c.closeReason = ReasonSendQueueFull
	c.mu.Unlock()
	c.reg.cfg.logger.Warn("sioserver: closing slow client", "sid", c.conn.ID(), "reason", ReasonSendQueueFull)
	c.reg.goBG(func() {
		if a, ok := c.conn.(abortableSession); ok {
			a.Abort(ReasonSendQueueFull)
		} else {
			c.conn.Close(ReasonSendQueueFull)
		}
		c.onclose(ReasonSendQueueFull)
	})
}

// fail closes the session after a protocol violation.
func (c *client) fail(reason string, err error) {
	c.reg.cfg.logger.Debug("sioserver: closing session", "sid", c.conn.ID(), "reason", reason, "err", err)
	if c.reg.cfg.onProtocolErr != nil {
		c.reg.cfg.onProtocolErr(&ProtocolError{SessionID: c.conn.ID(), Reason: reason, Err: err})
	}
	c.closeSession(reason)
}

// closeSession closes the engine session and disconnects every socket with
// reason (Node's client.close() + onclose(reason)).
func (c *client) closeSession(reason string) {
	if c.isClosed() {
		return
	}
	c.conn.Close(ReasonForcedClose)
	c.onclose(reason)
}

// disconnectAll is Socket.Disconnect(true): DISCONNECT for every namespace,
// then the session is closed (SIO-DISC-05).
func (c *client) disconnectAll() {
	for _, s := range c.sockets() {
		s.Disconnect(false)
	}
	c.closeSession(ReasonForcedServerClose)
}

func (c *client) onEngineClose(reason string) {
	c.mu.Lock()
	if c.closeReason != "" {
		reason = c.closeReason
	}
	c.mu.Unlock()
	c.onclose(reason)
}

// onclose disconnects every socket of the session once.
func (c *client) onclose(reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.connectTimer != nil {
		c.connectTimer.Stop()
		c.connectTimer = nil
	}
	c.mu.Unlock()
	socks := c.sockets()
	c.reg.clients.Delete(c)
	for _, s := range socks {
		s.onclose(reason)
	}
}

func (c *client) handshake(auth any) Handshake {
	h := Handshake{Auth: auth, Time: c.reg.cfg.clock.Now()}
	if r := c.conn.Request(); r != nil {
		h.Headers = r.Header
		h.Query = r.URL.Query()
		h.Address = r.RemoteAddr
		h.URL = r.RequestURI
		h.Secure = r.TLS != nil
	}
	return h
}

// recoveryKeys returns the pid and offset of a v5 CONNECT payload
// (NODE-CSR-03).
func recoveryKeys(auth any) (pid, offset string, ok bool) {
	o, isObj := auth.(socketio.Object)
	if !isObj {
		return "", "", false
	}
	p, _ := o.Get("pid")
	off, _ := o.Get("offset")
	pid, ok1 := p.(string)
	offset, ok2 := off.(string)
	return pid, offset, ok1 && ok2
}

// queryObject turns a protocol v4 namespace query ("token=abc&x=1") into an
// Object of strings in order, as Node's querystring.parse does (a repeated
// key keeps its first position and its last value).
func queryObject(q string) socketio.Object {
	o := socketio.Object{}
	for _, part := range strings.Split(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = unescape(k)
		o.Set(k, unescape(v))
	}
	return o
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// falsy reports whether v is a JavaScript falsy value.
func falsy(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case float64:
		return x == 0 || x != x
	case int:
		return x == 0
	}
	return false
}
