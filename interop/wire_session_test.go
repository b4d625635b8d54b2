package interop

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/faultproxy"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/reference/fixture"
)

// in puts a packet on a session and connection.
func in(p wirePacket, sid string, conn uint64) wirePacket {
	p.SID, p.Conn = sid, conn
	return p
}

// gap is a unit the tap could not decode.
func gap(ms int, up bool, sid string, conn uint64) wirePacket {
	return wirePacket{At: time.Duration(ms) * time.Millisecond, Up: up, Conn: conn, Transport: "polling", EIO: 3, SID: sid, Undecoded: 120, Why: "polling payload not decodable"}
}

func openOf(sid string) string {
	return `0{"sid":"` + sid + `","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}`
}

func judge(proto string, pkts []wirePacket) *wireJudge {
	j := &wireJudge{proto: proto, strictHB: true}
	j.run(pkts, pkts[len(pkts)-1].At+time.Millisecond)
	return j
}

func failed(j *wireJudge, id, side string) bool {
	for _, f := range j.fails {
		if f.ID == id && f.Side == side {
			return true
		}
	}
	return false
}

// TestWireJudgePerSession: packets of two interleaved sessions never meet
// in one rule; the same sequence within one session is judged.
func TestWireJudgePerSession(t *testing.T) {
	const C, S = true, false
	header := pk(20, S, `451-["e",{"_placeholder":true,"num":0}]`)
	// Session A (the old WebSocket, conn 1) sends a binary header; session
	// B (a new polling session, conn 2) sends a text event before A's
	// attachment arrives.
	two := []wirePacket{
		in(pk(0, S, openOf("A")), "A", 1), in(pk(10, S, openOf("B")), "B", 2),
		in(header, "A", 1), in(pk(21, S, `42["x"]`), "B", 2), in(bin(22, S), "A", 1),
	}
	if j := judge(ProtoSIO5, two); failed(j, "SIO-BIN-02", SideServer) || j.blind {
		t.Errorf("two interleaved sessions: failures %+v, blind %v (%s)", j.fails, j.blind, j.blindWhy)
	}
	one := []wirePacket{
		in(pk(0, S, openOf("A")), "A", 1), in(header, "A", 1), in(pk(21, S, `42["x"]`), "A", 2), in(bin(22, S), "A", 1),
	}
	if j := judge(ProtoSIO5, one); !failed(j, "SIO-BIN-02", SideServer) {
		t.Errorf("one session: failures %+v, want SIO-BIN-02 on the server side", j.fails)
	}
	// The heartbeat too: B's pong does not answer A's ping.
	hb := []wirePacket{
		in(pk(0, S, openOf("A")), "A", 1), in(pk(5, S, openOf("B")), "B", 2),
		in(pk(300, S, "2"), "A", 1), in(pk(301, C, "3"), "B", 2), in(pk(302, S, "2"), "B", 2), in(pk(303, C, "3"), "B", 2),
		in(pk(900, C, "40"), "B", 2),
	}
	if j := judge(ProtoSIO5, hb); !failed(j, "EIO-HB-02", SideClient) || !strings.Contains(j.fails[0].Detail, "session A") {
		t.Errorf("A's ping answered only on B: failures %+v, want EIO-HB-02 (client) naming session A", j.fails)
	}
	// The workload's order is the tap's time order across sessions.
	seqs := []wirePacket{
		in(pk(0, S, openOf("A")), "A", 1), in(pk(1, S, openOf("B")), "B", 2),
		in(pk(10, C, `42["net:seq",{"seq":0}]`), "A", 1), in(pk(20, C, `42["net:seq",{"seq":1}]`), "B", 2), in(pk(30, C, `42["net:seq",{"seq":2}]`), "A", 1),
	}
	if j := judge(ProtoSIO5, seqs); !slices.Equal(j.up.order, []int{0, 1, 2}) {
		t.Errorf("up order %v, want [0 1 2] (time order across sessions)", j.up.order)
	}
	// Ack ids are per session: the same id asked and answered in two
	// sessions is no duplicate.
	acks := []wirePacket{
		in(pk(0, S, openOf("A")), "A", 1), in(pk(1, C, `425["e"]`), "A", 1), in(pk(2, S, "435[]"), "A", 1),
		in(pk(10, S, openOf("B")), "B", 2), in(pk(11, C, `425["e"]`), "B", 2), in(pk(12, S, "435[]"), "B", 2),
	}
	if j := judge(ProtoSIO5, acks); len(j.fails) > 0 {
		t.Errorf("one ack id per session: failures %+v", j.fails)
	}
}

