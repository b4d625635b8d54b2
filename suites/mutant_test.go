package suites

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/suites/framework"
)

// mutantServer is a deliberately small Engine.IO v4 polling-only echo
// server with one optional violation, used to show that the suites catch
// what they claim (faults-and-harnesses C8). It is not a reference
// implementation: it serves only what the selected specs need.
type mutantServer struct {
	violate      string
	pingInterval time.Duration
	pingTimeout  time.Duration

	mu       sync.Mutex
	seq      int
	sessions map[string]*mutantSession
}

type mutantSession struct {
	mu      sync.Mutex
	pings   int
	out     []engineio.Packet
	notify  chan struct{}
	polling bool
	closed  bool
	timer   *time.Timer
}

// Violations the mutant can commit, each breaking one requirement.
const (
	violateNone        = ""
	violateExtraKey    = "extra-open-key"       // EIO-HS-02: an extra key in the open packet
	violateUnknownSID  = "unknown-sid-post-200" // EIO-POLL-06: a POST with an unknown sid answered 200
	violateLatePing    = "late-ping"            // EIO-HB-01: after the first ping, pings every 2×pingInterval
	violateDupGet      = "duplicate-get-served" // EIO-POLL-07: a second concurrent GET is held like the first
	violateIgnoreClose = "close-packet-ignored" // EIO-CLOSE-01: a posted close packet is ignored
)

func newMutant(violate string) *mutantServer {
	// Timings a little looser than the official 300/200 ms keep the proof
	// steady on a loaded machine.
	return &mutantServer{violate: violate, pingInterval: 400 * time.Millisecond, pingTimeout: 300 * time.Millisecond,
		sessions: map[string]*mutantSession{}}
}

func (m *mutantServer) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		s.mu.Lock()
		if s.timer != nil {
			s.timer.Stop()
		}
		s.mu.Unlock()
	}
}

func httpError(w http.ResponseWriter, code engineio.ErrorCode) {
	e := engineio.NewHTTPError(code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status())
	_, _ = w.Write(e.AppendJSON(nil))
}

func (m *mutantServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/engine.io/" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	switch q.Get("transport") {
	case "polling":
	case "websocket":
		httpError(w, engineio.CodeBadRequest)
		return
	default:
		httpError(w, engineio.CodeTransportUnknown)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		if r.Method != http.MethodGet {
			httpError(w, engineio.CodeBadHandshakeMethod)
			return
		}
		if q.Get("EIO") != "4" {
			httpError(w, engineio.CodeUnsupportedProtocolVersion)
			return
		}
		m.handshake(w)
		return
	}
	m.mu.Lock()
	s := m.sessions[sid]
	m.mu.Unlock()
	if s == nil {
		if m.violate == violateUnknownSID && r.Method == http.MethodPost {
			_, _ = w.Write([]byte("ok"))
			return
		}
		httpError(w, engineio.CodeUnknownSID)
		return
	}
	switch r.Method {
	case http.MethodGet:
		m.get(w, r, sid, s)
	case http.MethodPost:
		m.post(w, r, sid, s)
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
}

func (m *mutantServer) handshake(w http.ResponseWriter) {
	m.mu.Lock()
	m.seq++
	sid := fmt.Sprintf("mutant-session-%08d", m.seq)
	s := &mutantSession{notify: make(chan struct{})}
	m.sessions[sid] = s
	m.mu.Unlock()
	op := engineio.OpenPacket{SID: sid, Upgrades: []string{}, PingInterval: m.pingInterval, PingTimeout: m.pingTimeout, MaxPayload: 1e6}
	body := append([]byte{'0'}, op.AppendJSON(nil)...)
	if m.violate == violateExtraKey {
		body = append(body[:len(body)-1], []byte(`,"extra":true}`)...)
	}
	m.schedulePing(sid, s)
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	_, _ = w.Write(body)
}

