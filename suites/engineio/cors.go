package engineio

import (
	"context"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/suites/framework"
)

const testOrigin = "http://siospec.example"

// corsConfigured reports whether the target answers a handshake carrying
// an Origin with Access-Control-Allow-Origin.
func corsConfigured(ctx context.Context, e *framework.Env) (bool, *framework.Response) {
	GinkgoHelper()
	r, err := e.C.Do(ctx, framework.Request{Query: e.C.PollQuery(), Header: http.Header{"Origin": {testOrigin}}})
	Expect(err).NotTo(HaveOccurred())
	return r.Header.Get("Access-Control-Allow-Origin") != "", r
}

func corsV4(s *framework.Suite) {
	Describe("CORS", func() {
		s.It("EIO-CORS-01", "sends no Access-Control headers when CORS is not configured", func(ctx context.Context, e *framework.Env) {
			on, r := corsConfigured(ctx, e)
			if on {
				Skip("unsupported: the target is configured with CORS (Access-Control-Allow-Origin " + r.Header.Get("Access-Control-Allow-Origin") + ")")
			}
			for k := range r.Header {
				Expect(strings.HasPrefix(strings.ToLower(k), "access-control-")).To(BeFalse(), k)
			}
		}, framework.Polling)

		s.It("EIO-CORS-02", "allows the origin on data responses, error responses and preflights when CORS is configured", func(ctx context.Context, e *framework.Env) {
			on, r := corsConfigured(ctx, e)
			if !on {
				Skip("unsupported: the target has no CORS configuration")
			}
			origin := http.Header{"Origin": {testOrigin}}
			e.Expect("Access-Control-Allow-Origin on the handshake, on a 400, and a 204 preflight allowing POST")
			e.Observe("handshake ACAO %q", r.Header.Get("Access-Control-Allow-Origin"))
			bad, err := e.C.Do(ctx, framework.Request{Query: e.C.PollQuery("sid", bogusSID), Header: origin})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("400 ACAO %q", bad.Header.Get("Access-Control-Allow-Origin"))
			Expect(bad.Status).To(Equal(http.StatusBadRequest))
			Expect(bad.Header.Get("Access-Control-Allow-Origin")).NotTo(BeEmpty())
			pre, err := e.C.Do(ctx, framework.Request{Method: http.MethodOptions, Query: e.C.PollQuery(),
				Header: http.Header{"Origin": {testOrigin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"}}})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("preflight %d methods %q headers %q", pre.Status, pre.Header.Get("Access-Control-Allow-Methods"), pre.Header.Get("Access-Control-Allow-Headers"))
			Expect(pre.Status).To(Equal(http.StatusNoContent))
			Expect(pre.Header.Get("Access-Control-Allow-Methods")).To(ContainSubstring("POST"))
		}, framework.Polling)

		s.It("EIO-CORS-03", "reflects a concrete origin and allows credentials when credentialed CORS is configured", func(ctx context.Context, e *framework.Env) {
			_, r := corsConfigured(ctx, e)
			if r.Header.Get("Access-Control-Allow-Credentials") == "" {
				Skip("unsupported: the target does not allow credentials")
			}
			e.Observe("ACAO %q ACAC %q", r.Header.Get("Access-Control-Allow-Origin"), r.Header.Get("Access-Control-Allow-Credentials"))
			Expect(r.Header.Get("Access-Control-Allow-Origin")).To(Equal(testOrigin))
			Expect(r.Header.Get("Access-Control-Allow-Credentials")).To(Equal("true"))
		}, framework.Polling)

		s.It("EIO-CORS-04", "refuses an Origin header with illegal characters with 400", func(ctx context.Context, e *framework.Env) {
			rc, err := e.DialRaw(ctx)
			framework.FailIfHarness(err)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(rc.Close)
			Expect(rc.Write([]byte(e.RequestHead("GET", e.C.PollQuery().Encode(), "Origin: http://bad\x01origin")))).To(Succeed())
			r, err := rc.ReadResponse(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
		}, framework.Polling)
	})
}
