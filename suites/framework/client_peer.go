package framework

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// Peer is the harness's end of one client session, the same for every
// suite: on the Engine.IO suites it speaks messages and the contract's
// "siospec:" commands; on the Socket.IO suites it speaks events on the
// main namespace and the "siospec" command event. Engine.IO-level specs
// written against a Peer run unchanged in all four suites, so a Socket.IO
// client is judged on its engine too.
type Peer struct {
	E  *ClientEnv
	SS *scripted.Session
	// SIO is the Socket.IO layer (nil on the Engine.IO suites).
	SIO *scripted.SIO
	tag atomic.Int64
}

// Open waits for the client's session and, on the Socket.IO suites,
// connects its main namespace.
func (e *ClientEnv) Open(ctx context.Context) *Peer {
	g.GinkgoHelper()
	if e.Proto.IsSocketIO() {
		c, ss := e.Connect(ctx)
		return &Peer{E: e, SS: ss, SIO: c}
	}
	return &Peer{E: e, SS: e.Session(ctx, 0)}
}

// PeerEvent is the event name Peer uses for data on the Socket.IO suites.
const PeerEvent = "siospec-data"

// Command sends a contract command and waits (within Reply plus a second
// for the testee) until the testee carried it out: on the Socket.IO suites
// its ack, on the Engine.IO suites its "done" report. It returns an error
// when the testee did not confirm it.
func (p *Peer) Command(ctx context.Context, cmd map[string]any) error {
	tag := "c" + strconv.FormatInt(p.tag.Add(1), 10)
	c := make(map[string]any, len(cmd)+1)
	for k, v := range cmd {
		c[k] = v
	}
	c["tag"] = tag
	within := p.E.Timing.Reply("command").Max + p.E.Cfg.scaled(time.Second)
	p.E.Rec.Note(fmt.Sprintf("command %v", c))
	if p.SIO != nil {
		cctx, cancel := context.WithTimeout(ctx, within)
		defer cancel()
		nsp := "/"
		if n, ok := c["via"].(string); ok {
			nsp = n
			delete(c, "via")
		}
		return p.SIO.Command(cctx, nsp, c)
	}
	if err := scripted.EIOCommand(p.SS, c); err != nil {
		return err
	}
	if _, ok := p.E.Await(ctx, "done", func(r testee.Report) bool { return r.Str("tag") == tag }, within); !ok {
		return fmt.Errorf("the testee did not confirm command %v within %v", cmd["cmd"], within.Round(time.Millisecond))
	}
	return nil
}

// MustCommand is Command that fails the spec as a harness-side problem of
// the testee (it did not obey the contract).
func (p *Peer) MustCommand(ctx context.Context, cmd map[string]any) {
	g.GinkgoHelper()
	if err := p.Command(ctx, cmd); err != nil {
		p.E.checkExited(fmt.Sprintf("command %v", cmd["cmd"]))
		g.Fail(fmt.Sprintf("the client under test did not carry out the contract command %v: %v", cmd, err))
	}
}

// ClientSends makes the client send data count times at once: a message
// (Engine.IO) or an event PeerEvent with data as its argument (Socket.IO,
// main namespace).
func (p *Peer) ClientSends(ctx context.Context, data string, count int) {
	g.GinkgoHelper()
	if p.SIO != nil {
		for range count {
			p.MustCommand(ctx, map[string]any{"cmd": "emit", "nsp": "/", "event": PeerEvent, "args": []any{data}})
		}
		return
	}
	p.MustCommand(ctx, map[string]any{"cmd": "send", "data": data, "count": count})
}

// ToClient sends data to the client: a message (Engine.IO) or an event
// PeerEvent (Socket.IO, main namespace).
func (p *Peer) ToClient(data string) error {
	if p.SIO != nil {
		pkt, err := socketio.NewEvent("/", PeerEvent, data)
		if err != nil {
			return err
		}
		return p.SIO.Send(pkt)
	}
	return p.SS.Send(engineio.Packet{Type: engineio.Message, Data: []byte(data)})
}

// Data returns the data of a packet the client sent when it is Peer data
// (an Engine.IO message, or a PeerEvent on the main namespace).
func (p *Peer) Data(r scripted.Received) (string, bool) {
	if r.Packet.Type != engineio.Message || r.Packet.Binary {
		return "", false
	}
	if p.SIO == nil {
		return string(r.Packet.Data), true
	}
	pkt, err := socketio.Decoder{Version: p.E.SIOVersion()}.Decode(r.Packet.Data)
	if err != nil || pkt.Type != socketio.Event {
		return "", false
	}
	if name, err := pkt.EventName(); err != nil || name != PeerEvent {
		return "", false
	}
	args, err := pkt.Args()
	if err != nil || len(args) == 0 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

// Reported reports whether the testee surfaced data from the server
// (a message or a PeerEvent), waiting at most within.
func (p *Peer) Reported(ctx context.Context, data string, within time.Duration) bool {
	if p.SIO == nil {
		_, ok := p.E.Await(ctx, "message", func(r testee.Report) bool { return r.Str("data") == data }, within)
		return ok
	}
	_, ok := p.E.Await(ctx, "event", func(r testee.Report) bool {
		if r.Str("event") != PeerEvent {
			return false
		}
		var args []any
		return r.Decode("args", &args) == nil && len(args) > 0 && args[0] == data
	}, within)
	return ok
}

// Next returns the next Peer data the client sent (an Engine.IO message,
// or a PeerEvent on the main namespace) and when it arrived, skipping
// other packets. On the Socket.IO suites it reads through the SIO layer,
// which also holds what arrived while a Command waited for its ack; specs
// that read Peer data use Next, never Session.Recv, there.
func (p *Peer) Next(ctx context.Context) (string, time.Time, error) {
	for {
		if p.SIO == nil {
			r, err := p.SS.Recv(ctx)
			if err != nil {
				return "", time.Time{}, err
			}
			if d, ok := p.Data(r); ok {
				return d, r.At, nil
			}
			continue
		}
		r, err := p.SIO.Recv(ctx)
		if err != nil {
			var de *socketio.DecodeError
			if errors.As(err, &de) {
				continue
			}
			return "", time.Time{}, err
		}
		if r.Packet.Type != socketio.Event || r.Packet.Nsp != "/" && r.Packet.Nsp != "" {
			continue
		}
		if name, err := r.Packet.EventName(); err != nil || name != PeerEvent {
			continue
		}
		args, err := r.Packet.Args()
		if err != nil || len(args) == 0 {
			continue
		}
		if s, ok := args[0].(string); ok {
			return s, r.At, nil
		}
	}
}
