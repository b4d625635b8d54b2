package engineio

import (
	"context"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

func errorsV4(s *framework.Suite) {
	Describe("error responses", func() {
		s.It("EIO-ERR-01", "uses Node's error codes and messages", func(ctx context.Context, e *framework.Env) {
			cases := []struct {
				method, query string
				code          engineio.ErrorCode
			}{
				{http.MethodGet, "EIO=4&transport=abc", engineio.CodeTransportUnknown},
				{http.MethodGet, "EIO=4&transport=polling&sid=" + bogusSID, engineio.CodeUnknownSID},
				{http.MethodPost, "EIO=4&transport=polling", engineio.CodeBadHandshakeMethod},
				{http.MethodGet, "EIO=4&transport=websocket", engineio.CodeBadRequest},
			}
			for _, tc := range cases {
				r, err := e.C.Do(ctx, framework.Request{Method: tc.method, RawQuery: tc.query, Body: bodyFor(tc.method)})
				Expect(err).NotTo(HaveOccurred())
				want := string(engineio.NewHTTPError(tc.code).AppendJSON(nil))
				e.Observe("%s ?%s → %d %s", tc.method, tc.query, r.Status, r.Body)
				Expect(string(r.Body)).To(Equal(want), "%s ?%s", tc.method, tc.query)
			}
		}, framework.Polling)

		s.It("EIO-ERR-02", "sends polling errors as JSON with status 400", func(ctx context.Context, e *framework.Env) {
			r, err := e.C.Get(ctx, e.C.PollQuery("sid", bogusSID))
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%d %s %q", r.Status, r.ContentType(), r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
			Expect(r.ContentType()).To(HavePrefix("application/json"))
			Expect(errorCode(r.Body)).To(BeNumerically(">=", 0))
		}, framework.Polling)

		s.It("EIO-ERR-03", "checks the transport before the method and the method before the version", func(ctx context.Context, e *framework.Env) {
			cases := []struct {
				method, query string
				code          int
			}{
				{http.MethodPost, "EIO=4&transport=abc", 0},
				{http.MethodPost, "transport=polling", 2},
			}
			for _, tc := range cases {
				r, err := e.C.Do(ctx, framework.Request{Method: tc.method, RawQuery: tc.query, Body: bodyFor(tc.method)})
				Expect(err).NotTo(HaveOccurred())
				e.Observe("%s ?%s → %d %s", tc.method, tc.query, r.Status, r.Body)
				Expect(errorCode(r.Body)).To(Equal(tc.code), "%s ?%s", tc.method, tc.query)
			}
		}, framework.Polling)

		s.It("EIO-ERR-04", "refuses a WebSocket upgrade before the 101 with a raw 400 whose text body is the message", func(ctx context.Context, e *framework.Env) {
			rc, err := e.DialRaw(ctx)
			framework.FailIfHarness(err)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(rc.Close)
			head := e.RequestHead("GET", e.C.WSQuery("sid", bogusSID).Encode(),
				"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: c2lvc3BlYy1zaW9zcGVjLQ==")
			Expect(rc.Write([]byte(head))).To(Succeed())
			r, err := rc.ReadResponse(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`HTTP/1.1 400, Connection: close, text body "Session ID unknown"`)
			e.Observe("%d Connection: close=%v %q", r.Status, r.Close, r.Body)
			Expect(r.Status).To(Equal(http.StatusBadRequest))
			Expect(r.Close).To(BeTrue(), "Connection: close")
			Expect(string(r.Body)).To(Equal(engineio.CodeUnknownSID.Message()))
		}, framework.WebSocket)

		s.It("EIO-ERR-05", "sends transport-level refusals with empty bodies", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			put, err := e.C.Do(ctx, framework.Request{Method: http.MethodPut, Query: e.C.PollQuery(sess.Query()...), Body: []byte("4x")})
			Expect(err).NotTo(HaveOccurred())
			e.Observe("PUT with sid → %d %q", put.Status, put.Body)
			Expect(put.Status).To(Equal(http.StatusInternalServerError))
			Expect(put.Body).To(BeEmpty())
			parked := parkGet(ctx, e, sess)
			dup, _, err := sess.Get(ctx, "t", "burst")
			Expect(err).NotTo(HaveOccurred())
			parked.wait(ctx, e.Timing.Within(e.Timing.PingInterval, "pingInterval").Max)
			e.Observe("duplicate GET → %d %q", dup.Status, dup.Body)
			Expect(dup.Status).To(Equal(http.StatusBadRequest))
			Expect(dup.Body).To(BeEmpty())
		}, framework.Polling)
	})
}

func bodyFor(method string) []byte {
	if method == http.MethodPost || method == http.MethodPut {
		return []byte("4x")
	}
	return nil
}
