package faultproxy

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/faultproxy/process"
)

// silent reports whether c stays silent for window after msg is written:
// nothing echoed and no error but the read deadline.
func silent(t *testing.T, c net.Conn, msg []byte, window time.Duration) bool {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(window))
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	n, err := io.ReadFull(c, make([]byte, len(msg)))
	return n == 0 && isTimeout(err)
}

func applyProfile(t *testing.T, p *Proxy, name string, o *ProfileOptions) *ProfileHandle {
	t.Helper()
	pr, err := NewProfile(name, o)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.ApplyProfile(pr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Remove() })
	return h
}

// TestHalfOpenDefaultLetsNewConnectionsThrough: with the default after_ms 0
// the loss strikes the connection open when the profile is applied, and a
// client that connects again gets through (it used to be blackholed too,
// so no client could ever reconnect).
func TestHalfOpenDefaultLetsNewConnectionsThrough(t *testing.T) {
	echo := startEcho(t)
	p := startProxy(t, echo.addr(), nil)
	c1 := dial(t, p.Addr())
	roundTrip(t, c1, []byte("before"))
	applyProfile(t, p, "half-open", nil)
	if !silent(t, c1, []byte("lost"), 300*time.Millisecond) {
		t.Fatal("the connection open when half-open was applied still carries bytes")
	}
	c2 := dial(t, p.Addr())
	within(t, "round trip on a connection opened after the loss", roundTrip(t, c2, []byte("after")), 0, slack)
	if d := decisionsOf(p, "half-open.blackhole", "skip"); len(d) != 1 || d[0].Conn != 2 {
		t.Errorf("skip decisions: %+v, want one for connection 2", d)
	}
}

// TestHalfOpenAfterCountsFromApply: after_ms counts from when the profile
// is applied, for every connection open then (also one opened meanwhile);
// a connection opened after the strike is never struck, however long it
// lives (it used to be cut after_ms after its own accept). The strike is
// logged as one "start" decision naming the connections it holds.
func TestHalfOpenAfterCountsFromApply(t *testing.T) {
	const after = 300 * time.Millisecond
	echo := startEcho(t)
	p := startProxy(t, echo.addr(), nil)
	c1 := dial(t, p.Addr())
	roundTrip(t, c1, []byte("one"))
	applied := time.Now()
	applyProfile(t, p, "half-open", &ProfileOptions{After: after})
	c2 := dial(t, p.Addr())
	roundTrip(t, c2, []byte("two")) // before the strike: untouched
	waitFor(t, "the start decision", func() bool { return len(decisionsOf(p, "half-open.blackhole", "start")) > 0 })
	start := decisionsOf(p, "half-open.blackhole", "start")
	if len(start) != 1 || start[0].Conn != 0 || !strings.Contains(start[0].Detail, "[1 2]") {
		t.Fatalf("start decisions: %+v, want one naming connections [1 2]", start)
	}
	within(t, "strike after apply", start[0].Time.Sub(applied), after, after+slack)
	for i, c := range []net.Conn{c1, c2} {
		if !silent(t, c, []byte("lost"), 200*time.Millisecond) {
			t.Errorf("connection %d, open at the strike, still carries bytes", i+1)
		}
	}
	c3 := dial(t, p.Addr())
	for end := time.Now().Add(after + 200*time.Millisecond); time.Now().Before(end); {
		within(t, "round trip on the connection opened after the strike", roundTrip(t, c3, []byte("three")), 0, slack)
	}
}

// TestHalfOpenFor: with for_ms the loss ends and the struck connection gets
// what was held, in order.
func TestHalfOpenFor(t *testing.T) {
	echo := startEcho(t)
	p := startProxy(t, echo.addr(), nil)
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("x"))
	applyProfile(t, p, "half-open", &ProfileOptions{For: 300 * time.Millisecond})
	within(t, "round trip across a 300ms loss", roundTrip(t, c, []byte("held")), 250*time.Millisecond, 300*time.Millisecond+slack)
	if d := decisionsOf(p, "half-open.blackhole", "expire"); len(d) != 2 {
		t.Errorf("expire decisions: %+v, want one per direction", d)
	}
}

