package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	g "github.com/onsi/ginkgo/v2"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
	"github.com/siospec/siospec/suites/testee"
)

// declarePacket declares the packet-model specs (EIO-PKT-01/02/04/07) for
// all four suites, and the Engine.IO binary specs (EIO-BIN-01/02/03,
// EIO3-04, EIO3-07) for the Engine.IO suites (Socket.IO binary is judged
// by the binary area).
func declarePacket(s *framework.ClientSuite) {
	v3 := isV3(s.Proto())

	s.It("EIO-PKT-01", "every packet the client sends is one type digit 0-6 and optional data, on polling and on WebSocket", func(ctx context.Context, e *framework.ClientEnv) {
		_, actErr := pkActivity(ctx, e)
		e.Expect("every POST body decodes strictly as a payload and every WebSocket frame as one packet, each a type digit 0-6 with optional data")
		wire := clientWire(e)
		var bad []string
		for _, w := range wire {
			if w.Err != nil {
				bad = append(bad, w.String())
			}
		}
		e.Observe("the client sent %d packets (%s)", len(wire), wireCounts(wire))
		if len(bad) > 0 {
			e.Observe("%s", strings.Join(bad, "\n"))
			g.Fail(fmt.Sprintf("%d of the client's POST bodies or frames did not decode as packets: %s", len(bad), bad[0]))
		}
		if actErr != nil {
			g.Fail(actErr.Error())
		}
		if len(wire) == 0 {
			g.Fail("the client sent no packet")
		}
	}, framework.Case("pkt-valid"))

	text := "UTF-8: € é ü 中文 😀 🚀 \u2028 𝄞 end"
	for _, tr := range []framework.Transport{framework.Polling, framework.WebSocket} {
		s.It("EIO-PKT-02", "text with multi-byte characters and emoji survives the client byte for byte in both directions on "+string(tr), func(ctx context.Context, e *framework.ClientEnv) {
			e.Start(ctx, lenient(e, nil))
			p := e.Open(ctx)
			e.Expect("the client surfaces the server's text %q unchanged and sends the same text back as valid UTF-8, byte for byte", text)
			if err := p.ToClient(text); err != nil {
				g.Fail(framework.HarnessPrefix + err.Error())
			}
			within := e.Timing.Reply("report").Max
			if !p.Reported(ctx, text, within) {
				var got []string
				for _, r := range append(e.Reported("message"), e.Reported("event")...) {
					got = append(got, r.Raw)
				}
				e.Observe("the client surfaced %v", got)
				g.Fail(fmt.Sprintf("the client did not surface the server's text unchanged within %v", within.Round(time.Millisecond)))
			}
			p.ClientSends(ctx, text, 1)
			for {
				d, r, err := nextData(ctx, p, within)
				if err != nil {
					g.Fail(fmt.Sprintf("the client's text did not arrive within %v: %v", within.Round(time.Millisecond), err))
				}
				if !utf8.Valid(r.Packet.Data) {
					e.Observe("the client sent % x", r.Packet.Data)
					g.Fail("the client sent text that is not valid UTF-8")
				}
				if d == text {
					break
				}
				if strings.HasPrefix(d, "UTF-8") {
					e.Observe("the client sent %q (% x)", d, d)
					g.Fail(fmt.Sprintf("the client's text differs from what it was asked to send: %q", d))
				}
			}
			e.Observe("the text crossed the client both ways unchanged on %s", p.SS.Transport())
		}, framework.Case("pkt-utf8-"+string(tr)), tr)
	}

	s.It("EIO-PKT-04", "the client sends only the packet types its direction allows: no open or noop, heartbeat packets in the right direction, 2probe and 5 only on the probe", func(ctx context.Context, e *framework.ClientEnv) {
		_, actErr := pkActivity(ctx, e)
		if v3 {
			e.Expect("the client never sends 0, 3 or 6; it pings (2) on its transport, sends 2probe and 5 only on the probe WebSocket, 5 once")
		} else {
			e.Expect("the client never sends 0 or 6, never pings (2) except 2probe on the probe WebSocket, and sends 5 only on the probe WebSocket, once")
		}
		wire := clientWire(e)
		var bad []string
		for _, w := range wire {
			if w.Err != nil {
				continue
			}
			if why := directionViolation(v3, w); why != "" {
				bad = append(bad, w.String()+": "+why)
			}
		}
		e.Observe("the client sent %d packets (%s)", len(wire), wireCounts(wire))
		if len(bad) > 0 {
			e.Observe("%s", strings.Join(bad, "\n"))
			g.Fail(fmt.Sprintf("the client sent %d packets against their allowed direction: %s", len(bad), bad[0]))
		}
		if actErr != nil {
			g.Fail(actErr.Error())
		}
	}, framework.Case("pkt-direction"))

	for _, tr := range []framework.Transport{framework.Polling, framework.WebSocket} {
		s.It("EIO-PKT-07", "the client ignores noop packets mixed into the stream on "+string(tr)+": they are no data and break nothing", func(ctx context.Context, e *framework.ClientEnv) {
			e.Start(ctx, lenient(e, nil))
			p := e.Open(ctx)
			noop := engineio.Packet{Type: engineio.Noop}
			e.Expect("after 6, a, 6, b, 6 (one payload on polling) and a lone 6, the client surfaces exactly a then b, nothing else, and its session keeps working")
			if err := p.SS.Send(noop, peerMessage(p, "noop-a", 0), noop, peerMessage(p, "noop-b", 0), noop); err != nil {
				g.Fail(framework.HarnessPrefix + err.Error())
			}
			within := e.Timing.Reply("report").Max
			for _, d := range []string{"noop-a", "noop-b"} {
				if !p.Reported(ctx, d, within) {
					g.Fail(fmt.Sprintf("the client did not surface %q sent between noops within %v", d, within.Round(time.Millisecond)))
				}
			}
			if err := p.SS.Send(noop); err != nil {
				g.Fail(framework.HarnessPrefix + err.Error())
			}
			if err := p.ToClient("noop-end"); err != nil {
				g.Fail(framework.HarnessPrefix + err.Error())
			}
			if !p.Reported(ctx, "noop-end", within) {
				g.Fail("after a lone noop the client did not surface the next message")
			}
			if !roundTrip(ctx, e, p, "noop-after") {
				g.Fail("after the noops the session no longer carried the client's data")
			}
			got := surfaced(e)
			e.Observe("the client surfaced %q", got)
			want := []string{"noop-a", "noop-b", "noop-end"}
			if !equalStrings(got, want) {
				g.Fail(fmt.Sprintf("the client surfaced %q, want exactly %q (a noop taken for data, or data lost)", got, want))
			}
			if r := p.SS.Reason(); r != "" {
				g.Fail("the session ended: " + r)
			}
		}, framework.Case("pkt-noop-"+string(tr)), tr)
	}

	if s.Proto().IsSocketIO() {
		return
	}
	declareEIOBinary(s, v3)
}

