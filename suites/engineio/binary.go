package engineio

import (
	"context"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

func binaryV4(s *framework.Suite) {
	Describe("binary data", func() {
		s.It("EIO-BIN-01", "carries polling binary as b plus padded standard base64", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			r, err := sess.PostRaw(ctx, []byte("bAQIDBA=="), nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Status).To(Equal(http.StatusOK))
			g, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect(`GET body "bAQIDBA=="`)
			e.Observe("%d %q", g.Status, g.Body)
			Expect(string(g.Body)).To(Equal("bAQIDBA=="))
		}, framework.Polling)

		s.It("EIO-BIN-02", "mixes text and binary packets in one payload", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			body := "4hello\x1ebAQIDBA=="
			r, err := sess.PostRaw(ctx, []byte(body), nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(r.Status).To(Equal(http.StatusOK))
			Expect(r.Body).To(Equal(okBody))
			g, _, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Expect("GET body %q", body)
			e.Observe("%d %q", g.Status, g.Body)
			Expect(string(g.Body)).To(Equal(body))
		}, framework.Polling)

		s.It("EIO-BIN-03", "echoes a WebSocket binary message as one binary frame of exactly the bytes", func(ctx context.Context, e *framework.Env) {
			w := open(ctx, e, framework.WebSocket).WS()
			Expect(w.SendBinary([]byte{1, 2, 3, 4})).To(Succeed())
			f := nextFrame(ctx, w)
			e.Expect("binary frame 01 02 03 04")
			e.Observe("binary=%v % x", f.Binary, f.Data)
			Expect(f.Binary).To(BeTrue())
			Expect(f.Data).To(Equal([]byte{1, 2, 3, 4}))
		}, framework.WebSocket)

		s.It("EIO-BIN-04", "reads a WebSocket text frame b<base64> as a binary message", func(ctx context.Context, e *framework.Env) {
			w := open(ctx, e, framework.WebSocket).WS()
			Expect(w.SendText("bAQID")).To(Succeed())
			f := nextFrame(ctx, w)
			e.Expect("binary frame 01 02 03")
			e.Observe("binary=%v % x", f.Binary, f.Data)
			Expect(f.Binary).To(BeTrue())
			Expect(f.Data).To(Equal([]byte{1, 2, 3}))
		}, framework.WebSocket)

		s.It("EIO-BIN-05", "answers v4 polling binary as base64 text, never as an octet-stream body", func(ctx context.Context, e *framework.Env) {
			sess := openPoll(ctx, e)
			Expect(sess.Post(ctx, engineio.BinaryMessage([]byte{9, 8, 7}))).To(HaveField("Status", http.StatusOK))
			g, pkts, err := sess.Get(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("%s %q", g.ContentType(), g.Body)
			Expect(strings.HasPrefix(g.ContentType(), "application/octet-stream")).To(BeFalse())
			Expect(pkts).To(ContainElement(engineio.BinaryMessage([]byte{9, 8, 7})))
		}, framework.Polling)

		s.PerTransport(all, func(tr framework.Transport) {
			s.It("EIO-BIN-06", "echoes an empty binary message", func(ctx context.Context, e *framework.Env) {
				c := open(ctx, e, tr)
				if tr == framework.Polling {
					r, err := c.Poll().PostRaw(ctx, []byte("b"), nil)
					Expect(err).NotTo(HaveOccurred())
					Expect(r.Status).To(Equal(http.StatusOK))
				} else {
					Expect(c.WS().SendBinary(nil)).To(Succeed())
				}
				p := nextMessage(ctx, c)
				e.Observe("%v", p)
				Expect(p.Binary).To(BeTrue())
				Expect(p.Data).To(BeEmpty())
			}, tr)
		})
	})
}

// nextFrame returns the next WebSocket frame that is not a ping.
func nextFrame(ctx context.Context, w *framework.WSConn) framework.Frame {
	GinkgoHelper()
	for {
		f, err := w.Next(ctx)
		Expect(err).NotTo(HaveOccurred(), "wait for a frame")
		if !f.Binary && string(f.Data) == "2" {
			Expect(w.SendText("3")).To(Succeed())
			continue
		}
		return f
	}
}