// TestWireJudgePartialSession: on a partially visible session rules that
// conclude from absence are not applied, those from presence are; the
// evidence is marked partial with the reason.
func TestWireJudgePartialSession(t *testing.T) {
	const C, S = true, false
	absent := []struct {
		name string
		pkts []wirePacket
		id   string
	}{
		{"missing attachment", []wirePacket{pk(0, S, openOf("x")), pk(10, S, `451-["e",{"_placeholder":true,"num":0}]`), pk(11, S, `42["x"]`)}, "SIO-BIN-02"},
		{"stray attachment", []wirePacket{pk(0, S, openOf("x")), bin(10, C)}, "SIO-BIN-02"},
		{"unanswered ping", []wirePacket{pk(0, S, openOf("x")), pk(300, S, "2"), pk(600, S, "2")}, "EIO-HB-02"},
		{"ping unanswered at the end", []wirePacket{pk(0, S, openOf("x")), pk(300, S, "2"), pk(800, C, "40")}, "EIO-HB-02"},
		{"no ping at all", []wirePacket{pk(0, S, openOf("x")), pk(1500, C, "40")}, "EIO-HB-01"},
	}
	for _, tc := range absent {
		t.Run(tc.name, func(t *testing.T) {
			if j := judge(ProtoSIO5, tc.pkts); len(j.fails) == 0 || j.fails[0].ID != tc.id {
				t.Fatalf("fully visible: failures %+v, want %s", j.fails, tc.id)
			}
			pkts := append([]wirePacket{gap(1, C, "x", 1)}, tc.pkts...)
			j := judge(ProtoSIO5, pkts)
			if len(j.fails) > 0 {
				t.Errorf("partially visible: failures %+v, want none (absence proves nothing)", j.fails)
			}
			if !j.blind || !strings.Contains(j.blindWhy, "polling payload not decodable") || j.vis.FullyDecoded != 0 || j.vis.Sessions != 1 {
				t.Errorf("visibility %+v, blind %v %q", j.vis, j.blind, j.blindWhy)
			}
		})
	}
	present := []struct {
		name     string
		pkts     []wirePacket
		id, side string
	}{
		{"client pings in v4", []wirePacket{pk(0, S, openOf("x")), pk(10, C, "2")}, "EIO-PKT-04", SideClient},
		{"ack twice", []wirePacket{pk(0, S, openOf("x")), pk(10, C, `425["e"]`), pk(11, S, "435[]"), pk(12, S, "435[]")}, "SIO-ACK-01", SideServer},
		{"not socket.io", []wirePacket{pk(0, S, openOf("x")), pk(10, C, "4zzz")}, "SIO-ENC-01", SideClient},
		{"ping with data", []wirePacket{pk(0, S, openOf("x")), pk(300, S, "2x"), pk(301, C, "3")}, "EIO-HB-07", SideServer},
	}
	for _, tc := range present {
		t.Run(tc.name, func(t *testing.T) {
			pkts := append([]wirePacket{gap(1, C, "x", 1)}, tc.pkts...)
			if j := judge(ProtoSIO5, pkts); !failed(j, tc.id, tc.side) {
				t.Errorf("partially visible: failures %+v, want %s on the %s side", j.fails, tc.id, tc.side)
			}
		})
	}
	// Traffic of no known session on a session's connection makes it
	// partial; on a connection of its own, every session.
	for _, conn := range []uint64{1, 7} {
		pkts := []wirePacket{pk(0, S, openOf("x")), gap(5, S, "", conn), pk(300, S, "2"), pk(600, S, "2")}
		j := judge(ProtoSIO5, pkts)
		if len(j.fails) > 0 || !j.blind || j.vis.Unattributed != 1 || len(j.vis.Partial) != 2 {
			t.Errorf("stray unit on conn %d: failures %+v, visibility %+v", conn, j.fails, j.vis)
		}
	}
	// A session whose open was not seen is partial.
	if j := judge(ProtoSIO5, []wirePacket{pk(300, S, "2"), pk(600, S, "2")}); len(j.fails) > 0 || !strings.Contains(j.blindWhy, "open packet was not seen") {
		t.Errorf("no open: failures %+v, why %q", j.fails, j.blindWhy)
	}
}

