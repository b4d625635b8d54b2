package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
)

// declareUpgrade declares the upgrade specs, in all four suites (a
// Socket.IO client is judged on its engine): polling first and then the
// probe (2probe on a WebSocket with the same sid), the pause of polling
// before 5, no message lost across the switch, staying on polling when
// the upgrade fails, and WebSocket-only mode.
func declareUpgrade(s *framework.ClientSuite) {
	s.It("EIO-UPG-01", "by default the client opens on polling and upgrades when websocket is advertised", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("the first request is a polling handshake, then the client asks for a WebSocket upgrade of that session")
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		upgFirstIsPolling(e)
		rq := upgAwaitUpgradeRequest(ctx, e, p.SS)
		e.Observe("the client asked for the upgrade: %s", rq.URL)
	}, framework.Case("upgrade-default"))

	s.It("NODE-TR-01", "the client opens on polling and completes the upgrade to WebSocket by default", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("a polling handshake, the upgrade completed, and then data on the WebSocket both ways")
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		upgFirstIsPolling(e)
		upgAwaitWebSocket(ctx, e, p.SS)
		upgExchange(ctx, p, "after-upgrade", "websocket")
	}, framework.Case("upgrade-default-completes"))

	s.It("EIO-UPG-02", "the client probes the upgrade on a WebSocket carrying the same sid and sends 2probe first", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("a WebSocket request with transport=websocket and the session's sid, whose first frame is %q", "2probe")
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		rq := upgAwaitUpgradeRequest(ctx, e, p.SS)
		e.Observe("upgrade request %s", rq.URL)
		if rq.Transport != "websocket" {
			g.Fail(fmt.Sprintf("the upgrade request names transport %q", rq.Transport))
		}
		w := e.Timing.Reply("probe")
		var first string
		ok := lcUntil(ctx, e, w.Max, func() bool {
			for _, ev := range e.Rec.Events() {
				if ev.Conn == rq.Conn && ev.Dir == framework.DirC2S && ev.Kind == framework.KindWSFrame {
					first = string(ev.Data)
					return true
				}
			}
			return false
		})
		if !ok {
			g.Fail(fmt.Sprintf("the client sent no frame on the probe WebSocket within %v", w.Max.Round(time.Millisecond)))
		}
		e.Observe("the first frame on the probe WebSocket: %q", first)
		if first != "2probe" {
			g.Fail(fmt.Sprintf("the probe WebSocket's first frame is %q, not %q", first, "2probe"))
		}
	}, framework.Case("upgrade-probe"))

	s.It("EIO-UPG-05", "after 3probe the client starts no new polling request, lets the ones in flight finish, sends 5 and moves its traffic to the WebSocket", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("after 3probe at most the GET and POST already on their way; every polling request answered before 5; data after 5 only on the WebSocket")
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		upgAwaitWebSocket(ctx, e, p.SS)
		wall := lcWall(e)
		var t3, t5 time.Time
		wsConn := 0
		for _, ev := range e.Rec.Events() {
			switch {
			case t3.IsZero() && ev.Dir == framework.DirS2C && ev.Kind == framework.KindEIOPacket && ev.Summary == "3probe":
				t3, wsConn = wall(ev.At), ev.Conn
			case t5.IsZero() && ev.Conn == wsConn && wsConn != 0 && ev.Dir == framework.DirC2S && ev.Kind == framework.KindEIOPacket && ev.Summary == "5":
				t5 = wall(ev.At)
			}
		}
		if t3.IsZero() || t5.IsZero() {
			g.Fail(framework.HarnessPrefix + "the transcript lacks 3probe or 5 although the session upgraded")
		}
		e.Observe("5 came %v after 3probe", t5.Sub(t3).Round(time.Millisecond))
		upgExchange(ctx, p, "after-upgrade", "websocket")
		var gets, posts int
		for _, rq := range e.Server.Requests() {
			if rq.SID != p.SS.ID() || rq.Upgrade || rq.Transport != "polling" {
				continue
			}
			e.Observe("polling %s started %v, answered %d %v relative to 3probe", rq.Method, rq.Started.Sub(t3).Round(time.Millisecond), rq.Status, rq.Finished.Sub(t3).Round(time.Millisecond))
			if rq.Started.After(t3) {
				if rq.Method == http.MethodGet {
					gets++
				} else {
					posts++
				}
				if rq.Started.After(t5) {
					g.Fail(fmt.Sprintf("the client started a polling %s after it sent 5", rq.Method))
				}
			}
			if rq.Started.Before(t5) && (rq.Finished.IsZero() || rq.Finished.After(t5)) {
				g.Fail(fmt.Sprintf("the client sent 5 while its polling %s (%s) was still in flight", rq.Method, rq.URL))
			}
		}
		// A GET or POST that crossed 3probe on the wire is allowed; a second
		// one means the client kept polling after it read 3probe.
		if gets > 1 || posts > 1 {
			g.Fail(fmt.Sprintf("the client started %d GET(s) and %d POST(s) after 3probe: it did not pause polling", gets, posts))
		}
	}, framework.Case("upgrade-pause"))

	s.It("EIO-UPG-12", "no message is lost, duplicated or reordered across the upgrade, in either direction", func(ctx context.Context, e *framework.ClientEnv) {
		upgStream(ctx, e)
	}, framework.Case("upgrade-stream"))

	for _, m := range []struct {
		name   string
		mode   scripted.UpgradeMode
		status int
		what   string
	}{
		{"upgrade-refused", scripted.UpgradeRefuse, http.StatusBadRequest, "the upgrade request is answered 400"},
		{"upgrade-forbidden", scripted.UpgradeRefuse, http.StatusForbidden, "the upgrade request is answered 403"},
		{"upgrade-stripped", scripted.UpgradeStrip, 0, "the Upgrade header is stripped (a plain 400)"},
		{"upgrade-stalled", scripted.UpgradeStall, 0, "the WebSocket is answered 101 and then stalls"},
		{"upgrade-probe-unanswered", scripted.UpgradeNoProbe, 0, "2probe is never answered"},
	} {
		s.It("EIO-UPG-13", "the client stays on polling with its session open when "+m.what, func(ctx context.Context, e *framework.ClientEnv) {
			e.Expect("after the failed upgrade the session stays open on polling and data still flows both ways over polling")
			e.Start(ctx, lcCalm(e, &framework.CaseOptions{Server: scripted.Options{Upgrade: m.mode, UpgradeStatus: m.status}}))
			p := e.Open(ctx)
			rq := upgAwaitUpgradeRequest(ctx, e, p.SS)
			w := e.Timing.Reply("upgrade attempt")
			switch m.mode {
			case scripted.UpgradeRefuse, scripted.UpgradeStrip:
				lcUntil(ctx, e, w.Max, func() bool { return upgRequest(e, rq).Status != 0 })
				e.Observe("the upgrade request was answered %d", upgRequest(e, rq).Status)
			case scripted.UpgradeNoProbe:
				if lcUntil(ctx, e, w.Max, func() bool { return upgFrameOn(e, rq.Conn, "2probe") }) {
					e.Observe("the client sent 2probe, which got no answer")
				}
			}
			upgExchange(ctx, p, "after-failed-upgrade", "polling")
			if r := p.SS.Reason(); r != "" {
				g.Fail("the session ended after the failed upgrade: " + r)
			}
			if tr := p.SS.Transport(); tr != "polling" {
				g.Fail("the session is on " + tr)
			}
			if n := upgHandshakes(e); n != 1 {
				g.Fail(fmt.Sprintf("the client opened %d sessions instead of staying on the first", n))
			}
		}, framework.Case(m.name))
	}

	s.It("NODE-TR-02", "with transports [websocket] the client opens directly on WebSocket and never polls", func(ctx context.Context, e *framework.ClientEnv) {
		e.Expect("the first request is a WebSocket handshake (no sid), data flows on it both ways, and no polling request is ever made")
		e.Start(ctx, lcCalm(e, nil))
		p := e.Open(ctx)
		rqs := e.Server.Requests()
		if len(rqs) == 0 || !rqs[0].Upgrade || rqs[0].Transport != "websocket" || rqs[0].SID != "" {
			g.Fail(fmt.Sprintf("the first request is not a WebSocket handshake: %s", upgDescribe(rqs)))
		}
		upgExchange(ctx, p, "websocket-only", "websocket")
		for _, rq := range e.Server.Requests() {
			if rq.Transport == "polling" {
				g.Fail(fmt.Sprintf("the client made a polling request in WebSocket-only mode: %s %s", rq.Method, rq.URL))
			}
		}
	}, framework.Case("websocket-only"), framework.WebSocket)
}

