package net

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
	"github.com/siospec/siospec/reference/sioclient"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/netload"
)

// Transports of the reference client.
var (
	defaultTransports = []string{"polling", "websocket"}
	pollingOnly       = []string{"polling"}
	websocketOnly     = []string{"websocket"}
)

// specSeed derives a spec's seed from the run's root seed, the requirement
// and the trial, so that every spec's fault decisions are reproducible
// and independent of the others.
func specSeed(root int64, id string, trial int) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", root, id, trial)
	return int64(h.Sum64() & 0x7fffffffffffffff)
}

// harness is one spec's rig: the fault proxy in front of an upstream, the
// reference client through it, the workload's ledger.
type harness struct {
	e      *framework.Env
	tm     framework.Timing
	id     string
	seed   int64
	path   string
	eio    int
	proxy  *faultproxy.Proxy
	ledger *netload.Ledger
	w      netload.Workload
	run    string

	mgr  *sioclient.Manager
	sock *sioclient.Socket

	mu      sync.Mutex
	corrupt []string
	acks    sync.WaitGroup
}

// newHarness starts a proxy in front of upstream (host:port).
func newHarness(ctx context.Context, e *framework.Env, id string, trial int, upstream string) (*harness, error) {
	h := &harness{e: e, tm: e.Timing, id: id, seed: specSeed(e.Cfg.Seed, id, trial), path: e.Cfg.Path, eio: 4}
	if e.Cfg.Target != nil && e.Cfg.Target.EIO == 3 {
		h.eio = 3
	}
	if h.path == "" {
		h.path = framework.DefaultSIOPath
	}
	h.w = netload.DefaultWorkload(h.tm.PingInterval)
	h.ledger = netload.New(nil)
	// Unique per harness (not derived from the seed): a server keeps the
	// tallies of earlier runs, and a rerun with the same seed must not
	// find its predecessor's events.
	h.run = fmt.Sprintf("%s-%d-%x", id, trial, time.Now().UnixNano())
	p, err := faultproxy.New(upstream, &faultproxy.Options{Seed: h.seed, Tap: true})
	if err != nil {
		return nil, &framework.HarnessError{Op: "fault proxy", Err: err}
	}
	if err := p.Start(ctx); err != nil {
		return nil, &framework.HarnessError{Op: "start the fault proxy", Err: err}
	}
	h.proxy = p
	return h, nil
}

// close stops the client and the proxy.
func (h *harness) close() {
	if h.mgr != nil {
		_ = h.mgr.Close()
	}
	h.acks.Wait()
	if h.proxy != nil {
		_ = h.proxy.Close()
	}
}

// proxyURL is the base URL of the proxy.
func (h *harness) proxyURL() string { return "http://" + h.proxy.Addr() }

// applyProfile applies a profile and marks the fault in the timeline.
func (h *harness) applyProfile(name string, o *faultproxy.ProfileOptions) (*faultproxy.ProfileHandle, error) {
	pr, err := faultproxy.NewProfile(name, o)
	if err != nil {
		return nil, &framework.HarnessError{Op: "profile " + name, Err: err}
	}
	ph, err := h.proxy.ApplyProfile(pr)
	if err != nil {
		return nil, &framework.HarnessError{Op: "apply profile " + name, Err: err}
	}
	h.ledger.Mark(netload.KindFault, name)
	h.e.Step("applied profile " + name)
	return ph, nil
}

// addFault adds one fault and marks it.
func (h *harness) addFault(f faultproxy.Fault) (*faultproxy.Handle, error) {
	hd, err := h.proxy.Add(f)
	if err != nil {
		return nil, &framework.HarnessError{Op: "add fault " + f.Type(), Err: err}
	}
	h.ledger.Mark(netload.KindFault, fmt.Sprintf("%s %+v", f.Type(), f))
	return hd, nil
}

// clientOpts selects the reference client's behaviour.
type clientOpts struct {
	transports  []string
	noReconnect bool
	// reconnectDelay is the first reconnection delay (default 100 ms; the
	// maximum is five times it).
	reconnectDelay time.Duration
	// probeTimeout bounds an upgrade probe (default: eioclient's,
	// pingInterval + pingTimeout).
	probeTimeout time.Duration
	// cookies gives the client a cookie jar (a balancer sticky by cookie).
	cookies bool
}

// mgrVersion is the Socket.IO revision the target speaks.
func (h *harness) mgrVersion() socketio.Version {
	if h.eio == 3 {
		return socketio.V4
	}
	return socketio.V5
}

