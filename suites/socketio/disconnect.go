package socketio

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
)

func disconnectV5(s *framework.Suite) {
	Describe("disconnect", func() {
		s.PerTransport(both, func(tr framework.Transport) {
			// "DISCONNECT 1 or 1/nsp, ends that namespace. No reply is
			// expected; the EIO session may stay up." Silence after 41
			// cannot tell a server that ended "/" from one that ignored
			// the DISCONNECT, so the spec then sends an EVENT on "/": for
			// a namespace already left the server must close the session
			// (SIO-NSP-05), where an ignoring server echoes it.
			s.It("SIO-DISC-01", "ends the main namespace on DISCONNECT without replying, so that a later EVENT on it closes the session", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				pings := ss.Pings()
				e.Expect(`41 → no Socket.IO packet, the next thing from the server is a ping; the session answers a barrier CONNECT; then 42["message","x"] on the left "/" → close without message-back`)
				sendText(ctx, ss, "1")
				w := e.Timing.Within(e.Timing.PingInterval, "a ping within pingInterval")
				e.Budget(w)
				cctx, cancel := context.WithTimeout(ctx, w.Max)
				defer cancel()
				Expect(ss.WaitPing(cctx, pings)).To(Succeed(), "a ping must arrive (%s)", w)
				e.Observe("after 41 a ping came; unread packets %v", packetsAndEnd(ss))
				Expect(packetsAndEnd(ss)).To(BeEmpty(), "the server must not answer a DISCONNECT")
				// The CONNECT_ERROR of the barrier is the next packet: the
				// session is open and the DISCONNECT was handled before it.
				barrier(ctx, e, ss)
				e.Observe("the barrier CONNECT was refused with CONNECT_ERROR: the session is open and handled the DISCONNECT")
				sendBad(ctx, e, ss, `2["message","siospec-left"]`)
				expectEndedWithout(ctx, e, ss, "an EVENT on the main namespace after leaving it (the namespace must have ended)")
			}, tr)

			s.It("SIO-DISC-01", "ends a custom namespace on DISCONNECT while the main namespace stays joined, so that a later EVENT on it closes the session", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				join(ctx, e, ss, "/custom", nil)
				e.Expect(`41/custom, → no reply; / still answers message with message-back; then 42/custom,["message","x"] on the left /custom → close`)
				sendText(ctx, ss, "1/custom,")
				// The echo is the next packet: nothing answered the
				// DISCONNECT, "/" is intact and the DISCONNECT was handled.
				expectAlive(ctx, e, ss, "after leaving /custom")
				e.Observe(`after 41/custom, the next packet was the message-back on "/": no reply to the DISCONNECT, "/" still joined`)
				sendBad(ctx, e, ss, `2/custom,["message","siospec-left"]`)
				expectEndedWithout(ctx, e, ss, "an EVENT on /custom after leaving it (the namespace must have ended)")
			}, tr)

			// "A DISCONNECT with a payload → invalid → close."
			s.It("SIO-DISC-02", "closes the session on a DISCONNECT that carries a payload", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("41{} → close")
				sendBad(ctx, e, ss, "1{}")
				expectClosed(ctx, e, ss, "DISCONNECT with payload")
			}, tr)

			// "A DISCONNECT for a namespace not joined → close."
			s.It("SIO-DISC-03", "closes the session on a DISCONNECT for a namespace that was not joined", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				e.Expect("41/custom, without joining /custom → close")
				sendBad(ctx, e, ss, "1/custom,")
				expectClosed(ctx, e, ss, "DISCONNECT for a namespace not joined")
			}, tr)

			// "A server-side namespace disconnect sends 41... and keeps the
			// EIO session."
			s.It("SIO-DISC-04", "sends DISCONNECT for a namespace the server disconnects and keeps the Engine.IO session", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				e.Expect(`42["ext:disconnect"] → 41; the session stays and 40 joins again`)
				emit(ctx, ss, "/", "ext:disconnect")
				p := next(ctx, e, ss, "the server's DISCONNECT")
				e.Observe("%s", p)
				Expect(p.Type).To(Equal(sio.Disconnect))
				Expect(p.Namespace()).To(Equal("/"))
				Expect(p.Data).To(BeNil(), "DISCONNECT carries no payload")
				join(ctx, e, ss, "/", nil)
				expectAlive(ctx, e, ss, "after the server-side namespace disconnect")
			}, tr, extended)

			// "disconnect(true) on the server sends a DISCONNECT for every
			// joined namespace, then closes the EIO session."
			s.It("SIO-DISC-05", "sends DISCONNECT for every joined namespace and then closes the session on a full server disconnect", func(ctx context.Context, e *framework.Env) {
				ss := open(ctx, e, tr)
				join(ctx, e, ss, "/", nil)
				requireExtended(ctx, e, ss)
				join(ctx, e, ss, "/custom", nil)
				e.Expect(`42["ext:disconnect",true] → 41 and 41/custom, (any order), then the session closes`)
				emit(ctx, ss, "/", "ext:disconnect", true)
				var nsps []string
				for range 2 {
					p := next(ctx, e, ss, "a DISCONNECT")
					Expect(p.Type).To(Equal(sio.Disconnect), "%s", p)
					nsps = append(nsps, p.Namespace())
				}
				sort.Strings(nsps)
				e.Observe("DISCONNECT for %v", nsps)
				Expect(nsps).To(Equal([]string{"/", "/custom"}))
				expectClosed(ctx, e, ss, "after the DISCONNECTs")
			}, tr, extended)
		})
		engineCloseDisconnects(s, sio.V5)
	})
}

