package engineio

import (
	"context"
	"fmt"
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

// corsOrigin is the Access-Control-Allow-Origin a contract's CORS
// configuration sends for a request from testOrigin.
func corsOrigin(ct framework.Contract) string {
	if ct.CORSOrigin == framework.ReflectOrigin {
		return testOrigin
	}
	return ct.CORSOrigin
}

// corsShown renders what a response showed of the CORS configuration.
func corsShown(r *framework.Response) string {
	return fmt.Sprintf("Access-Control-Allow-Origin %q, Access-Control-Allow-Credentials %q",
		r.Header.Get("Access-Control-Allow-Origin"), r.Header.Get("Access-Control-Allow-Credentials"))
}

// The CORS rules each concern one server configuration. The fixture
// contract fixes it (FX-EIO4: origin *, no credentials), so a target that
// deviates fails EIO-CORS-02, and the rules about the configurations the
// contract does not have (no CORS, credentialed CORS) are unsupported
// whatever the target shows. Only under a contract that leaves CORS open
// do they follow what the target shows.
func corsV4(s *framework.Suite) {
	Describe("CORS", func() {
		s.It("EIO-CORS-01", "sends no Access-Control headers when CORS is not configured", func(ctx context.Context, e *framework.Env) {
			ct := e.Cfg.Contract()
			on, r := corsConfigured(ctx, e)
			e.Observe("handshake with Origin %s: %s", testOrigin, corsShown(r))
			switch {
			case ct.CORS == framework.On:
				Skip(ct.Unsupported("configures CORS origin "+ct.CORSOrigin, "a server without CORS"))
			case ct.CORS == framework.Unfixed && on:
				Skip("unsupported: the target is configured with CORS (Access-Control-Allow-Origin " + r.Header.Get("Access-Control-Allow-Origin") + ")")
			}
			e.Expect("no Access-Control-* header")
			for k := range r.Header {
				Expect(strings.HasPrefix(strings.ToLower(k), "access-control-")).To(BeFalse(), "%s: %s", k, ct.Requires("no CORS"))
			}
		}, framework.Polling)

		s.It("EIO-CORS-02", "allows the origin on data responses, error responses and preflights when CORS is configured", func(ctx context.Context, e *framework.Env) {
			ct := e.Cfg.Contract()
			on, r := corsConfigured(ctx, e)
			e.Observe("handshake with Origin %s: %s", testOrigin, corsShown(r))
			switch {
			case ct.CORS == framework.Off:
				Skip(ct.Unsupported("configures no CORS", "a server with CORS"))
			case ct.CORS == framework.Unfixed && !on:
				Skip("unsupported: the target has no CORS configuration")
			}
			want := r.Header.Get("Access-Control-Allow-Origin")
			if ct.CORS == framework.On {
				want = corsOrigin(ct)
			}
			origin := http.Header{"Origin": {testOrigin}}
			e.Expect("Access-Control-Allow-Origin %q on the handshake and on a 400, and a 204 preflight allowing POST (%s configures CORS origin %s, credentials %s)",
				want, ct.Name, ct.CORSOrigin, ct.CORSCredentials)
			if !on {
				e.Observe("%s; the target sent no Access-Control-Allow-Origin", ct.Requires("CORS origin %s", ct.CORSOrigin))
			}
			Expect(r.Header.Get("Access-Control-Allow-Origin")).To(Equal(want), ct.Requires("CORS origin %s on the handshake", ct.CORSOrigin))
			if ct.CORSCredentials == framework.Off {
				Expect(r.Header.Get("Access-Control-Allow-Credentials")).NotTo(Equal("true"), ct.Requires("CORS without credentials"))
			}
			bad, err := e.C.Do(ctx, framework.Request{Query: e.C.PollQuery("sid", bogusSID), Header: origin})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("400: %s", corsShown(bad))
			Expect(bad.Status).To(Equal(http.StatusBadRequest))
			Expect(bad.Header.Get("Access-Control-Allow-Origin")).To(Equal(want), ct.Requires("CORS origin %s on error responses too", ct.CORSOrigin))
			pre, err := e.C.Do(ctx, framework.Request{Method: http.MethodOptions, Query: e.C.PollQuery(),
				Header: http.Header{"Origin": {testOrigin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"content-type"}}})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("preflight %d methods %q headers %q", pre.Status, pre.Header.Get("Access-Control-Allow-Methods"), pre.Header.Get("Access-Control-Allow-Headers"))
			Expect(pre.Status).To(Equal(http.StatusNoContent))
			Expect(pre.Header.Get("Access-Control-Allow-Methods")).To(ContainSubstring("POST"))
		}, framework.Polling)

		s.It("EIO-CORS-03", "reflects a concrete origin and allows credentials when credentialed CORS is configured", func(ctx context.Context, e *framework.Env) {
			ct := e.Cfg.Contract()
			_, r := corsConfigured(ctx, e)
			e.Observe("handshake with Origin %s: %s", testOrigin, corsShown(r))
			switch {
			case ct.CORS == framework.Off:
				Skip(ct.Unsupported("configures no CORS", "credentialed CORS"))
			case ct.CORSCredentials == framework.Off:
				Skip(ct.Unsupported("configures CORS origin "+ct.CORSOrigin+" without credentials", "credentialed CORS"))
			case ct.CORSCredentials == framework.Unfixed && r.Header.Get("Access-Control-Allow-Credentials") == "":
				Skip("unsupported: the target does not allow credentials")
			}
			e.Expect("Access-Control-Allow-Origin %q and Access-Control-Allow-Credentials true", testOrigin)
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
