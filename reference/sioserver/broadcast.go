package sioserver

import (
	"fmt"

	"github.com/siospec/siospec/protocol/socketio"
)

// BroadcastOperator selects sockets of a namespace by room and emits to
// them. Each method returns a new operator; an operator is safe to reuse and
// to share between goroutines.
type BroadcastOperator struct {
	nsp      *Namespace
	rooms    []string
	except   []string
	volatile bool
	local    bool
}

func (b *BroadcastOperator) clone() *BroadcastOperator {
	c := *b
	c.rooms = append([]string(nil), b.rooms...)
	c.except = append([]string(nil), b.except...)
	return &c
}

// To adds rooms to the selection: the sockets in any of them are targeted.
func (b *BroadcastOperator) To(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !contains(c.rooms, r) {
			c.rooms = append(c.rooms, r)
		}
	}
	return c
}

// In is a synonym of To.
func (b *BroadcastOperator) In(rooms ...string) *BroadcastOperator { return b.To(rooms...) }

// Except leaves out the sockets in any of rooms.
func (b *BroadcastOperator) Except(rooms ...string) *BroadcastOperator {
	c := b.clone()
	for _, r := range rooms {
		if !contains(c.except, r) {
			c.except = append(c.except, r)
		}
	}
	return c
}

// Volatile lets the packet be dropped for recipients whose transport is not
// writable (NODE-VOL-01); volatile packets are not kept for connection
// state recovery.
func (b *BroadcastOperator) Volatile() *BroadcastOperator {
	c := b.clone()
	c.volatile = true
	return c
}

// Local restricts the broadcast to this node.
func (b *BroadcastOperator) Local() *BroadcastOperator {
	c := b.clone()
	c.local = true
	return c
}

// Emit encodes event once and queues it on every selected socket's session.
// Binary arguments ([]byte) are sent as attachments. With connection state
// recovery on, a non-volatile broadcast carries an offset as its last
// argument and is logged for replay (NODE-CSR-02).
func (b *BroadcastOperator) Emit(event string, args ...any) error {
	if socketio.IsReservedEvent(event) {
		return fmt.Errorf("emit %q: %w", event, ErrReservedEvent)
	}
	n := b.nsp
	var offset string
	if n.csr != nil && !b.volatile {
		offset = n.csr.nextOffset()
		args = append(args[:len(args):len(args)], offset)
	}
	p, err := socketio.NewEvent(n.name, event, args...)
	if err != nil {
		return fmt.Errorf("emit %q: %w", event, err)
	}
	fr, err := frames(n.enc, p)
	if err != nil {
		return fmt.Errorf("emit %q: %w", event, err)
	}
	out := &Outgoing{Packet: p, Frames: fr}
	if offset != "" {
		n.csr.log(offset, out, b.rooms, b.except)
	}
	return n.adapter.Broadcast(out, BroadcastOptions{
		Rooms: b.rooms, Except: b.except, Volatile: b.volatile, Local: b.local,
	})
}

// SocketIDs returns the ids of the local sockets the operator selects.
func (b *BroadcastOperator) SocketIDs() []string {
	ids := b.nsp.adapter.Sockets(b.rooms)
	if len(b.except) == 0 {
		return ids
	}
	ex := make(map[string]struct{})
	for _, id := range b.nsp.adapter.Sockets(b.except) {
		ex[id] = struct{}{}
	}
	out := ids[:0]
	for _, id := range ids {
		if _, skip := ex[id]; !skip {
			out = append(out, id)
		}
	}
	return out
}

// DisconnectSockets disconnects the selected local sockets.
func (b *BroadcastOperator) DisconnectSockets(close bool) {
	for _, id := range b.SocketIDs() {
		if s := b.nsp.sockets.get(id); s != nil {
			s.Disconnect(close)
		}
	}
}
