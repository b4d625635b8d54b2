package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	g "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
	"github.com/siospec/siospec/suites/testee"
)

// This file holds the Socket.IO connect, namespace and disconnect specs,
// and the helpers that the Socket.IO specs of connect.go, events.go,
// acks.go and binary.go share (prefix sioc).

// siocScaled multiplies d by the run's time scale (at least 1).
func siocScaled(e *framework.ClientEnv, d time.Duration) time.Duration {
	return time.Duration(float64(d) * max(1, e.Cfg.TimeScale))
}

// siocWait is how long the client has to act on something the harness sent
// or commanded: Reply (pingInterval+pingTimeout capped at 1 s, plus grace)
// plus a second for a testee process, times the time scale.
func siocWait(e *framework.ClientEnv, what string) time.Duration {
	return e.Timing.Reply(what).Max + siocScaled(e, time.Second)
}

// siocOptions are client options that make any retry or reconnection come
// quickly, so that a "no retry" window of siocWait covers it.
func siocOptions(extra map[string]any) map[string]any {
	o := map[string]any{"reconnectionDelay": 100, "reconnectionDelayMax": 200}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

// siocUndecodable reports whether r is a packet that did not decode (SIO.Recv
// returns it with a *socketio.DecodeError; SIO.Command keeps it in the
// backlog with a zero Packet, whose Nsp a decoder never leaves empty).
func siocUndecodable(r scripted.SIOReceived) bool { return r.Packet.Nsp == "" && !r.Raw.At.IsZero() }

// siocNext returns the client's next Socket.IO packet, failing the spec
// when none comes within siocWait or it does not decode.
func siocNext(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO, what string) scripted.SIOReceived {
	g.GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, siocWait(e, what))
	defer cancel()
	r, err := c.Recv(cctx)
	Expect(err).NotTo(HaveOccurred(), "waiting for %s (raw message %q)", what, r.Raw.Packet.Data)
	Expect(siocUndecodable(r)).To(BeFalse(), "waiting for %s, the client sent %q, which does not decode", what, r.Raw.Packet.Data)
	return r
}

// siocUntil reads the client's packets until match accepts one (returned
// with those before it), failing the spec after siocWait or on a packet
// that does not decode.
func siocUntil(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO, what string, match func(socketio.Packet) bool) (scripted.SIOReceived, []scripted.SIOReceived) {
	g.GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, siocWait(e, what))
	defer cancel()
	var before []scripted.SIOReceived
	for {
		r, err := c.Recv(cctx)
		if err == nil && !siocUndecodable(r) && match(r.Packet) {
			return r, before
		}
		Expect(err).NotTo(HaveOccurred(), "waiting for %s; the client sent before it: %s", what, siocList(before))
		Expect(siocUndecodable(r)).To(BeFalse(), "waiting for %s, the client sent %q, which does not decode", what, r.Raw.Packet.Data)
		before = append(before, r)
	}
}

// siocCollect reads the client's packets until n of them matched (see
// siocUntil) and returns the matches in arrival order.
func siocCollect(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO, what string, n int, match func(socketio.Packet) bool) []scripted.SIOReceived {
	g.GinkgoHelper()
	var out []scripted.SIOReceived
	for len(out) < n {
		r, _ := siocUntil(ctx, e, c, what, match)
		out = append(out, r)
	}
	return out
}

// siocWatch reads the client's packets for d and returns them; a packet
// that does not decode fails the spec. It ends a "nothing of that kind"
// window; callers follow it with a positive observation (siocSync).
func siocWatch(ctx context.Context, c *scripted.SIO, d time.Duration) []scripted.SIOReceived {
	g.GinkgoHelper()
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var out []scripted.SIOReceived
	for {
		r, err := c.Recv(cctx)
		if err != nil {
			var de *socketio.DecodeError
			Expect(errors.As(err, &de)).To(BeFalse(), "the client sent %q, which does not decode: %v", r.Raw.Packet.Data, err)
			return out
		}
		Expect(siocUndecodable(r)).To(BeFalse(), "the client sent %q, which does not decode", r.Raw.Packet.Data)
		out = append(out, r)
	}
}

