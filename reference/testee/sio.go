package testee

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
	"github.com/siospec/siospec/reference/sioclient"
)

// commandEvent is the Socket.IO command event.
const commandEvent = "siospec"

// sioRun is the Socket.IO side of a run.
type sioRun struct {
	*run
	m        *sioclient.Manager
	sockOpts sioclient.SocketOptions // ackTimeout, retries
	rootAuth any
	cmds     chan sioCommand

	mu      sync.Mutex
	sockets map[string]*sioclient.Socket
	closed  bool // the close command ran
}

type sioCommand struct {
	cmd command
	nsp string
	ack sioclient.AckFunc
}

// sioOptions maps the contract's options, reporting those it cannot honour;
// it returns the namespaces to connect at start.
func (r *sioRun) sioOptions() (*sioclient.ManagerOptions, []string) {
	eo := &eioclient.Options{
		Transports:     r.cfg.transports,
		HTTPClient:     r.net.httpClient(r.cfg.RequestTimeout),
		RequestTimeout: r.cfg.RequestTimeout,
		Logger:         r.log,
	}
	mo := &sioclient.ManagerOptions{
		Engine: eo,
		Rand:   rand.New(rand.NewPCG(uint64(r.cfg.Seed), 0x5105bec)),
		Logger: r.log,
	}
	if r.cfg.Suite == SuiteSIO4 {
		mo.Version = socketio.V4
	}
	if p := r.cfg.url.Path; p != "" && p != "/" {
		mo.Path = p
	}
	nsps := []string{"/"}
	for _, m := range r.cfg.opts {
		bad := func(why string) { r.optionUnsupported(m.Key, why) }
		switch m.Key {
		case "reconnection":
			b, ok := m.Value.(bool)
			if !ok {
				bad("not a boolean")
				continue
			}
			mo.NoReconnection = !b
		case "reconnectionAttempts":
			f, ok := m.Value.(float64)
			if !ok || f < 0 || f != math.Trunc(f) {
				bad("not a whole number")
				continue
			}
			if f > 0 && f < math.MaxInt32 {
				mo.ReconnectionAttempts = int(f)
			}
			if f == 0 {
				// Node gives up before the first attempt.
				bad("0 attempts: sioclient reads 0 as unlimited")
			}
		case "reconnectionDelay", "reconnectionDelayMax", "timeout", "ackTimeout":
			d, ok := millis(m.Value)
			if !ok || d <= 0 {
				bad("not a positive number of milliseconds")
				continue
			}
			switch m.Key {
			case "reconnectionDelay":
				mo.ReconnectionDelay = d
			case "reconnectionDelayMax":
				mo.ReconnectionDelayMax = d
			case "timeout":
				mo.Timeout = d
			case "ackTimeout":
				r.sockOpts.AckTimeout = d
			}
		case "randomizationFactor":
			f, ok := m.Value.(float64)
			if !ok || f < 0 || f > 1 {
				bad("not a number from 0 to 1")
				continue
			}
			mo.RandomizationFactor = f
			if f == 0 {
				mo.RandomizationFactor = -1 // sioclient: negative turns the jitter off
			}
		case "retries":
			f, ok := m.Value.(float64)
			if !ok || f < 0 || f != math.Trunc(f) || f > math.MaxInt32 {
				bad("not a whole number")
				continue
			}
			r.sockOpts.Retries = int(f)
		case "auth":
			if _, ok := m.Value.(socketio.Object); !ok {
				bad("not an object")
				continue
			}
			r.rootAuth = m.Value
		case "upgrade":
			b, ok := m.Value.(bool)
			if !ok {
				bad("not a boolean")
				continue
			}
			eo.DisableUpgrade = !b
		case "query":
			q, ok := queryValues(m.Value)
			if !ok {
				bad("not an object")
				continue
			}
			eo.Query = q
		case "namespaces":
			arr, ok := m.Value.([]any)
			if !ok {
				bad("not an array of namespaces")
				continue
			}
			var list []string
			for _, v := range arr {
				s, ok := v.(string)
				if !ok || !strings.HasPrefix(s, "/") {
					list = nil
					break
				}
				list = append(list, s)
			}
			if list == nil && len(arr) > 0 {
				bad("not an array of namespaces")
				continue
			}
			nsps = list
		case "rememberUpgrade":
			bad("eioclient does not remember upgrades")
		default:
			bad("unknown option")
		}
	}
	return mo, nsps
}