// upgDescribe names the first request.
func upgDescribe(rqs []scripted.Request) string {
	if len(rqs) == 0 {
		return "no request"
	}
	return fmt.Sprintf("%s %s (upgrade %v)", rqs[0].Method, rqs[0].URL, rqs[0].Upgrade)
}

// upgFirstIsPolling fails unless the first request was a polling
// handshake.
func upgFirstIsPolling(e *framework.ClientEnv) {
	g.GinkgoHelper()
	rqs := e.Server.Requests()
	e.Observe("first request: %s", upgDescribe(rqs))
	if len(rqs) == 0 || rqs[0].Upgrade || rqs[0].Transport != "polling" || rqs[0].SID != "" {
		g.Fail("the client did not open with a polling handshake")
	}
}

// upgAwaitUpgradeRequest waits for the client's WebSocket request for ss.
func upgAwaitUpgradeRequest(ctx context.Context, e *framework.ClientEnv, ss *scripted.Session) scripted.Request {
	g.GinkgoHelper()
	w := e.Timing.Reply("upgrade request")
	var found scripted.Request
	ok := lcUntil(ctx, e, w.Max, func() bool {
		for _, rq := range e.Server.Requests() {
			if rq.Upgrade && rq.SID == ss.ID() {
				found = rq
				return true
			}
		}
		return false
	})
	if !ok {
		g.Fail(fmt.Sprintf("the client asked for no WebSocket upgrade of session %s within %v (websocket advertised)", ss.ID(), w.Max.Round(time.Millisecond)))
	}
	return found
}

