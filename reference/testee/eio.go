package testee

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
)

// commandPrefix starts an Engine.IO command message.
const commandPrefix = "siospec:"

// eioOptions maps the contract's options to eioclient's, reporting those it
// cannot honour.
func (r *run) eioOptions() *eioclient.Options {
	o := &eioclient.Options{
		Transports:     r.cfg.transports,
		HTTPClient:     r.net.httpClient(r.cfg.RequestTimeout),
		RequestTimeout: r.cfg.RequestTimeout,
		Logger:         r.log,
	}
	if r.cfg.Suite == SuiteEIO3 {
		o.Version = engineio.V3
	}
	for _, m := range r.cfg.opts {
		switch m.Key {
		case "upgrade":
			b, ok := m.Value.(bool)
			if !ok {
				r.optionUnsupported(m.Key, "not a boolean")
				continue
			}
			o.DisableUpgrade = !b
		case "query":
			q, ok := queryValues(m.Value)
			if !ok {
				r.optionUnsupported(m.Key, "not an object")
				continue
			}
			o.Query = q
		case "rememberUpgrade":
			r.optionUnsupported(m.Key, "eioclient does not remember upgrades")
		default:
			r.optionUnsupported(m.Key, "not an Engine.IO client option")
		}
	}
	return o
}

// runEIO connects the Engine.IO client and serves the case on goroutines of
// the run, which close the client when the run's ctx ends; it returns the
// function that closes the client (nothing left to do for Engine.IO).
func (r *run) runEIO() func() {
	o := r.eioOptions()
	r.goFn(func() {
		c, err := eioclient.Dial(r.ctx, r.cfg.URL, o)
		if err != nil {
			// Node's client reports the error, then the close.
			r.out.report("error", "message", err.Error())
			r.out.report("close", "reason", eioclient.ReasonTransportError, "description", err.Error())
			return
		}
		defer c.Close()
		r.out.report("open", "sid", c.ID(), "transport", c.Transport())
		r.goFn(func() { r.eioEvents(c) })
		r.eioRecv(c)
	})
	return func() {}
}

// eioEvents reports the session's upgrade, failed upgrade and close.
func (r *run) eioEvents(c *eioclient.Conn) {
	for ev := range c.Events() {
		switch ev.Type {
		case eioclient.EventUpgrade:
			r.out.report("upgrade", "transport", ev.Transport)
		case eioclient.EventUpgradeError:
			r.out.report("upgrade_error", "message", errString(ev.Err))
		case eioclient.EventClose:
			desc := ""
			var ce *eioclient.CloseError
			if errors.As(ev.Err, &ce) && ce.Err != nil {
				desc = ce.Err.Error()
			}
			r.out.report("close", "reason", ev.Reason, "description", desc)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// eioRecv echoes and reports messages and carries out commands, in order.
func (r *run) eioRecv(c *eioclient.Conn) {
	for {
		p, err := c.Recv(r.ctx)
		if err != nil {
			return // the close is reported by eioEvents
		}
		if !p.Binary && bytes.HasPrefix(p.Data, []byte(commandPrefix)) {
			r.eioCommand(c, p.Data[len(commandPrefix):])
			continue
		}
		var data any = string(p.Data)
		if p.Binary {
			data = p.Data
		}
		r.out.report("message", "data", data)
		if err := c.Send(r.ctx, p); err != nil {
			r.out.report("error", "message", "echo: "+err.Error())
		}
	}
}

func (r *run) eioCommand(c *eioclient.Conn, raw []byte) {
	v, err := socketio.ParseJSON(raw)
	if err == nil {
		v, err = fromReport(v)
	}
	var cmd command
	if err == nil {
		cmd, err = parseCommand(v)
	}
	if err != nil {
		r.out.report("error", "message", fmt.Sprintf("bad command %q: %v", raw, err))
		return
	}
	switch cmd.cmd {
	case "send":
		r.eioSend(c, cmd)
	case "close":
		if err := c.Close(); err != nil {
			r.out.report("error", "message", "close: "+err.Error())
		}
		r.done(cmd)
	case "exit":
		r.done(cmd)
		r.requestExit(cmd.exitCode())
	case "emit", "connect", "disconnect":
		r.unsupported(cmd, "a Socket.IO command; this is an Engine.IO suite")
	default:
		r.unsupported(cmd, "unknown command "+cmd.cmd)
	}
}

func (r *run) eioSend(c *eioclient.Conn, cmd command) {
	v, _ := cmd.obj.Get("data")
	var p engineio.Packet
	switch d := v.(type) {
	case string:
		p = engineio.TextPacket(engineio.Message, d)
	case []byte:
		p = engineio.BinaryMessage(d)
	default:
		r.unsupported(cmd, "data must be a string or {\"_bin\":...}")
		return
	}
	n := 1
	if f, ok := cmd.num("count"); ok {
		if f < 0 || f > 1e6 || f != float64(int(f)) {
			r.unsupported(cmd, "count must be an integer from 0 to 1000000")
			return
		}
		n = int(f)
	}
	pkts := make([]engineio.Packet, n)
	for i := range pkts {
		pkts[i] = p
	}
	if err := c.Send(context.WithoutCancel(r.ctx), pkts...); err != nil {
		if errors.Is(err, eioclient.ErrBadPacket) {
			r.unsupported(cmd, err.Error())
			return
		}
		r.out.report("error", "message", "send: "+err.Error())
	}
	r.done(cmd)
}
