package sioserver

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/eioserver"
)

func csrOpts() *Options {
	return &Options{ConnectionStateRecovery: &RecoveryOptions{}}
}

// connectCSR joins "/" and returns sid and pid (NODE-CSR-01).
func connectCSR(t *testing.T, p *rawPeer, payload string) (sid, pid string) {
	t.Helper()
	p.sendText("0" + payload)
	rest := p.expectPrefix("0")
	return parseReply(t, rest)
}

func parseReply(t *testing.T, rest string) (sid, pid string) {
	t.Helper()
	var m struct{ Sid, Pid string }
	if err := json.Unmarshal([]byte(rest), &m); err != nil || m.Sid == "" || m.Pid == "" {
		t.Fatalf("CONNECT reply %q: want sid and pid (%v)", rest, err)
	}
	if !strings.HasPrefix(rest, `{"sid":`) {
		t.Fatalf("CONNECT reply %q: sid first", rest)
	}
	return m.Sid, m.Pid
}

// lastArg decodes an event and returns its last argument (the offset).
func lastArg(t *testing.T, text string) string {
	t.Helper()
	p, err := socketio.Decode([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	args, err := p.Args()
	if err != nil || len(args) == 0 {
		t.Fatalf("%q: no args (%v)", text, err)
	}
	s, ok := args[len(args)-1].(string)
	if !ok {
		t.Fatalf("%q: last argument is not an offset", text)
	}
	return s
}

func TestNODECSRRecovery(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		conns := make(chan *Socket, 4)
		disc := make(chan string, 4)
		srv, base := newTestServer(t, csrOpts(), func(s *Server) {
			s.Sockets().OnConnection(func(so *Socket) {
				so.Join("room")
				conns <- so
				so.OnDisconnect(func(r string) { disc <- r })
			})
		})
		nsp := srv.Sockets()
		p := dial(t, base, tr, engineio.V4)
		sid, pid := connectCSR(t, p, "")
		so := waitFor(t, conns)
		if so.Recovered() {
			t.Fatal("first connection marked recovered")
		}
		// NODE-CSR-02: a direct emit carries an offset.
		must(t, so.Emit("direct", 1))
		text := string(p.next().Data)
		off := lastArg(t, text)
		if !strings.HasPrefix(text, `2["direct",1,"`) {
			t.Fatalf("got %q", text)
		}
		// An emit with an ack id or a volatile one has no offset.
		must(t, so.EmitCallback("acked", nil, 0, func([]any, error) {}))
		p.expectText(`20["acked"]`)
		// A volatile emit is dropped unless the transport is writable
		// (NODE-VOL-01): wait for the peer's next GET to park, or for
		// the WebSocket writer to finish.
		waitWritable(t, so)
		must(t, so.EmitVolatile("vol"))
		p.expectText(`2["vol"]`)

		p.hangUp()
		if r := waitFor(t, disc); r != ReasonTransportClose {
			t.Fatalf("reason %q", r)
		}
		must(t, nsp.To("room").Emit("missed", 1))
		must(t, nsp.To("elsewhere").Emit("not-for-me"))
		must(t, nsp.Emit("missed", 2))

		// NODE-CSR-04/05: same sid and pid, missed packets before the
		// CONNECT reply.
		q := dial(t, base, tr, engineio.V4)
		q.sendText(`0{"pid":"` + pid + `","offset":"` + off + `","token":1}`)
		m1 := string(q.next().Data)
		m2 := string(q.next().Data)
		if !strings.HasPrefix(m1, `2["missed",1,"`) || !strings.HasPrefix(m2, `2["missed",2,"`) {
			t.Fatalf("missed packets %q %q", m1, m2)
		}
		sid2, pid2 := parseReply(t, q.expectPrefix("0"))
		if sid2 != sid || pid2 != pid {
			t.Fatalf("recovered sid/pid %s/%s, want %s/%s", sid2, pid2, sid, pid)
		}
		so2 := waitFor(t, conns)
		if !so2.Recovered() || so2.ID() != sid {
			t.Fatalf("socket %s recovered=%v", so2.ID(), so2.Recovered())
		}
		auth := so2.Handshake().Auth.(socketio.Object)
		if v, _ := auth.Get("token"); v != float64(1) {
			t.Fatalf("auth %v", auth)
		}
		// NODE-CSR-06: no recovery after a client namespace disconnect.
		last := lastArg(t, m2)
		q.sendText("1")
		if r := waitFor(t, disc); r != ReasonClientNamespaceDisconnect {
			t.Fatalf("reason %q", r)
		}
		sid3, pid3 := connectCSR(t, q, `{"pid":"`+pid+`","offset":"`+last+`"}`)
		if sid3 == sid || pid3 == pid {
			t.Fatal("session recovered after a client namespace disconnect")
		}
		if so3 := waitFor(t, conns); so3.Recovered() {
			t.Fatal("socket marked recovered")
		}
	})
}

func TestNODECSRUnknownOffsetOrExpired(t *testing.T) {
	conns := make(chan *Socket, 4)
	disc := make(chan string, 4)
	opts := csrOpts()
	opts.ConnectionStateRecovery.MaxDisconnectionDuration = time.Minute
	clk := &shiftClock{}
	opts.Clock = clk
	_, base := newTestServer(t, opts, func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) {
			conns <- so
			so.OnDisconnect(func(r string) { disc <- r })
		})
	})
	p := dial(t, base, "websocket", engineio.V4)
	sid, pid := connectCSR(t, p, "")
	so := waitFor(t, conns)
	must(t, so.Emit("x"))
	off := lastArg(t, string(p.next().Data))
	p.Close()
	waitFor(t, disc)
	q := dial(t, base, "websocket", engineio.V4)
	// An offset the log does not hold: a new session (NODE-CSR-04).
	if s, _ := connectCSR(t, q, `{"pid":"`+pid+`","offset":"nope"}`); s == sid {
		t.Fatal("recovered with an unknown offset")
	}
	waitFor(t, conns)
	// The session is still stored: let it expire.
	clk.shift(2 * time.Minute)
	r := dial(t, base, "websocket", engineio.V4)
	if s, _ := connectCSR(t, r, `{"pid":"`+pid+`","offset":"`+off+`"}`); s == sid {
		t.Fatal("recovered after maxDisconnectionDuration")
	}
}

// shiftClock is real time shifted by a settable offset; timers are real.
type shiftClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *shiftClock) shift(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

func (c *shiftClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *shiftClock) AfterFunc(d time.Duration, f func()) eioserver.Timer {
	return time.AfterFunc(d, f)
}
