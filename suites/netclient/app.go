package netclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/netload"
	"github.com/siospec/siospec/suites/scripted"
)

// Notes receives the application's decisions for the transcript
// (*framework.Recorder implements it).
type Notes interface{ Note(summary string) }

// AppOptions configure an App. Nil means defaults.
type AppOptions struct {
	// Recovery makes the application offer connection state recovery: a pid
	// in every CONNECT reply, an offset appended to every server-to-client
	// stream event without an ack request (a Node server replays
	// broadcasts, which cannot ask for one), and a session restored (same socket id, the missed
	// events replayed) when a CONNECT carries a known pid and offset.
	Recovery bool
	// Notes receives the application's decisions; nil drops them.
	Notes Notes
}

// App is the harness's Socket.IO application in the client role of the net
// suite, over one or more scripted servers: it accepts every session the
// client opens, answers the CONNECT of "/" (with recovery when asked),
// records the client's stream (net:seq up) into the Ledger and acks it
// with the seq, emits the server's stream (net:seq down) to the connected
// socket, and sends the contract's commands. Its goroutines end with Close.
type App struct {
	opts AppOptions

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	cur       *appConn // the socket connected last (nil before the first)
	conns     []*appConn
	sessions  []SessionInfo
	pids      map[string]*pidState
	connected chan struct{} // closed and replaced at every CONNECT answered
	nextSID   int
	cmdID     uint64
	cmdWait   map[uint64]chan socketio.Packet
	downW     netload.Workload
	led       *netload.Ledger
	upSeen    map[int]int // up seq -> receptions, since the last SetLedger
	badBinary int
}

// SessionInfo is one Engine.IO session the client opened.
type SessionInfo struct {
	Server int
	SID    string
	At     time.Time
	// Transport is the handshake's transport.
	Transport string
}

// ConnectInfo is one answered CONNECT of "/".
type ConnectInfo struct {
	ID        string // the socket id given
	Recovered bool
	Replayed  int
	At        time.Time
}

// pidState is what recovery keeps of one socket session.
type pidState struct {
	id  string
	buf []downEvent
}

// downEvent is one server-to-client stream event, kept for replay.
type downEvent struct {
	seq    int
	offset string
}

// appConn is one Socket.IO connection (one Engine.IO session).
type appConn struct {
	sio    *scripted.SIO
	server int
	id     string // socket id, once connected
	pid    string

	mu       sync.Mutex
	ackID    uint64
	downAcks map[uint64]int
}

// NewApp returns an application recording into led; Serve attaches it to
// servers.
func NewApp(led *netload.Ledger, opts *AppOptions) *App {
	var o AppOptions
	if opts != nil {
		o = *opts
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &App{led: led, upSeen: map[int]int{}, opts: o, ctx: ctx, cancel: cancel, pids: map[string]*pidState{},
		connected: make(chan struct{}), cmdWait: map[uint64]chan socketio.Packet{}}
}

// ledger returns the ledger the application records into.
func (a *App) ledger() *netload.Ledger {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.led
}

// SetLedger makes the application record into led from now on (a new
// trial) and forgets the up receptions seen so far.
func (a *App) SetLedger(led *netload.Ledger) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.led, a.upSeen = led, map[int]int{}
}

// UpReceived returns how often up seq arrived since the last SetLedger.
func (a *App) UpReceived(seq int) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.upSeen[seq]
}

// BadBinary returns how many up events carried an attachment that was not
// their seq.
func (a *App) BadBinary() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.badBinary
}

func (a *App) note(format string, args ...any) {
	if a.opts.Notes != nil {
		a.opts.Notes.Note("net app: " + fmt.Sprintf(format, args...))
	}
}

// Serve takes every session server i opens until Close.
func (a *App) Serve(i int, srv *scripted.Server) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			ss, err := srv.NextSession(a.ctx)
			if err != nil {
				if errors.Is(err, scripted.ErrServerClosed) || a.ctx.Err() != nil {
					return
				}
				// A stopped server (a crash) comes back with Restart.
				select {
				case <-a.ctx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
				continue
			}
			a.mu.Lock()
			a.sessions = append(a.sessions, SessionInfo{Server: i, SID: ss.ID(), At: time.Now(), Transport: ss.Transport()})
			a.mu.Unlock()
			a.ledger().Mark(netload.KindHandshake, fmt.Sprintf("server %d sid %s (%s)", i, ss.ID(), ss.Transport()))
			c := &appConn{sio: scripted.NewSIO(ss, socketio.V5), server: i, downAcks: map[uint64]int{}}
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.serveConn(c)
			}()
		}
	}()
}

// Close stops every goroutine of the application and waits for them.
func (a *App) Close() {
	a.cancel()
	a.wg.Wait()
}

// Sessions returns every Engine.IO session the client opened, in order.
func (a *App) Sessions() []SessionInfo {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]SessionInfo(nil), a.sessions...)
}