// upgRequest returns the current record of rq (same connection and start).
func upgRequest(e *framework.ClientEnv, rq scripted.Request) scripted.Request {
	for _, r := range e.Server.Requests() {
		if r.Conn == rq.Conn && r.Started.Equal(rq.Started) {
			return r
		}
	}
	return rq
}

// upgFrameOn reports whether the client sent the text frame data on conn.
func upgFrameOn(e *framework.ClientEnv, conn int, data string) bool {
	for _, ev := range e.Rec.Events() {
		if ev.Conn == conn && ev.Dir == framework.DirC2S && ev.Kind == framework.KindWSFrame && string(ev.Data) == data {
			return true
		}
	}
	return false
}

// upgHandshakes counts the handshake requests.
func upgHandshakes(e *framework.ClientEnv) int {
	n := 0
	for _, rq := range e.Server.Requests() {
		if rq.SID == "" {
			n++
		}
	}
	return n
}

// upgAwaitWebSocket waits until ss has switched to the WebSocket.
func upgAwaitWebSocket(ctx context.Context, e *framework.ClientEnv, ss *scripted.Session) {
	g.GinkgoHelper()
	w := e.Timing.Reply("upgrade")
	within := 2 * w.Max
	if !lcUntil(ctx, e, within, func() bool { return ss.Transport() == "websocket" }) {
		g.Fail(fmt.Sprintf("session %s was not upgraded within %v of its handshake (2probe, 3probe, 5)", ss.ID(), within.Round(time.Millisecond)))
	}
	e.Observe("the session upgraded to websocket")
}

// upgExchange sends data to the client and makes the client send data,
// and fails unless both went through and the client's data came on
// transport.
func upgExchange(ctx context.Context, p *framework.Peer, tag, transport string) {
	g.GinkgoHelper()
	e := p.E
	w := e.Timing.Reply("data")
	if err := p.ToClient(tag + "-down"); err != nil {
		g.Fail(framework.HarnessPrefix + "send: " + err.Error())
	}
	if !p.Reported(ctx, tag+"-down", w.Max) {
		g.Fail(fmt.Sprintf("the client did not surface %q within %v", tag+"-down", w.Max.Round(time.Millisecond)))
	}
	p.ClientSends(ctx, tag+"-up", 1)
	tr, ok := lcRecvData(ctx, p, tag+"-up", w.Max)
	if !ok {
		g.Fail(fmt.Sprintf("the server did not receive %q from the client within %v", tag+"-up", w.Max.Round(time.Millisecond)))
	}
	e.Observe("data went both ways; the client's came on %s", tr)
	if tr != transport {
		g.Fail(fmt.Sprintf("the client's data came on %s, not %s", tr, transport))
	}
}

// upgStreamMax bounds the numbered messages sent while waiting for the
// upgrade; upgStreamAfter are sent after the switch.
const (
	upgStreamMax   = 400
	upgStreamAfter = 10
)