// TestWireRecorderV3Undecoded: through a real proxy, an Engine.IO v3 polling
// payload the tap cannot decode marks its session partially visible, and a
// decoded v3 session is fully visible.
func TestWireRecorderV3Undecoded(t *testing.T) {
	fx := fixture.NewEIO3(&fixture.Options{PingInterval: 5 * time.Second, PingTimeout: 5 * time.Second})
	srv := httptest.NewServer(fx)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = fx.Close(ctx)
	})
	px, err := faultproxy.New(strings.TrimPrefix(srv.URL, "http://"), &faultproxy.Options{Tap: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := px.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	rec := newWireRecorder()
	if _, err := px.Add(rec.fault()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + px.Addr() + fixture.EnginePath + "?EIO=3&transport=polling"
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	do := func(method, url, body string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	// waitRec polls the recording until ok holds.
	waitRec := func(what string, ok func(w wirePacket) bool) []wirePacket {
		t.Helper()
		for {
			pkts := rec.packets()
			for _, w := range pkts {
				if ok(w) {
					return pkts
				}
			}
			select {
			case <-ctx.Done():
				t.Fatalf("never recorded %s; recorded %v", what, pkts)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	known := map[string]bool{}
	sidOf := func() string {
		do("GET", base, "")
		var sid string
		waitRec("a new open packet", func(w wirePacket) bool {
			if w.Type == engineio.Open && !w.undecoded() && !w.Up && w.SID != "" && !known[w.SID] {
				sid = w.SID
			}
			return sid != ""
		})
		known[sid] = true
		return sid
	}
	good := sidOf()
	do("POST", base+"&sid="+good, "6:4hello")
	waitRec("the decoded v3 message", func(w wirePacket) bool { return w.SID == good && string(w.Data) == "hello" && w.EIO == 3 })
	j := &wireJudge{proto: ProtoSIO4}
	j.run(rec.packets(), time.Second)
	if j.blind || j.vis.Sessions != 1 || j.vis.FullyDecoded != 1 {
		t.Fatalf("a decoded v3 session: visibility %+v, blind %v %q", j.vis, j.blind, j.blindWhy)
	}
	bad := sidOf()
	do("POST", base+"&sid="+bad, "9:4hi")
	pkts := waitRec("the undecoded v3 payload", func(w wirePacket) bool { return w.SID == bad && w.undecoded() })
	j = &wireJudge{proto: ProtoSIO4}
	j.run(pkts, time.Second)
	if !j.blind || j.vis.Sessions != 2 || j.vis.FullyDecoded != 1 || len(j.vis.Partial) != 1 || j.vis.Partial[0].SID != bad {
		t.Fatalf("an undecodable v3 payload: visibility %+v, blind %v", j.vis, j.blind)
	}
	t.Logf("why: %s", j.blindWhy)
	// The cell detail shows it.
	m := &Matrix{Schema: Schema, Cells: []Cell{{Client: "c", Server: "s", Profile: ProfileNone, Outcome: Pass, Visibility: &j.vis}}, Profiles: []string{ProfileNone},
		Impls: []ImplInfo{{Name: "c", Client: []string{ProtoSIO4}}, {Name: "s", Server: []string{ProtoSIO4}}}}
	dir := t.TempDir()
	if err := WriteDir(dir, m); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, FileHTML))
	for _, want := range []string{"2 Engine.IO session(s) seen, 1 fully decoded", "session <code>" + bad + "</code>", "not decodable"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	js, _ := os.ReadFile(filepath.Join(dir, FileJSON))
	if !strings.Contains(string(js), `"visibility": {`) || !strings.Contains(string(js), `"fully_decoded": 1`) {
		t.Errorf("matrix.json lacks the visibility: %s", js)
	}
}