// Connected returns a channel closed at the next CONNECT the application
// answers, and how many it answered so far.
func (a *App) Connected() (<-chan struct{}, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.conns {
		if c.id != "" {
			n++
		}
	}
	return a.connected, n
}

// serveConn reads one connection until its session ends.
func (a *App) serveConn(c *appConn) {
	for {
		r, err := c.sio.Recv(a.ctx)
		if err != nil {
			var de *socketio.DecodeError
			if errors.As(err, &de) {
				a.note("undecodable packet from the client: %v", err)
				continue
			}
			if a.ctx.Err() == nil {
				a.note("session %s ended: %v", c.sio.Session().ID(), err)
			}
			return
		}
		p := r.Packet
		switch p.Type {
		case socketio.Connect:
			if p.Namespace() == "/" {
				a.accept(c, p)
			}
		case socketio.Event, socketio.BinaryEvent:
			a.event(c, p)
		case socketio.Ack, socketio.BinaryAck:
			a.ack(c, p)
		}
	}
}

// accept answers a CONNECT of "/": a restored session when recovery is on
// and the auth names a known pid and offset, else a new one.
func (a *App) accept(c *appConn, p socketio.Packet) {
	var auth struct {
		PID    string `json:"pid"`
		Offset string `json:"offset"`
	}
	if len(p.Data) > 0 {
		_ = json.Unmarshal(p.Data, &auth)
	}
	a.mu.Lock()
	var replay []downEvent
	recovered := false
	if st, ok := a.pids[auth.PID]; ok && a.opts.Recovery && auth.PID != "" {
		for i, ev := range st.buf {
			if ev.offset == auth.Offset {
				recovered = true
				replay = append([]downEvent(nil), st.buf[i+1:]...)
				break
			}
		}
		if recovered {
			c.id, c.pid = st.id, auth.PID
		}
	}
	if !recovered {
		a.nextSID++
		c.id = "net-sock-" + strconv.Itoa(a.nextSID)
		if a.opts.Recovery {
			c.pid = "net-pid-" + strconv.Itoa(a.nextSID)
			a.pids[c.pid] = &pidState{id: c.id}
		}
	}
	a.cur = c
	a.conns = append(a.conns, c)
	close(a.connected)
	a.connected = make(chan struct{})
	// The reply and the replay are queued under the lock, so that the
	// down stream cannot slip an event between them.
	defer a.mu.Unlock()
	obj := socketio.Object{{Key: "sid", Value: c.id}}
	if c.pid != "" {
		obj = append(obj, socketio.Member{Key: "pid", Value: c.pid})
	}
	reply, err := socketio.NewPacket(socketio.Connect, "/", obj)
	if err == nil {
		err = c.sio.Send(reply)
	}
	if err != nil {
		a.note("CONNECT reply: %v", err)
		return
	}
	if recovered {
		a.led.Mark(netload.KindRecovered, fmt.Sprintf("socket %s, %d events replayed", c.id, len(replay)))
		a.note("recovered socket %s (pid %s, offset %q): replaying %d events", c.id, c.pid, auth.Offset, len(replay))
		for _, ev := range replay {
			a.sendDownLocked(c, ev, false)
		}
		return
	}
	a.note("new socket %s (auth %s)", c.id, p.Data)
}

// event handles a client's event: the up stream (recorded, acked with
// the seq) and nothing else.
func (a *App) event(c *appConn, p socketio.Packet) {
	name, err := p.EventName()
	if err != nil || name != netload.EventSeq {
		return
	}
	args, err := p.Args()
	if err != nil || len(args) == 0 {
		a.note("undecodable %s: %v", netload.EventSeq, err)
		return
	}
	seq, ok := seqOf(args[0])
	if !ok {
		a.note("%s without a seq: %v", netload.EventSeq, args[0])
		return
	}
	if len(args) > 1 {
		if b, isBin := args[1].([]byte); isBin {
			if got, ok := netload.SeqFromBytes(b); !ok || got != seq {
				a.note("%s %d carries a binary attachment %x that is not its seq", netload.EventSeq, seq, b)
				a.mu.Lock()
				a.badBinary++
				a.mu.Unlock()
			}
		}
	}
	a.mu.Lock()
	a.upSeen[seq]++
	led := a.led
	a.mu.Unlock()
	led.Received(netload.Up, seq)
	if p.HasID {
		ack, err := socketio.NewAck("/", p.ID, seq)
		if err == nil {
			err = c.sio.Send(ack)
		}
		if err != nil {
			a.note("ack of up %d: %v", seq, err)
		}
	}
}