func bufferV5(s *framework.Suite) {
	Describe("buffering", func() {
		// "EIO-level packets queued while a polling client has no GET
		// pending wait in the write buffer."
		s.It("NODE-BUF-02", "keeps the packets emitted while no GET is pending and delivers them in order with the next GETs", func(ctx context.Context, e *framework.Env) {
			ps, err := e.C.OpenPolling(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`with no GET pending: POST 40, 42["message","a"], 42["message","b"]; then GETs → CONNECT reply, auth, message-back a, message-back b`)
			for _, text := range []string{"0", `2["message","a"]`, `2["message","b"]`} {
				r, err := ps.Post(ctx, engineio.TextPacket(engineio.Message, text))
				Expect(err).NotTo(HaveOccurred())
				Expect(r.Status).To(Equal(http.StatusOK), "POST %q", text)
			}
			var got []string
			w := replyWindow(e)
			cctx, cancel := context.WithTimeout(ctx, w.Max)
			defer cancel()
			for len(got) < 4 {
				r, pkts, err := ps.Get(cctx)
				Expect(err).NotTo(HaveOccurred(), "GET (budget %s)", w)
				Expect(r.Status).To(Equal(http.StatusOK))
				for _, p := range pkts {
					switch p.Type {
					case engineio.Message:
						got = append(got, string(p.Data))
					case engineio.Ping:
						_, _ = ps.Post(ctx, engineio.TextPacket(engineio.Pong, ""))
					}
				}
			}
			e.Observe("%q", got)
			Expect(got).To(HaveLen(4))
			Expect(got[0]).To(HavePrefix(`0{"sid":`))
			Expect(got[1:]).To(Equal([]string{`2["auth",{}]`, `2["message-back","a"]`, `2["message-back","b"]`}))
		}, framework.Polling)
	})
}

// engineCloseDisconnects declares SIO-DISC-07 for the revision of s (v5 or
// v4), once per transport of the closing client.
//
// Catalogue SIO-DISC-07: "Closing the EIO session disconnects every
// namespace, with the EIO-level reason." A black-box client cannot see
// another client's server-side disconnect, so the spec uses the extended
// contract's ext:watch: client A watches "/" and "/custom"; client B joins
// both and then closes its Engine.IO session the way the JS client does
// (polling: POST "1", EIO-CLOSE-01; WebSocket: a close frame and no "1",
// EIO-CLOSE-02). A must be told of B's disconnect in each namespace, each
// with the Engine.IO-level reason "transport close" (what socket.io 4.8.4
// and 2.5.1 report for both ways, NODE-DR), never with a namespace-level
// reason such as "client namespace disconnect".
func engineCloseDisconnects(s *framework.Suite, v sio.Version) {
	s.PerTransport(both, func(tr framework.Transport) {
		s.It("SIO-DISC-07", "disconnects every namespace of a session whose client closes the Engine.IO session, with the Engine.IO reason", func(ctx context.Context, e *framework.Env) {
			oo := &OpenOptions{Version: v}
			a := openWith(ctx, e, framework.WebSocket, oo)
			joinMain(ctx, e, a)
			requireExtended(ctx, e, a)
			join(ctx, e, a, "/custom", nil)
			watch(ctx, e, a, "/")
			watch(ctx, e, a, "/custom")

			b := openWith(ctx, e, tr, oo)
			mainReply := joinMain(ctx, e, b)
			customReply := join(ctx, e, b, "/custom", nil)
			ids := map[string]string{"/": socketID(b, "/", mainReply), "/custom": socketID(b, "/custom", customReply)}

			how := "POST 1"
			if tr == framework.WebSocket {
				how = "WebSocket close frame"
			}
			e.Expect(`client B (%s) joined / and /custom, then closed its Engine.IO session (%s): watcher A gets ext:disconnected {"id":B's id,"nsp":..., "reason":"transport close"} for / and for /custom`, tr, how)
			e.Step("B closes its Engine.IO session: " + how)
			if w := b.Conn().WS(); w != nil {
				// A close frame, the server's close frame in answer, then
				// the TCP connection closed, as a browser does.
				Expect(w.CloseNormal()).To(Succeed())
				cw := closeWindow(e)
				wctx, wcancel := context.WithTimeout(ctx, cw.Max)
				_, err := w.WaitClosed(wctx)
				wcancel()
				Expect(err).NotTo(HaveOccurred(), "the server must answer the close frame (%s)", cw)
				w.Close()
			} else {
				r, err := b.Conn().Poll().Post(ctx, engineio.TextPacket(engineio.Close, ""))
				Expect(err).NotTo(HaveOccurred())
				Expect(r.Status).To(Equal(http.StatusOK), "POST 1")
			}

			got := awaitDisconnected(ctx, e, a, ids)
			e.Observe("reasons %v", got)
			Expect(got).To(Equal(map[string]string{"/": "transport close", "/custom": "transport close"}),
				"every namespace of the closed session must disconnect with the Engine.IO reason")
		}, tr, extended)
	})
}

