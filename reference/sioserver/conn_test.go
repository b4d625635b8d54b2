package sioserver

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/protocol/socketio"
)

// fixtureSetup installs the sio5 fixture handlers (testees/node/CONTRACT.md).
func fixtureSetup(s *Server) {
	s.Sockets().OnConnection(func(so *Socket) {
		_ = so.Emit("auth", so.Handshake().Auth)
		so.On("message", func(e *Event) { _ = so.Emit("message-back", e.Args...) })
		so.On("message-with-ack", func(e *Event) { _ = e.Ack(e.Args...) })
	})
	s.Of("/custom").OnConnection(func(so *Socket) { _ = so.Emit("auth", so.Handshake().Auth) })
}

// start returns a fixture server and a peer over transport with "/"
// joined (auth event consumed).
func start(t *testing.T, transport string, opts *Options) (*Server, *rawPeer, string) {
	t.Helper()
	srv, base := newTestServer(t, opts, fixtureSetup)
	p := dial(t, base, transport, engineio.V4)
	sid := p.connect("/", "")
	p.expectText(`2["auth",{}]`)
	return srv, p, sid
}

// closeErrs collects ProtocolErrors from OnProtocolError.
func closeErrs() (*Options, chan error) {
	ch := make(chan error, 16)
	return &Options{OnProtocolError: func(err error) { ch <- err }}, ch
}

func TestSIOCONN02ConnectReplyHasOnlySid(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		_, base := newTestServer(t, nil, fixtureSetup)
		p := dial(t, base, tr, engineio.V4)
		p.sendText("0")
		rest := p.expectPrefix("0")
		var m map[string]any
		if err := json.Unmarshal([]byte(rest), &m); err != nil {
			t.Fatalf("reply payload %q: %v", rest, err)
		}
		sid, ok := m["sid"].(string)
		if len(m) != 1 || !ok || sid == "" {
			t.Fatalf("CONNECT reply %q: want exactly a string sid", rest)
		}
		// SIO-CONN-03: the Socket.IO sid is not the Engine.IO sid.
		if sid == p.sid {
			t.Fatalf("socket id equals the Engine.IO sid %q", sid)
		}
		// SIO-CONN-11: the reply comes before what the handler emits.
		p.expectText(`2["auth",{}]`)
	})
}

func TestSIOCONN04AuthPayload(t *testing.T) {
	_, base := newTestServer(t, nil, fixtureSetup)
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/", `{"token":"123"}`)
	p.expectText(`2["auth",{"token":"123"}]`)
	p.connect("/custom", `{"token":"abc"}`)
	p.expectText(`2/custom,["auth",{"token":"abc"}]`)
}

func TestSIOCONN05UnknownNamespace(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		_, base := newTestServer(t, nil, fixtureSetup)
		p := dial(t, base, tr, engineio.V4)
		// SIO-ENC-03: no trailing comma.
		p.sendText("0/random")
		p.expectText(`4/random,{"message":"Invalid namespace"}`)
		// SIO-NSP-04: exact, case-sensitive names.
		p.sendText("0/Custom,")
		p.expectText(`4/Custom,{"message":"Invalid namespace"}`)
		// The Engine.IO session stays open.
		p.connect("/", "")
		p.expectText(`2["auth",{}]`)
	})
}

func TestSIOCONN06MiddlewareRefuses(t *testing.T) {
	_, base := newTestServer(t, nil, func(s *Server) {
		s.Of("/refuse").Use(func(so *Socket) error {
			a := so.Handshake().Auth.(socketio.Object)
			if d, ok := a.Get("data"); ok {
				return &ConnectError{Message: "refused", Data: d}
			}
			if _, ok := a.Get("plain"); ok {
				return errors.New("plain error")
			}
			return &ConnectError{Message: "refused"}
		})
	})
	p := dial(t, base, "websocket", engineio.V4)
	p.sendText(`0/refuse,{"data":{"code":1}}`)
	p.expectText(`4/refuse,{"message":"refused","data":{"code":1}}`)
	p.sendText(`0/refuse,`)
	p.expectText(`4/refuse,{"message":"refused"}`)
	p.sendText(`0/refuse,{"plain":1}`)
	p.expectText(`4/refuse,{"message":"plain error"}`)
	p.expectQuiet(100 * time.Millisecond)
}

