package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
)

// declareHandshake declares the URL and handshake specs: the query
// parameters on every request (EIO-URL-02/04/05/07, EIO3-01) and what the
// client keeps from the open packet (EIO-HS-11/12). They run in all four
// suites: a Socket.IO client is judged on its engine.
func declareHandshake(s *framework.ClientSuite) {
	v3 := isV3(s.Proto())
	eioID, eioWant := "EIO-URL-02", "4"
	if v3 {
		eioID, eioWant = "EIO3-01", "3"
	}
	s.It(eioID, "the client sends EIO="+eioWant+" on every request, the handshake, polling, POSTs and the WebSocket included", func(ctx context.Context, e *framework.ClientEnv) {
		reqs := hsTraffic(ctx, e)
		e.Expect("every HTTP request of the client (handshake, GET, POST, WebSocket upgrade) carries exactly one EIO parameter with the value %s", eioWant)
		var bad []string
		for i, r := range reqs {
			if got := r.Query["EIO"]; len(got) != 1 || got[0] != eioWant {
				bad = append(bad, fmt.Sprintf("request %d (%s) carried EIO=%q", i+1, hsDescribe(r), got))
			}
		}
		e.Observe("the client made %d requests (%s)", len(reqs), hsKinds(reqs))
		if len(bad) > 0 {
			e.Observe("%s", strings.Join(bad, "\n"))
			g.Fail(fmt.Sprintf("%d of %d requests lacked EIO=%s: %s", len(bad), len(reqs), eioWant, bad[0]))
		}
	}, framework.Case("url-eio"))

	s.It("EIO-URL-04", "the client sends transport=polling on polling requests and transport=websocket on the WebSocket", func(ctx context.Context, e *framework.ClientEnv) {
		reqs := hsTraffic(ctx, e)
		e.Expect("every request carries exactly one transport parameter: polling on polling requests, websocket on WebSocket upgrades")
		var bad []string
		for i, r := range reqs {
			want := "polling"
			if r.Upgrade {
				want = "websocket"
			}
			if got := r.Query["transport"]; len(got) != 1 || got[0] != want {
				bad = append(bad, fmt.Sprintf("request %d (%s) carried transport=%q, want %s", i+1, hsDescribe(r), got, want))
			}
		}
		e.Observe("the client made %d requests (%s)", len(reqs), hsKinds(reqs))
		if len(bad) > 0 {
			e.Observe("%s", strings.Join(bad, "\n"))
			g.Fail(fmt.Sprintf("%d of %d requests had a wrong transport parameter: %s", len(bad), len(reqs), bad[0]))
		}
	}, framework.Case("url-transport"))

	s.It("EIO-URL-05", "the client sends the sid of its session on every request after the handshake", func(ctx context.Context, e *framework.ClientEnv) {
		reqs := hsTraffic(ctx, e)
		sid := ""
		if len(reqs) > 0 {
			sid = hsSIDOf(e)
		}
		e.Expect("one handshake (no sid), then every GET, POST and WebSocket upgrade carries sid=%s", sid)
		var bad []string
		withSID := 0
		for i, r := range reqs {
			got := r.Query["sid"]
			switch {
			case i == 0 && len(got) == 0:
			case len(got) == 1 && got[0] == sid:
				withSID++
			default:
				bad = append(bad, fmt.Sprintf("request %d (%s) carried sid=%q", i+1, hsDescribe(r), got))
			}
		}
		e.Observe("the client made %d requests (%s), %d of them with the session's sid", len(reqs), hsKinds(reqs), withSID)
		if len(bad) > 0 {
			e.Observe("%s", strings.Join(bad, "\n"))
			g.Fail(fmt.Sprintf("%d requests after the handshake lacked sid=%s: %s", len(bad), sid, bad[0]))
		}
		if withSID == 0 {
			g.Fail("the client made no request after the handshake, so the sid rule was never exercised")
		}
	}, framework.Case("url-sid"))

	s.It("EIO-URL-07", "the client adds a fresh cache-buster t to every polling request", func(ctx context.Context, e *framework.ClientEnv) {
		reqs := hsTraffic(ctx, e)
		e.Expect("every polling request (handshake, GET, POST) carries a non-empty t parameter, a different one each time")
		seen := map[string]int{}
		var bad []string
		polls := 0
		for i, r := range reqs {
			if r.Upgrade {
				continue
			}
			polls++
			t := r.Query["t"]
			switch {
			case len(t) != 1 || t[0] == "":
				bad = append(bad, fmt.Sprintf("request %d (%s) carried t=%q", i+1, hsDescribe(r), t))
			case seen[t[0]] > 0:
				bad = append(bad, fmt.Sprintf("request %d (%s) reused t=%s of request %d", i+1, hsDescribe(r), t[0], seen[t[0]]))
			default:
				seen[t[0]] = i + 1
			}
		}
		e.Observe("the client made %d polling requests", polls)
		if len(bad) > 0 {
			e.Observe("%s", strings.Join(bad, "\n"))
			g.Fail(fmt.Sprintf("%d of %d polling requests had no fresh t: %s", len(bad), polls, bad[0]))
		}
		if polls < 3 {
			g.Fail(fmt.Sprintf("the client made only %d polling requests, too few to judge the cache-buster", polls))
		}
	}, framework.Case("url-cache-buster"), framework.Polling)

	s.It("EIO-HS-11", "the client keeps sid, pingInterval and pingTimeout from an open packet with unknown keys and no maxPayload, and its session and heartbeat follow them", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, lenient(e, &framework.CaseOptions{Server: scripted.Options{OpenJSON: func(_ string, b []byte) []byte {
			var m map[string]any
			if json.Unmarshal(b, &m) != nil {
				return b
			}
			delete(m, "maxPayload")
			m["siospecUnknown"] = "x"
			m["nested"] = map[string]any{"a": []any{1, "two", nil}, "b": true}
			out, err := json.Marshal(m)
			if err != nil {
				return b
			}
			return out
		}}}))
		p := e.Open(ctx)
		tm := e.Timing
		e.Expect("the open packet %s carries two unknown keys and no maxPayload; the client keeps the session (sid on every request), answers pings (v4) or pings every pingInterval %v (v3), and the session carries data both ways for two heartbeat periods",
			"{sid, upgrades, pingInterval, pingTimeout, siospecUnknown, nested}", tm.PingInterval)
		if !roundTrip(ctx, e, p, "hs-11 first") {
			g.Fail("the client carried no data on a session whose open packet had unknown keys and no maxPayload")
		}
		hb := "3" // v4: the client's pong
		if v3 {
			hb = "2"
		}
		within := 3*(tm.PingInterval+tm.PingTimeout) + tm.Grace(tm.PingInterval+tm.PingTimeout)
		n, ok := awaitClientPackets(ctx, e, hb, 2, within)
		if !ok {
			e.Observe("the client sent %d heartbeat packets (%s) within %v", n, hb, within.Round(time.Millisecond))
			g.Fail(fmt.Sprintf("the client's heartbeat did not run on the advertised values: %d heartbeat packets (%q) within %v", n, hb, within.Round(time.Millisecond)))
		}
		if v3 {
			hsJudgeV3Pings(e)
		}
		if !roundTrip(ctx, e, p, "hs-11 after heartbeats") {
			g.Fail("after two heartbeat periods the session no longer carried the client's data")
		}
		if err := p.ToClient("hs-11 to the client"); err != nil || !p.Reported(ctx, "hs-11 to the client", tm.Reply("report").Max) {
			g.Fail("after two heartbeat periods the client did not surface the server's data")
		}
		reqs := e.Server.Requests()
		for i, r := range reqs[1:] {
			if got := r.Query["sid"]; len(got) != 1 || got[0] != p.SS.ID() {
				g.Fail(fmt.Sprintf("request %d (%s) carried sid=%q, not the sid %s of the open packet", i+2, hsDescribe(r), got, p.SS.ID()))
			}
		}
		if r := p.SS.Reason(); r != "" {
			g.Fail("the session ended: " + r)
		}
		e.Observe("the client kept session %s over %d requests, sent its heartbeat packets and carried data both ways", p.SS.ID(), len(reqs))
	}, framework.Case("hs-extra-keys"))

	s.It("EIO-HS-12", "the client ignores an advertised upgrade it does not implement (\"foo\") and keeps working", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, lenient(e, &framework.CaseOptions{Server: scripted.Options{Upgrades: []string{"foo", "websocket"}}}))
		p := e.Open(ctx)
		e.Expect("with upgrades [\"foo\",\"websocket\"] advertised, the client never asks for transport foo and its session keeps carrying data")
		upgraded := awaitTransport(ctx, p, "websocket", e.Timing.Reply("upgrade").Max)
		if !roundTrip(ctx, e, p, "hs-12 data") {
			g.Fail("the session stopped carrying the client's data after the client saw the unknown upgrade")
		}
		for i, r := range e.Server.Requests() {
			if tr := r.Query["transport"]; len(tr) != 1 || (tr[0] != "polling" && tr[0] != "websocket") {
				e.Observe("request %d (%s) asked for transport %q", i+1, hsDescribe(r), tr)
				g.Fail(fmt.Sprintf("the client tried the unknown advertised upgrade: request %d asked for transport=%q", i+1, tr))
			}
		}
		if r := p.SS.Reason(); r != "" {
			g.Fail("the session ended: " + r)
		}
		e.Observe("the client never asked for foo; upgraded to websocket: %v; its data still arrived", upgraded)
	}, framework.Case("hs-unknown-upgrade"))
}