// awaitDisconnected reads the watcher a's packets until it was told, by
// ext:disconnected, of the disconnect of every socket in ids (namespace →
// socket id), within the reply window; it returns the reasons by
// namespace. Other sockets' disconnects are noted and skipped.
func awaitDisconnected(ctx context.Context, e *framework.Env, a *Session, ids map[string]string) map[string]string {
	GinkgoHelper()
	got := map[string]string{}
	w := replyWindow(e)
	e.Budget(w)
	cctx, cancel := context.WithTimeout(ctx, w.Max)
	defer cancel()
	for len(got) < len(ids) {
		p, err := a.Next(cctx)
		Expect(err).NotTo(HaveOccurred(), "the watcher must be told of the disconnect from %v (got %v; %s)", ids, got, w)
		if eventName(p) != "ext:disconnected" {
			continue
		}
		var args []json.RawMessage
		Expect(p.Unmarshal(&args)).To(Succeed(), "ext:disconnected payload %s", p)
		Expect(args).To(HaveLen(2), "ext:disconnected carries one object: %s", p)
		var d struct {
			ID     string `json:"id"`
			Nsp    string `json:"nsp"`
			Reason string `json:"reason"`
		}
		Expect(json.Unmarshal(args[1], &d)).To(Succeed(), "ext:disconnected payload %s", p)
		if ids[d.Nsp] == "" || d.ID != ids[d.Nsp] {
			e.Rec.Note("another socket's disconnect: " + string(p.Data))
			continue
		}
		Expect(p.Namespace()).To(Equal(d.Nsp), "the watcher is told in the namespace it watches")
		got[d.Nsp] = d.Reason
	}
	return got
}

// joinMain joins "/" on a v5 session, or consumes the implicit CONNECT of
// a v4 session (SIO4-02); it returns the CONNECT reply.
func joinMain(ctx context.Context, e *framework.Env, s *Session) sio.Packet {
	GinkgoHelper()
	if s.Version() == sio.V4 {
		return joinMain4(ctx, e, s)
	}
	return join(ctx, e, s, "/", nil)
}

// socketID returns the id of s's socket in nsp: the CONNECT reply's sid on
// v5; on v4 the Engine.IO sid, prefixed with "<nsp>#" outside "/"
// (socket.io 2.x, SIO4-04).
func socketID(s *Session, nsp string, reply sio.Packet) string {
	GinkgoHelper()
	if s.Version() != sio.V4 {
		return sidOf(reply)
	}
	if nsp == "/" {
		return s.SID()
	}
	return nsp + "#" + s.SID()
}

// watch registers s as a watcher of nsp (ext:watch) and consumes the ack.
// On "/" a message-with-ack probe follows: events are handled in order, so
// a server whose extended contract lacks ext:watch acks the probe first and
// the spec is unsupported. The contract puts ext:watch on "/" and
// "/custom" alike, so a server that has it on "/" must ack it on
// "/custom".
func watch(ctx context.Context, e *framework.Env, s *Session, nsp string) {
	GinkgoHelper()
	id := s.AckID()
	ev, err := sio.NewEvent(nsp, "ext:watch")
	Expect(err).NotTo(HaveOccurred())
	send(ctx, s, ev.WithID(id))
	var probe uint64
	if nsp == "/" {
		probe = s.AckID()
		m, _ := sio.NewEvent("/", "message-with-ack", "siospec-watch-probe")
		send(ctx, s, m.WithID(probe))
	}
	for {
		p := next(ctx, e, s, "ack of ext:watch in "+nsp)
		if p.Type != sio.Ack || !p.HasID {
			continue
		}
		switch {
		case p.ID == id && p.Namespace() == nsp:
			if probe != 0 {
				// Now a watcher, the session may be told of other
				// sessions' disconnects (specs running beside this
				// one) before the probe's ack: those events are not
				// about this spec's sockets, which have not left.
				for {
					q := next(ctx, e, s, "ack of the probe after ext:watch")
					if q.Type == sio.Event || q.Type == sio.BinaryEvent {
						continue
					}
					expectAck(q, "/", probe)
					break
				}
			}
			return
		case probe != 0 && p.ID == probe:
			Skip("unsupported: the server's extended contract lacks ext:watch")
		}
	}
}