// runSIO starts the Manager and the initial namespaces; it returns the
// function that closes the Manager.
func (r *run) runSIO() func() {
	s := &sioRun{run: r, cmds: make(chan sioCommand, 1024), sockets: map[string]*sioclient.Socket{}}
	mo, nsps := s.sioOptions()
	m, err := sioclient.NewManager(r.cfg.URL, mo)
	if err != nil {
		r.out.report("error", "message", err.Error())
		return func() {}
	}
	s.m = m
	m.OnOpen(func() {
		if c := m.Engine(); c != nil {
			r.out.report("open", "sid", c.ID(), "transport", c.Transport())
			r.goFn(func() { s.engineEvents(c) })
		}
	})
	// A session that ended by a ping timeout may leave dead keep-alive
	// connections in the transport's pool (a half-open network): the
	// reconnection must not reuse them, so every end of a session drops
	// the idle ones (net suite, NET-HO-02).
	m.OnClose(func(string, error) { r.net.closeIdle() })
	m.OnReconnectAttempt(func(n int, _ time.Duration) { r.out.report("reconnect_attempt", "attempt", n) })
	m.OnReconnect(func(n int) { r.out.report("reconnect", "attempt", n) })
	m.OnReconnectError(func(err error) { r.out.report("reconnect_error", "message", errString(err)) })
	m.OnReconnectFailed(func() { r.out.report("reconnect_failed") })
	r.goFn(s.worker)
	for _, nsp := range nsps {
		var auth any
		if nsp == "/" {
			auth = s.rootAuth
		}
		s.connect(nsp, auth)
	}
	return func() { _ = m.Close() }
}

// engineEvents reports the upgrade of one Engine.IO session.
func (s *sioRun) engineEvents(c *eioclient.Conn) {
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				return
			}
			switch ev.Type {
			case eioclient.EventUpgrade:
				s.out.report("upgrade", "transport", ev.Transport)
			case eioclient.EventUpgradeError:
				s.out.report("upgrade_error", "message", errString(ev.Err))
			}
		case <-s.ctx.Done():
			return
		}
	}
}

// socket returns the socket of nsp, creating it (with its handlers) on
// first use.
func (s *sioRun) socket(nsp string, auth any) *sioclient.Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if so, ok := s.sockets[nsp]; ok {
		return so
	}
	o := s.sockOpts
	o.Auth = auth
	so := s.m.Socket(nsp, &o)
	so.OnConnect(func() {
		s.out.report("connect", "nsp", nsp, "id", so.ID(), "recovered", so.Recovered())
	})
	so.OnConnectError(func(err error) {
		var ce *sioclient.ConnectError
		if errors.As(err, &ce) {
			var data any
			if len(ce.Data) > 0 {
				if v, err := socketio.ParseJSON(ce.Data); err == nil {
					data = v
				}
			}
			s.out.report("connect_error", "nsp", nsp, "message", ce.Message, "data", data)
			return
		}
		s.out.report("connect_error", "nsp", nsp, "message", errString(err), "data", nil)
	})
	so.OnDisconnect(func(reason string, err error) {
		if err != nil {
			// What the transport said (e.g. "xhr poll error: HTTP 400"),
			// as Node's testee reports the close's description.
			s.out.report("disconnect", "nsp", nsp, "reason", reason, "description", errString(err))
			return
		}
		s.out.report("disconnect", "nsp", nsp, "reason", reason)
	})
	so.OnAny(func(event string, msg sioclient.Message, ack sioclient.AckFunc) {
		s.onEvent(nsp, event, msg, ack)
	})
	s.sockets[nsp] = so
	return so
}

func (s *sioRun) lookup(nsp string) *sioclient.Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sockets[nsp]
}

// connect opens nsp on a goroutine of the run (Connect blocks until the
// outcome, which the handlers report).
func (s *sioRun) connect(nsp string, auth any) {
	so := s.socket(nsp, auth)
	s.goFn(func() {
		if err := so.Connect(s.ctx); err != nil {
			s.log.Debug("testee: connect ended", "nsp", nsp, "err", err)
		}
	})
}

// onEvent runs on sioclient's handler goroutine: commands go to the worker,
// other events are reported and, when asked, acked with their arguments.
func (s *sioRun) onEvent(nsp, event string, msg sioclient.Message, ack sioclient.AckFunc) {
	args, err := msg.Values()
	if err != nil {
		s.out.report("error", "message", "event "+event+": "+err.Error())
		return
	}
	if event == commandEvent {
		var v any
		if len(args) > 0 {
			v, err = fromReport(args[0])
		}
		var c command
		if err == nil {
			c, err = parseCommand(v)
		}
		if err != nil {
			s.out.report("error", "message", "bad command: "+err.Error())
			if ack != nil {
				_ = ack(socketio.Object{{Key: "ok", Value: false}, {Key: "message", Value: err.Error()}})
			}
			return
		}
		select {
		case s.cmds <- sioCommand{cmd: c, nsp: nsp, ack: ack}:
		default:
			s.out.report("error", "message", "command queue full; command "+c.cmd+" dropped")
		}
		return
	}
	if event == netEvent {
		s.netReceived(nsp, args, ack)
		return
	}
	if args == nil {
		args = []any{}
	}
	s.out.report("event", "nsp", nsp, "event", event, "args", args, "ack", ack != nil)
	if ack != nil {
		if err := ack(args...); err != nil {
			s.out.report("error", "message", "ack of "+event+": "+err.Error())
		}
	}
}

