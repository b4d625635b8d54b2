package testee

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/reference/eioserver"
)

// eioPeer is a reference Engine.IO server that records what the testee
// sends and lets the test send commands.
type eioPeer struct {
	t        *testing.T
	url      string
	sessions chan *eioserver.Session
	msgs     chan engineio.Packet
	closes   chan string
}

func newEIOPeer(t *testing.T, v3 bool) *eioPeer {
	t.Helper()
	p := &eioPeer{t: t, sessions: make(chan *eioserver.Session, 4), msgs: make(chan engineio.Packet, 64), closes: make(chan string, 4)}
	srv := eioserver.NewServer(&eioserver.Options{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		AllowEIO3:    v3,
		OnSession: func(s *eioserver.Session) {
			s.OnMessage(func(pk engineio.Packet) { p.msgs <- pk })
			s.OnClose(func(reason string, _ error) { p.closes <- reason })
			p.sessions <- s
		},
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = srv.Close(ctx)
	})
	p.url = hs.URL + "/engine.io/"
	return p
}

func (p *eioPeer) session() *eioserver.Session {
	p.t.Helper()
	select {
	case s := <-p.sessions:
		return s
	case <-time.After(wait):
		p.t.Fatal("no session")
		return nil
	}
}

func (p *eioPeer) msg() engineio.Packet {
	p.t.Helper()
	select {
	case m := <-p.msgs:
		return m
	case <-time.After(wait):
		p.t.Fatal("no message from the testee")
		return engineio.Packet{}
	}
}

func (p *eioPeer) closeReason() string {
	p.t.Helper()
	select {
	case r := <-p.closes:
		return r
	case <-time.After(wait):
		p.t.Fatal("the session did not close")
		return ""
	}
}

func sendCommand(s *eioserver.Session, t *testing.T, cmd string) {
	t.Helper()
	if err := s.Send(engineio.TextPacket(engineio.Message, "siospec:"+cmd)); err != nil {
		t.Fatal(err)
	}
}

// TestEIO runs every Engine.IO command and report on each suite and
// transport set: ready, open, upgrade, message echo (text and binary),
// send with count, close, then exit with a code.
func TestEIO(t *testing.T) {
	for _, tc := range []struct{ suite, transports string }{
		{"eio4", "polling,websocket"},
		{"eio4", "polling"},
		{"eio4", "websocket"},
		{"eio3", "polling,websocket"},
		{"eio3", "websocket"},
	} {
		t.Run(tc.suite+"/"+tc.transports, func(t *testing.T) {
			p := newEIOPeer(t, tc.suite == "eio3")
			r := start(t, p.url, tc.suite, tc.transports, `{}`)
			s := p.session()
			r.out.expect("ready", nil)
			first := "polling"
			if tc.transports == "websocket" {
				first = "websocket"
			}
			r.out.expect("open", map[string]any{"sid": s.ID(), "transport": first})
			if tc.transports == "polling,websocket" {
				r.out.expect("upgrade", map[string]any{"transport": "websocket"})
			}

			if err := s.Send(engineio.TextPacket(engineio.Message, "héllo"), engineio.BinaryMessage([]byte{0, 1, 2})); err != nil {
				t.Fatal(err)
			}
			if m := p.msg(); m.Binary || string(m.Data) != "héllo" {
				t.Fatalf("echo %v", m)
			}
			if m := p.msg(); !m.Binary || string(m.Data) != "\x00\x01\x02" {
				t.Fatalf("echo %v", m)
			}
			r.out.expect("message", map[string]any{"data": "héllo"})
			r.out.expect("message", map[string]any{"data": map[string]any{"_bin": base64.StdEncoding.EncodeToString([]byte{0, 1, 2})}})

			sendCommand(s, t, `{"cmd":"send","data":"x","count":3,"tag":"t1"}`)
			for range 3 {
				if m := p.msg(); string(m.Data) != "x" {
					t.Fatalf("sent %v", m)
				}
			}
			r.out.expect("done", map[string]any{"cmd": "send", "tag": "t1"})
			sendCommand(s, t, `{"cmd":"send","data":{"_bin":"AAE="},"tag":"t2"}`)
			if m := p.msg(); !m.Binary || string(m.Data) != "\x00\x01" {
				t.Fatalf("sent %v", m)
			}
			r.out.expect("done", map[string]any{"cmd": "send", "tag": "t2"})
			r.out.none("message", map[string]any{"data": `siospec:{"cmd":"send","data":"x","count":3,"tag":"t1"}`})

			sendCommand(s, t, `{"cmd":"emit","event":"e","tag":"t3"}`)
			r.out.expect("unsupported", map[string]any{"cmd": "emit", "tag": "t3"})

			sendCommand(s, t, `{"cmd":"close","tag":"t4"}`)
			r.out.expect("close", map[string]any{"reason": "forced close", "description": ""})
			r.out.expect("done", map[string]any{"cmd": "close", "tag": "t4"})
			if reason := p.closeReason(); reason != "transport close" {
				t.Fatalf("server saw the session close with %q, want the client's close (transport close)", reason)
			}
			r.closeStdin()
			if c := r.exitCode(); c != 0 {
				t.Fatalf("exit %d after stdin EOF", c)
			}
		})
	}
}

