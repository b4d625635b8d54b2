package suites

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/suites/framework"
)

// TestDetectNode: detection alone against each Node fixture (official
// heartbeat) picks the suites that fixture speaks, and only those: a
// Socket.IO server answers Engine.IO handshakes but is never given an echo
// suite, and engine.io 6 with allowEIO3 (eio3.js) speaks both revisions.
func TestDetectNode(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		want    []framework.Proto
		path    string
	}{
		{"sio5", []framework.Proto{framework.SIO5}, framework.DefaultSIOPath},
		{"sio4", []framework.Proto{framework.SIO4}, framework.DefaultSIOPath},
		{"eio4", []framework.Proto{framework.EIO4}, framework.DefaultPath},
		{"eio3", []framework.Proto{framework.EIO4, framework.EIO3}, framework.DefaultPath},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			base := startNode(t, tc.fixture)
			start := time.Now()
			d, err := Detect(t.Context(), base, nil)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s in %v\n%s", tc.fixture, framework.FormatSuites(d.Suites), took.Round(time.Millisecond), d.Tried())
			if !slices.Equal(d.Suites, tc.want) {
				t.Errorf("detected %q, want %q\n%s", framework.FormatSuites(d.Suites), framework.FormatSuites(tc.want), d.Tried())
			}
			for _, p := range d.Suites {
				if d.Paths[p] != tc.path {
					t.Errorf("%s found at %q, want %q", p, d.Paths[p], tc.path)
				}
			}
			if max := 4*DetectProbeTimeout + time.Second; took > max {
				t.Errorf("detection took %v, want at most %v", took, max)
			}
			want := "--suite " + framework.FormatSuites(tc.want)
			if cmd := d.Command(); !strings.Contains(cmd, want) || !strings.Contains(cmd, base) {
				t.Errorf("command %q lacks %q or %q", cmd, want, base)
			}
			if len(d.Summary()) != 1+len(d.Probes) || d.Summary()["detect.suites"] != framework.FormatSuites(tc.want) {
				t.Errorf("summary %v", d.Summary())
			}
		})
	}
}

// TestDetectNothing: a closed port and a URL's own path that serves
// nothing detect no suite, fast, and say what was tried.
func TestDetectNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	d, err := Detect(t.Context(), "http://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v on a closed port", took)
	}
	if len(d.Suites) != 0 || d.Command() != "" {
		t.Errorf("detected %v on a closed port", d.Suites)
	}
	tried := d.Tried()
	for _, w := range []string{"/engine.io/ EIO=4", "/engine.io/ EIO=3", "/socket.io/ EIO=4", "/socket.io/ EIO=3", "connection refused"} {
		if !strings.Contains(tried, w) {
			t.Errorf("tried lacks %q:\n%s", w, tried)
		}
	}

	base := startNode(t, "sio5")
	d, err = Detect(t.Context(), base+"/engine.io/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Suites) != 0 || len(d.Probes) != 2 || !strings.Contains(d.Tried(), "/engine.io/ EIO=4: handshake") {
		t.Errorf("sio5.js at /engine.io/: detected %v\n%s", d.Suites, d.Tried())
	}
}