// connect creates the reference client through the proxy and connects "/".
func (h *harness) connect(ctx context.Context, o clientOpts) error {
	if o.transports == nil {
		o.transports = defaultTransports
	}
	if o.reconnectDelay <= 0 {
		o.reconnectDelay = 100 * time.Millisecond
	}
	mo := &sioclient.ManagerOptions{
		Path:    h.path,
		Version: h.mgrVersion(),
		Engine: &eioclient.Options{
			Transports:     o.transports,
			RequestTimeout: h.tm.Scaled(5 * time.Second),
			ProbeTimeout:   o.probeTimeout,
		},
		NoReconnection:       o.noReconnect,
		ReconnectionDelay:    o.reconnectDelay,
		ReconnectionDelayMax: 5 * o.reconnectDelay,
		Rand:                 rand.New(rand.NewPCG(uint64(h.seed), 1)),
		Timeout:              h.tm.Scaled(5 * time.Second),
	}
	if o.cookies {
		jar, _ := cookiejar.New(nil)
		mo.Engine.HTTPClient = &http.Client{Jar: jar}
	}
	m, err := sioclient.NewManager(h.proxyURL(), mo)
	if err != nil {
		return &framework.HarnessError{Op: "reference client", Err: err}
	}
	h.mgr = m
	l := h.ledger
	m.OnOpen(func() { l.Mark(netload.KindHandshake, "") })
	m.OnClose(func(reason string, _ error) { l.Mark("close", reason) })
	m.OnReconnectAttempt(func(n int, d time.Duration) { l.ReconnectAttempt(n, d) })
	s := m.Socket("/", &sioclient.SocketOptions{Auth: map[string]any{netload.AuthRun: h.run}})
	h.sock = s
	s.OnConnect(func() {
		kind := netload.KindConnect
		if s.Recovered() {
			kind = netload.KindRecovered
		}
		l.Mark(kind, s.ID())
	})
	s.OnDisconnect(func(reason string, _ error) { l.Mark(netload.KindDisconnect, reason) })
	s.On(netload.EventSeq, h.onSeq)
	if err := s.Connect(ctx); err != nil {
		return fmt.Errorf("connect through the proxy: %w", err)
	}
	return nil
}

// onSeq records a downstream workload event.
func (h *harness) onSeq(msg sioclient.Message, ack sioclient.AckFunc) {
	var p netload.Payload
	if err := msg.Unmarshal(0, &p); err != nil || p.Dir != netload.Down {
		h.noteCorrupt(fmt.Sprintf("malformed net:seq %s", msg))
		return
	}
	if h.w.IsBinary(p.Seq) {
		b, ok := msg.Bytes(1)
		if got, ok2 := netload.SeqFromBytes(b); !ok || !ok2 || got != p.Seq {
			h.noteCorrupt(fmt.Sprintf("net:seq %d: attachment %x does not hold the seq", p.Seq, b))
			return
		}
	}
	h.ledger.Received(netload.Down, p.Seq)
	if ack != nil {
		_ = ack(p.Seq)
	}
}

func (h *harness) noteCorrupt(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.corrupt) < 10 {
		h.corrupt = append(h.corrupt, s)
	}
}

// ackWait bounds how long an up ack may take.
func (h *harness) ackWait() time.Duration {
	return h.tm.Scaled(2*(h.tm.PingInterval+h.tm.PingTimeout)) + h.tm.Grace(h.tm.PingInterval)
}

// startStream asks the server for the down stream of h.w.
func (h *harness) startStream(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, h.ackWait())
	defer cancel()
	if _, err := h.sock.EmitWithAck(cctx, netload.EventStream, netload.StreamRequestOf(h.w)); err != nil {
		return fmt.Errorf("ext:stream unanswered: %w", err)
	}
	h.ledger.Expect(netload.Down, netload.Workload{Count: h.w.Count})
	return nil
}