// TestEIOExitCode: the exit command ends Run with its code, after done.
func TestEIOExitCode(t *testing.T) {
	p := newEIOPeer(t, false)
	r := start(t, p.url, "eio4", "polling", `{}`)
	s := p.session()
	r.out.expect("open", nil)
	sendCommand(s, t, `{"cmd":"exit","code":3,"tag":"bye"}`)
	if c := r.exitCode(); c != 3 {
		t.Fatalf("exit %d, want 3", c)
	}
	r.out.expect("done", map[string]any{"cmd": "exit", "tag": "bye"})
	// Ending like a process: the server sees the transport go, never a
	// close packet.
	if reason := p.closeReason(); reason == "transport close" {
		t.Fatalf("server saw a client close packet after exit")
	}
}

// TestEIOOptions: options the reference cannot honour are reported, the
// others are applied (upgrade false stays on polling, query is sent).
func TestEIOOptions(t *testing.T) {
	p := newEIOPeer(t, false)
	r := start(t, p.url, "eio4", "polling,websocket", `{"upgrade":false,"query":{"k":"v","n":1},"rememberUpgrade":true,"reconnection":false}`)
	s := p.session()
	r.out.expect("unsupported", map[string]any{"cmd": "options", "message": "option rememberUpgrade is not supported by the reference client: eioclient does not remember upgrades"})
	r.out.expect("unsupported", map[string]any{"cmd": "options", "message": "option reconnection is not supported by the reference client: not an Engine.IO client option"})
	q := s.Request().URL.Query()
	if q.Get("k") != "v" || q.Get("n") != "1" {
		t.Fatalf("handshake query %v", q)
	}
	r.out.expect("open", nil)
	sendCommand(s, t, `{"cmd":"send","data":"after"}`)
	p.msg()
	r.out.none("upgrade", nil)
	if s.Transport() != "polling" {
		t.Fatalf("transport %s with upgrade:false", s.Transport())
	}
}

// TestEIODialError: a refused handshake is reported as error then close,
// and the run goes on until stdin ends.
func TestEIODialError(t *testing.T) {
	hs := httptest.NewServer(nil) // 404 for everything
	t.Cleanup(hs.Close)
	r := start(t, hs.URL+"/engine.io/", "eio4", "polling", `{}`)
	r.out.expect("error", nil)
	r.out.expect("close", map[string]any{"reason": "transport error"})
	r.closeStdin()
	if c := r.exitCode(); c != 0 {
		t.Fatalf("exit %d", c)
	}
}

// TestSupport: unknown suites and cases exit 127 before anything is
// reported; a bad environment exits 1.
func TestSupport(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want int
	}{
		{"unknown case", Options{URL: "http://127.0.0.1:1/", Suite: "eio4", Case: "no-such-case", Cases: anyCase}, ExitUnsupported},
		{"unknown suite", Options{URL: "http://127.0.0.1:1/", Suite: "net", Case: "x", Cases: anyCase}, ExitUnsupported},
		{"no case list", Options{URL: "http://127.0.0.1:1/", Suite: "eio4", Case: "x"}, ExitUnsupported},
		{"bad url", Options{URL: "::", Suite: "eio4", Case: "x", Cases: anyCase}, ExitError},
		{"bad transports", Options{URL: "http://127.0.0.1:1/", Suite: "sio5", Case: "x", Transports: "carrier-pigeon", Cases: anyCase}, ExitError},
		{"options not an object", Options{URL: "http://127.0.0.1:1/", Suite: "sio5", Case: "x", ClientOptions: "[1]", Cases: anyCase}, ExitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := newLines(t)
			tc.o.Stdout = out
			if got := Run(context.Background(), &tc.o); got != tc.want {
				t.Fatalf("Run = %d, want %d", got, tc.want)
			}
			if d := out.dump(); d != "" {
				t.Fatalf("reports before the refusal:\n%s", d)
			}
		})
	}
	if _, err := OptionsFromEnv(func(k string) string {
		if k == "SIOSPEC_SEED" {
			return "x"
		}
		return ""
	}); err == nil {
		t.Fatal("bad seed accepted")
	}
}
