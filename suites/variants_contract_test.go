package suites

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/siospec/siospec/reference/fixture"
	"github.com/siospec/siospec/suites/framework"
)

// Broken variants for the configuration a fixture contract fixes
// (framework.Contract): each reference fixture below deviates from
// FX-EIO4's configuration in one option. The specs used to read such a
// target's configuration as permission (unsupported, or a pass of a rule
// about another configuration); now the spec of the option fails.

// setCookie is the Set-Cookie of a server configured with engine.io's
// sticky-session cookie (breaks EIO-HS-10 under FX-EIO4's "no cookie").
func setCookie(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sid, ok := isPolling(r, http.MethodGet); !ok || sid != "" {
			next.ServeHTTP(w, r)
			return
		}
		status, h, body := bufferResponse(next, r)
		if m := openSID.FindSubmatch(body); m != nil {
			h.Add("Set-Cookie", "io="+string(m[1])+"; Path=/; HttpOnly; SameSite=Lax")
		}
		writeResponse(w, status, h, body)
	})
}

// noCORSWriter drops every Access-Control-* header before the status line
// goes out.
type noCORSWriter struct{ http.ResponseWriter }

func (w noCORSWriter) strip() {
	for k := range w.Header() {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			w.Header().Del(k)
		}
	}
}

func (w noCORSWriter) WriteHeader(code int) { w.strip(); w.ResponseWriter.WriteHeader(code) }

func (w noCORSWriter) Write(b []byte) (int, error) { w.strip(); return w.ResponseWriter.Write(b) }

// Unwrap lets the fixture's http.ResponseController reach the connection.
func (w noCORSWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withoutCORS serves the fixture as a server without CORS configuration
// does: no Access-Control-* header on any answer (breaks EIO-CORS-02 under
// FX-EIO4's origin *). WebSocket upgrades pass untouched (they need the
// connection's Hijacker).
func withoutCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(noCORSWriter{w}, r)
	})
}

// openMaxPayload matches the maxPayload member of an open packet.
var openMaxPayload = regexp.MustCompile(`,"maxPayload":\d+`)

func contractVariants() []variant {
	eio4 := func() fixture.Fixture { return fixture.NewEIO4(proofFixtureOptions()) }
	return []variant{
		{"session-cookie", "a server under FX-EIO4 sets no session cookie", framework.EIO4,
			wrapped(eio4(), setCookie), "area:handshake && transport:polling", []string{"EIO-HS-10"}},
		// EIO-CORS-01 (no CORS configured) and EIO-CORS-03 (credentialed
		// CORS) concern configurations FX-EIO4 does not have: they stay
		// unsupported, and EIO-CORS-04 still passes.
		{"cors-not-configured", "a server under FX-EIO4 allows origin * on every answer", framework.EIO4,
			wrapped(eio4(), withoutCORS), "area:cors", []string{"EIO-CORS-02"}},
		// The v4 fixture hands every EIO=3 request to the v3 fixture, as
		// allowEIO3: true does; a missing or non-numeric EIO is still
		// refused, so EIO-URL-02 passes.
		{"eio3-accepted-on-v4", "a server under FX-EIO4 refuses EIO=3 (allowEIO3 false)", framework.EIO4,
			func() (http.Handler, func()) {
				v4, v3 := eio4(), fixture.NewEIO3(proofFixtureOptions())
				h := beforeFixture(v4, func(w http.ResponseWriter, r *http.Request) bool {
					if !isV3(r) {
						return false
					}
					v3.ServeHTTP(w, r)
					return true
				})
				return h, func() {
					_ = v4.Close(context.Background())
					_ = v3.Close(context.Background())
				}
			},
			"area:url", []string{"EIO-URL-03"}},
		// The polling open packet loses maxPayload while the server still
		// enforces 1e6: only the spec of the handshake field fails; the
		// other limit specs judge the enforced limit against the
		// contract's value and pass.
		{"max-payload-unadvertised", "a server under FX-EIO4 advertises maxPayload 1000000", framework.EIO4,
			wrapped(eio4(), func(h http.Handler) http.Handler { return rewritePollGET(h, openMaxPayload, "", true) }),
			"area:limits && transport:polling", []string{"EIO-LIMIT-01"}},
	}
}

// contractNoVariant: every rule of this family has a variant.
func contractNoVariant() map[string]string { return nil }