// declareEIOBinary declares the Engine.IO binary specs (eio4, eio3).
func declareEIOBinary(s *framework.ClientSuite, v3 bool) {
	// Bytes whose base64 needs padding and uses both '+' and '/'.
	bin := []byte{0xfb, 0xff, 0xbf, 0x00, 0x01, 0x7f, 0x80}
	bin2 := []byte{0x01, 0x02, 0x03, 0x04}
	if !v3 {
		s.It("EIO-BIN-01", "on polling the client decodes b+base64 binary messages and sends binary as b plus padded standard base64", func(ctx context.Context, e *framework.ClientEnv) {
			e.Start(ctx, lenient(e, nil))
			p := e.Open(ctx)
			std := "b" + base64.StdEncoding.EncodeToString(bin)
			e.Expect("the client surfaces the bytes of the server's %s and echoes them in a POST as exactly %s", std, std)
			echoErr := binEcho(ctx, e, p, bin)
			var recs []string
			for _, w := range clientWire(e) {
				if w.Transport != "polling" {
					continue
				}
				if w.Err != nil {
					e.Observe("the client POSTed %q", trim(w.Raw))
					g.Fail(fmt.Sprintf("the client POSTed a payload that does not decode (%v): %q", w.Err, trim(w.Raw)))
				}
				if !w.Packet.Binary {
					continue
				}
				recs = append(recs, string(w.Record))
				if want := "b" + base64.StdEncoding.EncodeToString(w.Packet.Data); string(w.Record) != want {
					e.Observe("the client sent binary record %q", w.Record)
					g.Fail(fmt.Sprintf("the client sent binary record %q, not b plus padded standard base64 (%s)", w.Record, want))
				}
			}
			e.Observe("the client's binary records on polling: %q", recs)
			if echoErr != nil {
				g.Fail(echoErr.Error())
			}
			if !containsString(recs, std) {
				g.Fail(fmt.Sprintf("the client's POSTs carried no record %s (binary records: %q)", std, recs))
			}
		}, framework.Case("bin-polling"), framework.Polling)
	} else {
		s.It("EIO3-04", "in a b64 session the client decodes b4+base64 binary packets inside text payloads and echoes them intact", func(ctx context.Context, e *framework.ClientEnv) {
			e.Start(ctx, lenient(e, &framework.CaseOptions{Client: map[string]any{"query": map[string]any{"b64": "1"}}}))
			p := e.Open(ctx)
			if p.SS.Handshake().Query["b64"] == nil {
				g.Fail(framework.HarnessPrefix + "the client's handshake did not carry b64=1 (the query option was not honoured)")
			}
			e.Expect("the server sends the bytes as b4+base64 in a text payload; the client surfaces them exactly and echoes them (any v3 framing)")
			binRoundTrip(ctx, e, p, bin)
			n := 0
			for _, w := range clientWire(e) {
				if w.Err != nil {
					g.Fail("the client sent a POST body that does not decode: " + w.String())
				}
				n++
			}
			e.Observe("the client surfaced the bytes of the b4 packet exactly and echoed them; its %d POSTed packets decoded", n)
		}, framework.Case("bin-b64"), framework.Polling)
	}

	id := "EIO-BIN-02"
	s.It(id, "the client decodes a polling payload that mixes text and binary packets whole, and surfaces every packet in order", func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, lenient(e, nil))
		p := e.Open(ctx)
		e.Expect("one polling response carries text a, binary X, text b, binary Y, text c; the client surfaces all five, in that order, with the exact bytes")
		pkts := []engineio.Packet{
			engineio.TextPacket(engineio.Message, "mix-a"), engineio.BinaryMessage(bin),
			engineio.TextPacket(engineio.Message, "mix-b"), engineio.BinaryMessage(bin2),
			engineio.TextPacket(engineio.Message, "mix-c"),
		}
		if err := p.SS.Send(pkts...); err != nil {
			g.Fail(framework.HarnessPrefix + err.Error())
		}
		if !p.Reported(ctx, "mix-c", e.Timing.Reply("report").Max) {
			e.Observe("the client surfaced %q", surfaced(e))
			g.Fail("the client did not surface the last packet of the mixed payload")
		}
		b64 := func(b []byte) string { return "bin:" + base64.StdEncoding.EncodeToString(b) }
		want := []string{"mix-a", b64(bin), "mix-b", b64(bin2), "mix-c"}
		got := surfaced(e)
		e.Observe("the client surfaced %q", got)
		if !equalStrings(got, want) {
			g.Fail(fmt.Sprintf("the client surfaced %q from the mixed payload, want %q", got, want))
		}
	}, framework.Case("bin-mixed"), framework.Polling)

	wsID, wsText := "EIO-BIN-03", "the client decodes a WebSocket binary frame as the raw bytes and sends binary as one binary frame with exactly the bytes"
	if v3 {
		wsID, wsText = "EIO3-07", "the client decodes a v3 WebSocket binary frame 0x04+bytes and sends binary as one binary frame 0x04 followed by the bytes"
	}
	s.It(wsID, wsText, func(ctx context.Context, e *framework.ClientEnv) {
		e.Start(ctx, lenient(e, nil))
		p := e.Open(ctx)
		want := bin
		if v3 {
			want = append([]byte{0x04}, bin...)
		}
		e.Expect("the client surfaces the bytes and echoes them as one binary frame % x", want)
		echoErr := binEcho(ctx, e, p, bin)
		var frames [][]byte
		for _, ev := range e.Rec.Events() {
			if ev.Kind == framework.KindWSFrame && ev.Dir == framework.DirC2S && strings.HasPrefix(ev.Summary, "binary") {
				frames = append(frames, ev.Data)
			}
		}
		e.Observe("the client's binary frames: % x", frames)
		found := false
		for _, f := range frames {
			if bytes.Equal(f, want) {
				found = true
			} else {
				g.Fail(fmt.Sprintf("the client sent binary frame % x, want % x", f, want))
			}
		}
		if echoErr != nil {
			g.Fail(echoErr.Error())
		}
		if !found {
			g.Fail("the client echoed the binary message in no binary frame")
		}
	}, framework.Case("bin-websocket"), framework.WebSocket)
}