func TestSIOCONN07FirstPacketNotConnect(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		opts, errs := closeErrs()
		_, base := newTestServer(t, opts, fixtureSetup)
		p := dial(t, base, tr, engineio.V4)
		p.sendText(`2["message","x"]`)
		if got := p.expectClosed(); len(got) != 0 {
			t.Fatalf("got %v before the close", got)
		}
		wantReason(t, errs, ReasonForcedServerClose)
	})
}

func wantReason(t *testing.T, errs chan error, reason string) {
	t.Helper()
	err := waitFor(t, errs)
	var pe *ProtocolError
	if !errors.As(err, &pe) || pe.Reason != reason {
		t.Fatalf("close error %v, want reason %q", err, reason)
	}
}

func TestSIOCONN08ConnectTimeout(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		opts, errs := closeErrs()
		opts.ConnectTimeout = 300 * time.Millisecond
		opts.PingInterval = 100 * time.Millisecond // the peer answers pings
		_, base := newTestServer(t, opts, fixtureSetup)
		// start before the dial: the timer starts during the
		// handshake, so a slow handshake cannot make the close look
		// early.
		start := time.Now()
		p := dial(t, base, tr, engineio.V4)
		p.expectClosed()
		if el := time.Since(start); el < opts.ConnectTimeout-10*time.Millisecond {
			t.Fatalf("closed after %v, before connectTimeout", el)
		}
		wantReason(t, errs, ReasonForcedServerClose)
	})
}

func TestSIOCONN08NotRearmedAfterJoin(t *testing.T) {
	// SIO-NSP-07: after leaving every namespace the session stays.
	opts := &Options{ConnectTimeout: 200 * time.Millisecond}
	opts.PingInterval = 100 * time.Millisecond
	_, p, _ := start(t, "websocket", opts)
	p.sendText("1")
	p.expectQuiet(500 * time.Millisecond)
}

func TestSIOCONN09InvalidConnectPayload(t *testing.T) {
	for _, payload := range []string{`[1]`, `null`, `"x"`, `true`, `{`} {
		t.Run(payload, func(t *testing.T) {
			_, base := newTestServer(t, nil, fixtureSetup)
			p := dial(t, base, "websocket", engineio.V4)
			p.sendText("0" + payload)
			p.expectClosed()
		})
	}
}

func TestSIOCONN10DuplicateConnect(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		opts, errs := closeErrs()
		_, base := newTestServer(t, opts, fixtureSetup)
		p := dial(t, base, tr, engineio.V4)
		p.connect("/", "")
		p.expectText(`2["auth",{}]`)
		p.sendText("0")
		p.expectClosed()
		wantReason(t, errs, ReasonForcedServerClose)
	})
}

func TestSIOCONN17ClientConnectError(t *testing.T) {
	_, p, _ := start(t, "websocket", nil)
	p.sendText("4{}")
	p.expectClosed()
}

func TestSIONSP02MultiplexedNamespaces(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		_, p, sid := start(t, tr, nil)
		// SIO-NSP-03 is covered by TestSIOCONN04 (custom without "/").
		csid := p.connect("/custom", "")
		p.expectText(`2/custom,["auth",{}]`)
		if csid == sid {
			t.Fatalf("same socket id %q in two namespaces", sid)
		}
		// SIO-NSP-06: leaving /custom leaves "/" untouched.
		p.sendText("1/custom,")
		p.sendText(`2["message","to main"]`)
		p.expectText(`2["message-back","to main"]`)
		// SIO-NSP-05: a packet for the namespace just left closes.
		p.sendText(`2/custom,["message"]`)
		p.expectClosed()
	})
}