// sendUp sends the up workload, one event every interval; acks are waited
// for in the background (h.acks).
func (h *harness) sendUp(ctx context.Context) error {
	t := time.NewTicker(h.w.Interval)
	defer t.Stop()
	for seq := range h.w.Count {
		args := []any{netload.Payload{Seq: seq, Dir: netload.Up}}
		if h.w.IsBinary(seq) {
			args = append(args, netload.SeqBytes(seq))
		}
		if h.w.WantsAck(seq) {
			h.ledger.Sent(netload.Up, seq, true)
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.ackWait()+h.w.Duration())
			wait, err := h.sock.EmitWithAckAsync(actx, netload.EventSeq, args...)
			if err != nil {
				cancel()
				h.ledger.AckFailed(netload.Up, seq, err.Error())
			} else {
				h.acks.Add(1)
				go func() {
					defer h.acks.Done()
					defer cancel()
					msg, err := wait()
					switch {
					case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
						// never answered: AcksLost
					case err != nil:
						h.ledger.AckFailed(netload.Up, seq, err.Error())
					default:
						var got int
						if msg.Unmarshal(0, &got) == nil && got == seq {
							h.ledger.Acked(netload.Up, seq)
						} else {
							h.noteCorrupt(fmt.Sprintf("ack of seq %d carried %s", seq, msg))
						}
					}
				}()
			}
		} else {
			h.ledger.Sent(netload.Up, seq, false)
			if err := h.sock.Emit(ctx, netload.EventSeq, args...); err != nil {
				h.noteCorrupt(fmt.Sprintf("emit seq %d: %v", seq, err))
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// settle waits until every down event arrived and every up ack settled, or
// until the window d passed, then asks the server for its tally of up
// events and records it.
func (h *harness) settle(ctx context.Context, d time.Duration) error {
	done := make(chan struct{})
	go func() { h.acks.Wait(); close(done) }()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	acksDone := false
	for {
		if !acksDone {
			select {
			case <-done:
				acksDone = true
			default:
			}
		}
		if acksDone && h.ledger.Tally(netload.Down).Delivered >= h.ledger.Tally(netload.Down).Sent {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return h.tally(ctx)
		case <-tick.C:
		}
	}
	return h.tally(ctx)
}

// tally asks the server which up seqs it recorded for this run.
func (h *harness) tally(ctx context.Context) error {
	if !h.sock.Connected() {
		// Wait for a reconnection within one heartbeat.
		w := time.Now().Add(h.tm.Scaled(h.tm.PingInterval+h.tm.PingTimeout) + time.Second)
		for !h.sock.Connected() && time.Now().Before(w) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond) //nolint:forbidigo // polling a state with a deadline
		}
	}
	cctx, cancel := context.WithTimeout(ctx, h.ackWait())
	defer cancel()
	msg, err := h.sock.EmitWithAck(cctx, netload.EventTally)
	if err != nil {
		return fmt.Errorf("ext:tally unanswered: %w", err)
	}
	var seqs []int
	if err := msg.Unmarshal(0, &seqs); err != nil {
		return fmt.Errorf("ext:tally answered %s: %w", msg, err)
	}
	h.ledger.ReceivedReport(netload.Up, seqs)
	return nil
}

// engineSID returns the current Engine.IO session id and transport.
func (h *harness) engineSID() (sid, transport string) {
	if h.mgr == nil {
		return "", ""
	}
	if c := h.mgr.Engine(); c != nil {
		return c.ID(), c.Transport()
	}
	return "", ""
}

// record adds the measures and the proxy's decisions to the report.
func (h *harness) record(profile, crash string, trials, passed int) netload.Measures {
	if _, tr := h.engineSID(); tr != "" {
		h.ledger.SetTransport(tr)
	}
	m := h.ledger.Measures()
	ds, _ := h.proxy.Decisions()
	h.e.RecordNet(framework.NetRecord{Profile: profile, Crash: crash, Measures: m, Decisions: ds, Trials: trials, TrialsPassed: passed})
	for _, c := range h.corrupt {
		h.e.Observe("%s", c)
	}
	return m
}

// corruptions returns what arrived malformed.
func (h *harness) corruptions() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.corrupt...)
}

// rawGet sends one GET to base+path+query directly (not through the proxy)
// and returns the status and body (at most 4 KiB).
func rawGet(ctx context.Context, base, path string, q url.Values) (int, string, error) {
	return rawRequest(ctx, http.MethodGet, base, path, q, "")
}

// rawRequest sends one request with body to base+path+query directly (not
// through the proxy) and returns the status and body (at most 4 KiB).
func rawRequest(ctx context.Context, method, base, path string, q url.Values, body string) (int, string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return 0, "", err
	}
	u.Path, u.RawQuery = path, q.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), nil
}

