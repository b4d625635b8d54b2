package suites

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/suites/framework"
)

// contractAreas are the area: label values the reports know
// (reports/SCHEMA.md, "area"), the net and cluster suites' included.
var contractAreas = func() map[string]bool {
	m := map[string]bool{}
	for _, a := range strings.Fields("handshake polling websocket upgrade heartbeat close limits cors errors connect namespace event ack binary disconnect recovery reconnect url packet net cluster") {
		m[a] = true
	}
	return m
}()

func TestRegistryEntriesAreWellFormed(t *testing.T) {
	id := regexp.MustCompile(`^(EIO|SIO|EIO3|SIO4|NODE|NET|CLU)(-[A-Z0-9]+)?-\d{2}$`)
	levels := map[framework.Level]bool{framework.MUST: true, framework.SHOULD: true, framework.MAY: true, framework.NODE: true, framework.EDGE: true}
	all := framework.Requirements().All()
	if len(all) < 150 {
		t.Fatalf("registry has %d requirements, want every server-binding ID of the catalogue", len(all))
	}
	for _, r := range all {
		if !id.MatchString(r.ID) {
			t.Errorf("%s: malformed ID", r.ID)
		}
		if !levels[r.Level] {
			t.Errorf("%s: level %q", r.ID, r.Level)
		}
		if !r.Bind.BindsServer() && !r.Bind.BindsClient() {
			t.Errorf("%s: bind %q is neither S, C nor B", r.ID, r.Bind)
		}
		if !contractAreas[r.Area] {
			t.Errorf("%s: area %q is not a contract area", r.ID, r.Area)
		}
		if strings.TrimSpace(r.Summary) == "" || strings.Trim(r.Source, "PTNI,") != "" || r.Source == "" {
			t.Errorf("%s: summary %q source %q", r.ID, r.Summary, r.Source)
		}
		// The protocol rows name their layer; NET and CLU rows run over
		// Socket.IO whatever their ID says.
		net := strings.HasPrefix(r.ID, "NET-") || strings.HasPrefix(r.ID, "CLU-")
		if net && !r.IsSocketIO() && r.Proto != framework.NET {
			t.Errorf("%s: proto %s, want a Socket.IO revision or NET", r.ID, r.Proto)
		}
		if !net && strings.Contains(r.ID, "SIO") != r.IsSocketIO() && !strings.HasPrefix(r.ID, "NODE-") {
			t.Errorf("%s: proto %s", r.ID, r.Proto)
		}
	}
}

func TestSortIDsIsNumeric(t *testing.T) {
	ids := []string{"EIO-HS-10", "EIO-HS-02", "EIO-HB-01", "EIO-HS-01"}
	framework.SortIDs(ids)
	if got := strings.Join(ids, " "); got != "EIO-HB-01 EIO-HS-01 EIO-HS-02 EIO-HS-10" {
		t.Errorf("got %s", got)
	}
}

func TestTimingWindows(t *testing.T) {
	tm := framework.Timing{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond, Scale: 1}
	w := tm.Around(200*time.Millisecond, "pingTimeout")
	if w.Min != 150*time.Millisecond || w.Max != 450*time.Millisecond {
		t.Errorf("Around(200ms) = %v", w)
	}
	tm.Scale = 2
	w = tm.Within(500*time.Millisecond, "hb")
	if w.Min != 0 || w.Max != time.Second+500*time.Millisecond {
		t.Errorf("Within(500ms) ×2 = %v", w)
	}
	if g := tm.Grace(10 * time.Second); g != 2*time.Second {
		t.Errorf("Grace(10s) ×2 = %v, want 10%% scaled", g)
	}
	if !w.Contains(time.Second) || w.Contains(2*time.Second) {
		t.Error("Contains")
	}
}

func TestConfigValidateAndEndpoint(t *testing.T) {
	for _, tc := range []struct {
		cfg  framework.Config
		ok   bool
		path string
	}{
		{framework.Config{URL: "http://127.0.0.1:3000"}, true, "/engine.io/"},
		{framework.Config{URL: "http://127.0.0.1:3000/socket.io/"}, true, "/socket.io/"},
		{framework.Config{URL: "http://h:1/x/", Path: "/y/"}, true, "/y/"},
		{framework.Config{URL: "ftp://h"}, false, ""},
		{framework.Config{URL: "http://h", EIOURL: "nope"}, false, ""},
		{framework.Config{URL: "http://h", TimeScale: 0.01}, false, ""},
		{framework.Config{URL: "http://h", Path: "nope"}, false, ""},
	} {
		err := tc.cfg.Validate(true)
		if (err == nil) != tc.ok {
			t.Errorf("%+v: Validate = %v", tc.cfg, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, framework.ErrUsage) {
				t.Errorf("%+v: %v is not ErrUsage", tc.cfg, err)
			}
			continue
		}
		u, err := tc.cfg.Endpoint()
		if err != nil || u.Path != tc.path {
			t.Errorf("%+v: endpoint %v %v, want path %s", tc.cfg, u, err, tc.path)
		}
	}
	if err := (&framework.Config{}).Validate(true); err == nil {
		t.Error("a missing --url must be refused")
	}
}

