package client

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	g "github.com/onsi/ginkgo/v2"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/scripted"
)

// declarePolling declares the client's polling specs: payload framing
// (EIO-POLL-02, EIO3-03, EIO3-09), requests in flight (EIO-POLL-17),
// batching (EIO-POLL-18) and POST size (EIO-LIMIT-04), in all four suites
// (LIMIT-04 where maxPayload is advertised: v4).
func declarePolling(s *framework.ClientSuite) {
	v3 := isV3(s.Proto())
	text := "poll € 😀 x"

	frameID, frameText := "EIO-POLL-02", "the client's POST bodies join packets with 0x1E, with no separator at either end and no empty record"
	if v3 {
		frameID, frameText = "EIO3-03", "the client's text POST bodies are <len>:<packet> records with len in UTF-16 code units"
	}
	s.It(frameID, frameText, func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, lenient(e, nil))
		p := e.Open(ctx)
		if v3 {
			e.Expect("every text/plain POST body decodes strictly as <len>:<packet> records (len counted in UTF-16 code units, e.g. 9:4poll € for a 4-byte €) and the data %q arrives intact", text)
		} else {
			e.Expect("every POST body is packets joined by 0x1E, none at either end, no empty record, each packet valid; the data %q arrives intact", text)
		}
		queueErr := queueAtOnceErr(ctx, e, p, text, 5)
		multi, n := 0, 0
		for _, r := range e.Server.Requests() {
			if r.Method != "POST" || r.Upgrade {
				continue
			}
			n++
			if why := payloadFault(v3, r); why != "" {
				e.Observe("POST body %q", trim(r.Body))
				g.Fail(fmt.Sprintf("the client POSTed a malformed payload (%s): %q", why, trim(r.Body)))
			}
			if k := postPackets(v3, r); k > 1 {
				multi++
			}
		}
		e.Observe("the client sent %d POSTs, %d of them with several packets; every body decoded", n, multi)
		if queueErr != nil {
			g.Fail(queueErr.Error())
		}
		if n == 0 {
			g.Fail("the client sent no POST")
		}
	}, framework.Case("poll-payload"), framework.Polling)

	if v3 {
		s.It("EIO3-09", "a v3 client survives 1:6 and 1:3 from the server and POSTs its close packet as the record 1:1", func(ctx context.Context, e *framework.ClientEnv) {
			e.Start(ctx, lenient(e, nil))
			p := e.Open(ctx)
			e.Expect("after a noop (1:6) and the server's pongs (1:3), the client still carries data, and its close packet is POSTed as 1:1")
			if err := p.SS.Send(engineio.Packet{Type: engineio.Noop}); err != nil {
				g.Fail(framework.HarnessPrefix + err.Error())
			}
			tm := e.Timing
			if n, ok := awaitClientPackets(ctx, e, "2", 2, 3*(tm.PingInterval+tm.PingTimeout)+tm.Grace(tm.PingInterval+tm.PingTimeout)); !ok {
				e.Observe("the client sent %d pings", n)
			}
			if !roundTrip(ctx, e, p, "v3 framing") {
				g.Fail("after 1:6 and 1:3 the client no longer carried data")
			}
			p.MustCommand(ctx, map[string]any{"cmd": "close"})
			within := tm.Reply("close").Max
			select {
			case <-p.SS.Done():
			case <-time.After(within):
				g.Fail(fmt.Sprintf("the client's close did not end the session within %v", within.Round(time.Millisecond)))
			}
			var closing []string
			for _, r := range e.Server.Requests() {
				if r.Method != "POST" || strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream") {
					continue
				}
				recs, err := v3Records(r.Body)
				if err != nil {
					g.Fail(fmt.Sprintf("the client POSTed a v3 text payload that does not decode (%v): %q", err, trim(r.Body)))
				}
				for _, rec := range recs {
					if strings.HasPrefix(rec, "1") {
						closing = append(closing, string(r.Body))
						if rec != "1" {
							g.Fail(fmt.Sprintf("the client's close packet was the record %d:%s, not 1:1 (body %q)", len(rec), rec, r.Body))
						}
					}
				}
			}
			e.Observe("session ended: %s; POSTs carrying the close: %q", p.SS.Reason(), closing)
			if len(closing) == 0 || p.SS.Reason() != "client close packet" {
				g.Fail(fmt.Sprintf("the session did not end by the client's close packet 1:1 but by %q (POSTs with a close: %q)", p.SS.Reason(), closing))
			}
		}, framework.Case("poll-v3-close"), framework.Polling)
	}

	s.It("EIO-POLL-17", "the client has at most one GET and one POST in flight and polls again as soon as a GET completes", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, lenient(e, nil))
		p := e.Open(ctx)
		w := e.Timing.Within(100*time.Millisecond, "the next poll")
		e.Expect("no two GETs and no two POSTs of the session overlap, and each completed GET (the handshake included) is followed by the next GET within %v", w)
		var actErr error
		for i := range 3 {
			_ = p.ToClient(fmt.Sprintf("poll-17 to the client %d", i))
			if actErr = queueAtOnceErr(ctx, e, p, fmt.Sprintf("poll-17 %d", i), 3); actErr != nil {
				break
			}
		}
		tm := e.Timing
		if actErr == nil {
			if n, ok := awaitClientPackets(ctx, e, heartbeatSummary(v3), 2, 3*(tm.PingInterval+tm.PingTimeout)+tm.Grace(tm.PingInterval+tm.PingTimeout)); !ok {
				e.Observe("the client sent %d heartbeat packets", n)
			}
			if !roundTrip(ctx, e, p, "poll-17 end") {
				actErr = fmt.Errorf("the session stopped carrying data")
			}
		}
		now := time.Now()
		reqs := e.Server.Requests()
		var gets, posts []scripted.Request
		for _, r := range reqs {
			switch {
			case r.Upgrade:
			case r.Method == "GET" && (r.SID == p.SS.ID() || r.SID == ""):
				gets = append(gets, r)
			case r.Method == "POST" && r.SID == p.SS.ID():
				posts = append(posts, r)
			}
		}
		e.Observe("the client made %d GETs and %d POSTs", len(gets), len(posts))
		for _, set := range []struct {
			name string
			rs   []scripted.Request
		}{{"GET", gets}, {"POST", posts}} {
			if a, b, ok := overlap(set.rs, now); ok {
				g.Fail(fmt.Sprintf("two %ss were in flight at once: one started at +%v (answered at %s), the next at +%v",
					set.name, a.Started.Sub(gets[0].Started).Round(time.Millisecond), finished(a, gets[0].Started), b.Started.Sub(gets[0].Started).Round(time.Millisecond)))
			}
		}
		if r := p.SS.Reason(); r != "" {
			g.Fail("the session ended: " + r)
		}
		if actErr != nil {
			g.Fail(actErr.Error())
		}
		var worst time.Duration
		for i, r := range gets {
			if r.Finished.IsZero() || r.Status != 200 {
				continue
			}
			var gap time.Duration
			if i+1 < len(gets) {
				gap = gets[i+1].Started.Sub(r.Finished)
			} else {
				gap = now.Sub(r.Finished)
				if gap <= w.Max {
					continue
				}
			}
			worst = max(worst, gap)
			if !e.InWindow(w, gap) {
				e.Measured("next GET after a completed GET", gap)
				g.Fail(fmt.Sprintf("GET %d completed and the client polled again only %v later (window %v)", i+1, gap.Round(time.Millisecond), w))
			}
		}
		e.Measured("the longest pause between a completed GET and the next", worst)
	}, framework.Case("poll-in-flight"), framework.Polling)

	s.It("EIO-POLL-18", "the client sends the packets it has queued together, in one POST", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, lenient(e, nil))
		p := e.Open(ctx)
		const n = 8
		e.Expect("the client queues %d packets at once; they reach the server in at most 2 POSTs (the first packet may go alone while the others queue)", n)
		queueAtOnce(ctx, e, p, "batch me", n)
		var counts []int
		for _, r := range e.Server.Requests() {
			if r.Method != "POST" || r.Upgrade {
				continue
			}
			if k := countQueued(e, p, v3, r, "batch me"); k > 0 {
				counts = append(counts, k)
			}
		}
		e.Observe("the %d packets came in %d POSTs carrying %v of them", n, len(counts), counts)
		if len(counts) > 2 {
			g.Fail(fmt.Sprintf("the client spread %d packets queued together over %d POSTs (%v per POST)", n, len(counts), counts))
		}
	}, framework.Case("poll-batch"), framework.Polling)

	if v3 {
		return
	}
	s.It("EIO-LIMIT-04", "the client splits what it has queued so that every POST body fits the advertised maxPayload", func(ctx context.Context, e *framework.ClientEnv) {
		const maxPayload, n = 1000, 10
		e.Start(ctx, lenient(e, &framework.CaseOptions{Server: scripted.Options{MaxPayload: maxPayload}}))
		p := e.Open(ctx)
		data := strings.Repeat("L", 300)
		e.Expect("with maxPayload %d advertised, the client queues %d packets of about 300 bytes; every POST body is at most %d bytes (a single oversized packet excepted) and all packets arrive", maxPayload, n, maxPayload)
		queueErr := queueAtOnceErr(ctx, e, p, data, n)
		var sizes []int
		for _, r := range e.Server.Requests() {
			if r.Method != "POST" || r.Upgrade {
				continue
			}
			sizes = append(sizes, len(r.Body))
			if len(r.Body) > maxPayload && postPackets(false, r) > 1 {
				e.Observe("POST sizes %v", sizes)
				g.Fail(fmt.Sprintf("the client sent a POST of %d bytes with several packets, above maxPayload %d (status %d)", len(r.Body), maxPayload, r.Status))
			}
		}
		e.Observe("POST body sizes %v", sizes)
		if queueErr != nil {
			g.Fail(queueErr.Error())
		}
	}, framework.Case("limit-post-size"), framework.Polling)
}

