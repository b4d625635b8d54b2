package engineio

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// openKeys is the exact key set of a v4 open packet (EIO-HS-02).
var openKeys = []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}

func handshakeV4(s *framework.Suite) {
	Describe("handshake", func() {
		s.It("EIO-HS-01", "opens a session for a polling GET without sid with 200 and a body starting with the open packet", func(ctx context.Context, e *framework.Env) {
			e.Expect("GET ?EIO=4&transport=polling → 200, body starts with 0{...}; POST 1 for its sid → 200")
			r, err := e.C.Get(ctx, e.C.PollQuery())
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusOK))
			Expect(string(r.Body)).To(HavePrefix("0{"))
			// The answer must open a session, not only describe one: the
			// sid it names is live, so a close posted for it is accepted.
			pkts, err := e.C.DecodePayload(r)
			Expect(err).NotTo(HaveOccurred(), "handshake body")
			op, err := engineio.ParseOpen(pkts[0].Data)
			Expect(err).NotTo(HaveOccurred(), "open packet")
			c, err := e.C.Do(ctx, framework.Request{Method: http.MethodPost, Query: e.C.PollQuery("sid", op.SID), Body: e.C.EncodePayload(pkt(engineio.Close, ""))})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("POST close for sid %q → %d %q", op.SID, c.Status, c.Body)
			Expect(c.Status).To(Equal(http.StatusOK), "the sid of the open packet must name a live session")
		}, framework.Polling)

		OpenPacket(s)

		s.It("EIO-HS-04", "advertises the same heartbeat timings and maxPayload on every transport", func(ctx context.Context, e *framework.Env) {
			p := open(ctx, e, framework.Polling).Handshake().Open
			w := open(ctx, e, framework.WebSocket).Handshake().Open
			e.Expect("identical positive pingInterval, pingTimeout and maxPayload on polling and WebSocket")
			e.Observe("polling %v/%v/%d, websocket %v/%v/%d", p.PingInterval, p.PingTimeout, p.MaxPayload, w.PingInterval, w.PingTimeout, w.MaxPayload)
			Expect(p.PingInterval).To(BeNumerically(">", 0))
			Expect(p.PingTimeout).To(BeNumerically(">", 0))
			Expect(p.MaxPayload).To(BeNumerically(">", 0))
			Expect([]any{w.PingInterval, w.PingTimeout, w.MaxPayload}).To(Equal([]any{p.PingInterval, p.PingTimeout, p.MaxPayload}))
		})

		s.It("EIO-HS-05", "issues distinct URL-safe session ids that are long enough to be unguessable", func(ctx context.Context, e *framework.Env) {
			const n = 8
			seen := map[string]bool{}
			re := regexp.MustCompile(`^[A-Za-z0-9_.~-]{16,}$`)
			for range n {
				sess := openPoll(ctx, e)
				Expect(sess.SID).To(MatchRegexp(re.String()), "URL-safe sid of at least 16 characters")
				Expect(seen).NotTo(HaveKey(sess.SID), "sid reused")
				seen[sess.SID] = true
			}
			e.Observe("%d distinct sids", len(seen))
		}, framework.Polling)

		s.It("EIO-HS-06", "answers the polling handshake with the open packet alone", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			e.Expect("exactly one packet in the handshake body")
			e.Observe("%q", sess.HS.Response.Body)
			Expect(sess.HS.Packets).To(HaveLen(1))
		}, framework.Polling)

		HandshakeMethod(s)

		s.It("EIO-HS-08", "answers a plain GET for transport=websocket without Upgrade with 400 code 3", func(ctx context.Context, e *framework.Env) {
			r, err := e.C.Get(ctx, e.C.WSQuery())
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`400 {"code":3,"message":"Bad request"}`)
			e.Observe("%d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
			Expect(errorCode(r.Body)).To(Equal(3))
		})

		// The fixture contract fixes the cookie (none on FX-EIO4, as
		// engine.io 6 by default): a target that sets one deviates from
		// it and fails; only a contract that leaves it open makes a
		// cookie unsupported.
		s.It("EIO-HS-10", "sets no session cookie unless one is configured", func(ctx context.Context, e *framework.Env) {
			ct := e.Cfg.Contract()
			sess := openPoll(ctx, e)
			cookies := sess.HS.Response.Header.Values("Set-Cookie")
			e.Observe("Set-Cookie %q", cookies)
			switch ct.Cookie {
			case framework.Off:
				e.Expect("no Set-Cookie on the handshake (%s configures no session cookie)", ct.Name)
				if len(cookies) > 0 {
					e.Observe("%s; the target set %q", ct.Requires("no session cookie"), cookies)
				}
				Expect(cookies).To(BeEmpty(), ct.Requires("no session cookie"))
			case framework.On:
				e.Expect("a Set-Cookie on the handshake (%s configures a session cookie)", ct.Name)
				Expect(cookies).NotTo(BeEmpty(), ct.Requires("a session cookie"))
			default:
				if len(cookies) > 0 {
					Skip(ct.Unsupported("does not fix the session cookie and the target sets one", "a server configured without one"))
				}
				Expect(cookies).To(BeEmpty())
			}
		}, framework.Polling)
	})
}

// errorCode returns the code of an Engine.IO JSON error body, or -1.
func errorCode(body []byte) int {
	var v struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil || v.Code == nil {
		return -1
	}
	return *v.Code
}

// isOpenBody reports whether a body looks like a handshake answer.
func isOpenBody(b []byte) bool {
	return strings.HasPrefix(string(b), "0{") || strings.Contains(string(b), ":0{")
}