// siocDrain returns the packets already received (kept while a command
// waited for its ack, or already read from the session) without waiting.
func siocDrain(c *scripted.SIO) []scripted.SIOReceived {
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out []scripted.SIOReceived
	for {
		r, err := c.Recv(cctx)
		if err != nil && r.Raw.At.IsZero() {
			return out
		}
		out = append(out, r)
	}
}

func siocList(rs []scripted.SIOReceived) string {
	if len(rs) == 0 {
		return "nothing"
	}
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += "; "
		}
		if siocUndecodable(r) {
			s += fmt.Sprintf("undecodable %q", r.Raw.Packet.Data)
		} else {
			s += r.Packet.String()
		}
	}
	return s
}

var siocTags atomic.Int64

// siocCommand sends a contract command on namespace via with a tag of its
// own (unless cmd has one) and waits for the command's ack and for the testee's "done" report.
// Since the testee writes "done" before it acks, every report it wrote
// before has been read when this returns, and every packet it sent before
// is in c's backlog: the positive observation that ends a "nothing
// happened" window.
func siocCommand(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO, via string, cmd map[string]any) {
	g.GinkgoHelper()
	tag := "sioc" + strconv.FormatInt(siocTags.Add(1), 10)
	m := map[string]any{"tag": tag}
	for k, v := range cmd {
		m[k] = v
	}
	if t, ok := m["tag"].(string); ok {
		tag = t
	}
	within := siocWait(e, "command")
	e.Rec.Note(fmt.Sprintf("command on %s: %v", via, m))
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	err := c.Command(cctx, via, m)
	Expect(err).NotTo(HaveOccurred(), "the client did not carry out the contract command %v on %s", m, via)
	_, ok := e.Await(ctx, "done", func(r testee.Report) bool { return r.Str("tag") == tag }, within)
	Expect(ok).To(BeTrue(), "the testee did not report done for command %v", m)
}

// siocSync makes the client emit an event "siospec-sync" on via (a
// command round trip; see siocCommand).
func siocSync(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO, via string) {
	g.GinkgoHelper()
	siocCommand(ctx, e, c, via, map[string]any{"cmd": "emit", "nsp": via, "event": "siospec-sync", "args": []any{}})
}

// siocAcceptReply answers a CONNECT to nsp: {"sid":...} (v5) or 40/nsp, (v4).
func siocAcceptReply(e *framework.ClientEnv, c *scripted.SIO, nsp string) error {
	if e.Proto == framework.SIO4 {
		return c.Send(socketio.Packet{Type: socketio.Connect, Nsp: nsp})
	}
	p, err := socketio.NewPacket(socketio.Connect, nsp, socketio.Object{{Key: "sid", Value: "s3" + strconv.FormatInt(siocTags.Add(1), 10) + "x" + nsp}})
	if err != nil {
		return err
	}
	return c.Send(p)
}

// siocReply answers one CONNECT; nil accepts it.
type siocReply func(connect socketio.Packet) error