func TestSIONSP05UnjoinedNamespace(t *testing.T) {
	opts, errs := closeErrs()
	_, base := newTestServer(t, opts, fixtureSetup)
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/", "")
	p.expectText(`2["auth",{}]`)
	p.sendText(`2/custom,["x"]`)
	p.expectClosed()
	wantReason(t, errs, ReasonForcedServerClose)
}

func TestSIONSP09DynamicNamespaces(t *testing.T) {
	_, base := newTestServer(t, nil, func(s *Server) {
		s.OfFunc(func(name string, auth any) bool {
			return strings.HasPrefix(name, "/dyn-")
		}).OnConnection(func(so *Socket) { _ = so.Emit("hello", so.Namespace().Name()) })
	})
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/dyn-1", "")
	p.expectText(`2/dyn-1,["hello","/dyn-1"]`)
	p.sendText("0/other,")
	p.expectText(`4/other,{"message":"Invalid namespace"}`)
}

func TestSIOEVT05EventOrderAndArgs(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		_, p, _ := start(t, tr, nil)
		p.sendText(`2["message",1,"2",{"3":[true]}]`)
		p.sendText(`2["message",null,{"b":1,"a":[]},1.5e300,"é"]`)
		p.expectText(`2["message-back",1,"2",{"3":[true]}]`)
		// SIO-EVT-06: in order; key order and number form kept.
		p.expectText(`2["message-back",null,{"b":1,"a":[]},1.5e+300,"é"]`)
	})
}

func TestSIOEVT04NumericEventName(t *testing.T) {
	_, p, _ := start(t, "websocket", nil)
	p.sendText(`2[1,"x"]`) // accepted, no handler
	p.sendText(`2["message",1]`)
	p.expectText(`2["message-back",1]`)
}

// Invalid packets close the connection (SIO-ERR-01 and the rows named).
func TestSIOERR01InvalidPacketsClose(t *testing.T) {
	cases := []struct{ id, text string }{
		{"SIO-ENC-06", `2["message",abc]`},
		{"SIO-ENC-07", `abc`},
		{"SIO-ENC-07-digit", `7`},
		{"SIO-EVT-02-object", `2{}`},
		{"SIO-EVT-02-empty", `2[]`},
		{"SIO-EVT-03", `2["disconnect"]`},
		{"SIO-EVT-04", `2[null]`},
		{"SIO-ACK-06", `2abc["message-with-ack",1]`},
		{"SIO-DISC-02", `1{}`},
		{"SIO-DISC-03", `1/x,`},
		{"SIO-ERR-04", ``},
		{"SIO-BIN-06-Errata3", `50-["message"]`},
		{"SIO-BIN-07", `511-["message"]`},
		{"SIO-BIN-08-empty", `5-["message"]`},
		{"SIO-BIN-08-junk", `5x-["message"]`},
		{"SIO-BIN-05", `51-["e",{"_placeholder":true,"num":5}]`},
		{"SIO-ENC-09-ack", `31{}`},
		{"SIO-ENC-11", `29007199254740992["message-with-ack"]`},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			_, p, _ := start(t, "websocket", nil)
			p.sendText(c.text)
			if got := p.expectClosed(); len(got) != 0 {
				t.Fatalf("got %v before the close", got)
			}
		})
	}
}

func TestSIOENC10EmptyEventIgnored(t *testing.T) {
	_, p, _ := start(t, "websocket", nil)
	p.sendText("2")
	p.sendText(`2["message",1]`)
	p.expectText(`2["message-back",1]`)
}

func TestSIOACK01ClientAcks(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		_, p, _ := start(t, tr, nil)
		p.sendText(`2456["message-with-ack",1,"2",{"3":[false]}]`)
		p.expectText(`3456[1,"2",{"3":[false]}]`)
		// SIO-ACK-04: id 0.
		p.sendText(`20["message-with-ack"]`)
		// SIO-ACK-02: an empty argument list is [].
		p.expectText(`30[]`)
		p.connect("/custom", "")
		p.expectText(`2/custom,["auth",{}]`)
	})
}

