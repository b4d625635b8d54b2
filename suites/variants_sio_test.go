package suites

import (
	"net/http"
	"strings"
	"sync"

	"github.com/siospec/siospec/protocol/engineio"
	sio "github.com/siospec/siospec/protocol/socketio"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// The Socket.IO "silence as proof" variants (issue 9, item 2): each breaks
// a rule whose old spec accepted "nothing happened" as a pass. The old
// spec passes the variant; the spec with its positive observation fails it.

// sioPostRewriter rewrites the Socket.IO messages of polling POST bodies,
// one session at a time. For each text message of a session, rewrite
// returns the messages to forward in its place (none drops it). Other
// Engine.IO packets (pongs, close, binary attachments) pass unchanged.
type sioPostRewriter struct {
	next    http.Handler
	mu      sync.Mutex
	state   map[string]*sioPostState
	rewrite func(st *sioPostState, v sio.Version, text string) []string
}

// sioPostState is what a rewriter remembers of one Engine.IO session.
type sioPostState struct {
	// joined holds the namespaces the client sent a CONNECT for and has
	// not left (as far as the server was told).
	joined map[string]bool
	// pending holds DISCONNECTs dropped and not yet delivered, by
	// namespace.
	pending map[string]string
	// dead is set once the session's messages are swallowed.
	dead bool
}

func rewriteSIOPosts(next http.Handler, rewrite func(st *sioPostState, v sio.Version, text string) []string) http.Handler {
	return &sioPostRewriter{next: next, state: map[string]*sioPostState{}, rewrite: rewrite}
}

func (rw *sioPostRewriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sid, ok := isPolling(r, http.MethodPost)
	if !ok || sid == "" || strings.HasPrefix(r.Header.Get("Content-Type"), "application/octet-stream") {
		rw.next.ServeHTTP(w, r)
		return
	}
	sv := sio.V5
	if r.URL.Query().Get("EIO") == "3" {
		sv = sio.V4
	}
	editPostPackets(w, r, rw.next, func(pkts []engineio.Packet) []engineio.Packet {
		rw.mu.Lock()
		defer rw.mu.Unlock()
		st := rw.state[sid]
		if st == nil {
			st = &sioPostState{joined: map[string]bool{}, pending: map[string]string{}}
			rw.state[sid] = st
		}
		var kept []engineio.Packet
		for _, p := range pkts {
			if p.Type != engineio.Message || p.Binary {
				kept = append(kept, p)
				continue
			}
			for _, t := range rw.rewrite(st, sv, string(p.Data)) {
				kept = append(kept, engineio.TextPacket(engineio.Message, t))
			}
		}
		return kept
	})
}

// decodeSIO decodes a client message for a rewriter; ok is false for
// anything that does not decode.
func decodeSIO(v sio.Version, text string) (sio.Packet, bool) {
	p, err := sio.Decoder{Version: v}.Decode([]byte(text))
	return p, err == nil
}

// trackJoins records CONNECTs and DISCONNECTs in st.joined.
func trackJoins(st *sioPostState, p sio.Packet) {
	switch p.Type {
	case sio.Connect:
		st.joined[p.Namespace()] = true
	case sio.Disconnect:
		delete(st.joined, p.Namespace())
	}
}

// ignoreDisconnect breaks SIO-DISC-01 for namespace nsp: the client's
// DISCONNECT (without payload) for nsp, once nsp was joined, never reaches
// the server. A DISCONNECT for a namespace not joined (SIO-DISC-03) and one
// with a payload (SIO-DISC-02) still do. With deferUntilConnect the dropped
// DISCONNECT is delivered right before the client's next CONNECT to nsp,
// as by a server that only notices a left namespace when it is joined again
// (so a rejoin works and no duplicate CONNECT shows).
func ignoreDisconnect(nsp string, deferUntilConnect bool) func(*sioPostState, sio.Version, string) []string {
	return func(st *sioPostState, v sio.Version, text string) []string {
		p, ok := decodeSIO(v, text)
		if !ok {
			return []string{text}
		}
		if p.Namespace() == nsp {
			switch {
			case p.Type == sio.Disconnect && p.Data == nil && st.joined[nsp]:
				delete(st.joined, nsp)
				if deferUntilConnect {
					st.pending[nsp] = text
				}
				return nil
			case p.Type == sio.Connect && st.pending[nsp] != "":
				d := st.pending[nsp]
				delete(st.pending, nsp)
				st.joined[nsp] = true
				return []string{d, text}
			}
		}
		trackJoins(st, p)
		return []string{text}
	}
}

// deadAfter breaks the liveness a "nothing happens" spec takes for
// granted: once the client sent a message that trigger matches, every
// later Socket.IO message of that session is swallowed (answered "ok",
// never handled), as by a server whose session stalls on that message.
// Pongs still pass, so the session stays open and silent.
func deadAfter(trigger func(sio.Packet) bool) func(*sioPostState, sio.Version, string) []string {
	return func(st *sioPostState, v sio.Version, text string) []string {
		if st.dead {
			return nil
		}
		if p, ok := decodeSIO(v, text); ok && trigger(p) {
			st.dead = true
		}
		return []string{text}
	}
}

// ackWithArgs reports an ACK whose payload is exactly args (compact JSON).
func ackWithArgs(args string) func(sio.Packet) bool {
	return func(p sio.Packet) bool { return p.Type == sio.Ack && string(p.Data) == args }
}

// joinsRoomPrefixed reports an ext:join event for a room named with prefix.
func joinsRoomPrefixed(prefix string) func(sio.Packet) bool {
	return func(p sio.Packet) bool {
		if p.Type != sio.Event {
			return false
		}
		name, err := p.EventName()
		if err != nil || name != "ext:join" {
			return false
		}
		a, err := p.Args()
		if err != nil || len(a) != 1 {
			return false
		}
		room, ok := a[0].(string)
		return ok && strings.HasPrefix(room, prefix)
	}
}

func sioSilenceVariants() []variant {
	sio5 := func() fixture.Fixture { return fixture.NewSIO5(nil) }
	sio4 := func() fixture.Fixture { return fixture.NewSIO4(nil) }
	return []variant{
		{"disconnect-main-ignored", "a DISCONNECT for / ends the main namespace", framework.SIO5,
			wrapped(sio5(), func(h http.Handler) http.Handler { return rewriteSIOPosts(h, ignoreDisconnect("/", false)) }),
			"area:disconnect && transport:polling && !extended", []string{"SIO-DISC-01"}},
		{"disconnect-custom-deferred", "a DISCONNECT for /custom ends that namespace at once", framework.SIO5,
			wrapped(sio5(), func(h http.Handler) http.Handler { return rewriteSIOPosts(h, ignoreDisconnect("/custom", true)) }),
			"area:disconnect && transport:polling && !extended", []string{"SIO-DISC-01"}},
		{"disconnect-custom-ignored-v4", "a v4 DISCONNECT for /custom ends that namespace", framework.SIO4,
			wrapped(sio4(), func(h http.Handler) http.Handler { return rewriteSIOPosts(h, ignoreDisconnect("/custom", false)) }),
			"area:disconnect && transport:polling", []string{"SIO-DISC-01"}},
		// SIO-ENC-03 reads 41/custom (no comma) as leaving /custom; the
		// same deferred DISCONNECT breaks it.
		{"disconnect-custom-deferred-encoding", "41/custom without a comma is a DISCONNECT for /custom", framework.SIO5,
			wrapped(sio5(), func(h http.Handler) http.Handler { return rewriteSIOPosts(h, ignoreDisconnect("/custom", true)) }),
			"area:packet && transport:polling && !extended", []string{"SIO-ENC-03"}},
		{"stale-ack-stalls-session", "a stale ACK is ignored and the session goes on", framework.SIO5,
			wrapped(sio5(), func(h http.Handler) http.Handler { return rewriteSIOPosts(h, deadAfter(ackWithArgs(`["late"]`))) }),
			"area:ack && transport:polling && extended", []string{"SIO-ACK-09"}},
		{"broadcast-receiver-stalls", "a broadcast receiver's session goes on after the broadcast", framework.SIO5,
			wrapped(sio5(), func(h http.Handler) http.Handler {
				return rewriteSIOPosts(h, deadAfter(joinsRoomPrefixed("siospec-nsp02-")))
			}),
			"area:namespace && transport:polling && extended", []string{"SIO-NSP-02"}},
	}
}