// worker carries out the commands in order.
func (s *sioRun) worker() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case c := <-s.cmds:
			s.carryOut(c)
		}
	}
}

func ackOK(ack sioclient.AckFunc) {
	if ack != nil {
		_ = ack(socketio.Object{{Key: "ok", Value: true}})
	}
}

func ackFail(ack sioclient.AckFunc, msg string) {
	if ack != nil {
		_ = ack(socketio.Object{{Key: "ok", Value: false}, {Key: "message", Value: msg}})
	}
}

func (s *sioRun) carryOut(sc sioCommand) {
	c := sc.cmd
	nsp, ok := c.str("nsp")
	if !ok || nsp == "" {
		nsp = "/"
	}
	fail := func(ev, msg string) {
		if ev == "unsupported" {
			s.unsupported(c, msg)
		} else {
			s.out.report("error", "message", msg)
		}
		ackFail(sc.ack, msg)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed && c.cmd != "exit" {
		fail("error", "the Manager is closed")
		return
	}
	switch c.cmd {
	case "emit":
		s.emit(sc, nsp, fail)
	case "connect":
		var auth any
		if v, ok := c.obj.Get("auth"); ok {
			if _, isObj := v.(socketio.Object); !isObj {
				fail("error", "auth must be an object")
				return
			}
			auth = v
		}
		if so := s.lookup(nsp); so != nil && auth != nil {
			// sioclient fixes a socket's auth when it is created.
			s.log.Debug("testee: auth of an existing socket kept", "nsp", nsp)
		}
		s.connect(nsp, auth)
		s.done(c)
		ackOK(sc.ack)
	case "disconnect":
		so := s.lookup(nsp)
		if so == nil {
			fail("error", "no socket for namespace "+nsp)
			return
		}
		// The ack goes first: disconnecting the only namespace closes
		// the Manager, after which no ack can travel.
		ackOK(sc.ack)
		so.Disconnect()
		s.done(c)
	case "close":
		// No ack can travel after the close: send it first.
		ackOK(sc.ack)
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		_ = s.m.Close()
		s.done(c)
	case "exit":
		s.done(c)
		ackOK(sc.ack)
		s.requestExit(c.exitCode())
	case "stream":
		s.stream(sc, nsp, fail)
	case "send", "":
		fail("unsupported", "an Engine.IO command; this is a Socket.IO suite")
	default:
		fail("unsupported", "unknown command "+c.cmd)
	}
}

func (s *sioRun) emit(sc sioCommand, nsp string, fail func(ev, msg string)) {
	c := sc.cmd
	so := s.lookup(nsp)
	if so == nil {
		fail("error", "no socket for namespace "+nsp)
		return
	}
	event, ok := c.str("event")
	if !ok {
		fail("error", "emit needs an event name")
		return
	}
	var args []any
	if v, ok := c.obj.Get("args"); ok {
		if args, ok = v.([]any); !ok {
			fail("error", "args must be an array")
			return
		}
	}
	var e sioclient.Emitter
	flags := false
	if c.boolean("volatile") {
		e, flags = so.Volatile(), true
	}
	if v, ok := c.obj.Get("timeout"); ok {
		d, ok := millis(v)
		if !ok {
			fail("error", "timeout must be a number of milliseconds")
			return
		}
		if flags {
			e = e.Timeout(d)
		} else {
			e, flags = so.Timeout(d), true
		}
	}
	if !c.boolean("ack") {
		var err error
		if flags {
			err = e.Emit(s.ctx, event, args...)
		} else {
			err = so.Emit(s.ctx, event, args...)
		}
		if err != nil {
			fail("error", "emit: "+err.Error())
			return
		}
		s.done(c)
		ackOK(sc.ack)
		return
	}
	var wait func() (sioclient.Message, error)
	var err error
	if flags {
		wait, err = e.EmitWithAckAsync(s.ctx, event, args...)
	} else {
		wait, err = so.EmitWithAckAsync(s.ctx, event, args...)
	}
	if err != nil {
		s.out.report("ack_error", "nsp", nsp, "tag", c.tag, "message", err.Error())
		s.done(c)
		ackOK(sc.ack)
		return
	}
	s.goFn(func() {
		msg, err := wait()
		if err != nil {
			if s.ctx.Err() == nil {
				s.out.report("ack_error", "nsp", nsp, "tag", c.tag, "message", err.Error())
			}
			return
		}
		vals, err := msg.Values()
		if err != nil {
			s.out.report("ack_error", "nsp", nsp, "tag", c.tag, "message", "undecodable ack: "+err.Error())
			return
		}
		if vals == nil {
			vals = []any{}
		}
		s.out.report("ack", "nsp", nsp, "tag", c.tag, "args", vals)
	})
	s.done(c)
	ackOK(sc.ack)
}