// hsTraffic starts the case with defaults and makes the session carry data
// before and, when the client upgrades, after the upgrade. It returns the
// requests the server saw.
func hsTraffic(ctx context.Context, e *framework.ClientEnv) []scripted.Request {
	g.GinkgoHelper()
	e.Start(ctx, lenient(e, nil))
	p := e.Open(ctx)
	if !roundTrip(ctx, e, p, "url 1") {
		g.Fail("the client's first message did not arrive")
	}
	if strings.Contains(e.Transports, "websocket") && strings.Contains(e.Transports, "polling") {
		awaitTransport(ctx, p, "websocket", e.Timing.Reply("upgrade").Max)
	}
	if !roundTrip(ctx, e, p, "url 2") {
		g.Fail("the client's second message did not arrive")
	}
	return e.Server.Requests()
}

// hsSIDOf returns the sid of the first session.
func hsSIDOf(e *framework.ClientEnv) string {
	for _, r := range e.Server.Requests() {
		if r.SID != "" {
			return r.SID
		}
	}
	return ""
}

// hsDescribe names a request for a report.
func hsDescribe(r scripted.Request) string {
	kind := r.Method
	if r.Upgrade {
		kind = "WebSocket upgrade"
	}
	u, err := url.PathUnescape(r.URL)
	if err != nil {
		u = r.URL
	}
	return kind + " " + u
}