func (m *mutantServer) schedulePing(sid string, s *mutantSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := m.pingInterval
	if m.violate == violateLatePing && s.pings > 0 {
		d *= 2
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(d, func() {
		m.push(s, engineio.TextPacket(engineio.Ping, ""))
		s.mu.Lock()
		s.pings++
		s.timer = time.AfterFunc(m.pingTimeout, func() { m.end(sid, s, false) })
		s.mu.Unlock()
	})
}

func (m *mutantServer) push(s *mutantSession, p engineio.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = append(s.out, p)
	close(s.notify)
	s.notify = make(chan struct{})
}

// end closes the session: a GET parked at that moment gets the close packet,
// or a noop when the client itself closed (EIO-CLOSE-01).
func (m *mutantServer) end(sid string, s *mutantSession, byClient bool) {
	m.mu.Lock()
	delete(m.sessions, sid)
	m.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		last := engineio.TextPacket(engineio.Close, "")
		if byClient {
			last = engineio.TextPacket(engineio.Noop, "")
		}
		s.out = append(s.out, last)
		if s.timer != nil {
			s.timer.Stop()
		}
		close(s.notify)
		s.notify = make(chan struct{})
	}
}

func (m *mutantServer) get(w http.ResponseWriter, r *http.Request, sid string, s *mutantSession) {
	s.mu.Lock()
	if s.polling && m.violate != violateDupGet {
		s.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		m.end(sid, s, false)
		return
	}
	s.polling = true
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.polling = false; s.mu.Unlock() }()
	for {
		s.mu.Lock()
		if len(s.out) > 0 {
			out := s.out
			s.out = nil
			s.mu.Unlock()
			body, _ := engineio.AppendPayload(nil, out)
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			_, _ = w.Write(body)
			return
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			m.end(sid, s, false)
			return
		}
	}
}

func (m *mutantServer) post(w http.ResponseWriter, r *http.Request, sid string, s *mutantSession) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1e6+1))
	if err != nil || len(body) > 1e6 {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	err = engineio.ParsePayload(body, func(p engineio.Packet) error {
		switch p.Type {
		case engineio.Message:
			m.push(s, p)
		case engineio.Pong:
			m.schedulePing(sid, s)
		case engineio.Close:
			if m.violate != violateIgnoreClose {
				m.end(sid, s, true)
			}
		}
		return nil
	})
	if err != nil {
		m.end(sid, s, false)
	}
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("ok"))
}

// mutantFilter selects the specs the polling-only mutant can serve.
const mutantFilter = "req: containsAny {EIO-HS-01, EIO-HS-02, EIO-HS-06, EIO-HS-07, EIO-URL-02, EIO-URL-04, EIO-URL-05, " +
	"EIO-POLL-01, EIO-POLL-02, EIO-POLL-03, EIO-POLL-04, EIO-POLL-06, EIO-POLL-07, EIO-POLL-09, EIO-POLL-11, EIO-CLOSE-01, " +
	"EIO-HB-01, EIO-HB-03, EIO-HB-07, EIO-HB-10} && !transport:websocket && !transport:upgrade"

// TestMutantsFailExactlyTheirRule runs a subset of the EIO4 suite against
// the mutant: clean it passes everything; with one violation exactly the
// specs of the broken requirement fail.
func TestMutantsFailExactlyTheirRule(t *testing.T) {
	skipProof(t)
	cases := []struct {
		violate string
		want    []string
	}{
		{violateNone, nil},
		{violateExtraKey, []string{"EIO-HS-02"}},
		{violateUnknownSID, []string{"EIO-POLL-06"}},
		{violateLatePing, []string{"EIO-HB-01"}},
		{violateDupGet, []string{"EIO-POLL-07"}},
		{violateIgnoreClose, []string{"EIO-CLOSE-01"}},
	}
	for _, tc := range cases {
		name := tc.violate
		if name == "" {
			name = "clean"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel() // separate processes and servers; the timings are loose enough
			m := newMutant(tc.violate)
			srv := httptest.NewServer(m)
			defer srv.Close()
			defer m.close()
			vs, wall := runSuites(t, framework.Config{URL: srv.URL, Suites: []framework.Proto{framework.EIO4}}, mutantFilter)
			if len(vs) < 10 {
				t.Fatalf("only %d specs ran:\n%s", len(vs), verdictTable(vs))
			}
			var got []string
			for id := range failedIDs(vs) {
				got = append(got, id)
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("failed requirements %v, want %v\n%s", got, tc.want, verdictTable(vs))
			}
			t.Logf("violation %q: %d specs in %v, failed %v", name, len(vs), wall.Round(time.Millisecond), got)
		})
	}
}
