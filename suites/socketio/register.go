package socketio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

// Options describe what the target's handshake cannot tell. A nil *Options
// means the FX-SIO5 fixture contract.
type Options struct {
	// ConnectTimeout is the target's connectTimeout (SIO-CONN-08): how
	// long a session may stay without any namespace joined. Default
	// 1000 ms, the FX-SIO5 value.
	ConnectTimeout time.Duration
	// Suites are the revisions to declare: framework.SIO5 and/or
	// framework.SIO4. Empty declares both.
	Suites []framework.Proto
}

// DefaultConnectTimeout is FX-SIO5's connectTimeout.
const DefaultConnectTimeout = framework.DefaultConnectTimeout

// LabelExtended marks specs that need the extended contract.
const LabelExtended = "extended"

// Register declares every Socket.IO server spec (v5 and v4) for the
// FX-SIO5 contract under one top-level container and returns true (for use
// in a var declaration).
func Register(s *framework.Suite) bool { return RegisterWith(s, nil) }

// RegisterWith is Register with options.
func RegisterWith(s *framework.Suite, o *Options) bool {
	opts := Options{}
	if o != nil {
		opts = *o
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	want := func(p framework.Proto) bool { return len(opts.Suites) == 0 || slices.Contains(opts.Suites, p) }
	return Describe("Socket.IO server", func() {
		s.Install()
		if want(framework.SIO5) {
			Describe("v5", func() {
				s5 := s.WithProto(framework.SIO5)
				eioLayerV5(s5)
				connectV5(s5, opts)
				namespaceV5(s5, opts)
				eventV5(s5)
				ackV5(s5)
				binaryV5(s5)
				disconnectV5(s5)
				bufferV5(s5)
				encodingV5(s5)
				errorsV5(s5)
				recoveryV5(s5)
			})
		}
		if want(framework.SIO4) {
			Describe("v4", func() {
				v4Specs(s.WithProto(framework.SIO4))
			})
		}
	})
}

// both is the transport list of behaviours that hold on each transport.
var both = []framework.Transport{framework.Polling, framework.WebSocket}

// extended is the decorator of specs that need the extended contract.
var extended = Label(LabelExtended)

// ---- budgets ----

// heartbeat is one heartbeat period, pingInterval + pingTimeout: the
// budget within which a server must answer or close (the official suites'
// shortest wait).
func heartbeat(e *framework.Env) time.Duration {
	return e.Timing.PingInterval + e.Timing.PingTimeout
}

// replyWindow is how long the server may take to answer a packet: a reply
// budget that does not grow with the heartbeat the server advertises
// (framework.Timing.Reply).
func replyWindow(e *framework.Env) framework.Window {
	return e.Timing.Reply("answer")
}

// closeWindow is how long the server may take to close a session after an
// invalid packet; the client answers pings meanwhile, so a ping timeout
// cannot be mistaken for it.
func closeWindow(e *framework.Env) framework.Window {
	return e.Timing.Reply("close while the client answers pings")
}

// quietWindow is the "must not happen" window: one heartbeat period.
func quietWindow(e *framework.Env) time.Duration {
	return e.Timing.Scaled(heartbeat(e))
}

// ---- session helpers (they assert) ----

// open opens a v5 Socket.IO session on tr.
func open(ctx context.Context, e *framework.Env, tr framework.Transport) *Session {
	GinkgoHelper()
	return openWith(ctx, e, tr, nil)
}

// open4 opens a v4 Socket.IO session (EIO=3) on tr.
func open4(ctx context.Context, e *framework.Env, tr framework.Transport, extra ...string) *Session {
	GinkgoHelper()
	return openWith(ctx, e, tr, &OpenOptions{Version: sio.V4, Extra: extra})
}

func openWith(ctx context.Context, e *framework.Env, tr framework.Transport, o *OpenOptions) *Session {
	GinkgoHelper()
	s, err := OpenSession(ctx, e, tr, o)
	if err != nil {
		var he *framework.HarnessError
		if errors.As(err, &he) {
			Fail(err.Error())
		}
	}
	Expect(err).NotTo(HaveOccurred(), "open an Engine.IO session %s", tr.Describe())
	DeferCleanup(s.Close)
	return s
}

// send sends a packet and fails the spec when the transport refuses it.
func send(ctx context.Context, s *Session, p sio.Packet) {
	GinkgoHelper()
	Expect(s.Send(ctx, p)).To(Succeed(), "send %s", p)
}

// sendText sends a Socket.IO packet in wire form.
func sendText(ctx context.Context, s *Session, text string, bins ...[]byte) {
	GinkgoHelper()
	Expect(s.SendText(ctx, text, bins...)).To(Succeed(), "send %q", text)
}

// sendBad sends a packet the server is expected to refuse by closing the
// session. A POST that fails because the server closed the session while
// reading it is not an error: the close is what the spec checks.
func sendBad(ctx context.Context, e *framework.Env, s *Session, text string, bins ...[]byte) {
	GinkgoHelper()
	err := s.SendText(ctx, text, bins...)
	var he *framework.HarnessError
	if errors.As(err, &he) {
		Fail(err.Error())
	}
	if err != nil {
		e.Rec.Note("send failed (the server may have closed the session): " + err.Error())
	}
}

// next returns the next Socket.IO packet, within the reply window.
func next(ctx context.Context, e *framework.Env, s *Session, what string) sio.Packet {
	GinkgoHelper()
	w := replyWindow(e)
	cctx, cancel := context.WithTimeout(ctx, w.Max)
	defer cancel()
	p, err := s.Next(cctx)
	Expect(err).NotTo(HaveOccurred(), "%s (budget %s)", what, w)
	return p
}

// nextRaw returns the next packet with the text of its message.
func nextRaw(ctx context.Context, e *framework.Env, s *Session, what string) Received {
	GinkgoHelper()
	w := replyWindow(e)
	cctx, cancel := context.WithTimeout(ctx, w.Max)
	defer cancel()
	r, err := s.NextRaw(cctx)
	Expect(err).NotTo(HaveOccurred(), "%s (budget %s)", what, w)
	return r
}

// expectClosed asserts that the server ends the session within the close
// window, measured from the moment of the call.
func expectClosed(ctx context.Context, e *framework.Env, s *Session, why string) {
	GinkgoHelper()
	w := closeWindow(e)
	e.Budget(w)
	start := e.Rec.Since()
	cctx, cancel := context.WithTimeout(ctx, w.Max)
	defer cancel()
	end, err := s.WaitEnded(cctx)
	if err != nil {
		e.Observe("the session stayed open; unread packets: %s", unreadText(s))
	}
	Expect(err).NotTo(HaveOccurred(), "%s: the server must close the Engine.IO session", why)
	e.Measured("closed ("+end.How+")", max(0, end.At-start))
	e.Observe("session ended: %s", end.How)
}

// expectEndedWithout asserts that the server ends the session within the
// close window after a packet it must refuse by closing, and that it did
// not answer the packet first: a packet handled as if valid (an echo)
// before a close for another cause is no proof. Call it right after the
// send, with every earlier packet consumed.
func expectEndedWithout(ctx context.Context, e *framework.Env, s *Session, why string) {
	GinkgoHelper()
	expectClosed(ctx, e, s, why)
	var before []string
	for _, r := range s.Unread() {
		if r.Err != nil {
			before = append(before, "undecodable: "+r.Err.Error())
		} else {
			before = append(before, r.Packet.String())
		}
	}
	e.Observe("packets before the end: %v", before)
	Expect(before).To(BeEmpty(), "%s: the server must close the session without handling the packet", why)
}

// expectSilentAndOpen asserts that for the quiet window nothing arrives
// and the session stays open, and then proves that with a round trip on
// "/": the fixture's echo of a message event must be the next packet.
// Silence alone is what a stalled or dead session shows too. The echo also
// brackets the window: the server handles a session's packets in order, so
// anything it queued before the echo, however late, shows before it.
func expectSilentAndOpen(ctx context.Context, e *framework.Env, s *Session, why string) {
	GinkgoHelper()
	d := quietWindow(e)
	e.Budget(framework.Window{Max: d, Why: "quiet for pingInterval+pingTimeout, then a message/message-back round trip"})
	Consistently(func() []string {
		return packetsAndEnd(s)
	}).WithTimeout(d).WithPolling(10*time.Millisecond).Should(BeEmpty(), why)
	expectAlive(ctx, e, s, why+" (then the session must answer)")
	e.Observe("nothing arrived for %v; then message-back was the next packet: the session is alive and had nothing queued before it", d)
}

// packetsAndEnd lists unread packets and the end of the session, if any.
func packetsAndEnd(s *Session) []string {
	var out []string
	for _, r := range s.Unread() {
		if r.Err != nil {
			out = append(out, "undecodable: "+r.Err.Error())
		} else {
			out = append(out, r.Packet.String())
		}
	}
	if end := s.Ended(); end != nil {
		out = append(out, end.Error())
	}
	return out
}

func unreadText(s *Session) string {
	l := packetsAndEnd(s)
	if len(l) == 0 {
		return "none"
	}
	return fmt.Sprint(l)
}

// expectAlive proves the session is open and "/" still works: the fixture
// echoes a message event as message-back, and the echo is the next packet.
func expectAlive(ctx context.Context, e *framework.Env, s *Session, why string) {
	GinkgoHelper()
	token := fmt.Sprintf("siospec-alive-%d", s.AckID())
	ev, err := sio.NewEvent("/", "message", token)
	Expect(err).NotTo(HaveOccurred())
	Expect(s.Send(ctx, ev)).To(Succeed(), "%s: send a message event", why)
	p := next(ctx, e, s, why+": the session must stay open and answer a message event with message-back")
	expectEvent(p, "/", "message-back", token)
}

// expectEvent asserts that p is an EVENT in nsp named name with args
// (compared as JSON values).
func expectEvent(p sio.Packet, nsp, name string, args ...any) {
	GinkgoHelper()
	Expect(p.Type).To(Equal(sio.Event), "packet type of %s", p)
	Expect(p.Namespace()).To(Equal(nsp), "namespace of %s", p)
	Expect(eventName(p)).To(Equal(name), "event name of %s", p)
	if args != nil {
		want, err := sio.NewEvent(nsp, name, args...)
		Expect(err).NotTo(HaveOccurred())
		Expect(jsonValue(p)).To(Equal(jsonValue(want)), "arguments of %s", p)
	}
}

// jsonValue returns the payload of p as generic values.
func jsonValue(p sio.Packet) any {
	v, err := p.Value()
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return v
}

// join connects to nsp with auth (nil: no payload) and consumes the
// CONNECT reply and the fixture's auth event; it returns the reply.
func join(ctx context.Context, e *framework.Env, s *Session, nsp string, auth any) sio.Packet {
	GinkgoHelper()
	c, err := sio.NewConnect(nsp, auth)
	Expect(err).NotTo(HaveOccurred())
	send(ctx, s, c)
	return joined(ctx, e, s, nsp)
}

// joined consumes a CONNECT reply for nsp and the auth event after it.
func joined(ctx context.Context, e *framework.Env, s *Session, nsp string) sio.Packet {
	GinkgoHelper()
	reply := next(ctx, e, s, "CONNECT reply for "+nsp)
	Expect(reply.Type).To(Equal(sio.Connect), "the server must accept the CONNECT to %s, got %s", nsp, reply)
	Expect(reply.Namespace()).To(Equal(nsp))
	a := next(ctx, e, s, "the fixture's auth event in "+nsp)
	Expect(eventName(a)).To(Equal("auth"), "the fixture emits auth right after the CONNECT reply, got %s", a)
	Expect(a.Namespace()).To(Equal(nsp))
	return reply
}

// joinMain4 consumes the implicit v4 CONNECT of "/" and its auth event.
func joinMain4(ctx context.Context, e *framework.Env, s *Session) sio.Packet {
	GinkgoHelper()
	return joined(ctx, e, s, "/")
}

// sidOf returns the sid of a v5 CONNECT reply, asserting that the payload
// is exactly {"sid":"<non-empty string>"}.
func sidOf(p sio.Packet) string {
	GinkgoHelper()
	var m map[string]any
	Expect(p.Unmarshal(&m)).To(Succeed(), "CONNECT reply payload %s", p)
	Expect(m).To(HaveLen(1), "the CONNECT reply must hold exactly the key sid, got %s", p.Data)
	sid, ok := m["sid"].(string)
	Expect(ok).To(BeTrue(), "sid must be a string, got %s", p.Data)
	Expect(sid).NotTo(BeEmpty(), "sid must not be empty")
	return sid
}

// ack waits for the next packet and asserts it is an ACK (or BINARY_ACK)
// with id in nsp.
func expectAck(p sio.Packet, nsp string, id uint64) {
	GinkgoHelper()
	Expect(p.Type).To(BeElementOf(sio.Ack, sio.BinaryAck), "an ACK, got %s", p)
	Expect(p.Namespace()).To(Equal(nsp), "ack namespace of %s", p)
	Expect(p.HasID).To(BeTrue(), "ack without id: %s", p)
	Expect(p.ID).To(Equal(id), "ack id of %s", p)
}

// requireExtended makes sure the server answers the extended contract on
// "/" (which the session must have joined) before a spec relies on it. The
// preflight probed the target once (framework.Target.Extended):
//
//   - no: the spec is unsupported at once, without a probe of its own;
//   - yes: the spec sends ext:hello and, if it goes unanswered, fails: the
//     server answered ext:hello in the preflight but not now;
//   - unknown (no preflight ran, or it could not decide): the spec probes
//     and is unsupported when ext:hello goes unanswered.
//
// The probe sends a message-with-ack right after ext:hello, which decides
// without waiting for a timeout: packets are handled in order, so its ack
// arriving first means ext:hello is not implemented.
func requireExtended(ctx context.Context, e *framework.Env, s *Session) {
	GinkgoHelper()
	pre := framework.ExtendedUnknown
	if e.Cfg.Target != nil {
		pre = e.Cfg.Target.Extended
	}
	if pre == framework.ExtendedNo {
		Skip("unsupported: no siospec extended contract (preflight: ext:hello unanswered)")
	}
	unanswered := func(how string) {
		GinkgoHelper()
		if pre == framework.ExtendedYes {
			e.Observe("the server answered ext:hello in the preflight but not now: %s", how)
			Fail("the server answered ext:hello in the preflight but not now: " + how)
		}
		Skip("unsupported: server does not implement the siospec extended contract (" + how + ")")
	}
	hello, probe := s.AckID(), s.AckID()
	h, _ := sio.NewEvent("/", "ext:hello")
	m, _ := sio.NewEvent("/", "message-with-ack", "siospec-ext-probe")
	send(ctx, s, h.WithID(hello))
	send(ctx, s, m.WithID(probe))
	w := replyWindow(e)
	cctx, cancel := context.WithTimeout(ctx, w.Max)
	defer cancel()
	for {
		p, err := s.Next(cctx)
		if err == nil && cctx.Err() != nil {
			err = cctx.Err() // packets kept coming, none of them the ack
		}
		if err != nil {
			if s.Ended() != nil {
				Expect(err).NotTo(HaveOccurred(), "the session ended while probing ext:hello")
			}
			unanswered(fmt.Sprintf("ext:hello unanswered within %v", w.Max.Round(time.Millisecond)))
		}
		if p.Type != sio.Ack || !p.HasID {
			continue
		}
		switch p.ID {
		case probe:
			unanswered("ext:hello unanswered: the message-with-ack sent after it was acked first")
		case hello:
			Expect(string(p.Data)).To(Equal(`[{"extended":1}]`), "ext:hello ack")
			// Consume the probe's ack, which comes next.
			q := next(ctx, e, s, "ack of message-with-ack after ext:hello")
			expectAck(q, "/", probe)
			return
		}
	}
}

// barrier makes sure the server handled every packet sent before: Node
// removes a socket that got a DISCONNECT on a later tick, so a CONNECT read
// in the same chunk as the DISCONNECT would find the old socket. A CONNECT
// to a namespace that does not exist is answered with a CONNECT_ERROR only
// after that tick.
func barrier(ctx context.Context, e *framework.Env, s *Session) {
	GinkgoHelper()
	sendText(ctx, s, "0/siospec-barrier,")
	p := next(ctx, e, s, "CONNECT_ERROR for /siospec-barrier (a barrier)")
	Expect(p.Type).To(Equal(sio.ConnectError), "barrier: %s", p)
	Expect(p.Namespace()).To(Equal("/siospec-barrier"))
}

// emitExt sends an ext:* event with an ack id and returns the id.
func emitExt(ctx context.Context, s *Session, name string, args ...any) uint64 {
	GinkgoHelper()
	id := s.AckID()
	ev, err := sio.NewEvent("/", name, args...)
	Expect(err).NotTo(HaveOccurred())
	send(ctx, s, ev.WithID(id))
	return id
}

// emit sends an event without ack id.
func emit(ctx context.Context, s *Session, nsp, name string, args ...any) {
	GinkgoHelper()
	ev, err := sio.NewEvent(nsp, name, args...)
	Expect(err).NotTo(HaveOccurred())
	send(ctx, s, ev)
}