// siocStart starts the case, waits for the client's session and answers
// the CONNECT of every namespace in replies (any order; nil accepts; in v4
// "/" is joined by the server at once). It returns the Socket.IO layer, the
// CONNECT packets by namespace, and the packets that came before them.
func siocStart(ctx context.Context, e *framework.ClientEnv, o *framework.CaseOptions, replies map[string]siocReply) (*scripted.SIO, map[string]socketio.Packet, []scripted.SIOReceived) {
	g.GinkgoHelper()
	e.Start(ctx, o)
	ss := e.Session(ctx, 0)
	c := scripted.NewSIO(ss, e.SIOVersion())
	got := map[string]socketio.Packet{}
	var other []scripted.SIOReceived
	left := len(replies)
	if r, ok := replies["/"]; ok && e.Proto == framework.SIO4 {
		if r == nil {
			Expect(siocAcceptReply(e, c, "/")).To(Succeed())
		} else {
			Expect(r(socketio.Packet{Type: socketio.Connect, Nsp: "/"})).To(Succeed())
		}
		left--
	}
	for left > 0 {
		r, before := siocUntil(ctx, e, c, "the client's CONNECT packets", func(p socketio.Packet) bool {
			_, want := replies[p.Namespace()]
			_, seen := got[p.Namespace()]
			return p.Type == socketio.Connect && want && !seen
		})
		other = append(other, before...)
		nsp := r.Packet.Namespace()
		got[nsp] = r.Packet
		left--
		if f := replies[nsp]; f != nil {
			Expect(f(r.Packet)).To(Succeed())
		} else {
			Expect(siocAcceptReply(e, c, nsp)).To(Succeed())
		}
	}
	return c, got, other
}

// siocJoin makes the client join nsp through the connect command (sent on
// "/") and accepts its CONNECT; it returns the CONNECT packet.
func siocJoin(ctx context.Context, e *framework.ClientEnv, c *scripted.SIO, nsp string, auth map[string]any) socketio.Packet {
	g.GinkgoHelper()
	cmd := map[string]any{"cmd": "connect", "nsp": nsp}
	if auth != nil {
		cmd["auth"] = auth
	}
	siocCommand(ctx, e, c, "/", cmd)
	r, _ := siocUntil(ctx, e, c, "the CONNECT to "+nsp, func(p socketio.Packet) bool {
		return p.Type == socketio.Connect && p.Namespace() == nsp
	})
	Expect(siocAcceptReply(e, c, nsp)).To(Succeed())
	_, ok := e.Await(ctx, "connect", func(r testee.Report) bool { return r.Str("nsp") == nsp }, siocWait(e, "connect"))
	Expect(ok).To(BeTrue(), "the client did not report connect for %s after the CONNECT reply", nsp)
	return r.Packet
}

// siocEvent sends EVENT name(args...) on nsp, with ack id id when id >= 0.
func siocEvent(c *scripted.SIO, nsp string, id int64, name string, args ...any) {
	g.GinkgoHelper()
	p, err := socketio.NewEvent(nsp, name, args...)
	Expect(err).NotTo(HaveOccurred())
	if id >= 0 {
		p = p.WithID(uint64(id))
	}
	Expect(c.Send(p)).To(Succeed())
}

// siocReportedEvent returns the first "event" report so far for nsp and
// name whose first argument is first (any when first is nil).
func siocReportedEvent(e *framework.ClientEnv, nsp, name string, first any) (testee.Report, bool) {
	for _, r := range e.Reported("event") {
		if siocEventMatch(r, nsp, name, first) {
			return r, true
		}
	}
	return testee.Report{}, false
}

func siocEventMatch(r testee.Report, nsp, name string, first any) bool {
	if r.Str("nsp") != nsp || r.Str("event") != name {
		return false
	}
	if first == nil {
		return true
	}
	var args []any
	return r.Decode("args", &args) == nil && len(args) > 0 && fmt.Sprint(args[0]) == fmt.Sprint(first)
}

// siocAwaitEvent waits for an "event" report (see siocReportedEvent).
func siocAwaitEvent(ctx context.Context, e *framework.ClientEnv, nsp, name string, first any) (testee.Report, bool) {
	return e.Await(ctx, "event", func(r testee.Report) bool { return siocEventMatch(r, nsp, name, first) }, siocWait(e, "event"))
}

