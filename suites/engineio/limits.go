package engineio

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/websocket"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/engineio"
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

// limitsLabel marks the size-limit specs serial: each pushes about
// maxPayload bytes through the target, and several of them at once against
// one single-threaded server delay its heartbeat past the contract's
// pingTimeout, so they run in one lane of a concurrent run.
var limitsLabel = Label("serial")

func limitsV4(s *framework.Suite) {
	Describe("size limits", limitsLabel, func() {
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

		limitSpecs(s)
	})
}

// limitSpecs declares the size-limit rules that hold for v4 and v3 alike,
// in each transport state they concern. The limit is the contract's
// maxPayload (maxPayload): a v3 open packet need not advertise one
// (EIO3-08), FX-EIO3 fixes 1 000 000 as FX-EIO4 does.
func limitSpecs(s *framework.Suite) {
	s.It("EIO-LIMIT-02", "answers a POST body over maxPayload with 413 and an empty body", func(ctx context.Context, e *framework.Env) {
		sess := openPoll(ctx, e)
		mp := maxPayload(e, sess.HS)
		body := e.C.EncodePayload(msg(strings.Repeat("x", mp)))
		r, err := sess.PostRaw(ctx, body, nil)
		Expect(err).NotTo(HaveOccurred())
		e.Expect("POST of %d bytes → 413, empty body", len(body))
		e.Observe("%d %q", r.Status, r.Body)
		Expect(r.Status).To(Equal(http.StatusRequestEntityTooLarge))
		Expect(r.Body).To(BeEmpty())
	}, framework.Polling)

	s.PerTransport(wsStates, func(tr framework.Transport) {
		s.It("EIO-LIMIT-03", "closes a WebSocket with 1009 on a message over maxPayload", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			mp := maxPayload(e, c.Handshake())
			e.Expect("a text frame of %d bytes → close 1009", mp+1)
			_ = c.WS().SendText("4" + strings.Repeat("x", mp))
			ce, err := c.WS().WaitClosed(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("close code %d", ce.Code)
			Expect(ce.Code).To(Equal(websocket.CloseMessageTooBig))
		}, tr)
	})

	s.PerTransport(all, func(tr framework.Transport) {
		s.It("EIO-LIMIT-05", "sends more than maxPayload bytes to the client without splitting or dropping", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			mp := maxPayload(e, c.Handshake())
			chunk := strings.Repeat("y", mp/2)
			if ps := c.Poll(); ps != nil && c.WS() == nil {
				for range 3 {
					Expect(ps.Post(ctx, msg(chunk))).To(HaveField("Status", http.StatusOK))
				}
				r, pkts, err := ps.Get(ctx)
				Expect(err).NotTo(HaveOccurred())
				// A ping the server queued meanwhile (three large POSTs
				// may take longer than pingInterval) rides along; the
				// rule is about the echoes.
				var echoes []engineio.Packet
				size := 0
				for _, p := range pkts {
					if p.Type != engineio.Ping {
						echoes = append(echoes, p)
						size += len(p.Data)
					}
				}
				e.Expect("one GET carrying all three echoes (more than maxPayload %d bytes)", mp)
				e.Observe("GET %d, %d bytes, %d packets, %d of them echoes with %d bytes of data", r.Status, len(r.Body), len(pkts), len(echoes), size)
				Expect(echoes).To(HaveLen(3))
				for i, p := range echoes {
					Expect(string(p.Data) == chunk).To(BeTrue(), "echo %d intact", i+1)
				}
				Expect(len(r.Body)).To(BeNumerically(">", mp))
				return
			}
			// On a WebSocket every echo is a message of its own: what the
			// rule forbids is a server that bounds what it has buffered
			// for the client by maxPayload, dropping or closing.
			e.Expect("three messages of %d bytes sent at once (more than maxPayload %d together): three intact echoes, in order", len(chunk)+1, mp)
			for range 3 {
				Expect(c.Send(ctx, msg(chunk))).To(Succeed())
			}
			// Three messages in and three echoes out: the window allows
			// for moving them, so a slow machine is not taken for a
			// server that dropped one.
			w := e.Timing.Transfer(2*3*(len(chunk)+1), "the three echoes")
			e.Budget(w)
			cctx, cancel := context.WithTimeout(ctx, w.Max)
			defer cancel()
			for i := range 3 {
				p := nextMessage(cctx, c)
				Expect(p.Data).To(HaveLen(len(chunk)), "echo %d", i+1)
				Expect(string(p.Data) == chunk).To(BeTrue(), "echo %d intact", i+1)
			}
			e.Observe("three echoes of %d bytes", len(chunk))
		}, tr)

		s.It("EIO-LIMIT-06", "counts the limit in UTF-8 bytes, not characters", func(ctx context.Context, e *framework.Env) {
			c := open(ctx, e, tr)
			mp := maxPayload(e, c.Handshake())
			text := strings.Repeat("€", mp/3+1)
			if ps := c.Poll(); ps != nil && c.WS() == nil {
				body := e.C.EncodePayload(msg(text))
				r, err := ps.PostRaw(ctx, body, nil)
				Expect(err).NotTo(HaveOccurred())
				e.Expect("a POST of %d characters but %d bytes → 413", len([]rune(string(body))), len(body))
				e.Observe("%d", r.Status)
				Expect(r.Status).To(Equal(http.StatusRequestEntityTooLarge))
				return
			}
			e.Expect("a text frame of %d characters but %d bytes → close 1009", mp/3+2, 3*(mp/3+1)+1)
			_ = c.WS().SendText("4" + text)
			ce, err := c.WS().WaitClosed(ctx)
			Expect(err).NotTo(HaveOccurred())
			e.Observe("close code %d", ce.Code)
			Expect(ce.Code).To(Equal(websocket.CloseMessageTooBig))
		}, tr)
	})
}