// binRoundTrip sends b to an Engine.IO testee and waits for its report
// and its echo, failing the spec when either does not come.
func binRoundTrip(ctx context.Context, e *framework.ClientEnv, p *framework.Peer, b []byte) {
	g.GinkgoHelper()
	if err := binEcho(ctx, e, p, b); err != nil {
		e.Observe("the client surfaced %q", surfaced(e))
		g.Fail(err.Error())
	}
}

// binEcho sends b to an Engine.IO testee and waits for its report and its
// echo.
func binEcho(ctx context.Context, e *framework.ClientEnv, p *framework.Peer, b []byte) error {
	if err := p.SS.Send(engineio.BinaryMessage(b)); err != nil {
		return fmt.Errorf("%s%v", framework.HarnessPrefix, err)
	}
	within := e.Timing.Reply("report").Max
	want := base64.StdEncoding.EncodeToString(b)
	if _, ok := e.Await(ctx, "message", func(r testee.Report) bool {
		var v struct {
			Bin string `json:"_bin"`
		}
		return r.Decode("data", &v) == nil && v.Bin == want
	}, within); !ok {
		return fmt.Errorf("the client did not surface the binary message % x within %v", b, within.Round(time.Millisecond))
	}
	cctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		r, err := p.SS.Recv(cctx)
		if err != nil {
			return fmt.Errorf("the client's echo of the binary message did not arrive: %w", err)
		}
		if r.Packet.Type == engineio.Message && r.Packet.Binary {
			if !bytes.Equal(r.Packet.Data, b) {
				return fmt.Errorf("the client echoed % x, want % x", r.Packet.Data, b)
			}
			return nil
		}
	}
}