// hsKinds counts requests by kind.
func hsKinds(reqs []scripted.Request) string {
	var get, post, ws int
	for _, r := range reqs {
		switch {
		case r.Upgrade:
			ws++
		case r.Method == "POST":
			post++
		default:
			get++
		}
	}
	return fmt.Sprintf("%d GET, %d POST, %d WebSocket", get, post, ws)
}

// hsJudgeV3Pings checks that a v3 client's pings come every pingInterval.
func hsJudgeV3Pings(e *framework.ClientEnv) {
	g.GinkgoHelper()
	var at []time.Duration
	for _, ev := range e.Rec.Events() {
		if ev.Kind == framework.KindEIOPacket && ev.Dir == framework.DirC2S && ev.Summary == "2" {
			at = append(at, ev.At)
		}
	}
	w := e.Timing.Around(e.Timing.PingInterval, "pingInterval")
	for i := 1; i < len(at); i++ {
		d := at[i] - at[i-1]
		e.Measured("v3 ping after the previous one", d)
		if !e.InWindow(w, d) {
			e.Observe("the client's pings came %v apart", d.Round(time.Millisecond))
			g.Fail(fmt.Sprintf("the client's v3 pings came %v apart, not every advertised pingInterval (%v)", d.Round(time.Millisecond), w))
		}
	}
}