func TestRecorderTimesFromFirstConnection(t *testing.T) {
	r := framework.NewRecorder()
	r.Note("before any connection")
	ch := r.Changed()
	c := r.NewConn()
	r.Add(c, framework.DirC2S, framework.KindHTTPRequest, "GET /", make([]byte, 70<<10))
	select {
	case <-ch:
	default:
		t.Error("Changed not signalled")
	}
	ev := r.Events()
	if len(ev) != 2 || ev[0].At != 0 || ev[1].Conn != 1 || !ev[1].Truncated || len(ev[1].Data) != 64<<10 {
		t.Errorf("events %+v", ev)
	}
	if !strings.HasPrefix(r.JSON(), "[{") {
		t.Errorf("JSON %q", r.JSON()[:20])
	}
}

func TestLabelFilterSelectsSuites(t *testing.T) {
	cfg := framework.Config{Suites: []framework.Proto{framework.EIO3}}
	if got := LabelFilter(&cfg, "area:heartbeat"); got != "role:server && proto:EIO3 && !slow && (area:heartbeat)" {
		t.Errorf("got %q", got)
	}
	cfg.Suites = []framework.Proto{framework.EIO4, framework.SIO5}
	if got := LabelFilter(&cfg, ""); got != "role:server && (proto:EIO4 || proto:SIO5) && !slow" {
		t.Errorf("got %q", got)
	}
	if got := LabelFilter(&cfg, "proto:SIO4"); got != "role:server && !slow && (proto:SIO4)" {
		t.Errorf("got %q", got)
	}
	if err := CheckLabelFilter("((("); !errors.Is(err, framework.ErrUsage) {
		t.Errorf("CheckLabelFilter: %v", err)
	}
}

func TestSuiteSelectionAndTargets(t *testing.T) {
	for _, tc := range []struct {
		cfg  framework.Config
		want string
	}{
		{framework.Config{}, "eio4,eio3,sio5,sio4"},
		{framework.Config{URL: "http://h:1"}, "eio4"},
		{framework.Config{SIOURL: "http://h:2"}, "sio5"},
		{framework.Config{EIOURL: "http://h:1", SIOURL: "http://h:2"}, "eio4,sio5"},
	} {
		if got := framework.FormatSuites(tc.cfg.DefaultSuites()); got != tc.want {
			t.Errorf("%+v: default suites %s, want %s", tc.cfg, got, tc.want)
		}
	}
	if ps, err := framework.ParseSuites("SIO4, eio4,eio4"); err != nil || framework.FormatSuites(ps) != "eio4,sio4" {
		t.Errorf("ParseSuites = %v, %v", ps, err)
	}
	if _, err := framework.ParseSuites("eio5"); err == nil {
		t.Error("ParseSuites accepted eio5")
	}
	cfg := framework.Config{URL: "http://h:1", SIOURL: "http://h:2/sock/"}
	for _, tc := range []struct {
		p         framework.Proto
		url, path string
		eio       int
	}{
		{framework.EIO4, "http://h:1", "/engine.io/", 4},
		{framework.EIO3, "http://h:1", "/engine.io/", 3},
		{framework.SIO5, "http://h:2/sock/", "/sock/", 4},
		{framework.SIO4, "http://h:2/sock/", "/sock/", 3},
	} {
		c := cfg.For(tc.p)
		if c.URL != tc.url || c.Path != tc.path || c.EIO != tc.eio {
			t.Errorf("For(%s) = url %s path %s eio %d", tc.p, c.URL, c.Path, c.EIO)
		}
	}
	cfg.Path = "/x/"
	if c := cfg.For(framework.SIO5); c.Path != "/x/" {
		t.Errorf("--path must override every suite's path, got %s", c.Path)
	}
	bad := framework.Config{SIOURL: "http://h:2", Suites: []framework.Proto{framework.EIO4}}
	if err := bad.Validate(true); !errors.Is(err, framework.ErrUsage) {
		t.Errorf("eio4 without an Engine.IO target: %v", err)
	}
}