// surfaced lists the data the testee surfaced (message or PeerEvent
// reports), binary as "bin:"+base64.
func surfaced(e *framework.ClientEnv) []string {
	var out []string
	for _, r := range e.Testee.Reports() {
		switch r.Ev {
		case "message":
			var v any
			if r.Decode("data", &v) != nil {
				out = append(out, "?"+r.Raw)
				continue
			}
			switch v := v.(type) {
			case string:
				out = append(out, v)
			case map[string]any:
				out = append(out, fmt.Sprint("bin:", v["_bin"]))
			default:
				out = append(out, fmt.Sprint(v))
			}
		case "event":
			if r.Str("event") != framework.PeerEvent {
				continue
			}
			var args []any
			if r.Decode("args", &args) != nil || len(args) == 0 {
				out = append(out, "?"+r.Raw)
				continue
			}
			out = append(out, fmt.Sprint(args[0]))
		}
	}
	return out
}

// pkActivity starts a case with defaults and makes the session live
// through two heartbeat periods with data both ways, before and after the
// upgrade. It ends with a round trip that orders everything the client
// sent before it; it returns that round trip's failure (nil when it came),
// so that the spec judges the wire first.
func pkActivity(ctx context.Context, e *framework.ClientEnv) (*framework.Peer, error) {
	g.GinkgoHelper()
	e.Start(ctx, lenient(e, nil))
	p := e.Open(ctx)
	if !roundTrip(ctx, e, p, "pkt 1") {
		return p, fmt.Errorf("the client's first message did not arrive")
	}
	_ = p.ToClient("pkt to client 1")
	awaitTransport(ctx, p, "websocket", e.Timing.Reply("upgrade").Max)
	tm := e.Timing
	within := 3*(tm.PingInterval+tm.PingTimeout) + tm.Grace(tm.PingInterval+tm.PingTimeout)
	if n, ok := awaitClientPackets(ctx, e, heartbeatSummary(isV3(e.Proto)), 2, within); !ok {
		e.Observe("the client sent %d heartbeat packets in %v", n, within.Round(time.Millisecond))
	}
	_ = p.ToClient("pkt to client 2")
	if !roundTrip(ctx, e, p, "pkt 2") {
		return p, fmt.Errorf("the client's second message did not arrive")
	}
	if !roundTrip(ctx, e, p, "pkt 3") {
		return p, fmt.Errorf("the client's last message did not arrive")
	}
	return p, nil
}

// wirePacket is one packet the client sent, decoded from the raw bytes.
type wirePacket struct {
	Transport string // polling or websocket
	Conn      int
	Probe     bool // on an upgrade WebSocket (one with a sid)
	Index     int  // position among the client's packets on this connection or POST
	Packet    engineio.Packet
	Record    []byte // the packet's text as written (v4 polling record)
	Err       error
	Raw       []byte
	What      string
	// afterUpgrade: on a probe WebSocket, after the client's first 5.
	afterUpgrade bool
}