func TestSIOACK01CustomNamespaceAck(t *testing.T) {
	_, base := newTestServer(t, nil, func(s *Server) {
		s.Of("/admin").OnConnection(func(so *Socket) {
			so.On("q", func(e *Event) { _ = e.Ack("a") })
		})
	})
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/admin", "")
	p.sendText(`2/admin,13["q"]`)
	p.expectText(`3/admin,13["a"]`)
}

func TestSIOBIN01BinaryEventEcho(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		_, p, _ := start(t, tr, nil)
		p.sendText(`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		p.sendBinary([]byte{1, 2, 3})
		p.sendBinary([]byte{4, 5, 6})
		// SIO-ENC-01, SIO-BIN-02: header then attachments in num order.
		p.expectText(`52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		p.expectBinary([]byte{1, 2, 3})
		p.expectBinary([]byte{4, 5, 6})
		// SIO-ACK-03: binary ack.
		p.sendText(`52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		p.sendBinary([]byte{1, 2, 3})
		p.sendBinary([]byte{4, 5, 6})
		p.expectText(`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
		p.expectBinary([]byte{1, 2, 3})
		p.expectBinary([]byte{4, 5, 6})
	})
}

func TestSIOBIN12PlaceholderInPlainEvent(t *testing.T) {
	_, p, _ := start(t, "websocket", nil)
	p.sendText(`2["message",{"_placeholder":true,"num":0}]`)
	p.expectText(`2["message-back",{"_placeholder":true,"num":0}]`)
}

func TestSIOBIN03TextDuringReassembly(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		opts, errs := closeErrs()
		_, base := newTestServer(t, opts, fixtureSetup)
		p := dial(t, base, tr, engineio.V4)
		p.connect("/", "")
		p.expectText(`2["auth",{}]`)
		p.sendText(`51-["message",{"_placeholder":true,"num":0}]`)
		p.sendText(`2["message"]`)
		p.expectClosed()
		wantReason(t, errs, ReasonForcedClose)
	})
}

func TestSIOBIN04StrayBinary(t *testing.T) {
	transports(t, func(t *testing.T, tr string) {
		_, p, _ := start(t, tr, nil)
		p.sendBinary([]byte{1})
		p.expectClosed()
	})
}

func TestSIODISC01ClientDisconnect(t *testing.T) {
	disc := make(chan string, 1)
	_, base := newTestServer(t, nil, func(s *Server) {
		fixtureSetup(s)
		s.Of("/custom").OnConnection(func(so *Socket) { so.OnDisconnect(func(r string) { disc <- r }) })
	})
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/custom", "")
	p.expectText(`2/custom,["auth",{}]`)
	p.sendText("1/custom,")
	if r := waitFor(t, disc); r != ReasonClientNamespaceDisconnect {
		t.Fatalf("reason %q", r)
	}
	p.expectQuiet(100 * time.Millisecond)
}

func TestSIODISC04ServerNamespaceDisconnect(t *testing.T) {
	disc := make(chan string, 2)
	_, base := newTestServer(t, nil, func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) {
			so.OnDisconnect(func(r string) { disc <- r })
			so.On("bye", func(e *Event) { so.Disconnect(len(e.Args) > 0 && e.Args[0] == true) })
		})
		s.Of("/custom").OnConnection(func(so *Socket) { so.OnDisconnect(func(r string) { disc <- r }) })
	})
	transports(t, func(t *testing.T, tr string) {
		p := dial(t, base, tr, engineio.V4)
		p.connect("/", "")
		p.sendText(`2["bye"]`)
		p.expectText("1")
		if r := waitFor(t, disc); r != ReasonServerNamespaceDisconnect {
			t.Fatalf("reason %q", r)
		}
		// The Engine.IO session stays: "/" can be joined again.
		p.connect("/", "")
		p.connect("/custom", "")
		// SIO-DISC-05: disconnect(true) sends 1 for every namespace
		// then closes.
		p.sendText(`2["bye",true]`)
		got := p.expectClosed()
		var texts []string
		for _, g := range got {
			texts = append(texts, string(g.Data))
		}
		if strings.Join(texts, " ") != "1 1/custom," {
			t.Fatalf("before close got %q, want [1 1/custom,]", texts)
		}
		for range 2 {
			if r := waitFor(t, disc); r != ReasonServerNamespaceDisconnect {
				t.Fatalf("reason %q", r)
			}
		}
	})
}

