package scripted

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// SIO is the Socket.IO layer over one Session: it decodes every message
// packet into a Socket.IO packet (binary attachments reassembled) and
// encodes packets to send (attachments as binary messages).
type SIO struct {
	ss      *Session
	version socketio.Version
	enc     socketio.Encoder

	// recv is a one-slot semaphore held by the goroutine reading the
	// session; it guards re.
	recv chan struct{}
	re   socketio.Reassembler

	mu      sync.Mutex
	backlog []SIOReceived
	nextID  uint64
}

// SIOReceived is one Socket.IO packet from the client.
type SIOReceived struct {
	Packet socketio.Packet
	At     time.Time
	// Raw is the Engine.IO message that completed the packet (the last
	// attachment of a binary packet), or the one that failed to decode.
	Raw Received
}

// NewSIO wraps ss; version is socketio.V5 or socketio.V4.
func NewSIO(ss *Session, version socketio.Version) *SIO {
	if version == 0 {
		version = socketio.V5
	}
	c := &SIO{
		ss:      ss,
		version: version,
		enc:     socketio.Encoder{Version: version, AllowIllegal: true},
		recv:    make(chan struct{}, 1),
		nextID:  1,
	}
	c.re.Decoder = socketio.Decoder{Version: version}
	return c
}

// Session returns the Engine.IO session.
func (c *SIO) Session() *Session { return c.ss }

// Recv returns the next Socket.IO packet from the client. Non-message
// Engine.IO packets (pings, pongs, upgrade, noop) are skipped; a message
// that does not decode is returned as a *socketio.DecodeError (the raw
// message is in the Raw field of the SIOReceived returned with it).
func (c *SIO) Recv(ctx context.Context) (SIOReceived, error) {
	c.mu.Lock()
	if len(c.backlog) > 0 {
		r := c.backlog[0]
		c.backlog = c.backlog[1:]
		c.mu.Unlock()
		return r, nil
	}
	c.mu.Unlock()
	return c.recvWire(ctx)
}

// recvWire reads the session until a packet completes.
func (c *SIO) recvWire(ctx context.Context) (SIOReceived, error) {
	select {
	case c.recv <- struct{}{}:
	case <-ctx.Done():
		return SIOReceived{}, fmt.Errorf("scripted: sio recv: %w", ctx.Err())
	}
	defer func() { <-c.recv }()
	for {
		r, err := c.ss.Recv(ctx)
		if err != nil {
			return SIOReceived{}, err
		}
		if r.Packet.Type != engineio.Message {
			continue
		}
		var (
			p    socketio.Packet
			done bool
		)
		if r.Packet.Binary {
			p, done, err = c.re.AddBinary(r.Packet.Data)
		} else {
			p, done, err = c.re.AddText(r.Packet.Data)
		}
		if err != nil {
			return SIOReceived{Raw: r, At: r.At}, err
		}
		if done {
			return SIOReceived{Packet: p, At: r.At, Raw: r}, nil
		}
	}
}

// Send encodes p (placeholders and attachments for a binary packet) and
// sends it, the attachments as binary messages right after the header, in
// one Send so that on polling they share one response. The encoder allows
// illegal packets (Packet.Raw is honoured).
func (c *SIO) Send(p socketio.Packet) error {
	text, atts, err := c.enc.Encode(p)
	if err != nil {
		return fmt.Errorf("scripted: encode %v: %w", p, err)
	}
	pkts := make([]engineio.Packet, 0, 1+len(atts))
	pkts = append(pkts, engineio.Packet{Type: engineio.Message, Data: text})
	for _, a := range atts {
		pkts = append(pkts, engineio.BinaryMessage(a))
	}
	return c.ss.Send(pkts...)
}

// Accept waits for the client's CONNECT to nsp (packets before it are
// returned in skipped) and answers it with {"sid":...} (v5) or the v4
// form (40 / 40/nsp). It returns the CONNECT packet.
//
// In v4 the server joins the client to "/" on its own: Accept(ctx, "/")
// sends 40 at once and returns a zero packet without waiting (a v2
// client never sends 40 for "/").
func (c *SIO) Accept(ctx context.Context, nsp string) (connect socketio.Packet, skipped []SIOReceived, err error) {
	if nsp == "" {
		nsp = "/"
	}
	if c.version == socketio.V4 && nsp == "/" {
		return socketio.Packet{}, nil, c.Send(socketio.Packet{Type: socketio.Connect, Nsp: "/"})
	}
	for {
		r, err := c.Recv(ctx)
		if err != nil {
			return socketio.Packet{}, skipped, err
		}
		if r.Packet.Type != socketio.Connect || r.Packet.Namespace() != nsp {
			skipped = append(skipped, r)
			continue
		}
		var reply socketio.Packet
		if c.version == socketio.V4 {
			reply = socketio.Packet{Type: socketio.Connect, Nsp: nsp}
		} else {
			reply, err = socketio.NewPacket(socketio.Connect, nsp, socketio.Object{{Key: "sid", Value: newSID()}})
			if err != nil {
				return r.Packet, skipped, err
			}
		}
		return r.Packet, skipped, c.Send(reply)
	}
}

// Command sends the contract's command event ("siospec", cmd) on nsp with
// an ack id and waits for its ack; packets that arrive meanwhile are kept
// and returned by later Recv calls in order. An ack other than
// {"ok":true} is a *CommandError.
func (c *SIO) Command(ctx context.Context, nsp string, cmd map[string]any) error {
	if nsp == "" {
		nsp = "/"
	}
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.mu.Unlock()
	p, err := socketio.NewEvent(nsp, "siospec", cmd)
	if err != nil {
		return fmt.Errorf("scripted: command: %w", err)
	}
	if err := c.Send(p.WithID(id)); err != nil {
		return err
	}
	for {
		r, err := c.recvWire(ctx)
		if err != nil {
			if r.Raw.At.IsZero() {
				return fmt.Errorf("scripted: wait for the ack of %v: %w", cmd["cmd"], err)
			}
			// An undecodable packet is the spec's business: keep it.
			c.mu.Lock()
			c.backlog = append(c.backlog, r)
			c.mu.Unlock()
			continue
		}
		q := r.Packet
		if (q.Type == socketio.Ack || q.Type == socketio.BinaryAck) && q.HasID && q.ID == id && q.Namespace() == nsp {
			return checkAck(cmd, q)
		}
		c.mu.Lock()
		c.backlog = append(c.backlog, r)
		c.mu.Unlock()
	}
}

func checkAck(cmd map[string]any, q socketio.Packet) error {
	var args []struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(q.Data, &args); err != nil || len(args) == 0 {
		return &CommandError{Cmd: cmd, Message: "ack is not [{\"ok\":...}]", Ack: bytes.Clone(q.Data)}
	}
	if !args[0].OK {
		return &CommandError{Cmd: cmd, Message: args[0].Message, Ack: bytes.Clone(q.Data)}
	}
	return nil
}

// EIOCommand sends the contract's Engine.IO command (a message
// "siospec:"+JSON) on ss.
func EIOCommand(ss *Session, cmd map[string]any) error {
	b, err := json.Marshal(cmd)
	if err != nil {
		return fmt.Errorf("scripted: command: %w", err)
	}
	return ss.Send(engineio.Packet{Type: engineio.Message, Data: append([]byte("siospec:"), b...)})
}
