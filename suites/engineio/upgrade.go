package engineio

import (
	"context"
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// noopRecheck is the budget for releasing a GET during an upgrade: Node
// re-checks every 100 ms (EIO-UPG-04).
const noopRecheck = 100 * time.Millisecond

func upgradeV4(s *framework.Suite) {
	Describe("upgrade from polling to WebSocket", func() {
		upgradeSpecs(s)
		heartbeatAcrossUpgrade(s)
		upgradeTimeoutSpec(s)
	})
}

// nodeUpgradeTimeout is Node's default upgradeTimeout; servers do not
// advertise theirs.
const nodeUpgradeTimeout = 10 * time.Second

// upgradeTimeoutSpec is v4 only and slow: it waits out upgradeTimeout while
// keeping the polling session alive (EIO-UPG-10).
func upgradeTimeoutSpec(s *framework.Suite) {
	tm := s.Config().Timing()
	s.It("EIO-UPG-10", "closes a probe WebSocket that never sends the upgrade packet after upgradeTimeout and keeps polling", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Probe(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
		probed := time.Now()
		win := e.Timing.Around(nodeUpgradeTimeout, "upgradeTimeout (Node default, not advertised)")
		e.Expect("the probe WebSocket closes about upgradeTimeout after the probe; polling keeps working")
		e.Budget(win)
		deadline := probed.Add(win.Max)
		gets := 0
		for w.Closed() == nil && time.Now().Before(deadline) && gets < 10000 {
			r, pkts, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Status).To(Equal(http.StatusOK), "polling must stay alive while the probe waits")
			gets++
			for _, p := range pkts {
				if p.Type == engineio.Ping {
					Expect(sess.Post(ctx, pkt(engineio.Pong, ""))).To(HaveField("Status", http.StatusOK))
				}
			}
		}
		Expect(w.Closed()).NotTo(BeNil(), "the probe WebSocket is still open after %v", win.Max)
		took := time.Since(probed)
		e.Measured(fmt.Sprintf("probe closed (%d GETs meanwhile)", gets), took)
		Expect(e.InWindow(win, took)).To(BeTrue(), "probe closed %v after the probe, outside %v", took, win)
		Expect(sess.Post(ctx, msg("after"))).To(HaveField("Status", http.StatusOK))
		Expect(nextMessage(ctx, framework.AsConn(sess))).To(Equal(msg("after")))
	}, framework.Upgraded, Label("slow"), SpecTimeout(tm.Scaled(2*nodeUpgradeTimeout)+5*time.Second))
}

