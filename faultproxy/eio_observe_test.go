package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/internal/nodepeer"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioclient"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/reference/sioclient"
)

// obsLog collects what an EIOObserve saw, with copies of the packets.
type obsLog struct {
	mu  sync.Mutex
	obs []EIOObservation
}

func (l *obsLog) fault() EIOObserve {
	return EIOObserve{Name: "obs", Direction: Both, Observe: func(o EIOObservation) {
		if o.Packet != nil {
			p := *o.Packet
			p.Data = append([]byte(nil), p.Data...)
			o.Packet = &p
		}
		l.mu.Lock()
		l.obs = append(l.obs, o)
		l.mu.Unlock()
	}}
}

func (l *obsLog) all() []EIOObservation {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]EIOObservation(nil), l.obs...)
}

// waitObs polls until ok holds for what was observed, or fails the test.
func (l *obsLog) waitObs(t *testing.T, what string, ok func([]EIOObservation) bool) []EIOObservation {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		obs := l.all()
		if ok(obs) {
			return obs
		}
		if time.Now().After(deadline) {
			t.Fatalf("never observed %s; saw:\n%s", what, dumpObs(obs))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dumpObs(obs []EIOObservation) string {
	var b strings.Builder
	for _, o := range obs {
		what := fmt.Sprintf("undecoded %d bytes: %s", o.Undecoded, o.Why)
		if o.Packet != nil {
			what = fmt.Sprintf("%s %q", o.Packet.Type, o.Packet.Data)
		}
		fmt.Fprintf(&b, "  %s conn %d %s EIO%d sid %q %s\n", o.Direction, o.Conn, o.Transport, o.EIO, o.SID, what)
	}
	return b.String()
}

func openSIDOf(t *testing.T, obs []EIOObservation) string {
	t.Helper()
	for _, o := range obs {
		if o.Packet != nil && o.Packet.Type == engineio.Open {
			if o.SID == "" || o.SID != openSID(o.Packet.Data) {
				t.Fatalf("the open packet is attributed to sid %q, its data say %q", o.SID, openSID(o.Packet.Data))
			}
			return o.SID
		}
	}
	t.Fatalf("no open packet observed:\n%s", dumpObs(obs))
	return ""
}

func serveFixture(t *testing.T, fx fixture.Fixture) string {
	t.Helper()
	srv := httptest.NewServer(fx)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = fx.Close(ctx)
	})
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestEIOObserveUpgrade: a v4 session that starts on polling and upgrades
// is seen as one sid on two connections, polling then websocket, with every
// packet decoded.
func TestEIOObserveUpgrade(t *testing.T) {
	t.Parallel()
	host := serveFixture(t, fixture.NewSIO5(&fixture.SIOOptions{Options: fixture.Options{PingInterval: 2 * time.Second, PingTimeout: 5 * time.Second}}))
	p, l := observedProxy(t, host)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	m, err := sioclient.NewManager("http://"+p.Addr(), &sioclient.ManagerOptions{NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Socket("/", nil)
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	obs := l.waitObs(t, "an upstream message on websocket", func(obs []EIOObservation) bool {
		_, _ = s.Timeout(5*time.Second).EmitWithAck(ctx, "message-with-ack", "x")
		for _, o := range obs {
			if o.Direction == Upstream && o.Transport == "websocket" && o.Packet != nil && o.Packet.Type == engineio.Message {
				return true
			}
		}
		return false
	})
	sid := openSIDOf(t, obs)
	if got := m.Engine().ID(); got != sid {
		t.Fatalf("observed sid %q, the client's session is %q", sid, got)
	}
	conns := map[string]map[uint64]bool{}
	for _, o := range obs {
		if o.Packet == nil {
			t.Errorf("undecoded unit in a plain v4 session: conn %d %s: %s", o.Conn, o.Transport, o.Why)
			continue
		}
		if o.SID != sid || o.EIO != 4 {
			t.Errorf("conn %d %s %s: sid %q EIO%d, want %q EIO4", o.Conn, o.Transport, o.Packet.Type, o.SID, o.EIO, sid)
		}
		if conns[o.Transport] == nil {
			conns[o.Transport] = map[uint64]bool{}
		}
		conns[o.Transport][o.Conn] = true
	}
	if len(conns["polling"]) == 0 || len(conns["websocket"]) != 1 {
		t.Fatalf("connections by transport %v, want polling ones and one websocket", conns)
	}
	for c := range conns["websocket"] {
		if conns["polling"][c] {
			t.Fatalf("conn %d carried both polling and websocket", c)
		}
	}
}

// v3PollingSession runs the reference client (Socket.IO v4 over EIO v3,
// polling only) against host and checks that every packet of its session
// is decoded, on polling, EIO 3, with the session's sid.
func v3PollingSession(t *testing.T, host string) {
	p, l := observedProxy(t, host)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	m, err := sioclient.NewManager("http://"+p.Addr(), &sioclient.ManagerOptions{NoReconnection: true, Version: socketio.V4,
		Engine: &eioclient.Options{Transports: []string{"polling"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Socket("/", nil)
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.Timeout(10*time.Second).EmitWithAck(ctx, "message-with-ack", i, []byte{1, 2, byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	obs := l.waitObs(t, "binary attachments both ways", func(obs []EIOObservation) bool {
		up, down := 0, 0
		for _, o := range obs {
			if o.Packet != nil && o.Packet.Binary && o.Direction == Upstream {
				up++
			} else if o.Packet != nil && o.Packet.Binary {
				down++
			}
		}
		return up >= 3 && down >= 3
	})
	sid := openSIDOf(t, obs)
	if got := m.Engine().ID(); got != sid {
		t.Fatalf("observed sid %q, the client's session is %q", sid, got)
	}
	for _, o := range obs {
		if o.Packet == nil {
			t.Errorf("undecoded unit: conn %d: %d bytes: %s", o.Conn, o.Undecoded, o.Why)
			continue
		}
		if o.SID != sid || o.EIO != 3 || o.Transport != "polling" {
			t.Errorf("conn %d %s: sid %q EIO%d %s, want %q EIO3 polling", o.Conn, o.Packet.Type, o.SID, o.EIO, o.Transport, sid)
		}
	}
	if t.Failed() {
		t.Log(dumpObs(obs))
	}
}

// TestEIOObserveV3Polling: an Engine.IO v3 session on polling is decoded
// (text and XHR2 binary payloads) and attributed to its sid, against the
// Go reference FX-SIO4 and against Node socket.io 2.5.1 (fixtures/sio4.js).
func TestEIOObserveV3Polling(t *testing.T) {
	t.Run("reference", func(t *testing.T) {
		t.Parallel()
		v3PollingSession(t, serveFixture(t, fixture.NewSIO4(&fixture.SIOOptions{Options: fixture.Options{PingInterval: 2 * time.Second, PingTimeout: 5 * time.Second}})))
	})
	t.Run("node-2.5", func(t *testing.T) {
		nodeTest(t)
		v3PollingSession(t, startNodeFixture(t, "sio4.js", "--ping-interval", "2000", "--ping-timeout", "5000"))
	})
}

// startNodeFixture starts fixtures/NAME ARGS on a free port and returns its
// host:port; it is stopped by PID (SIGTERM, then SIGKILL) at cleanup.
func startNodeFixture(t *testing.T, name string, args ...string) string {
	t.Helper()
	nodeDir(t)
	nodepeer.Require(t, "socket.io-v2")
	return strings.TrimPrefix(nodepeer.Start(t, filepath.Join("fixtures", name), args...), "http://")
}

// TestEIOObserveUndecoded: units the tap cannot decode are reported with
// their session: a chunked polling body, a payload that does not parse (v4
// and v3); a v3 XHR2 binary payload is decoded.
func TestEIOObserveUndecoded(t *testing.T) {
	t.Parallel()
	host := serveFixture(t, fixture.NewEIO3(&fixture.Options{PingInterval: 5 * time.Second, PingTimeout: 5 * time.Second}))
	p, l := observedProxy(t, host)
	base := "http://" + p.Addr() + fixture.EnginePath
	// One connection per request: after a chunked body the tap forwards
	// the rest of its connection opaquely.
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	do := func(method, query, ctype string, body io.Reader, chunked bool) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+"?"+query, body)
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if chunked {
			req.ContentLength = -1
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	handshake := func(eio string) string {
		t.Helper()
		do("GET", "EIO="+eio+"&transport=polling", "", nil, false)
		return openSIDOf(t, l.waitObs(t, "an open packet", func(obs []EIOObservation) bool {
			for _, o := range obs {
				if o.Packet != nil && o.Packet.Type == engineio.Open && o.EIO == map[string]int{"3": 3, "4": 4}[eio] {
					return true
				}
			}
			return false
		}))
	}
	find := func(sid string, ok func(EIOObservation) bool) func([]EIOObservation) bool {
		return func(obs []EIOObservation) bool {
			for _, o := range obs {
				if o.SID == sid && ok(o) {
					return true
				}
			}
			return false
		}
	}
	undecoded := func(why string) func(EIOObservation) bool {
		return func(o EIOObservation) bool { return o.Packet == nil && strings.Contains(o.Why, why) }
	}

	// v4: a chunked POST, then one that does not parse.
	sid4 := handshake("4")
	do("POST", "EIO=4&transport=polling&sid="+sid4, "text/plain", strings.NewReader("4hello"), true)
	l.waitObs(t, "the chunked v4 body reported undecoded", find(sid4, undecoded("chunked")))
	do("POST", "EIO=4&transport=polling&sid="+sid4, "text/plain", strings.NewReader("x"), false)
	l.waitObs(t, "the bad v4 payload reported undecoded", find(sid4, undecoded("not decodable")))
	l.mu.Lock()
	l.obs = nil
	l.mu.Unlock()

	// v3: an XHR2 binary payload (a text and a binary message), echoed.
	sid3 := handshake("3")
	var bin bytes.Buffer
	bin.Write([]byte{0, 6, 0xff})
	bin.WriteString("4hello")
	bin.Write([]byte{1, 4, 0xff, 4, 9, 8, 7})
	do("POST", "EIO=3&transport=polling&sid="+sid3, "application/octet-stream", &bin, false)
	l.waitObs(t, "the v3 binary payload decoded upstream", find(sid3, func(o EIOObservation) bool {
		return o.Direction == Upstream && o.Packet != nil && o.Packet.Binary && bytes.Equal(o.Packet.Data, []byte{9, 8, 7}) && o.EIO == 3
	}))
	l.waitObs(t, "the v3 text message decoded upstream", find(sid3, func(o EIOObservation) bool {
		return o.Direction == Upstream && o.Packet != nil && string(o.Packet.Data) == "hello"
	}))
	do("GET", "EIO=3&transport=polling&sid="+sid3, "", nil, false)
	l.waitObs(t, "the echo decoded downstream", find(sid3, func(o EIOObservation) bool {
		return o.Direction == Downstream && o.Packet != nil && o.Packet.Binary && bytes.Equal(o.Packet.Data, []byte{9, 8, 7})
	}))
	// A v3 text payload whose length runs past the end.
	do("POST", "EIO=3&transport=polling&sid="+sid3, "text/plain;charset=UTF-8", strings.NewReader("9:4hi"), false)
	obs := l.waitObs(t, "the bad v3 payload reported undecoded", find(sid3, undecoded("not decodable")))
	for _, o := range obs {
		if o.SID != sid3 || o.EIO != 3 || o.Transport != "polling" {
			t.Errorf("observation with sid %q EIO%d %s, want %q EIO3 polling:\n%s", o.SID, o.EIO, o.Transport, sid3, dumpObs(obs))
		}
	}
}

// TestEIOObserveChunkedResponses: a chunked response that carries no
// Engine.IO payload (an error) is no undecoded unit; a chunked polling
// payload is, with its request's sid.
func TestEIOObserveChunkedResponses(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("transport") == "websocket" {
			w.WriteHeader(http.StatusBadRequest)
		}
		_, _ = io.WriteString(w, "4hello")
		w.(http.Flusher).Flush() // no Content-Length: chunked
	}))
	t.Cleanup(srv.Close)
	p := startProxy(t, strings.TrimPrefix(srv.URL, "http://"), &Options{Tap: true})
	var l obsLog
	if _, err := p.Add(l.fault()); err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, q := range []string{"EIO=4&transport=websocket&sid=err", "EIO=4&transport=polling&sid=pay"} {
		resp, err := cl.Get("http://" + p.Addr() + "/engine.io/?" + q)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.TransferEncoding) == 0 {
			t.Fatalf("%s: the response is not chunked", q)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	obs := l.waitObs(t, "the chunked payload reported undecoded", func(obs []EIOObservation) bool {
		for _, o := range obs {
			if o.SID == "pay" && o.Packet == nil && strings.Contains(o.Why, "chunked") {
				return true
			}
		}
		return false
	})
	for _, o := range obs {
		if o.SID != "pay" {
			t.Errorf("unexpected observation:\n%s", dumpObs([]EIOObservation{o}))
		}
	}
}

// observedProxy starts a tapped proxy in front of host with an eio_observe
// fault recording into the returned log.
func observedProxy(t *testing.T, host string) (*Proxy, *obsLog) {
	t.Helper()
	p := startProxy(t, host, &Options{Tap: true})
	l := &obsLog{}
	if _, err := p.Add(l.fault()); err != nil {
		t.Fatal(err)
	}
	return p, l
}
