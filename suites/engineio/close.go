package engineio

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

func closeV4(s *framework.Suite) {
	Describe("close", func() { closeSpecs(s) })
}

// closeSpecs declares the close rules for the suite's revision, v4 or v3,
// in each transport state they concern.
func closeSpecs(s *framework.Suite) {
	CloseOnPolling(s)
	closeOnWS(s)
	s.PerTransport(all, func(tr framework.Transport) {
		serverClose(s, tr)
		closedSIDRefused(s, tr)
	})
}

// serverClose declares EIO-CLOSE-04 on tr: the server ends a session
// through its heartbeat timeout (v4: the client leaves the server's ping
// unanswered; v3: the client never pings) and shows it as the catalogue
// says: the close packet in the GET pending on polling, a close frame on a
// WebSocket (not a dropped connection).
func serverClose(s *framework.Suite, tr framework.Transport) {
	s.It("EIO-CLOSE-04", "ends a session it closes itself with the close packet to the pending GET on polling and a close frame on a WebSocket", func(ctx context.Context, e *framework.Env) {
		c := open(ctx, e, tr)
		if e.C.Version() == engineio.V4 {
			wp := e.Timing.Within(e.Timing.PingInterval, "the first ping within pingInterval")
			hctx, cancel := context.WithTimeout(ctx, wp.Max)
			defer cancel()
			p, err := c.Next(hctx)
			Expect(err).NotTo(HaveOccurred(), "the server's first ping (%s)", wp)
			Expect(p).To(Equal(pkt(engineio.Ping, "")), "the first packet of an idle session")
		}
		// The client stays silent from here: the server's heartbeat
		// timeout ends the session at the latest pingInterval+pingTimeout
		// from now (HB-03 and EIO3-02 judge when exactly).
		win := e.Timing.Within(e.Timing.PingInterval+e.Timing.PingTimeout, "the heartbeat timeout")
		e.Budget(win)
		cctx, cancel := context.WithTimeout(ctx, win.Max)
		defer cancel()
		if ps := c.Poll(); ps != nil && c.WS() == nil {
			e.Expect(`no heartbeat from the client: the GET pending at the heartbeat timeout → 200 with the close packet "1"`)
			r, pkts, err := ps.Get(cctx)
			Expect(err).NotTo(HaveOccurred(), "the GET pending at the heartbeat timeout must be answered (%s)", win)
			e.Observe("GET %d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusOK))
			Expect(pkts).To(ContainElement(pkt(engineio.Close, "")))
			return
		}
		e.Expect("no heartbeat from the client: the server closes the WebSocket with a close frame")
		ce, err := c.WS().WaitClosed(cctx)
		Expect(err).NotTo(HaveOccurred(), "the WebSocket must be closed at the heartbeat timeout (%s)", win)
		e.Measured(fmt.Sprintf("WebSocket closed (code %d)", ce.Code), c.WS().ClosedAt())
		e.Observe("%v", ce)
		Expect(ce.Code).NotTo(Equal(websocket.CloseAbnormalClosure), "the connection was dropped without a close frame")
	}, tr)
}

// closedSIDRefused declares EIO-CLOSE-06 on tr: once a session is closed,
// every request with its sid gets 400 with error code 1 (Session ID
// unknown) and a WebSocket with it opens nothing. On polling the client
// closes with the close packet and the spec waits for the end (keeping the
// heartbeat); on a WebSocket it closes the connection (EIO-CLOSE-02), and
// the spec asks with the sid until the answer is code 1, within the reply
// window. The code tells a closed session from a live WebSocket session,
// whose sid polling requests also get 400 (code 3, EIO-UPG-07).
func closedSIDRefused(s *framework.Suite, tr framework.Transport) {
	s.It("EIO-CLOSE-06", "refuses every request with the sid of a closed session with code 1", func(ctx context.Context, e *framework.Env) {
		c := open(ctx, e, tr)
		sid := c.SID()
		get := func(ctx context.Context) *framework.Response {
			GinkgoHelper()
			r, err := e.C.Do(ctx, framework.Request{Query: e.C.PollQuery("sid", sid)})
			Expect(err).NotTo(HaveOccurred())
			return r
		}
		if ps := c.Poll(); ps != nil && c.WS() == nil {
			e.Expect(`after POST "1": POST → 400 code 1, GET → 400 code 1, WebSocket upgrade refused`)
			Expect(ps.Post(ctx, pkt(engineio.Close, ""))).To(HaveField("Status", http.StatusOK))
			expectEnded(ctx, e, c, "the session must end after the close packet")
		} else {
			e.Expect("after the client closes the WebSocket: GET → 400 code 1 within the reply window, then POST → 400 code 1, WebSocket upgrade refused")
			Expect(c.WS().CloseNormal()).To(Succeed())
			c.WS().Close()
			win := e.Timing.Reply("the closed session's sid unknown")
			e.Budget(win)
			start := e.Rec.Since()
			cctx, cancel := context.WithTimeout(ctx, win.Max)
			defer cancel()
			var last *framework.Response
			Eventually(func() int {
				last = get(cctx)
				return errorCode(last.Body)
			}).WithContext(cctx).WithPolling(10*time.Millisecond).Should(Equal(1),
				"the sid of the closed session must be unknown (%s)", win)
			e.Measured("sid unknown", e.Rec.Since()-start)
			e.Observe("GET with the sid → %d %q", last.Status, last.Body)
		}
		r, err := e.C.Do(ctx, framework.Request{Method: http.MethodPost, Query: e.C.PollQuery("sid", sid), Body: e.C.EncodePayload(msg("late"))})
		Expect(err).NotTo(HaveOccurred())
		e.Observe("POST after the end %d %q", r.Status, r.Body)
		Expect(r.Status).To(Equal(http.StatusBadRequest))
		Expect(errorCode(r.Body)).To(Equal(1), "error code of the POST")
		g := get(ctx)
		e.Observe("GET after the end %d %q", g.Status, g.Body)
		Expect(g.Status).To(Equal(http.StatusBadRequest))
		Expect(errorCode(g.Body)).To(Equal(1), "error code of the GET")
		e.Observe("WebSocket: %s", expectNoWSSession(ctx, e, e.C.WSQuery("sid", sid)))
	}, tr)
}

// closeOnWS is shared by v4 and v3 (EIO-CLOSE-03).
func closeOnWS(s *framework.Suite) { CloseOnWebSocket(s) }

// CloseOnWebSocket declares the EIO-CLOSE-03 spec for suite s: the one
// implementation that the Engine.IO v4 and v3 suites and the Socket.IO v5
// suite's Engine.IO layer share.
//
// Catalogue EIO-CLOSE-03: "1 received over a WS: the suite expects the
// session to close. Node ignores 1 on WS, so the suite case passes on Node
// only through the ping timeout (~pingInterval+pingTimeout). Harness: an
// immediate close conforms; for Node, expect the close within
// pingInterval+pingTimeout."
//
// The client first refreshes the heartbeat (v4: answers the server's first
// ping; v3: pings and reads the pong), so that the budget runs from a known
// point, then sends 1 and stays silent: a server that acts on the close
// packet closes at once, a server that ignores it (Node) closes through its
// ping timeout, pingInterval+pingTimeout after that last heartbeat. Both
// conform; a server that keeps the session past
// pingInterval+pingTimeout+grace does not. The report's measured time and
// observed text tell which of the two happened.
func CloseOnWebSocket(s *framework.Suite) {
	s.PerTransport(wsStates, func(tr framework.Transport) {
		s.It("EIO-CLOSE-03", "ends a WebSocket session on a close packet, at the latest through the heartbeat within pingInterval+pingTimeout", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			wp := e.Timing.Within(e.Timing.PingInterval, "the first heartbeat within pingInterval")
			hctx, cancel := context.WithTimeout(ctx, wp.Max)
			defer cancel()
			if e.C.Version() == engineio.V3 {
				Expect(c.Send(ctx, pkt(engineio.Ping, ""))).To(Succeed())
				p, err := c.Next(hctx)
				Expect(err).NotTo(HaveOccurred(), "the pong to the client's ping (%s)", wp)
				Expect(p.Type).To(Equal(engineio.Pong), "the answer to a v3 client ping")
			} else {
				p, err := c.Next(hctx)
				Expect(err).NotTo(HaveOccurred(), "the server's first ping (%s)", wp)
				Expect(p.Type).To(Equal(engineio.Ping), "the first packet after the open packet on an idle session")
				Expect(c.Send(ctx, pkt(engineio.Pong, ""))).To(Succeed())
			}
			Expect(c.Send(ctx, pkt(engineio.Close, ""))).To(Succeed())
			sent := e.Rec.Since()
			hb := e.Timing.PingInterval + e.Timing.PingTimeout
			w := e.Timing.Within(hb, "pingInterval+pingTimeout after the close packet")
			e.Expect(`after "1" (the client silent from then on) the WebSocket closes: at once conforms; through the heartbeat (Node ignores "1" on WebSocket) within pingInterval+pingTimeout conforms too`)
			e.Budget(w)
			how := expectEndedSilent(ctx, c, w.Max, "the session must end after a close packet, at the latest through the heartbeat")
			d := e.Rec.Since() - sent
			e.Measured(how, d)
			if d < e.Timing.PingInterval-e.Timing.Tolerance(e.Timing.PingInterval) {
				e.Observe("%s %v after the close packet: the server acted on it", how, d.Round(time.Millisecond))
			} else {
				e.Observe("%s %v after the close packet: through the heartbeat (the close packet was ignored, as Node does)", how, d.Round(time.Millisecond))
			}
		}, tr)
	})
}