// upgradeSpecs are written once for v4 and v3 (the client speaks the
// configured revision).
func upgradeSpecs(s *framework.Suite) {
	up := framework.Upgraded
	s.It("EIO-UPG-03", "answers 2probe on the probe WebSocket with 3probe", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Probe(ctx)
		Expect(err).NotTo(HaveOccurred())
		p, err := w.NextPacket(ctx)
		Expect(err).NotTo(HaveOccurred())
		e.Expect(`"3probe"`)
		e.Observe("%v", p)
		Expect(p).To(Equal(pkt(engineio.Pong, "probe")))
	}, up)

	s.It("EIO-UPG-04", "answers a GET sent after the probe with a noop, promptly", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Probe(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
		t0 := time.Now()
		r, pkts, err := sess.Get(ctx)
		Expect(err).NotTo(HaveOccurred())
		took := time.Since(t0)
		win := e.Timing.Within(noopRecheck, "noop re-check")
		e.Expect("GET → 200 with the noop packet")
		e.Budget(win)
		e.Measured("GET answered", took)
		e.Observe("%d %q", r.Status, r.Body)
		Expect(r.Status).To(Equal(http.StatusOK))
		Expect(pkts).To(ContainElement(pkt(engineio.Noop, "")))
		Expect(e.InWindow(win, took)).To(BeTrue(), "GET answered after %v, outside %v", took, win)
		Expect(w.Send(pkt(engineio.Upgrade, ""))).To(Succeed())
	}, up)

	s.It("EIO-UPG-04", "releases a GET parked before the probe with a noop once the probe arrives", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		parked := parkGet(ctx, e, sess)
		w, err := sess.Probe(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
		parked.wait(ctx, e.Timing.Within(noopRecheck, "noop re-check").Max)
		e.Observe("parked GET %d %v", status(parked.resp), parked.pkts)
		Expect(parked.err).NotTo(HaveOccurred())
		Expect(parked.pkts).To(ContainElement(pkt(engineio.Noop, "")))
	}, up)

	UpgradeMoves(s, nil)

	s.It("EIO-UPG-06", "flushes over the WebSocket what it queued on polling during the probe, in order", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Probe(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
		// No GET is pending or follows: the echoes of the POST can only
		// wait in the polling queue (a GET here is EIO-UPG-04's).
		Expect(sess.Post(ctx, msg("q1"), msg("q2"))).To(HaveField("Status", http.StatusOK))
		Expect(w.Send(pkt(engineio.Upgrade, ""))).To(Succeed())
		Expect(w.Send(msg("ws"))).To(Succeed())
		win := e.Timing.Reply("the queued echoes and the WebSocket's own")
		e.Expect("4q1, 4q2 (queued on polling), then 4ws, all on the WebSocket")
		e.Budget(win)
		cctx, cancel := context.WithTimeout(ctx, win.Max)
		defer cancel()
		wc := wsOnly(w, sess)
		var got []string
		for len(got) < 3 {
			got = append(got, string(nextMessage(cctx, wc).Data))
		}
		e.Observe("%q", got)
		Expect(got).To(Equal([]string{"q1", "q2", "ws"}))
	}, up)

	s.It("EIO-UPG-09", "closes the probe WebSocket on a packet other than the upgrade and keeps polling", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Probe(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
		Expect(w.Send(msg("early"))).To(Succeed())
		ce, err := w.WaitClosed(ctx)
		Expect(err).NotTo(HaveOccurred(), "the probe WebSocket must be closed")
		e.Observe("probe closed (code %d)", ce.Code)
		Expect(sess.Post(ctx, msg("polling"))).To(HaveField("Status", http.StatusOK))
		p := nextMessage(ctx, framework.AsConn(sess))
		e.Observe("polling echo %v", p)
		Expect(p).To(Equal(msg("polling")))
	}, up)

	s.It("EIO-UPG-11", "accepts the upgrade packet sent right after 2probe", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Probe(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.Send(pkt(engineio.Upgrade, ""))).To(Succeed())
		Expect(w.Send(msg("hello"))).To(Succeed())
		e.Expect("3probe, then the echo 4hello on the WebSocket")
		Expect(w.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
		p := nextMessage(ctx, wsOnly(w, sess))
		e.Observe("%v", p)
		Expect(p).To(Equal(msg("hello")))
	}, up)

	s.It("EIO-UPG-12", "loses, duplicates and reorders no message across the upgrade", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		Expect(sess.Post(ctx, msg("m1"))).To(HaveField("Status", http.StatusOK))
		var got []string
		c := framework.AsConn(sess)
		got = append(got, string(nextMessage(ctx, c).Data))
		Expect(sess.Post(ctx, msg("m2"), msg("m3"))).To(HaveField("Status", http.StatusOK))
		w, err := sess.Probe(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
		r, pkts, err := sess.Get(ctx)
		Expect(err).NotTo(HaveOccurred())
		e.Observe("GET during the upgrade: %d %q", r.Status, r.Body)
		for _, p := range pkts {
			if p.Type == engineio.Message {
				got = append(got, string(p.Data))
			}
		}
		Expect(w.Send(pkt(engineio.Upgrade, ""))).To(Succeed())
		Expect(w.Send(msg("m4"))).To(Succeed())
		wc := wsOnly(w, sess)
		win := e.Timing.Reply("the messages still owed after the upgrade")
		e.Budget(win)
		cctx, cancel := context.WithTimeout(ctx, win.Max)
		defer cancel()
		for len(got) < 4 {
			got = append(got, string(nextMessage(cctx, wc).Data))
		}
		e.Expect("echoes m1 m2 m3 m4, each once, in order, over polling then WebSocket")
		e.Observe("%q", got)
		Expect(got).To(Equal([]string{"m1", "m2", "m3", "m4"}))
		Consistently(func() []framework.Frame { return w.Frames() }).WithTimeout(50*time.Millisecond).
			ShouldNot(ContainElement(HaveField("Packet", msg("m2"))), "no duplicate of a message delivered by polling")
	}, up)

	s.It("EIO-UPG-15", "accepts an upgrade packet that carries data", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		w, err := sess.Probe(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(w.NextPacket(ctx)).To(Equal(pkt(engineio.Pong, "probe")))
		Expect(w.Send(pkt(engineio.Upgrade, "2"))).To(Succeed())
		Expect(w.Send(msg("hello"))).To(Succeed())
		p := nextMessage(ctx, wsOnly(w, sess))
		e.Observe("%v", p)
		Expect(p).To(Equal(msg("hello")))
	}, up)
}

// heartbeatAcrossUpgrade is v4 only: the server's ping cadence survives the
// upgrade (EIO-UPG-14).
func heartbeatAcrossUpgrade(s *framework.Suite) {
	s.It("EIO-UPG-14", "keeps its ping cadence through the upgrade", func(ctx context.Context, e *framework.Env) {
		t0 := time.Now()
		sess := openPoll(ctx, e)
		w, err := sess.Upgrade(ctx)
		Expect(err).NotTo(HaveOccurred())
		p, err := w.NextPacket(ctx)
		Expect(err).NotTo(HaveOccurred())
		took := time.Since(t0)
		win := e.Timing.Around(e.Timing.PingInterval, "pingInterval since the open")
		e.Budget(win)
		e.Measured("first ping on the WebSocket", took)
		e.Observe("%v", p)
		Expect(p).To(Equal(pkt(engineio.Ping, "")))
		Expect(e.InWindow(win, took)).To(BeTrue(), fmt.Sprintf("first ping after %v, outside %v", took, win))
	}, framework.Upgraded)
}