// upgStream runs EIO-UPG-12: numbered messages from the server, every few
// milliseconds from the handshake until some time after the switch, each
// echoed by the client (Engine.IO: the testee echoes messages; Socket.IO:
// the event asks for an ack, which the testee answers with the same
// arguments). Both sequences must be exactly 1..n.
func upgStream(ctx context.Context, e *framework.ClientEnv) {
	g.GinkgoHelper()
	e.Expect("the client surfaces messages 1..n from the server in order, once each, and sends their echoes 1..n in order, once each, while the session switches from polling to WebSocket")
	e.Start(ctx, lcCalm(e, nil))
	p := e.Open(ctx)
	ss := p.SS
	var (
		sent, onPolling int
		after           int
	)
	send := func(k int) {
		data := "m-" + strconv.Itoa(k)
		var err error
		if p.SIO != nil {
			var pkt socketio.Packet
			pkt, err = socketio.NewEvent("/", framework.PeerEvent, data)
			if err == nil {
				pkt.ID, pkt.HasID = uint64(k), true
				err = p.SIO.Send(pkt)
			}
		} else {
			err = p.ToClient(data)
		}
		if err != nil {
			g.Fail(fmt.Sprintf("the session ended during the stream (%v): %q", err, ss.Reason()))
		}
	}
	tick := time.NewTicker(3 * time.Millisecond)
	defer tick.Stop()
	for sent < upgStreamMax && after < upgStreamAfter {
		if ss.Transport() == "polling" {
			onPolling++
		} else {
			after++
		}
		sent++
		send(sent)
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
	e.Observe("sent %d numbered messages, %d while the session was on polling, %d after the switch", sent, onPolling, after)
	if after == 0 || onPolling == 0 {
		g.Fail(framework.HarnessPrefix + fmt.Sprintf("the stream did not span the upgrade (%d on polling, %d after); the upgrade specs say why", onPolling, after))
	}
	// Receive the echoes until the last one, plus a reply budget.
	w := e.Timing.Reply("echo")
	var echoes []int
	cctx, cancel := context.WithTimeout(ctx, w.Max+e.Timing.Scaled(time.Second))
	defer cancel()
	for len(echoes) == 0 || echoes[len(echoes)-1] != sent {
		k, ok := upgNextEcho(cctx, p)
		if !ok {
			break
		}
		echoes = append(echoes, k)
	}
	e.Observe("echoes from the client: %s", upgSeq(echoes))
	var down []int
	lcUntil(ctx, e, w.Max, func() bool {
		down = upgSurfaced(p)
		return len(down) > 0 && down[len(down)-1] == sent
	})
	e.Observe("messages surfaced by the testee: %s", upgSeq(down))
	if msg := upgCheckSeq(down, sent); msg != "" {
		g.Fail("server to client: " + msg)
	}
	if msg := upgCheckSeq(echoes, sent); msg != "" {
		g.Fail("client to server: " + msg)
	}
}

// upgNextEcho returns the number of the next echo from the client.
func upgNextEcho(ctx context.Context, p *framework.Peer) (int, bool) {
	for {
		if p.SIO != nil {
			r, err := p.SIO.Recv(ctx)
			var de *socketio.DecodeError
			if errors.As(err, &de) {
				continue
			}
			if err != nil {
				return 0, false
			}
			if r.Packet.Type != socketio.Ack {
				continue
			}
			args, err := r.Packet.Args()
			if err != nil || len(args) == 0 {
				continue
			}
			if s, ok := args[0].(string); ok {
				if k, ok := upgNum(s); ok {
					return k, true
				}
			}
			continue
		}
		r, err := p.SS.Recv(ctx)
		if err != nil {
			return 0, false
		}
		if d, ok := p.Data(r); ok {
			if k, ok := upgNum(d); ok {
				return k, true
			}
		}
	}
}

// upgSurfaced returns the numbered messages the testee surfaced, in
// report order.
func upgSurfaced(p *framework.Peer) []int {
	var out []int
	for _, r := range p.E.Testee.Reports() {
		var s string
		switch {
		case p.SIO == nil && r.Ev == "message":
			s = r.Str("data")
		case p.SIO != nil && r.Ev == "event" && r.Str("event") == framework.PeerEvent:
			var args []any
			if r.Decode("args", &args) != nil || len(args) == 0 {
				continue
			}
			s, _ = args[0].(string)
		default:
			continue
		}
		if k, ok := upgNum(s); ok {
			out = append(out, k)
		}
	}
	return out
}

func upgNum(s string) (int, bool) {
	v, ok := strings.CutPrefix(s, "m-")
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(v)
	return k, err == nil
}

// upgCheckSeq says what is wrong with seq against 1..n ("" when nothing).
func upgCheckSeq(seq []int, n int) string {
	seen := make(map[int]bool, len(seq))
	for i, k := range seq {
		if seen[k] {
			return fmt.Sprintf("message %d came twice", k)
		}
		seen[k] = true
		if i > 0 && k < seq[i-1] {
			return fmt.Sprintf("message %d came after message %d", k, seq[i-1])
		}
	}
	for k := 1; k <= n; k++ {
		if !seen[k] {
			return fmt.Sprintf("message %d of %d never came", k, n)
		}
	}
	return ""
}

// upgSeq renders a sequence compactly (runs as a..b).
func upgSeq(seq []int) string {
	if len(seq) == 0 {
		return "none"
	}
	var b strings.Builder
	start := 0
	for i := 1; i <= len(seq); i++ {
		if i < len(seq) && seq[i] == seq[i-1]+1 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if i-1 == start {
			fmt.Fprintf(&b, "%d", seq[start])
		} else {
			fmt.Fprintf(&b, "%d..%d", seq[start], seq[i-1])
		}
		start = i
	}
	return b.String()
}
