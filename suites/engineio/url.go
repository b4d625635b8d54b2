package engineio

import (
	"context"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/suites/framework"
)

func urlV4(s *framework.Suite) {
	Describe("endpoint and query parameters", func() {
		s.It("EIO-URL-01", "does not serve Engine.IO outside its path prefix", func(ctx context.Context, e *framework.Env) {
			e.Expect("GET /siospec-elsewhere/?EIO=4&transport=polling is not an Engine.IO handshake (any status but a 200 open packet, or no answer)")
			cctx, cancel := context.WithTimeout(ctx, e.Timing.Scaled(e.Timing.PingInterval+e.Timing.PingTimeout))
			defer cancel()
			r, err := e.C.Do(cctx, framework.Request{Path: "/siospec-elsewhere/", Query: e.C.PollQuery()})
			if err != nil {
				e.Observe("no answer: %v", err)
				return
			}
			e.Observe("%d %q", r.Status, r.Body)
			Expect(r.Status == http.StatusOK && isOpenBody(r.Body)).To(BeFalse(), "a handshake was served outside the prefix")
		})

		EIORequired(s)

		// FX-EIO4 has allowEIO3 false, so a v4 target that opens a v3
		// session deviates from the contract and fails; only a contract
		// that enables v3, or leaves it open, makes that unsupported.
		s.It("EIO-URL-03", "refuses EIO=3 with error code 5 when v3 is not enabled", func(ctx context.Context, e *framework.Env) {
			ct := e.Cfg.Contract()
			if ct.AllowEIO3 == framework.On {
				Skip(ct.Unsupported("accepts Engine.IO v3 (allowEIO3 true)", "a server with v3 disabled"))
			}
			r, err := e.C.Do(ctx, framework.Request{RawQuery: "EIO=3&transport=polling"})
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`400 {"code":5,"message":"Unsupported protocol version"} (%s: allowEIO3 %s)`, ct.Name, ct.AllowEIO3)
			e.Observe("%d %q", r.Status, r.Body)
			if r.Status == http.StatusOK {
				if ct.AllowEIO3 == framework.Unfixed {
					Skip(ct.Unsupported("does not fix allowEIO3 and the target accepts EIO=3", "a server with v3 disabled"))
				}
				e.Observe("%s; the target opened a session for EIO=3", ct.Requires("Engine.IO v3 refused (allowEIO3 false)"))
			}
			Expect(r.Status).To(Equal(http.StatusBadRequest), ct.Requires("Engine.IO v3 refused (allowEIO3 false)"))
			Expect(errorCode(r.Body)).To(Equal(5))
		}, framework.Polling)

		TransportRequired(s)

		s.It("EIO-URL-05", "treats a POST without sid as a failed handshake (400)", func(ctx context.Context, e *framework.Env) {
			openPoll(ctx, e)
			r, err := e.C.Do(ctx, framework.Request{Method: http.MethodPost, Query: e.C.PollQuery(), Body: []byte("4hello")})
			Expect(err).NotTo(HaveOccurred())
			e.Expect("POST ?EIO=4&transport=polling (no sid) → 400")
			e.Observe("%d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
		}, framework.Polling)

		s.It("EIO-URL-06", "ignores the t cache-buster and unknown query parameters on every request", func(ctx context.Context, e *framework.Env) {
			extra := []string{"t", "siospec-x", "foo", "bar"}
			sess := openPoll(ctx, e, extra...)
			e.Expect("with t=siospec-x&foo=bar on each request: handshake, POST 4hello → ok, GET → 4hello")
			r, err := sess.Post(ctx, msg("hello"))
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Status).To(Equal(http.StatusOK))
			Expect(r.Body).To(Equal(okBody))
			c := framework.AsConn(sess)
			p := nextMessage(ctx, c)
			e.Observe("echo %v", p)
			Expect(p).To(Equal(msg("hello")))
		}, framework.Polling)

		s.It("EIO-URL-08", "sends binary as b-prefixed base64 text frames on a WebSocket session opened with b64=1", func(ctx context.Context, e *framework.Env) {
			w, _, err := e.C.OpenWebSocket(ctx, "b64", "1")
			Expect(err).NotTo(HaveOccurred())
			Expect(w.SendBinary([]byte{1, 2, 3, 4})).To(Succeed())
			e.Expect(`a text frame "bAQIDBA=="`)
			for {
				f, err := w.Next(ctx)
				Expect(err).NotTo(HaveOccurred())
				if !f.Binary && string(f.Data) == "2" {
					continue
				}
				e.Observe("binary=%v %q", f.Binary, f.Data)
				Expect(f.Binary).To(BeFalse())
				Expect(string(f.Data)).To(Equal("bAQIDBA=="))
				return
			}
		}, framework.WebSocket)

		s.It("EIO-URL-09", "answers a polling GET with j=0 with a JSONP script", func(ctx context.Context, e *framework.Env) {
			r, err := e.C.Get(ctx, e.C.PollQuery("j", "0"))
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`200, body ___eio[0]("...")`)
			e.Observe("%d %q", r.Status, r.Body)
			jsonpServed(e, r)
			Expect(strings.HasPrefix(string(r.Body), "___eio[0](")).To(BeTrue())
		}, framework.Polling)
	})
}

// jsonpServed judges whether a polling GET with j=0 got a JSONP answer
// against the fixture contract: a contract that enables JSONP fails a
// target that does not serve it, one that disables it makes the rule
// unsupported, and one that leaves it open (all of them today: no contract
// names JSONP) makes a target that does not serve it unsupported.
func jsonpServed(e *framework.Env, r *framework.Response) {
	GinkgoHelper()
	ct := e.Cfg.Contract()
	served := r.Status == http.StatusOK && strings.HasPrefix(string(r.Body), "___eio")
	switch ct.JSONP {
	case framework.Off:
		Skip(ct.Unsupported("disables JSONP polling", "a server that serves it"))
	case framework.On:
		Expect(served).To(BeTrue(), ct.Requires("JSONP polling"))
	default:
		if !served {
			Skip(ct.Unsupported("does not fix JSONP polling and the target does not serve it (it refuses or ignores j)", "a server that serves it"))
		}
	}
}
