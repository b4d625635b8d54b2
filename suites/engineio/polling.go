package engineio

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

func pollingV4(s *framework.Suite) {
	Describe("HTTP long-polling", func() {
		s.It("EIO-POLL-01", "holds a GET on an idle session until it has a packet to send, at the latest the next ping", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			t0 := time.Now()
			r, pkts, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			took := time.Since(t0)
			// Held at least until about the first ping is due, answered no
			// later than the heartbeat budget; the cadence is EIO-HB-01's.
			hb := e.Timing.PingInterval + e.Timing.PingTimeout
			w := framework.Window{
				Min: e.Timing.PingInterval - e.Timing.Tolerance(e.Timing.PingInterval),
				Max: e.Timing.Scaled(hb) + e.Timing.Grace(hb),
				Why: "held past pingInterval − tolerance, answered within pingInterval+pingTimeout+grace",
			}
			e.Expect("GET held, then answered with the ping \"2\"")
			e.Budget(w)
			e.Measured("GET answered", took)
			e.Observe("%d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusOK))
			Expect(pkts).To(Equal([]engineio.Packet{pkt(engineio.Ping, "")}))
			Expect(e.InWindow(w, took)).To(BeTrue(), "GET answered after %v, outside %v", took, w)
		}, framework.Polling)

		s.It("EIO-POLL-01", "answers a held GET as soon as a packet is queued, before the next ping", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			// parkGet answers the heartbeat first: the next ping is a whole
			// pingInterval away, so an answer well before it can only be
			// for the message.
			parked := parkGet(ctx, e, sess)
			posted := time.Now()
			Expect(sess.Post(ctx, msg("wake"))).To(HaveField("Status", http.StatusOK))
			tol := e.Timing.Tolerance(e.Timing.PingInterval)
			w := framework.Window{
				Max: max(e.Timing.PingInterval/2, e.Timing.PingInterval-tol),
				Why: fmt.Sprintf("before the next ping can be due: max(pingInterval/2, pingInterval − tolerance %v)", tol),
			}
			e.Expect("the held GET → 4wake, without waiting for the next ping")
			e.Budget(w)
			parked.wait(ctx, w.Max)
			took := parked.at.Sub(posted)
			e.Measured("held GET answered after the POST", took)
			e.Observe("held GET %d %v", status(parked.resp), parked.pkts)
			Expect(parked.err).NotTo(HaveOccurred())
			Expect(status(parked.resp)).To(Equal(http.StatusOK))
			Expect(parked.pkts).To(Equal([]engineio.Packet{msg("wake")}))
			Expect(e.InWindow(w, took)).To(BeTrue(), "held GET answered %v after the POST, outside %v", took, w)
		}, framework.Polling)

		s.It("EIO-POLL-02", "joins the packets of a payload with 0x1E and nothing at either end", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			Expect(sess.Post(ctx, msg("a"), msg("b"))).To(HaveField("Status", http.StatusOK))
			r, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`GET body "4a\x1e4b"`)
			e.Observe("%q", r.Body)
			Expect(string(r.Body)).To(Equal("4a\x1e4b"))
		}, framework.Polling)

		s.It("EIO-POLL-03", "sends every buffered packet in one GET response, in order", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			body := "4test1\x1e4test2\x1e4test3"
			r, err := sess.PostRaw(ctx, []byte(body), nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Status).To(Equal(http.StatusOK))
			g, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect("GET body %q", body)
			e.Observe("%q", g.Body)
			Expect(string(g.Body)).To(Equal(body))
		}, framework.Polling)

		s.It("EIO-POLL-04", "answers a POST with 200 and body ok and delivers its message", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			r, err := sess.Post(ctx, msg("hello"))
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`POST 4hello → 200 "ok"; GET → 4hello`)
			e.Observe("POST %d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusOK))
			Expect(r.Body).To(Equal(okBody))
			g, pkts, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("GET %d %q", g.Status, g.Body)
			// A slow exchange can let the first ping (pingInterval after
			// the open) join the echo in the same payload; it is not part
			// of the rule.
			var rest []engineio.Packet
			for _, p := range pkts {
				if p.Type != engineio.Ping || p.Binary || len(p.Data) != 0 {
					rest = append(rest, p)
				}
			}
			Expect(rest).To(Equal([]engineio.Packet{msg("hello")}))
		}, framework.Polling)

		s.It("EIO-POLL-05", "processes every packet of a 200-packet POST, in order", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			const n = 200
			var pk []engineio.Packet
			for i := range n {
				pk = append(pk, msg(fmt.Sprintf("m%03d", i)))
			}
			Expect(sess.Post(ctx, pk...)).To(HaveField("Status", http.StatusOK))
			c := framework.AsConn(sess)
			// Each echo is queued once the POST is answered: a missing one
			// fails within the reply window, not at the spec's timeout.
			win := e.Timing.Reply("each echo")
			e.Budget(win)
			next := func() engineio.Packet {
				GinkgoHelper()
				cctx, cancel := context.WithTimeout(ctx, win.Max)
				defer cancel()
				return nextMessage(cctx, c)
			}
			for i := range n {
				p := next()
				Expect(string(p.Data)).To(Equal(fmt.Sprintf("m%03d", i)), "message %d of %d", i, n)
			}
			e.Observe("all %d messages echoed in order", n)
		}, framework.Polling)

		s.It("EIO-POLL-06", "refuses GET and POST with an unknown sid with 400", func(ctx context.Context, e *framework.Env) {
			e.Expect("GET and POST with sid=%s → 400", bogusSID)
			g, err := e.C.Get(ctx, e.C.PollQuery("sid", bogusSID))
			Expect(err).NotTo(HaveOccurred())
			p, err := e.C.Do(ctx, framework.Request{Method: http.MethodPost, Query: e.C.PollQuery("sid", bogusSID), Body: []byte("4x")})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("GET %d %q, POST %d %q", g.Status, g.Body, p.Status, p.Body)
			Expect(g.Status).To(Equal(http.StatusBadRequest))
			Expect(p.Status).To(Equal(http.StatusBadRequest))
		}, framework.Polling)

		s.It("EIO-POLL-07", "refuses a second concurrent GET and ends the session", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			first := parkGet(ctx, e, sess)
			r2, _, err := sess.Get(ctx, "t", "burst")
			Expect(err).NotTo(HaveOccurred())
			first.wait(ctx, e.Timing.Within(e.Timing.PingInterval, "pingInterval").Max)
			e.Expect("duplicate GET → 400 (the official suite also accepts 500); then the session is gone")
			e.Observe("first GET %d, duplicate %d %q", status(first.resp), r2.Status, r2.Body)
			Expect(r2.Status).To(BeElementOf(http.StatusBadRequest, http.StatusInternalServerError))
			expectEnded(ctx, e, framework.AsConn(sess), "the session must be closed after a duplicate GET")
		}, framework.Polling)

		s.It("EIO-POLL-08", "refuses a second concurrent POST and ends the session", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			rc, err := e.DialRaw(ctx)
			framework.FailIfHarness(err)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(rc.Close)
			q := e.C.PollQuery(sess.Query()...).Encode()
			Expect(rc.Write([]byte(e.RequestHead("POST", q, "Content-Type: text/plain;charset=UTF-8", "Content-Length: 6") + "4he"))).To(Succeed())
			firstResp := make(chan *framework.RawResponse, 1)
			go func() {
				r, _ := rc.ReadResponse(ctx)
				firstResp <- r
			}()
			Consistently(firstResp).WithTimeout(50*time.Millisecond).ShouldNot(Receive(), "the server waits for the rest of the first POST body")
			r2, err := sess.Post(ctx, msg("second"))
			Expect(err).NotTo(HaveOccurred())
			_ = rc.Write([]byte("llo"))
			e.Expect("second POST while the first is in flight → 400; then the session is gone")
			e.Observe("second POST %d %q", r2.Status, r2.Body)
			Expect(r2.Status).To(Equal(http.StatusBadRequest))
			expectEnded(ctx, e, framework.AsConn(sess), "the session must be closed after overlapping POSTs")
		}, framework.Polling)

		s.It("EIO-POLL-09", "ends the session when the client aborts a pending GET", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			rc, err := e.DialRaw(ctx)
			framework.FailIfHarness(err)
			Expect(err).NotTo(HaveOccurred())
			Expect(rc.Write([]byte(e.RequestHead("GET", e.C.PollQuery(sess.Query()...).Encode())))).To(Succeed())
			got := make(chan *framework.RawResponse, 1)
			go func() {
				r, _ := rc.ReadResponse(ctx)
				got <- r
			}()
			Consistently(got).WithTimeout(20*time.Millisecond).ShouldNot(Receive(), "the GET is held")
			rc.Close()
			e.Expect("after the abort, GET → 400")
			expectEnded(ctx, e, framework.AsConn(sess), "the session must end when its GET is aborted")
		}, framework.Polling)

		s.It("EIO-POLL-10", "ends the session when the client aborts a POST mid-body", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			rc, err := e.DialRaw(ctx)
			framework.FailIfHarness(err)
			Expect(err).NotTo(HaveOccurred())
			q := e.C.PollQuery(sess.Query()...).Encode()
			Expect(rc.Write([]byte(e.RequestHead("POST", q, "Content-Type: text/plain;charset=UTF-8", "Content-Length: 100") + "4hel"))).To(Succeed())
			got := make(chan *framework.RawResponse, 1)
			go func() {
				r, _ := rc.ReadResponse(ctx)
				got <- r
			}()
			Consistently(got).WithTimeout(20*time.Millisecond).ShouldNot(Receive(), "the POST is incomplete")
			rc.Close()
			expectEnded(ctx, e, framework.AsConn(sess), "the session must end when a POST is cut")
		}, framework.Polling)

		s.It("EIO-POLL-11", "ends the session after a POST with an undecodable packet", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			r, err := sess.PostRaw(ctx, []byte("abc"), nil)
			if err == nil {
				e.Observe("POST → %d %q (not judged: errata 1)", r.Status, r.Body)
			} else {
				e.Observe("POST torn down: %v", err)
			}
			e.Expect("the next GET → 400")
			expectEnded(ctx, e, framework.AsConn(sess), "the session must end after a parse error")
		}, framework.Polling)

		s.It("EIO-POLL-12", "treats an empty POST body as a parse error", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			r, err := sess.PostRaw(ctx, []byte{}, nil)
			if err == nil {
				e.Observe("POST → %d %q", r.Status, r.Body)
			}
			expectEnded(ctx, e, framework.AsConn(sess), "the session must end after an empty POST")
		}, framework.Polling)

		s.It("EIO-POLL-13", "refuses a v4 POST sent as application/octet-stream and ends the session", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			r, err := sess.PostRaw(ctx, []byte{0x04, 1, 2, 3}, http.Header{"Content-Type": {"application/octet-stream"}})
			Expect(err).NotTo(HaveOccurred())
			e.Expect("400; then the session is gone")
			e.Observe("POST %d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
			expectEnded(ctx, e, framework.AsConn(sess), "the session must end")
		}, framework.Polling)

		s.It("EIO-POLL-14", "answers GETs as text/plain UTF-8 with caching disabled", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			Expect(sess.Post(ctx, msg("x"))).To(HaveField("Status", http.StatusOK))
			r, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect("Content-Type: text/plain; charset=UTF-8, Cache-Control: no-store")
			e.Observe("Content-Type %q, Cache-Control %q", r.ContentType(), r.Header.Get("Cache-Control"))
			Expect(strings.ToLower(r.ContentType())).To(Equal("text/plain; charset=utf-8"))
			Expect(r.Header.Get("Cache-Control")).To(ContainSubstring("no-store"))
		}, framework.Polling)

		s.It("NODE-CMP-01", "compresses a large polling response with gzip when the client accepts it", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			big := strings.Repeat("siospec-", 256)
			Expect(sess.Post(ctx, msg(big))).To(HaveField("Status", http.StatusOK))
			r, err := e.C.Do(ctx, framework.Request{Query: e.C.PollQuery(sess.Query()...), Header: http.Header{"Accept-Encoding": {"gzip"}}})
			Expect(err).NotTo(HaveOccurred())
			e.Expect("Content-Encoding: gzip on a %d-byte body", len(big)+1)
			e.Observe("%d Content-Encoding %q, %dB", r.Status, r.Header.Get("Content-Encoding"), len(r.Body))
			Expect(r.Header.Get("Content-Encoding")).To(Equal("gzip"))
			Expect(gunzip(r.Body)).To(Equal("4" + big))
		}, framework.Polling)

		s.It("EIO-POLL-15", "answers another method with a valid sid with 500 and keeps the session", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			r, err := e.C.Do(ctx, framework.Request{Method: http.MethodPut, Query: e.C.PollQuery(sess.Query()...), Body: []byte("4x")})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("PUT %d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusInternalServerError))
			Expect(sess.Post(ctx, msg("alive"))).To(HaveField("Status", http.StatusOK))
			Expect(nextMessage(ctx, framework.AsConn(sess))).To(Equal(msg("alive")))
		}, framework.Polling)

		s.It("EIO-POLL-16", "refuses a POST for a session that moved to WebSocket with 400", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			w, err := sess.Upgrade(ctx)
			Expect(err).NotTo(HaveOccurred())
			// The WebSocket answers the server's pings meanwhile, so the
			// 400 cannot come from a session that timed out.
			stop := w.KeepAlive(ctx, sess.HS)
			win := e.Timing.Reply("the polling POST refused after the upgrade")
			e.Expect("after the upgrade, a polling POST for the sid → 400 while the session lives on over the WebSocket")
			e.Budget(win)
			Eventually(func(g Gomega) {
				r, err := sess.Post(ctx, msg("late"))
				g.Expect(err).NotTo(HaveOccurred())
				e.Observe("POST %d %q", r.Status, r.Body)
				g.Expect(r.Status).To(Equal(http.StatusBadRequest))
			}).WithContext(ctx).WithTimeout(win.Max).WithPolling(20 * time.Millisecond).Should(Succeed())
			stop()
			// The session must still be alive over the WebSocket: the refusal
			// is about the transport, not a session that ended.
			Expect(w.Send(msg("alive"))).To(Succeed())
			cctx, cancel := context.WithTimeout(ctx, win.Max)
			defer cancel()
			for {
				// A "late" POSTed before the upgrade completed is echoed
				// first; then the WebSocket's own message comes back.
				p, err := w.NextNonPing(cctx)
				Expect(err).NotTo(HaveOccurred(), "the session must still carry messages over the WebSocket after the refused POST")
				if p.Type == engineio.Message && string(p.Data) == "late" {
					continue
				}
				e.Observe("WebSocket still carries the session: %v", p)
				Expect(p).To(Equal(msg("alive")))
				break
			}
		}, framework.Polling)

		s.It("EIO-POLL-19", "splits a text packet at an embedded record separator", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			// "4a" RS "x": a receiver that splits sees message "a" and then
			// the invalid packet "x".
			_, _ = sess.PostRaw(ctx, engineio.AppendRawPayload(nil, []byte("4a"), []byte("x")), nil)
			r, pkts, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("GET %d %q", r.Status, r.Body)
			Expect(pkts).NotTo(ContainElement(msg("a\x1ex")), "the separator must not stay inside the message")
		}, framework.Polling)

		s.It("EIO-POLL-20", "completes a pending GET with a close packet when it ends the session", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			first := parkGet(ctx, e, sess)
			_, _, _ = sess.Get(ctx, "t", "burst")
			first.wait(ctx, e.Timing.Reply("the parked GET released").Max)
			e.Expect(`the parked GET → 200 "1" when a duplicate GET ends the session`)
			e.Observe("parked GET %d %v", status(first.resp), first.pkts)
			Expect(first.err).NotTo(HaveOccurred())
			Expect(first.pkts).To(ContainElement(pkt(engineio.Close, "")))
		}, framework.Polling)
	})
}