// awaitTransport waits until the session's transport is tr.
func awaitTransport(ctx context.Context, p *framework.Peer, tr string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for p.SS.Transport() != tr {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	p.E.Rec.Note("session " + p.SS.ID() + " is on " + tr)
	return true
}

// awaitClientPackets waits until the client has sent n packets whose wire
// summary is sum (e.g. "3" for a pong); it returns how many came.
func awaitClientPackets(ctx context.Context, e *framework.ClientEnv, sum string, n int, within time.Duration) (int, bool) {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		ch := e.Rec.Changed()
		c := 0
		for _, ev := range e.Rec.Events() {
			if ev.Kind == framework.KindEIOPacket && ev.Dir == framework.DirC2S && ev.Summary == sum {
				c++
			}
		}
		if c >= n {
			return c, true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return c, false
		case <-ctx.Done():
			return c, false
		}
	}
}

// nextData returns the next Peer data the client sent (Engine.IO message
// or PeerEvent), skipping everything else, within the given time.
func nextData(ctx context.Context, p *framework.Peer, within time.Duration) (string, scripted.Received, error) {
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		var r scripted.Received
		if p.SIO != nil {
			sr, err := p.SIO.Recv(cctx)
			if err != nil && sr.Raw.At.IsZero() {
				return "", r, err
			}
			r = sr.Raw
		} else {
			var err error
			if r, err = p.SS.Recv(cctx); err != nil {
				return "", r, err
			}
		}
		if d, ok := p.Data(r); ok {
			return d, r, nil
		}
	}
}

// roundTrip makes the client send data and waits until it arrives.
func roundTrip(ctx context.Context, e *framework.ClientEnv, p *framework.Peer, data string) bool {
	g.GinkgoHelper()
	p.ClientSends(ctx, data, 1)
	within := e.Timing.Reply("the client's message").Max
	for {
		d, _, err := nextData(ctx, p, within)
		if err != nil {
			e.Observe("the client's message %q did not arrive within %v (%v)", data, within.Round(time.Millisecond), err)
			return false
		}
		if d == data {
			return true
		}
	}
}

// peerMessage returns the Engine.IO message that carries data as Peer data
// (a PeerEvent on the Socket.IO suites), with ack id id when id > 0.
func peerMessage(p *framework.Peer, data string, id uint64) engineio.Packet {
	g.GinkgoHelper()
	if p.SIO == nil {
		return engineio.TextPacket(engineio.Message, data)
	}
	pkt, err := socketio.NewEvent("/", framework.PeerEvent, data)
	if err != nil {
		g.Fail(framework.HarnessPrefix + err.Error())
	}
	if id > 0 {
		pkt = pkt.WithID(id)
	}
	b, _, err := socketio.Encoder{Version: p.E.SIOVersion()}.Encode(pkt)
	if err != nil {
		g.Fail(framework.HarnessPrefix + err.Error())
	}
	return engineio.Packet{Type: engineio.Message, Data: b}
}

// isV3 reports whether the suite speaks Engine.IO v3.
func isV3(p framework.Proto) bool {
	return slices.Contains([]framework.Proto{framework.EIO3, framework.SIO4}, p)
}

// lenientTimeout multiplies the advertised pingTimeout in cases that do
// not judge the heartbeat, so that a client slowed down by a loaded
// machine is not closed for a late ping or pong in the middle of a case
// about something else. The pingInterval, and so the heartbeat traffic,
// stays the same.
const lenientTimeout = 4

// lenient returns o (nil means defaults) with the advertised pingTimeout
// stretched by lenientTimeout, unless o sets its own.
func lenient(e *framework.ClientEnv, o *framework.CaseOptions) *framework.CaseOptions {
	if o == nil {
		o = &framework.CaseOptions{}
	}
	if o.Server.PingTimeout == 0 {
		o.Server.PingTimeout = lenientTimeout * e.Timing.PingTimeout
	}
	return o
}