func (w wirePacket) String() string {
	if w.Err != nil {
		return fmt.Sprintf("%s %q: %v", w.What, trim(w.Raw), w.Err)
	}
	return fmt.Sprintf("%s packet %d %s", w.What, w.Index+1, w.Packet.String())
}

func trim(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}

// clientWire decodes every POST body and every WebSocket frame the client
// sent, strictly, in order per connection.
func clientWire(e *framework.ClientEnv) []wirePacket {
	v := engineio.V4
	if isV3(e.Proto) {
		v = engineio.V3
	}
	var out []wirePacket
	probe := map[int]bool{}
	for i, r := range e.Server.Requests() {
		if r.Upgrade {
			probe[r.Conn] = r.SID != ""
			continue
		}
		if r.Method != "POST" {
			continue
		}
		what := fmt.Sprintf("POST %d", i+1)
		n := 0
		handle := func(p engineio.Packet) error {
			p.Data = bytes.Clone(p.Data)
			out = append(out, wirePacket{Transport: "polling", Conn: r.Conn, Index: n, Packet: p, Raw: r.Body, What: what})
			n++
			return nil
		}
		var err error
		switch {
		case v == engineio.V4:
			err = engineio.ParsePayload(r.Body, handle)
			if recs := bytes.Split(r.Body, []byte{engineio.RecordSeparator}); err == nil && len(recs) == n {
				for k := range recs {
					out[len(out)-n+k].Record = recs[k]
				}
			}
		case strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream"):
			err = engineio.ParseBinaryPayloadV3(r.Body, handle)
		default:
			err = engineio.ParsePayloadV3(r.Body, handle)
		}
		if err != nil {
			out = append(out, wirePacket{Transport: "polling", Conn: r.Conn, Err: err, Raw: r.Body, What: what})
		}
	}
	idx := map[int]int{}
	upgraded := map[int]bool{}
	for _, ev := range e.Rec.Events() {
		if ev.Kind != framework.KindWSFrame || ev.Dir != framework.DirC2S {
			continue
		}
		binary := strings.HasPrefix(ev.Summary, "binary")
		p, err := engineio.ParseFrame(v, binary, ev.Data)
		w := wirePacket{Transport: "websocket", Conn: ev.Conn, Probe: probe[ev.Conn], Index: idx[ev.Conn], Packet: p, Err: err, Raw: ev.Data,
			What: fmt.Sprintf("WebSocket (connection %d) frame", ev.Conn), afterUpgrade: upgraded[ev.Conn]}
		idx[ev.Conn]++
		if err == nil && p.Type == engineio.Upgrade {
			upgraded[ev.Conn] = true
		}
		out = append(out, w)
	}
	return out
}

// wireCounts summarises packets by transport and type.
func wireCounts(ws []wirePacket) string {
	m := map[string]int{}
	var keys []string
	for _, w := range ws {
		k := w.Transport + " "
		if w.Err != nil {
			k += "invalid"
		} else {
			k += string(w.Packet.Type.Char())
		}
		if m[k] == 0 {
			keys = append(keys, k)
		}
		m[k]++
	}
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// directionViolation says why w may not come from a client, "" when it may.
// A probe WebSocket's packets up to and including the first 5 are probe
// traffic.
func directionViolation(v3 bool, w wirePacket) string {
	t := w.Packet.Type
	switch t {
	case engineio.Open:
		return "open goes from server to client only"
	case engineio.Noop:
		return "noop goes from server to client only"
	}
	inProbe := w.Transport == "websocket" && w.Probe && !w.afterUpgrade
	switch t {
	case engineio.Ping:
		if string(w.Packet.Data) == "probe" {
			if !inProbe {
				return "2probe outside the probe WebSocket"
			}
			return ""
		}
		if !v3 {
			return "a v4 client never pings (the server does)"
		}
		if inProbe {
			return "a heartbeat ping on the probe WebSocket"
		}
	case engineio.Pong:
		if v3 {
			return "a v3 client never sends pong (it pings)"
		}
		if inProbe {
			return "a pong on the probe WebSocket"
		}
	case engineio.Upgrade:
		if !inProbe {
			return "upgrade (5) only on the probe WebSocket, once"
		}
	}
	return ""
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