// TestBlackholeStartLogged: a blackhole's activation is a decision with a
// detail (so `siospec proxy` logs it at info) even when no byte ever
// arrives to be held.
func TestBlackholeStartLogged(t *testing.T) {
	echo := startEcho(t)
	p := startProxy(t, echo.addr(), nil)
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("x"))
	addFault(t, p, Blackhole{Name: "bh", Direction: Both})
	var acts []Decision
	waitFor(t, "activate decisions", func() bool { acts = decisionsOf(p, "bh", "activate"); return len(acts) == 2 })
	for _, d := range acts {
		if d.Conn != 1 || !strings.Contains(d.Detail, "blackhole starts") {
			t.Errorf("activate decision %+v: want connection 1 with a detail", d)
		}
	}
	if d := decisionsOf(p, "bh", "hold"); len(d) != 0 {
		t.Errorf("hold decisions without traffic: %+v", d)
	}
}

// TestExistingScopeJSON: the scope attribute round-trips and is refused
// where it means nothing.
func TestExistingScopeJSON(t *testing.T) {
	f, tx, err := ParseToxic([]byte(`{"type":"blackhole","stream":"both","attributes":{"existing":true,"after_ms":5}}`))
	if err != nil {
		t.Fatal(err)
	}
	if b := f.(Blackhole); !b.Scope.Existing || b.Scope.After != 5*time.Millisecond || tx.Attributes["existing"] != true {
		t.Errorf("parsed %+v, toxic %+v", f, tx)
	}
	for _, bad := range []string{
		`{"type":"down","attributes":{"existing":true}}`,
		`{"type":"slow_open","attributes":{"existing":true}}`,
		`{"type":"blackhole","attributes":{"existing":1}}`,
	} {
		if _, _, err := ParseToxic([]byte(bad)); err == nil {
			t.Errorf("ParseToxic(%s) accepted", bad)
		}
	}
}

// TestServerCrashMode: server-crash says which crash it runs, in its
// handle, its decisions and the control API's answer.
func TestServerCrashMode(t *testing.T) {
	echo := startEcho(t)
	p := startProxy(t, echo.addr(), nil)
	h := applyProfile(t, p, "server-crash", &ProfileOptions{After: time.Hour})
	if h.CrashMode() != CrashModeProxy {
		t.Errorf("CrashMode() = %q, want %q", h.CrashMode(), CrashModeProxy)
	}
	d := decisionsOf(p, "server-crash", "crash_mode")
	if len(d) != 1 || !strings.HasPrefix(d[0].Detail, "crash mode proxy") || !strings.Contains(d[0].Detail, "keeps") {
		t.Errorf("crash_mode decisions: %+v", d)
	}
	if h2 := applyProfile(t, p, "half-open", nil); h2.CrashMode() != "" {
		t.Errorf("half-open CrashMode() = %q", h2.CrashMode())
	}
	proc, err := process.New(process.Spec{Path: "true"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := NewProfile("server-crash", &ProfileOptions{Process: proc})
	if err != nil {
		t.Fatal(err)
	}
	if pr.CrashMode != CrashModeProcess || !strings.Contains(pr.CrashDetail(), "state is lost") {
		t.Errorf("with a process: %q, %q", pr.CrashMode, pr.CrashDetail())
	}

	_, base := startAPI(t, nil)
	base = "http://" + base
	if st, body := apiDo(t, "POST", base+"/proxies", `{"name":"p","upstream":"`+echo.addr()+`"}`); st != 201 {
		t.Fatalf("create: %d %s", st, body)
	}
	if st, body := apiDo(t, "POST", base+"/siospec/proxies/p/profiles/server-crash", `{"after_ms":3600000}`); st != 200 || !strings.Contains(body, `"crash_mode":"proxy"`) {
		t.Errorf("apply server-crash: %d %s", st, body)
	}
}