// noopPayload is a polling POST body holding one noop packet in revision
// eio's payload encoding: a request a live session answers 200 "ok" and
// a closed one 400, with no effect on either.
func noopPayload(eio int) string {
	pkts := []engineio.Packet{{Type: engineio.Noop}}
	var b []byte
	var err error
	if eio == 3 {
		b, err = engineio.AppendPayloadV3(nil, pkts)
	} else {
		b, err = engineio.AppendPayload(nil, pkts)
	}
	if err != nil {
		panic(err) // a noop always encodes
	}
	return string(b)
}

// eioQuery is the query of an Engine.IO request of revision eio.
func eioQuery(eio int, transport, sid string) url.Values {
	q := url.Values{"EIO": {fmt.Sprint(eio)}, "transport": {transport}}
	if sid != "" {
		q.Set("sid", sid)
	}
	q.Set("t", "netspec")
	return q
}

// openSID extracts the sid of a polling handshake body (v4 "0{...}", v3
// "<len>:0{...}").
func openSID(body string) (string, bool) {
	i := strings.Index(body, "0{")
	if i < 0 {
		return "", false
	}
	var op engineio.OpenPacket
	dec := json.NewDecoder(strings.NewReader(body[i+1:]))
	if err := dec.Decode(&op); err != nil || op.SID == "" {
		return "", false
	}
	return op.SID, true
}

// hostOf returns the host:port of a base URL.
func hostOf(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	if u.Port() == "" {
		if u.Scheme == "https" {
			return u.Hostname() + ":443", nil
		}
		return u.Hostname() + ":80", nil
	}
	return u.Host, nil
}

// rawSession is a Socket.IO session on a raw WebSocket that never closes
// by itself: after stop it neither reads nor writes, as a peer behind a
// dead network would, so only the server can end it.
type rawSession struct {
	conn     *websocket.Conn
	sid, id  string
	stopOnce sync.Once
	stopped  chan struct{}
	done     chan struct{}
	reader   chan struct{}
}

// dialRaw opens a raw session through base (the proxy) and joins "/".
func dialRaw(ctx context.Context, base, path string, eio int, pingInterval time.Duration) (*rawSession, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Path, u.RawQuery = "ws", path, eioQuery(eio, "websocket", "").Encode()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, _, err := d.DialContext(ctx, u.String(), nil)
	if err != nil {
		return nil, err
	}
	r := &rawSession{conn: c, stopped: make(chan struct{}), done: make(chan struct{}), reader: make(chan struct{})}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil || len(msg) == 0 || msg[0] != '0' {
		c.Close()
		return nil, fmt.Errorf("raw session: open packet %q: %v", msg, err)
	}
	sid, ok := openSID(string(msg))
	if !ok {
		c.Close()
		return nil, fmt.Errorf("raw session: no sid in %q", msg)
	}
	r.sid, r.id = sid, sid
	if eio == 4 {
		if err := c.WriteMessage(websocket.TextMessage, []byte("40")); err != nil {
			c.Close()
			return nil, err
		}
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("raw session: no CONNECT reply: %w", err)
			}
			if s := string(msg); strings.HasPrefix(s, "40{") {
				var rep struct {
					SID string `json:"sid"`
				}
				if json.Unmarshal([]byte(s[2:]), &rep) == nil {
					r.id = rep.SID
				}
				break
			}
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	go r.heartbeat(eio, pingInterval)
	return r, nil
}

// heartbeat keeps the session alive until stop: v4 answers pings, v3
// sends them.
func (r *rawSession) heartbeat(eio int, pingInterval time.Duration) {
	defer close(r.done)
	msgs := make(chan []byte)
	go func() {
		defer close(r.reader)
		defer close(msgs)
		for {
			_, m, err := r.conn.ReadMessage()
			if err != nil {
				return
			}
			select {
			case msgs <- m:
			case <-r.stopped:
				return
			}
		}
	}()
	t := time.NewTicker(pingInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stopped:
			return
		case m, ok := <-msgs:
			if !ok {
				<-r.stopped
				return
			}
			if eio == 4 && string(m) == "2" {
				_ = r.conn.WriteMessage(websocket.TextMessage, []byte("3"))
			}
		case <-t.C:
			if eio == 3 {
				_ = r.conn.WriteMessage(websocket.TextMessage, []byte("2"))
			}
		}
	}
}

// stop ends the heartbeat; the connection stays open.
func (r *rawSession) stop() { r.stopOnce.Do(func() { close(r.stopped) }) }

// close stops the heartbeat and closes the connection.
func (r *rawSession) close() {
	r.stop()
	_ = r.conn.Close()
	<-r.done
	<-r.reader
}