// heartbeatSummary is the wire text of the client's heartbeat packet.
func heartbeatSummary(v3 bool) string {
	if v3 {
		return "2"
	}
	return "3"
}

// queueAckBase is the first ack id of the events queueAtOnce sends.
const queueAckBase = 1000

// queueAtOnce makes the client queue n packets carrying data at once and
// waits until all arrived: on the Engine.IO suites a send command with
// count n; on the Socket.IO suites one payload of n events asking for
// acks, which the testee acks with the same arguments in one go.
func queueAtOnce(ctx context.Context, e *framework.ClientEnv, p *framework.Peer, data string, n int) {
	g.GinkgoHelper()
	if err := queueAtOnceErr(ctx, e, p, data, n); err != nil {
		g.Fail(err.Error())
	}
}

// queueAtOnceErr is queueAtOnce returning the failure.
func queueAtOnceErr(ctx context.Context, e *framework.ClientEnv, p *framework.Peer, data string, n int) error {
	g.GinkgoHelper()
	within := e.Timing.Reply("the client's messages").Max
	if p.SIO == nil {
		p.ClientSends(ctx, data, n)
		got := 0
		for got < n {
			d, _, err := nextData(ctx, p, within)
			if err != nil {
				return fmt.Errorf("only %d of the %d messages the client queued arrived within %v: %w", got, n, within.Round(time.Millisecond), err)
			}
			if d == data {
				got++
			}
		}
		return nil
	}
	pkts := make([]engineio.Packet, n)
	for i := range pkts {
		pkts[i] = peerMessage(p, data, uint64(queueAckBase+i))
	}
	if err := p.SS.Send(pkts...); err != nil {
		return fmt.Errorf("%s%w", framework.HarnessPrefix, err)
	}
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	got := 0
	for got < n {
		r, err := p.SIO.Recv(cctx)
		if err != nil && r.Raw.At.IsZero() {
			return fmt.Errorf("only %d of the %d acks the client queued arrived within %v: %w", got, n, within.Round(time.Millisecond), err)
		}
		if err == nil && r.Packet.Type == socketio.Ack && r.Packet.HasID && r.Packet.ID >= queueAckBase && r.Packet.ID < queueAckBase+uint64(n) {
			got++
		}
	}
	return nil
}

