package engineio

import (
	"context"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// Register declares every Engine.IO server spec, v4 and v3, under one
// top-level container and returns true (for use in a var declaration).
func Register(s *framework.Suite) bool { return RegisterFor(s, "") }

// RegisterFor declares the specs of one revision only (framework.EIO4 or
// framework.EIO3); an empty proto declares both. A runner that knows the
// revision under test uses it to keep reports free of specs that could
// never run.
func RegisterFor(s *framework.Suite, proto framework.Proto) bool {
	return Describe("Engine.IO server", func() {
		s.Install()
		if proto == "" || proto == framework.EIO4 {
			Describe("v4", func() {
				s := s.WithProto(framework.EIO4)
				handshakeV4(s)
				urlV4(s)
				packetV4(s)
				pollingV4(s)
				binaryV4(s)
				websocketV4(s)
				upgradeV4(s)
				heartbeatV4(s)
				closeV4(s)
				limitsV4(s)
				corsV4(s)
				errorsV4(s)
			})
		}
		if proto == "" || proto == framework.EIO3 {
			Describe("v3", func() {
				v3Specs(s.WithProto(framework.EIO3))
			})
		}
	})
}

// both is the transport list of behaviours that hold on each transport.
var both = []framework.Transport{framework.Polling, framework.WebSocket}

// all adds a WebSocket reached by upgrading a polling session.
var all = []framework.Transport{framework.Polling, framework.WebSocket, framework.Upgraded}

// open opens a session on tr or fails the spec.
func open(ctx context.Context, e *framework.Env, tr framework.Transport, extra ...string) framework.Conn {
	GinkgoHelper()
	c, err := e.Open(ctx, tr, extra...)
	framework.FailIfHarness(err)
	Expect(err).NotTo(HaveOccurred(), "open a session %s", tr.Describe())
	return c
}

// openPoll opens a polling session or fails the spec.
func openPoll(ctx context.Context, e *framework.Env, extra ...string) *framework.PollSession {
	GinkgoHelper()
	s, err := e.C.OpenPolling(ctx, extra...)
	framework.FailIfHarness(err)
	Expect(err).NotTo(HaveOccurred(), "open a polling session")
	return s
}

// msg returns a text message packet.
func msg(s string) engineio.Packet { return engineio.TextPacket(engineio.Message, s) }

// pkt returns a text packet of type t.
func pkt(t engineio.PacketType, s string) engineio.Packet { return engineio.TextPacket(t, s) }

// nextMessage returns the next message from the server, skipping pings
// (answered with pongs on v4 so the session stays up) and noops.
func nextMessage(ctx context.Context, c framework.Conn) engineio.Packet {
	GinkgoHelper()
	for {
		p, err := c.Next(ctx)
		Expect(err).NotTo(HaveOccurred(), "wait for a message from the server")
		switch p.Type {
		case engineio.Ping:
			// Only v4 servers ping; a pong keeps the session alive.
			_ = c.Send(ctx, pkt(engineio.Pong, string(p.Data)))
			continue
		case engineio.Noop:
			continue
		}
		return p
	}
}

// expectEnded asserts that the server ends the session, for the rule under
// test, within the reply window (framework.Timing.Reply): the harness keeps
// the heartbeat alive while it waits (Conn.AwaitEnd), so a server that
// ignores the rule and lets its ping timeout end the session fails. It
// records the window, how the end showed and how long it took from the
// call.
func expectEnded(ctx context.Context, e *framework.Env, c framework.Conn, why string) framework.End {
	GinkgoHelper()
	w := e.Timing.Reply("the end of the session")
	e.Budget(w)
	start := e.Rec.Since()
	cctx, cancel := context.WithTimeout(ctx, w.Max)
	defer cancel()
	end, err := c.AwaitEnd(cctx)
	if err != nil {
		e.Observe("the session stayed open for %v while the harness kept the heartbeat", w.Max.Round(time.Millisecond))
	}
	Expect(err).NotTo(HaveOccurred(), "%s (%s)", why, w)
	e.Measured("session ended ("+end.How+")", max(0, end.At-start))
	e.Observe("%s", end)
	return end
}

// expectEndedSilent asserts that the server ends the session within d
// while the client stays silent: only for rules whose subject is the
// heartbeat timeout itself.
func expectEndedSilent(ctx context.Context, c framework.Conn, d time.Duration, why string) string {
	GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	how, err := c.Ended(cctx)
	Expect(err).NotTo(HaveOccurred(), why)
	return how
}

// pending is a GET issued in the background.
type pending struct {
	done chan struct{}
	resp *framework.Response
	pkts []engineio.Packet
	err  error
	at   time.Time
}

// quiesce answers the session's next heartbeat so that a full heartbeat
// interval of quiet follows: on v4 it waits for the server's ping and
// answers it; on v3 it sends a client ping and reads the pong. Specs that
// park a GET call it first, so that a ping cannot complete the parked GET
// before the spec's own request arrives.
func quiesce(ctx context.Context, e *framework.Env, s *framework.PollSession) {
	GinkgoHelper()
	if e.C.Version() == engineio.V3 {
		r, err := s.Post(ctx, pkt(engineio.Ping, ""))
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Status).To(Equal(http.StatusOK), "v3 client ping")
		_, pkts, err := s.Get(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(pkts).To(ContainElement(pkt(engineio.Pong, "")), "v3 pong")
		return
	}
	_, pkts, err := s.Get(ctx)
	Expect(err).NotTo(HaveOccurred())
	Expect(pkts).To(ContainElement(pkt(engineio.Ping, "")), "wait for the server's ping")
	r, err := s.Post(ctx, pkt(engineio.Pong, ""))
	Expect(err).NotTo(HaveOccurred())
	Expect(r.Status).To(Equal(http.StatusOK), "pong")
}

// parkGet answers the heartbeat (quiesce), then issues a GET for the
// session in the background and checks that the server holds it
// (EIO-POLL-01) for a short window, so that a request sent afterwards
// really overlaps it; otherwise the server may handle the later request
// first (docs/requirements.md#EIO-CLOSE-01).
func parkGet(ctx context.Context, e *framework.Env, s *framework.PollSession) *pending {
	GinkgoHelper()
	quiesce(ctx, e, s)
	p := &pending{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.resp, p.pkts, p.err = s.Get(ctx)
		p.at = time.Now()
	}()
	hold := min(e.Timing.PingInterval/4, 100*time.Millisecond)
	Consistently(p.done).WithTimeout(hold).WithPolling(5*time.Millisecond).ShouldNot(BeClosed(),
		"the server must hold a GET while it has nothing to send (parked for %v)", hold)
	return p
}

// wait waits for the background GET to complete.
func (p *pending) wait(ctx context.Context, d time.Duration) {
	GinkgoHelper()
	Eventually(p.done).WithContext(ctx).WithTimeout(d).WithPolling(5*time.Millisecond).Should(BeClosed(), "the parked GET must complete")
}

// status returns the response status or 0 when the request failed.
func status(r *framework.Response) int {
	if r == nil {
		return 0
	}
	return r.Status
}

// bogusSID is a well-formed session id no server has issued.
const bogusSID = "siospec-bogus-sid-0000"

// okBody is the body of a successful POST (EIO-POLL-04).
var okBody = []byte("ok")

// wsStates are the transport states that carry a session on a WebSocket:
// one opened as such and one upgraded from polling.
var wsStates = []framework.Transport{framework.WebSocket, framework.Upgraded}

// sendUnjudged sends p on c for a rule under which the server ends the
// session: on polling the POST's answer is recorded but not judged (a
// server may refuse the request that ends the session), on a WebSocket the
// packet goes out as one frame.
func sendUnjudged(ctx context.Context, e *framework.Env, c framework.Conn, p engineio.Packet) {
	GinkgoHelper()
	if ps := c.Poll(); ps != nil && c.WS() == nil {
		r, err := ps.Post(ctx, p)
		if err == nil {
			e.Observe("POST %v → %d %q (not judged)", p, r.Status, r.Body)
		}
		return
	}
	Expect(c.Send(ctx, p)).To(Succeed(), "send %v", p)
}