// ack handles a client's ack: of a down event or of a command.
func (a *App) ack(c *appConn, p socketio.Packet) {
	if !p.HasID {
		return
	}
	c.mu.Lock()
	seq, down := c.downAcks[p.ID]
	delete(c.downAcks, p.ID)
	c.mu.Unlock()
	if down {
		a.ledger().Acked(netload.Down, seq)
		return
	}
	a.mu.Lock()
	ch := a.cmdWait[p.ID]
	delete(a.cmdWait, p.ID)
	a.mu.Unlock()
	if ch != nil {
		ch <- p
	}
}

// seqOf reads the seq of a stream event's payload.
func seqOf(v any) (int, bool) {
	o, ok := v.(socketio.Object)
	if !ok {
		return 0, false
	}
	s, ok := o.Get("seq")
	if !ok {
		return 0, false
	}
	f, ok := s.(float64)
	if !ok || f < 0 || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

// Command sends a contract command on the connected socket and waits for
// its ack ({"ok":true}) until ctx ends.
func (a *App) Command(ctx context.Context, cmd map[string]any) error {
	a.mu.Lock()
	c := a.cur
	a.cmdID++
	// Command ids live apart from the down stream's ack ids: high bit set.
	id := a.cmdID | 1<<40
	ch := make(chan socketio.Packet, 1)
	a.cmdWait[id] = ch
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.cmdWait, id)
		a.mu.Unlock()
	}()
	if c == nil {
		return errors.New("no connected socket")
	}
	p, err := socketio.NewEvent("/", "siospec", cmd)
	if err != nil {
		return err
	}
	if err := c.sio.Send(p.WithID(id)); err != nil {
		return err
	}
	select {
	case q := <-ch:
		var res []struct {
			OK      bool   `json:"ok"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(q.Data, &res); err != nil || len(res) == 0 {
			return fmt.Errorf("the command's ack is not [{\"ok\":...}]: %s", q.Data)
		}
		if !res[0].OK {
			return &scripted.CommandError{Cmd: cmd, Message: res[0].Message, Ack: q.Data}
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no ack for command %v: %w", cmd["cmd"], ctx.Err())
	}
}

// StreamDown emits the server's stream in a goroutine: w.Count events
// net:seq {"seq": n, "dir": "down"}, one every w.Interval, to the socket
// connected at that moment (with recovery, also kept for replay; without,
// an event with no socket connected is not emitted, as socket.emit on a
// disconnected Node socket). The returned channel is closed after the
// last one.
func (a *App) StreamDown(w netload.Workload) <-chan struct{} {
	done := make(chan struct{})
	a.mu.Lock()
	a.downW = w
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(done)
		t := time.NewTimer(0)
		defer t.Stop()
		for seq := range w.Count {
			select {
			case <-a.ctx.Done():
				return
			case <-t.C:
			}
			a.emitDown(w, seq)
			t.Reset(w.Interval)
		}
	}()
	return done
}

func (a *App) emitDown(w netload.Workload, seq int) {
	a.mu.Lock()
	c := a.cur
	ev := downEvent{seq: seq}
	kept := false
	if c != nil && a.opts.Recovery && !w.WantsAck(seq) {
		if st := a.pids[c.pid]; st != nil {
			ev.offset = "off-" + strconv.Itoa(seq)
			st.buf = append(st.buf, ev)
			kept = true // kept for replay: it counts as emitted
		}
	}
	defer a.mu.Unlock()
	live := c != nil && !sessionEnded(c.sio.Session())
	if !live && !kept {
		return
	}
	withAck := w.WantsAck(seq) && live
	a.led.Sent(netload.Down, seq, withAck)
	if live {
		a.sendDownLocked(c, ev, withAck)
	}
}

// sendDownLocked queues one down event on c; a.mu is held.
func (a *App) sendDownLocked(c *appConn, ev downEvent, withAck bool) {
	args := []any{socketio.Object{{Key: "seq", Value: ev.seq}, {Key: "dir", Value: string(netload.Down)}}}
	if a.downW.IsBinary(ev.seq) {
		args = append(args, netload.SeqBytes(ev.seq))
	}
	if ev.offset != "" {
		args = append(args, ev.offset)
	}
	p, err := socketio.NewEvent("/", netload.EventSeq, args...)
	if err != nil {
		a.note("down %d: %v", ev.seq, err)
		return
	}
	if withAck {
		c.mu.Lock()
		c.ackID++
		id := c.ackID
		c.downAcks[id] = ev.seq
		c.mu.Unlock()
		p = p.WithID(id)
	}
	if err := c.sio.Send(p); err != nil {
		a.note("down %d: %v", ev.seq, err)
	}
}

func sessionEnded(ss *scripted.Session) bool {
	select {
	case <-ss.Done():
		return true
	default:
		return false
	}
}

// connectedNow reports whether the socket connected last still has a
// running Engine.IO session.
func (a *App) connectedNow() bool {
	a.mu.Lock()
	c := a.cur
	a.mu.Unlock()
	return c != nil && !sessionEnded(c.sio.Session())
}
