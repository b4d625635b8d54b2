package suites

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/protocol/engineio"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// Broken variants for the Engine.IO rules whose specs wait for the server
// to end a session. Each breaks a rule in a way that the server's own ping
// timeout would have hidden from a harness that went silent while it
// waited: the session lives on until the heartbeat ends it.

// frameEdit decides the fate of one WebSocket message relayed for the
// upgrade request r: fromClient tells its direction, mt and b are its type
// and bytes. It returns the bytes to pass on (b itself, or a rewrite) and
// false to drop the message.
type frameEdit func(r *http.Request, fromClient bool, mt int, b []byte) ([]byte, bool)

// dropClient turns a predicate on the client's messages into a frameEdit
// that drops the messages it matches and passes everything else.
func dropClient(drop func(r *http.Request, mt int, b []byte) bool) frameEdit {
	return func(r *http.Request, fromClient bool, mt int, b []byte) ([]byte, bool) {
		return b, !fromClient || !drop(r, mt, b)
	}
}

// frameFilter relays WebSocket sessions to a fixture served on its own
// listener, passing every message in either direction through edit; every
// other request goes straight to the fixture. It breaks rules about what a
// server does with, or sends in, a frame without touching the reference
// code.
type frameFilter struct {
	fx    fixture.Fixture
	inner *httptest.Server
	edit  frameEdit
	// swallowPolls, when set, answers "ok" to a polling POST of a session
	// whose WebSocket is open (instead of the fixture's 400).
	swallowPolls bool
	up           websocket.Upgrader

	mu    sync.Mutex
	conns []*websocket.Conn
	live  map[string]int // sid → relayed WebSockets open
	wg    sync.WaitGroup
}

// filterFrames builds a variant from a fixture and a frame edit.
func filterFrames(fx fixture.Fixture, edit frameEdit) func() (http.Handler, func()) {
	return func() (http.Handler, func()) {
		f := newFrameFilter(fx, edit)
		return f, f.stop
	}
}

func newFrameFilter(fx fixture.Fixture, edit frameEdit) *frameFilter {
	return &frameFilter{fx: fx, inner: httptest.NewServer(fx), edit: edit, live: map[string]int{},
		up: websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}}
}

// isLive reports a session whose WebSocket is relayed right now.
func (f *frameFilter) isLive(sid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sid != "" && f.live[sid] > 0
}

func (f *frameFilter) track(c *websocket.Conn) {
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
}

func (f *frameFilter) stop() {
	_ = f.fx.Close(context.Background())
	f.mu.Lock()
	for _, c := range f.conns {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	f.inner.Close()
}

func (f *frameFilter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		if sid, ok := isPolling(r, http.MethodPost); ok && f.swallowPolls && f.isLive(sid) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("ok"))
			return
		}
		f.fx.ServeHTTP(w, r)
		return
	}
	u := "ws" + strings.TrimPrefix(f.inner.URL, "http") + r.URL.RequestURI()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	upstream, resp, err := d.DialContext(r.Context(), u, nil)
	if err != nil {
		status, body := http.StatusBadGateway, []byte(err.Error())
		if resp != nil {
			status = resp.StatusCode
			body, _ = io.ReadAll(resp.Body)
			_ = resp.Body.Close()
		}
		// Refused as the fixture refused it, socket closed after (EIO-WS-10).
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Connection", "close")
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	client, err := f.up.Upgrade(w, r, nil)
	if err != nil {
		_ = upstream.Close()
		return
	}
	f.track(upstream)
	f.track(client)
	sid := r.URL.Query().Get("sid")
	f.mu.Lock()
	f.live[sid]++
	f.mu.Unlock()
	f.wg.Add(2)
	relay := func(from, to *websocket.Conn, fromClient bool) {
		defer f.wg.Done()
		closeBoth := true
		defer func() {
			if closeBoth {
				_ = from.Close()
				_ = to.Close()
			}
		}()
		for {
			mt, b, err := from.ReadMessage()
			if err != nil {
				forwardClose(to, err)
				return
			}
			b, keep := f.edit(r, fromClient, mt, b)
			if !keep {
				continue
			}
			if err := to.WriteMessage(mt, b); err != nil {
				// The other side is gone (a server that refused an
				// oversized frame closes while it is still being
				// written): leave both connections to the opposite
				// relay, which reads that side's close frame and
				// forwards its code; closing here would race it and
				// show the client a close the server never sent.
				closeBoth = false
				return
			}
		}
	}
	go func() {
		relay(upstream, client, false)
		f.mu.Lock()
		f.live[sid]--
		f.mu.Unlock()
	}()
	go relay(client, upstream, true)
}

