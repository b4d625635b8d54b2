package sioserver

import (
	"context"
	"fmt"
	"sync"

	"github.com/siospec/siospec/protocol/socketio"
)

// AckResponse is one client's answer to a broadcast with acknowledgement.
type AckResponse struct {
	// SocketID is the answering socket.
	SocketID string
	// Args are the arguments of its ACK.
	Args []any
}

// broadcastAck collects the answers to one broadcast: the same ack id is
// registered on every recipient, as Node's broadcastWithAck does.
type broadcastAck struct {
	id uint64

	mu        sync.Mutex
	expected  int
	sealed    bool
	responses []AckResponse
	done      chan struct{}
	closed    bool
}

// register adds the ack to a recipient; false if it is disconnected.
func (b *broadcastAck) register(s *Socket) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return false
	}
	if s.acks == nil {
		s.acks = make(map[uint64]*pendingAck)
	}
	s.acks[b.id] = &pendingAck{cb: func(args []any, err error) { b.answer(s.id, args, err) }}
	b.mu.Lock()
	b.expected++
	b.mu.Unlock()
	return true
}

func (b *broadcastAck) unregister(s *Socket) {
	if s.takeAck(b.id) != nil {
		b.answer(s.id, nil, ErrDisconnected)
	}
}

// answer records one response; a recipient that disconnected counts as
// answered (without a response), so that the caller is not kept waiting.
func (b *broadcastAck) answer(id string, args []any, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expected--
	if err == nil {
		b.responses = append(b.responses, AckResponse{SocketID: id, Args: args})
	}
	b.checkLocked()
}

func (b *broadcastAck) checkLocked() {
	if b.sealed && b.expected <= 0 && !b.closed {
		b.closed = true
		close(b.done)
	}
}

// EmitWithAck broadcasts event with one ack id from the namespace counter
// (the same id for every recipient, as in Node) and waits until every
// selected socket on this node has answered, or ctx ends. It returns the
// responses received; when ctx ended first the error wraps ErrAckTimeout and
// ctx.Err() (Node's "operation has timed out", NODE-ACK-04). A recipient that
// disconnects before answering is not waited for. Do not call it from an
// event handler of a recipient's session.
func (b *BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]AckResponse, error) {
	if socketio.IsReservedEvent(event) {
		return nil, fmt.Errorf("emit %q: %w", event, ErrReservedEvent)
	}
	n := b.nsp
	p, err := socketio.NewEvent(n.name, event, args...)
	if err != nil {
		return nil, fmt.Errorf("emit %q: %w", event, err)
	}
	ack := &broadcastAck{id: n.ackIDs.Add(1) - 1, done: make(chan struct{})}
	p = p.WithID(ack.id)
	fr, err := frames(n.enc, p)
	if err != nil {
		return nil, fmt.Errorf("emit %q: %w", event, err)
	}
	out := &Outgoing{Packet: p, Frames: fr, ack: ack}
	err = n.adapter.Broadcast(out, BroadcastOptions{
		Rooms: b.rooms, Except: b.except, Volatile: b.volatile, Local: true,
	})
	ack.mu.Lock()
	ack.sealed = true
	ack.checkLocked()
	ack.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("emit %q: %w", event, err)
	}
	select {
	case <-ack.done:
	case <-ctx.Done():
		// Late answers are ignored: drop the registrations.
		for _, s := range n.sockets.all() {
			s.mu.Lock()
			if pa := s.acks[ack.id]; pa != nil {
				delete(s.acks, ack.id)
			}
			s.mu.Unlock()
		}
		ack.mu.Lock()
		res := append([]AckResponse(nil), ack.responses...)
		ack.mu.Unlock()
		return res, fmt.Errorf("emit %q: %w (%w)", event, ErrAckTimeout, ctx.Err())
	}
	ack.mu.Lock()
	defer ack.mu.Unlock()
	return append([]AckResponse(nil), ack.responses...), nil
}

// EmitWithAck broadcasts event to every socket of the namespace and
// collects their acknowledgements (see [BroadcastOperator.EmitWithAck]).
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) ([]AckResponse, error) {
	return (&BroadcastOperator{nsp: n}).EmitWithAck(ctx, event, args...)
}