func TestSIODISC06ServerShutdown(t *testing.T) {
	disc := make(chan string, 1)
	srv, base := newTestServer(t, nil, func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) { so.OnDisconnect(func(r string) { disc <- r }) })
	})
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/", "")
	ctx, cancel := testCtx()
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.expectClosed(); len(got) != 0 {
		t.Fatalf("got %v, want no DISCONNECT", got)
	}
	if r := waitFor(t, disc); r != ReasonServerShuttingDown {
		t.Fatalf("reason %q", r)
	}
}

func TestSIODISC07TransportCloseReason(t *testing.T) {
	disc := make(chan string, 2)
	_, base := newTestServer(t, nil, func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) { so.OnDisconnect(func(r string) { disc <- r }) })
		s.Of("/custom").OnConnection(func(so *Socket) { so.OnDisconnect(func(r string) { disc <- r }) })
	})
	p := dial(t, base, "websocket", engineio.V4)
	p.connect("/", "")
	p.connect("/custom", "")
	p.Close()
	for range 2 {
		if r := waitFor(t, disc); r != ReasonTransportClose {
			t.Fatalf("reason %q, want %q", r, ReasonTransportClose)
		}
	}
}

func TestSIOERR01DecodeErrorReason(t *testing.T) {
	disc := make(chan string, 1)
	opts, errs := closeErrs()
	_, base := newTestServer(t, opts, func(s *Server) {
		s.Sockets().OnConnection(func(so *Socket) { so.OnDisconnect(func(r string) { disc <- r }) })
	})
	p := dial(t, base, "polling", engineio.V4)
	p.connect("/", "")
	p.sendText("2{}")
	p.expectClosed()
	wantReason(t, errs, ReasonForcedClose)
	if r := waitFor(t, disc); r != ReasonForcedClose {
		t.Fatalf("reason %q", r)
	}
}

func TestSIOBIN09PlaceholderKeyOrder(t *testing.T) {
	_, p, _ := start(t, "polling", nil)
	p.sendText(`51-["message",{"num":0,"_placeholder":true}]`)
	p.sendBinary([]byte{5})
	p.expectText(`51-["message-back",{"_placeholder":true,"num":0}]`)
	p.expectBinary([]byte{5})
}

// SIO-CONN-16: if the session closes while the middlewares run, nothing is
// sent and the connection handlers do not run.
func TestSIOCONN16CloseDuringMiddleware(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	connected := make(chan struct{}, 1)
	srv := NewServer(nil)
	srv.Sockets().Use(func(*Socket) error {
		close(entered)
		<-release
		return nil
	})
	srv.Sockets().OnConnection(func(*Socket) { connected <- struct{}{} })
	fs := &fakeSession{proto: engineio.V4}
	srv.reg.attach(fs)
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		fs.onMsg(engineio.Packet{Type: engineio.Message, Data: []byte("0")})
	}()
	waitFor(t, entered)
	fs.onClose(ReasonTransportClose, nil)
	close(release)
	waitFor(t, handled)
	ctx, cancel := testCtx()
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
		t.Fatal("connection handler ran for a closed session")
	default:
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.sent != 0 {
		t.Fatalf("%d packets sent to a closed session", fs.sent)
	}
	if n := len(srv.Sockets().Sockets()); n != 0 {
		t.Fatalf("%d sockets left", n)
	}
}