// siocJSON renders v as JSON for texts.
func siocJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// siocGeneric turns v into encoding/json's generic form (map[string]any,
// []any, float64...) for comparisons with decoded reports and payloads.
func siocGeneric(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

func declareConnect(s *framework.ClientSuite) {
	if !s.Proto().IsSocketIO() {
		return
	}
	v5 := s.Proto() == framework.SIO5

	if v5 {
		// "After the EIO open, the client sends a CONNECT for every
		// namespace it wants, / included; v5 has no implicit join ...
		// either one followed by auth JSON."
		s.It("SIO-CONN-01", "sends a CONNECT for the main namespace carrying the auth option as its payload", func(ctx context.Context, e *framework.ClientEnv) {
			auth := map[string]any{"token": "s3-token", "n": 7, "nested": map[string]any{"ok": []any{true, nil}}}
			e.Expect("the client's first Socket.IO packet: CONNECT / with payload %s", siocJSON(auth))
			e.Start(ctx, &framework.CaseOptions{Client: map[string]any{"auth": auth}})
			ss := e.Session(ctx, 0)
			c := scripted.NewSIO(ss, e.SIOVersion())
			r := siocNext(ctx, e, c, "the CONNECT to /")
			e.Observe("the client's first Socket.IO packet: %s", r.Packet)
			Expect(r.Packet.Type).To(Equal(socketio.Connect), "the first packet is not a CONNECT")
			Expect(r.Packet.Namespace()).To(Equal("/"), "the first CONNECT is not for the main namespace")
			var got any
			Expect(json.Unmarshal(r.Packet.Data, &got)).To(Succeed(), "the CONNECT carries no JSON payload (%q)", r.Packet.Data)
			Expect(got).To(Equal(siocGeneric(auth)), "the CONNECT payload is not the auth option")
		}, framework.Case("connect-auth"), framework.ClientOption("auth"))

		// The same for a namespace joined later: its own CONNECT with its
		// own auth payload.
		s.It("SIO-CONN-01", "sends a CONNECT with the namespace's own auth payload when it joins a namespace later", func(ctx context.Context, e *framework.ClientEnv) {
			auth := map[string]any{"role": "admin", "k": 1}
			e.Expect("after the connect command for /admin with auth %s: CONNECT /admin with that payload", siocJSON(auth))
			c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
			p := siocJoin(ctx, e, c, "/admin", auth)
			e.Observe("the client sent %s", p)
			var got any
			Expect(json.Unmarshal(p.Data, &got)).To(Succeed(), "the CONNECT to /admin carries no JSON payload (%q)", p.Data)
			Expect(got).To(Equal(siocGeneric(auth)))
		}, framework.Case("connect-namespace-auth"))
	} else {
		// "CONNECT carries no JSON payload. Credentials ride in a query
		// string appended to the namespace: 40/admin?token=abc,."
		s.It("SIO4-03", "sends a namespace's credentials as a query after the namespace and no CONNECT payload", func(ctx context.Context, e *framework.ClientEnv) {
			e.Expect("after the connect command for /admin with auth {\"token\":\"abc\"}: 40/admin?token=abc, without JSON")
			c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
			p := siocJoin(ctx, e, c, "/admin", map[string]any{"token": "abc"})
			e.Observe("the client sent %s (query %q)", p, p.Query)
			Expect(p.Data).To(BeEmpty(), "a v4 CONNECT has no JSON payload")
			Expect(p.Query).To(Equal("token=abc"))
		}, framework.Case("connect-namespace-auth"))

		// "v2 JS clients never send 40 for /."
		s.It("SIO4-06", "joins the main namespace on the server's implicit 40 without a CONNECT of its own", func(ctx context.Context, e *framework.ClientEnv) {
			e.Expect("the server sends 40 right after the open; the client reports connect for / and obeys a command on /")
			e.Start(ctx, nil)
			ss := e.Session(ctx, 0)
			c := scripted.NewSIO(ss, e.SIOVersion())
			Expect(siocAcceptReply(e, c, "/")).To(Succeed())
			_, ok := e.Await(ctx, "connect", func(r testee.Report) bool { return r.Str("nsp") == "/" }, siocWait(e, "connect"))
			Expect(ok).To(BeTrue(), "the client did not report connect for / after the implicit 40")
			siocSync(ctx, e, c, "/")
			e.Observe("the client sent %s", siocList(siocDrain(c)))
		}, framework.Case("connect"))
	}

	// Issue 10: nothing emitted on a namespace before its CONNECT reply.
	// An EVENT before the join makes a server close the session
	// (SIO-CONN-07), so the client holds what it emits until the reply.
	s.It("SIO-CONN-01", "sends nothing on a namespace before the server answered its CONNECT, and what was emitted meanwhile after it", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("connect /admin and emit on it at once: CONNECT /admin and no EVENT /admin until the harness answers; then the EVENT")
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "connect", "nsp": "/admin"})
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "emit", "nsp": "/admin", "event": "s3-early", "args": []any{"held"}})
		before := siocDrain(c)
		e.Observe("before the CONNECT reply the client sent: %s", siocList(before))
		sawConnect := false
		for _, r := range before {
			if r.Packet.Namespace() != "/admin" {
				continue
			}
			if r.Packet.Type == socketio.Connect {
				sawConnect = true
				continue
			}
			Expect(r.Packet.Type).NotTo(BeElementOf(socketio.Event, socketio.BinaryEvent), "the client emitted on /admin before its CONNECT was answered")
		}
		if !sawConnect {
			siocUntil(ctx, e, c, "the CONNECT to /admin", func(p socketio.Packet) bool {
				Expect(p.Namespace() == "/admin" && p.Type != socketio.Connect).To(BeFalse(), "the client sent %s before its CONNECT to /admin was answered", p)
				return p.Type == socketio.Connect && p.Namespace() == "/admin"
			})
		}
		Expect(siocAcceptReply(e, c, "/admin")).To(Succeed())
		r, _ := siocUntil(ctx, e, c, "the held EVENT on /admin", func(p socketio.Packet) bool {
			n, _ := p.EventName()
			return p.Type == socketio.Event && p.Namespace() == "/admin" && n == "s3-early"
		})
		e.Observe("after the reply: %s", r.Packet)
	}, framework.Case("emit-before-connect"))

	if v5 {
		// "A CONNECT reply without sid is an error. The JS client raises
		// connect_error."
		s.It("SIO-CONN-12", "takes a CONNECT reply without sid for a connection error and surfaces no events of that namespace", func(ctx context.Context, e *framework.ClientEnv) {
			e.Expect("CONNECT / answered 40 (no sid): connect_error for /, no connect for /, and an event sent on / afterwards not surfaced (checked after a command round trip on /sync)")
			c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: siocOptions(map[string]any{"namespaces": []string{"/", "/sync"}})},
				map[string]siocReply{"/sync": nil, "/": func(socketio.Packet) error {
					return nil // answered below, once /sync is joined
				}})
			Expect(c.Send(socketio.Packet{Type: socketio.Connect, Nsp: "/"})).To(Succeed())
			r, ok := e.Await(ctx, "connect_error", func(r testee.Report) bool { return r.Str("nsp") == "/" }, siocWait(e, "connect_error"))
			Expect(ok).To(BeTrue(), "the client reported no connect_error for / after a CONNECT reply without sid")
			e.Observe("the client reported %s", r.Raw)
			siocEvent(c, "/", -1, framework.PeerEvent, "after-no-sid")
			siocSync(ctx, e, c, "/sync")
			for _, r := range e.Reported("connect") {
				Expect(r.Str("nsp")).NotTo(Equal("/"), "the client reported connect for / after a CONNECT reply without sid: %s", r.Raw)
			}
			ev, leaked := siocReportedEvent(e, "/", framework.PeerEvent, nil)
			Expect(leaked).To(BeFalse(), "the client surfaced an event of / after its CONNECT reply lacked the sid: %s", ev.Raw)
		}, framework.Case("connect-no-sid"))

		// "EVENTs that arrive for a namespace before its CONNECT reply are
		// buffered and delivered after connect."
		s.It("SIO-CONN-13", "holds an event that arrives before the CONNECT reply and delivers it once connected", func(ctx context.Context, e *framework.ClientEnv) {
			e.Expect("42[\"siospec-data\",\"early\"] before the CONNECT reply of /: not surfaced before the reply (checked by a round trip on /sync), surfaced after it")
			c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: map[string]any{"namespaces": []string{"/", "/sync"}}},
				map[string]siocReply{"/sync": nil, "/": func(socketio.Packet) error { return nil }})
			siocEvent(c, "/", -1, framework.PeerEvent, "early")
			siocSync(ctx, e, c, "/sync")
			r, early := siocReportedEvent(e, "/", framework.PeerEvent, "early")
			Expect(early).To(BeFalse(), "the client surfaced the event before its namespace was connected: %s", r.Raw)
			Expect(siocAcceptReply(e, c, "/")).To(Succeed())
			r, ok := siocAwaitEvent(ctx, e, "/", framework.PeerEvent, "early")
			Expect(ok).To(BeTrue(), "the event that arrived before the CONNECT reply was never surfaced (lost)")
			e.Observe("surfaced after the reply: %s", r.Raw)
		}, framework.Case("event-before-connect-reply"))

		// "On CONNECT_ERROR, the JS client emits connect_error with
		// Error(message) and err.data ... it does not auto-retry."
		s.It("SIO-CONN-14", "surfaces a CONNECT_ERROR's message and data and does not retry that namespace by itself", func(ctx context.Context, e *framework.ClientEnv) {
			data := map[string]any{"code": 4003, "why": []any{"s3"}}
			e.Expect("CONNECT /private answered 44/private,{\"message\":\"s3 refused\",\"data\":%s}: connect_error with both, and no new CONNECT /private within %v (reconnectionDelay 100 ms), then a round trip on /", siocJSON(data), siocWait(e, "retry").Round(time.Millisecond))
			c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: siocOptions(map[string]any{"namespaces": []string{"/", "/private"}})},
				map[string]siocReply{"/": nil, "/private": func(socketio.Packet) error { return nil }})
			p, err := socketio.NewConnectError("/private", "s3 refused", data)
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Send(p)).To(Succeed())
			r, ok := e.Await(ctx, "connect_error", func(r testee.Report) bool { return r.Str("nsp") == "/private" }, siocWait(e, "connect_error"))
			Expect(ok).To(BeTrue(), "the client reported no connect_error for /private")
			e.Observe("the client reported %s", r.Raw)
			Expect(r.Str("message")).To(Equal("s3 refused"), "connect_error does not carry the CONNECT_ERROR message")
			var got any
			Expect(r.Decode("data", &got)).To(Succeed(), "connect_error carries no data")
			Expect(got).To(Equal(siocGeneric(data)), "connect_error does not carry the CONNECT_ERROR data")
			seen := siocWatch(ctx, c, siocWait(e, "retry"))
			siocSync(ctx, e, c, "/")
			seen = append(seen, siocDrain(c)...)
			for _, r := range seen {
				Expect(r.Packet.Type == socketio.Connect && r.Packet.Namespace() == "/private").To(BeFalse(), "the client retried /private by itself: %s", r.Packet)
			}
		}, framework.Case("connect-error"))

		// "A v5 CONNECT_ERROR payload is an object {message, data?}."
		s.It("SIO-ERR-03", "reads a CONNECT_ERROR whose payload is an object with message and no data", func(ctx context.Context, e *framework.ClientEnv) {
			e.Expect("CONNECT / answered 44{\"message\":\"s3 object form\"}: connect_error for / with that message")
			c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: siocOptions(nil)}, map[string]siocReply{"/": func(socketio.Packet) error { return nil }})
			p, err := socketio.NewConnectError("/", "s3 object form", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(c.Send(p)).To(Succeed())
			r, ok := e.Await(ctx, "connect_error", func(r testee.Report) bool { return r.Str("nsp") == "/" }, siocWait(e, "connect_error"))
			Expect(ok).To(BeTrue(), "the client reported no connect_error for /")
			e.Observe("the client reported %s", r.Raw)
			Expect(r.Str("message")).To(Equal("s3 object form"))
		}, framework.Case("connect-error-object"))
	}

	// "Several namespaces share one EIO session. Each has its own
	// Socket.IO sid, and packets are routed by their namespace field."
	s.It("SIO-NSP-02", "joins a second namespace on the same Engine.IO session with its own CONNECT and keeps the namespaces apart", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("connect /admin: its CONNECT on the same session; an event on /admin and one on / surfaced on their own namespace only; an emit on /admin sent as 2/admin,")
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocJoin(ctx, e, c, "/admin", nil)
		siocEvent(c, "/admin", -1, framework.PeerEvent, "to-admin")
		siocEvent(c, "/", -1, framework.PeerEvent, "to-main")
		_, ok := siocAwaitEvent(ctx, e, "/admin", framework.PeerEvent, "to-admin")
		Expect(ok).To(BeTrue(), "the event sent on /admin was not surfaced on /admin")
		_, ok = siocAwaitEvent(ctx, e, "/", framework.PeerEvent, "to-main")
		Expect(ok).To(BeTrue(), "the event sent on / was not surfaced on /")
		for _, r := range e.Reported("event") {
			Expect(siocEventMatch(r, "/", framework.PeerEvent, "to-admin") || siocEventMatch(r, "/admin", framework.PeerEvent, "to-main")).To(BeFalse(), "an event surfaced on the wrong namespace: %s", r.Raw)
		}
		siocCommand(ctx, e, c, "/admin", map[string]any{"cmd": "emit", "nsp": "/admin", "event": "s3-from-admin", "args": []any{1}})
		r, _ := siocUntil(ctx, e, c, "the emit on /admin", func(p socketio.Packet) bool {
			n, _ := p.EventName()
			return p.Type == socketio.Event && n == "s3-from-admin"
		})
		e.Observe("the client's emit: %s; sessions: %s", r.Packet, c.Session().ID())
		Expect(r.Packet.Namespace()).To(Equal("/admin"), "an emit on /admin went out on another namespace")
	}, framework.Case("namespaces"))

	// "The client drops packets for namespaces it has no socket for."
	s.It("SIO-NSP-08", "drops packets for a namespace it has not joined", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("42/nowhere,[...] and 42/nowhere,600[...]: nothing surfaced, no ACK, the session goes on (a command round trip on /)")
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocEvent(c, "/nowhere", -1, framework.PeerEvent, "lost")
		siocEvent(c, "/nowhere", 600, framework.PeerEvent, "lost-acked")
		siocSync(ctx, e, c, "/")
		for _, r := range e.Reported("event") {
			Expect(r.Str("event")).NotTo(Equal(framework.PeerEvent), "the client surfaced a packet of a namespace it has not joined: %s", r.Raw)
		}
		got := siocDrain(c)
		e.Observe("the client sent meanwhile: %s", siocList(got))
		for _, r := range got {
			Expect(r.Packet.Namespace()).NotTo(Equal("/nowhere"), "the client answered on a namespace it has not joined: %s", r.Packet)
		}
	}, framework.Case("unjoined-namespace"))

	// "DISCONNECT 1 or 1/nsp, ends that namespace. No reply is expected;
	// the EIO session may stay up." Client side: the namespace reports
	// its disconnect and is not joined again by itself.
	s.It("SIO-DISC-01", "ends a namespace on the server's DISCONNECT without rejoining it, and keeps the others", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("41/admin,: disconnect reported for /admin, no DISCONNECT reply and no new CONNECT /admin within %v (reconnectionDelay 100 ms), then a round trip on /", siocWait(e, "rejoin").Round(time.Millisecond))
		c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: siocOptions(nil)}, map[string]siocReply{"/": nil})
		siocJoin(ctx, e, c, "/admin", nil)
		Expect(c.Send(socketio.NewDisconnect("/admin"))).To(Succeed())
		r, ok := e.Await(ctx, "disconnect", func(r testee.Report) bool { return r.Str("nsp") == "/admin" }, siocWait(e, "disconnect"))
		Expect(ok).To(BeTrue(), "the client reported no disconnect for /admin after the server's DISCONNECT")
		e.Observe("the client reported %s", r.Raw)
		seen := siocWatch(ctx, c, siocWait(e, "rejoin"))
		siocSync(ctx, e, c, "/")
		seen = append(seen, siocDrain(c)...)
		e.Observe("then sent: %s", siocList(seen))
		for _, r := range seen {
			Expect(r.Packet.Namespace() == "/admin" && r.Packet.Type == socketio.Connect).To(BeFalse(), "the client joined /admin again by itself after the server's DISCONNECT")
			Expect(r.Packet.Namespace() == "/admin" && r.Packet.Type == socketio.Disconnect).To(BeFalse(), "the client answered the server's DISCONNECT with one of its own")
		}
	}, framework.Case("server-disconnect"))

	// "Closing the EIO session disconnects every namespace."
	s.It("SIO-DISC-07", "disconnects every namespace when the Engine.IO session closes", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("with / and /admin joined, the server's Engine.IO close packet: disconnect reported for both")
		c, _, _ := siocStart(ctx, e, &framework.CaseOptions{Client: map[string]any{"reconnection": false}}, map[string]siocReply{"/": nil})
		siocJoin(ctx, e, c, "/admin", nil)
		c.Session().Close()
		for _, nsp := range []string{"/", "/admin"} {
			r, ok := e.Await(ctx, "disconnect", func(r testee.Report) bool { return r.Str("nsp") == nsp }, siocWait(e, "disconnect"))
			Expect(ok).To(BeTrue(), "the client reported no disconnect for %s after the Engine.IO session closed", nsp)
			e.Observe("the client reported %s", r.Raw)
		}
	}, framework.Case("engine-close"), framework.ClientOption("reconnection"))

	// "JS socket.disconnect() sends a DISCONNECT. If it was the last
	// active namespace, the EIO session is then closed."
	s.It("SIO-DISC-08", "sends DISCONNECT when it leaves a namespace and closes the Engine.IO session after the last one", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("disconnect /admin: 1/admin, and the session stays (round trip on /); then disconnect /: 1 and the client closes the session")
		c, _, _ := siocStart(ctx, e, nil, map[string]siocReply{"/": nil})
		siocJoin(ctx, e, c, "/admin", nil)
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "disconnect", "nsp": "/admin"})
		r, _ := siocUntil(ctx, e, c, "the DISCONNECT of /admin", func(p socketio.Packet) bool {
			return p.Type == socketio.Disconnect && p.Namespace() == "/admin"
		})
		e.Observe("the client sent %s", r.Packet)
		siocSync(ctx, e, c, "/")
		siocCommand(ctx, e, c, "/", map[string]any{"cmd": "disconnect", "nsp": "/"})
		r, _ = siocUntil(ctx, e, c, "the DISCONNECT of /", func(p socketio.Packet) bool {
			return p.Type == socketio.Disconnect && p.Namespace() == "/"
		})
		e.Observe("then %s", r.Packet)
		ss := c.Session()
		select {
		case <-ss.Done():
		case <-time.After(siocWait(e, "close")):
		case <-ctx.Done():
		}
		reason := ss.Reason()
		e.Observe("the Engine.IO session ended: %q", reason)
		Expect(reason).To(BeElementOf("client close packet", "transport closed by the client"), "the client did not close the Engine.IO session after leaving its last namespace")
	}, framework.Case("client-disconnect"))
}
