package engineio

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/suites/framework"
)

// maxPayloadCap bounds the bodies the limit specs build (16 MB).
const maxPayloadCap = 16 << 20

// maxPayload returns the limit the specs judge against. Under a fixture
// contract that fixes maxPayload (1 000 000 on FX-EIO4) it is the
// contract's value, whatever the target advertises: an advertisement that
// differs, or none, is noted in the observed text and fails EIO-LIMIT-01,
// which judges the handshake field, while the other limit specs judge what
// the target enforces. Only under a contract that leaves it open does the
// advertised value count, the spec being unsupported without one.
func maxPayload(e *framework.Env, h framework.Handshake) int {
	GinkgoHelper()
	mp := h.Open.MaxPayload
	if ct := e.Cfg.Contract(); ct.MaxPayload > 0 {
		if h.Open.OmitMaxPayload || mp != ct.MaxPayload {
			e.Observe("%s; the target advertises %s", ct.Requires("maxPayload %d", ct.MaxPayload), advertised(h))
		}
		return int(ct.MaxPayload)
	}
	if h.Open.OmitMaxPayload || mp <= 0 {
		Skip("unsupported: the target advertises no maxPayload")
	}
	if mp > maxPayloadCap {
		Skip("unsupported: maxPayload is larger than the specs' 16 MB cap")
	}
	return int(mp)
}

// advertised renders the maxPayload of an open packet.
func advertised(h framework.Handshake) string {
	if h.Open.OmitMaxPayload {
		return "none"
	}
	return strconv.FormatInt(h.Open.MaxPayload, 10)
}

// expectAdvertised fails the spec unless the open packet advertises the
// contract's maxPayload (EIO-LIMIT-01: the handshake field is the limit).
func expectAdvertised(e *framework.Env, h framework.Handshake, mp int) {
	GinkgoHelper()
	ct := e.Cfg.Contract()
	if ct.MaxPayload == 0 {
		return
	}
	Expect(h.Open.OmitMaxPayload).To(BeFalse(), ct.Requires("maxPayload %d in the open packet", ct.MaxPayload))
	Expect(h.Open.MaxPayload).To(BeEquivalentTo(mp), ct.Requires("maxPayload %d in the open packet", ct.MaxPayload))
}

func limitsV4(s *framework.Suite) {
	Describe("size limits", func() {
		s.It("EIO-LIMIT-01", "accepts a POST body of exactly maxPayload bytes", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			mp := maxPayload(e, sess.HS)
			e.Expect("maxPayload %d advertised; POST of %d bytes → 200 ok", mp, mp)
			expectAdvertised(e, sess.HS, mp)
			body := "4" + strings.Repeat("x", mp-1)
			r, err := sess.PostRaw(ctx, []byte(body), nil)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusOK))
			p := nextMessage(ctx, framework.AsConn(sess))
			Expect(p.Data).To(HaveLen(mp - 1))
		}, framework.Polling)

		s.It("EIO-LIMIT-02", "answers a POST body over maxPayload with 413 and an empty body", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			mp := maxPayload(e, sess.HS)
			r, err := sess.PostRaw(ctx, []byte("4"+strings.Repeat("x", mp)), nil)
			Expect(err).NotTo(HaveOccurred())
			e.Expect("POST of %d bytes → 413, empty body", mp+1)
			e.Observe("%d %q", r.Status, r.Body)
			Expect(r.Status).To(Equal(http.StatusRequestEntityTooLarge))
			Expect(r.Body).To(BeEmpty())
		}, framework.Polling)

		s.It("EIO-LIMIT-03", "closes a WebSocket with 1009 on a message over maxPayload", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, framework.WebSocket)
			mp := maxPayload(e, c.Handshake())
			_ = c.WS().SendText("4" + strings.Repeat("x", mp))
			ce, err := c.WS().WaitClosed(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("close code %d", ce.Code)
			Expect(ce.Code).To(Equal(websocket.CloseMessageTooBig))
		}, framework.WebSocket)

		s.It("EIO-LIMIT-05", "sends a polling response larger than maxPayload in one GET", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			mp := maxPayload(e, sess.HS)
			chunk := strings.Repeat("y", mp/2)
			for range 3 {
				Expect(sess.Post(ctx, msg(chunk))).To(HaveField("Status", http.StatusOK))
			}
			r, pkts, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect("one GET carrying all three echoes (%d bytes > maxPayload %d)", 3*(len(chunk)+1)+2, mp)
			e.Observe("GET %d, %d bytes, %d packets", r.Status, len(r.Body), len(pkts))
			Expect(pkts).To(HaveLen(3))
			Expect(len(r.Body)).To(BeNumerically(">", mp))
		}, framework.Polling)

		s.It("EIO-LIMIT-06", "counts the limit in UTF-8 bytes, not characters", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			mp := maxPayload(e, sess.HS)
			body := "4" + strings.Repeat("€", mp/3+1)
			r, err := sess.PostRaw(ctx, []byte(body), nil)
			Expect(err).NotTo(HaveOccurred())
			e.Expect("%d characters but %d bytes → 413", mp/3+2, len(body))
			e.Observe("%d", r.Status)
			Expect(r.Status).To(Equal(http.StatusRequestEntityTooLarge))
		}, framework.Polling)
	})
}