// undecodableFrame drops a client text frame that is not an Engine.IO
// packet of the connection's revision: the server never sees the parse
// error (breaks EIO-WS-06 and, for an unknown type digit, EIO-PKT-03).
func undecodableFrame(r *http.Request, mt int, b []byte) bool {
	v := engineio.V4
	if r.URL.Query().Get("EIO") == "3" {
		v = engineio.V3
	}
	_, err := engineio.ParseFrame(v, mt == websocket.BinaryMessage, b)
	return err != nil
}

// clientPing drops a client ping ("2" with no data) on an established
// WebSocket: the server never learns of the wrong heartbeat direction
// (breaks EIO-HB-06). The probe ("2probe") passes.
func clientPing(_ *http.Request, mt int, b []byte) bool {
	return mt == websocket.TextMessage && string(b) == "2"
}

// badV3PayloadIgnored breaks EIO3-10: a v3 POST body that does not decode
// as a length-prefixed payload is answered "ok" and never reaches the
// server, so the session lives on.
func badV3PayloadIgnored(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, ok := isPolling(r, http.MethodPost)
		if !ok || sid == "" || r.URL.Query().Get("EIO") != "3" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if _, derr := engineio.DecodePayload(engineio.V3, false, body); derr != nil {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("ok"))
			return
		}
		setBody(r, body)
		next.ServeHTTP(w, r)
	})
}

// upgradedPollAccepted breaks EIO-POLL-16: while a session's WebSocket is
// open, its polling POSTs are answered "ok" and dropped instead of being
// refused with 400; once the session ended they get the fixture's 400.
func upgradedPollAccepted() (http.Handler, func()) {
	f := newFrameFilter(fixture.NewEIO4(proofFixtureOptions()), func(_ *http.Request, _ bool, _ int, b []byte) ([]byte, bool) { return b, true })
	f.swallowPolls = true
	return f, f.stop
}

// sessionEndVariants are the variants whose rule is "the session ends";
// each was passed by the specs while they waited in silence.
func sessionEndVariants() []variant {
	eio4 := func() fixture.Fixture { return fixture.NewEIO4(proofFixtureOptions()) }
	eio3 := func() fixture.Fixture { return fixture.NewEIO3(proofFixtureOptions()) }
	return []variant{
		{"v3-bad-payload-ignored", "a malformed v3 payload ends the session", framework.EIO3,
			wrapped(eio3(), badV3PayloadIgnored), "area:polling", []string{"EIO3-10"}},
		{"invalid-frame-ignored", "an invalid packet on a WebSocket ends the session", framework.EIO4,
			filterFrames(eio4(), dropClient(undecodableFrame)), "area:websocket || area:packet", []string{"EIO-PKT-03", "EIO-WS-06"}},
		{"v3-invalid-frame-ignored", "an invalid packet on a v3 WebSocket ends the session", framework.EIO3,
			filterFrames(fixture.NewEIO3(bulkFixtureOptions()), dropClient(undecodableFrame)), "transport:websocket", []string{"EIO-PKT-03", "EIO-WS-06"}},
		{"client-ping-ignored", "a v4 server that receives a client ping ends the session", framework.EIO4,
			filterFrames(eio4(), dropClient(clientPing)), "area:heartbeat", []string{"EIO-HB-06"}},
		{"upgraded-poll-accepted", "polling on a session that moved to WebSocket gets 400", framework.EIO4,
			upgradedPollAccepted, "area:polling", []string{"EIO-POLL-16"}},
	}
}