// countQueued counts the packets of a POST that queueAtOnce made the
// client send.
func countQueued(e *framework.ClientEnv, p *framework.Peer, v3 bool, r scripted.Request, data string) int {
	k := 0
	_ = parsePost(v3, r, func(pk engineio.Packet) error {
		if pk.Type != engineio.Message || pk.Binary {
			return nil
		}
		if p.SIO == nil {
			if string(pk.Data) == data {
				k++
			}
			return nil
		}
		q, err := socketio.Decoder{Version: e.SIOVersion()}.Decode(pk.Data)
		if err == nil && q.Type == socketio.Ack && q.HasID && q.ID >= queueAckBase {
			k++
		}
		return nil
	})
	return k
}

// parsePost decodes a POST body strictly.
func parsePost(v3 bool, r scripted.Request, fn func(engineio.Packet) error) error {
	switch {
	case !v3:
		return engineio.ParsePayload(r.Body, fn)
	case strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream"):
		return engineio.ParseBinaryPayloadV3(r.Body, fn)
	default:
		return engineio.ParsePayloadV3(r.Body, fn)
	}
}

// postPackets counts the packets of a POST body (0 when it does not decode).
func postPackets(v3 bool, r scripted.Request) int {
	n := 0
	if parsePost(v3, r, func(engineio.Packet) error { n++; return nil }) != nil {
		return 0
	}
	return n
}

// payloadFault says what is wrong with a POST body, "" when nothing.
func payloadFault(v3 bool, r scripted.Request) string {
	b := r.Body
	if !v3 {
		switch {
		case len(b) == 0:
			return "empty body"
		case b[0] == engineio.RecordSeparator:
			return "leading 0x1E"
		case b[len(b)-1] == engineio.RecordSeparator:
			return "trailing 0x1E"
		case bytes.Contains(b, []byte{engineio.RecordSeparator, engineio.RecordSeparator}):
			return "empty record between two 0x1E"
		}
	}
	if err := parsePost(v3, r, func(engineio.Packet) error { return nil }); err != nil {
		return err.Error()
	}
	return ""
}

// v3Records splits a v3 text payload into its records (UTF-16 lengths).
func v3Records(b []byte) ([]string, error) {
	var out []string
	err := engineio.ParsePayloadV3(b, func(p engineio.Packet) error {
		out = append(out, string(p.Type.Char())+string(p.Data))
		return nil
	})
	return out, err
}

// overlap finds two requests of rs (sorted by start here) in flight at
// once; an unanswered request is in flight until now.
func overlap(rs []scripted.Request, now time.Time) (a, b scripted.Request, ok bool) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Started.Before(rs[j].Started) })
	for i := 1; i < len(rs); i++ {
		end := rs[i-1].Finished
		if end.IsZero() {
			end = now
		}
		if rs[i].Started.Before(end) {
			return rs[i-1], rs[i], true
		}
	}
	return a, b, false
}

func finished(r scripted.Request, t0 time.Time) string {
	if r.Finished.IsZero() {
		return "never"
	}
	return "+" + r.Finished.Sub(t0).Round(time.Millisecond).String()
}
