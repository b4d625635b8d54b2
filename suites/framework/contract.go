package framework

import (
	"fmt"
	"time"
)

// Setting is a yes/no server option as a fixture contract states it: on,
// off, or not fixed by the contract at all.
type Setting int

// The values of a Setting.
const (
	// Unfixed: the contract says nothing about the option. A spec whose
	// rule depends on it judges the target only when the target shows the
	// configuration the rule concerns, and is otherwise unsupported; the
	// preflight records what the target showed.
	Unfixed Setting = iota
	// On: the contract configures the option; a target without it fails
	// the specs that depend on it.
	On
	// Off: the contract leaves the option out; a target that shows it
	// fails the specs that depend on it.
	Off
)

func (s Setting) String() string {
	switch s {
	case On:
		return "on"
	case Off:
		return "off"
	}
	return "not fixed"
}

// ReflectOrigin is the CORS origin of a contract under which the server
// answers a request's Origin with that same origin (engine.io 3's
// behaviour) instead of a fixed value.
const ReflectOrigin = "<the request's Origin>"

// Contract is the server configuration a suite's fixture contract
// prescribes (testees/node/CONTRACT.md, "Official part"; FX-EIO4, FX-EIO3
// and FX-SIO5 in docs/requirements.md). A target tested by a suite is
// judged against its suite's contract: a spec whose rule depends on an
// option the contract fixes fails a target that deviates from it, with an
// observed line naming the contract's value and the target's; a rule about
// a configuration the contract does not have is unsupported, with a reason
// naming the contract. Heartbeat timings are not part of it: specs derive
// their budgets from the values the target advertises.
type Contract struct {
	// Name is the contract's name, e.g. "FX-EIO4".
	Name string
	// Path is the path prefix the contract serves at.
	Path string
	// Transports are the transports the contract enables.
	Transports []string
	// MaxPayload is maxPayload (maxHttpBufferSize) in bytes; 0 when the
	// contract does not fix it.
	MaxPayload int64
	// CORS says whether CORS is configured.
	CORS Setting
	// CORSOrigin is the Access-Control-Allow-Origin the contract's CORS
	// configuration sends for a request with an Origin header: "*" or
	// ReflectOrigin. Empty unless CORS is On.
	CORSOrigin string
	// CORSCredentials says whether the CORS configuration allows
	// credentials (Access-Control-Allow-Credentials: true).
	CORSCredentials Setting
	// Cookie says whether the handshake sets a sticky-session cookie.
	Cookie Setting
	// AllowEIO3 says whether Engine.IO v3 sessions (EIO=3) are accepted.
	AllowEIO3 Setting
	// JSONP says whether JSONP polling (the j parameter) is served.
	JSONP Setting
	// Recovery says whether Socket.IO connection state recovery is on.
	Recovery Setting
	// ConnectTimeout is the Socket.IO connectTimeout; 0 when the contract
	// has none (Engine.IO suites, Socket.IO v4).
	ConnectTimeout time.Duration
}

// ContractFor returns the fixture contract of suite p (FX-EIO4 for an
// unknown suite), as testees/node/CONTRACT.md states it for the Node
// fixtures (eio4.js, eio3.js, sio5.js, sio4.js) and reference/fixture
// implements it; a fresh value on every call. Every contract lists polling
// and WebSocket, maxPayload 1 000 000 and no connection state recovery.
// JSONP polling is left unfixed everywhere: no contract names it (Node's
// engines serve it whatever the configuration, other servers need not).
func ContractFor(p Proto) Contract {
	ct := Contract{
		Name: "FX-EIO4", Path: DefaultPath, Transports: []string{"polling", "websocket"}, MaxPayload: 1_000_000,
		CORS: On, CORSOrigin: "*", CORSCredentials: Off, Cookie: Off, AllowEIO3: Off, JSONP: Unfixed, Recovery: Off,
	}
	switch p {
	case EIO3:
		// FX-EIO4 with allowEIO3 true. CONTRACT.md also allows the legacy
		// engine.io 3.6 (--engine 3), which reflects the origin with
		// credentials and sets an io cookie: no v3 spec depends on
		// either, so the preflight only records them.
		ct.Name, ct.AllowEIO3 = "FX-EIO3", On
	case SIO5:
		// socket.io 4.8: path /socket.io/, CORS origin *, allowEIO3
		// false, connectTimeout 1000 ms (--connect-timeout overrides it).
		ct.Name, ct.Path, ct.ConnectTimeout = "FX-SIO5", DefaultSIOPath, DefaultConnectTimeout
	case SIO4:
		// The FX-SIO5 equivalent on socket.io 2.5 (Socket.IO v4 over
		// Engine.IO v3): engine.io 3 reflects the origin with credentials
		// and sets an io cookie by default; there is no connectTimeout.
		ct.Name, ct.Path, ct.AllowEIO3 = "FX-SIO4", DefaultSIOPath, On
		ct.CORSOrigin, ct.CORSCredentials, ct.Cookie = ReflectOrigin, On, Unfixed
	}
	return ct
}

// Contract returns the fixture contract c's specs are judged against: its
// suite's when c holds exactly one suite (as Config.For makes it), else
// the Engine.IO contract of its revision.
func (c *Config) Contract() Contract {
	if len(c.Suites) == 1 {
		return ContractFor(c.Suites[0])
	}
	return ContractFor(c.Version())
}

// Requires renders what the contract fixes about a configuration, for an
// observed line or a failure message: "the fixture contract FX-EIO4
// requires <what>".
func (ct Contract) Requires(format string, args ...any) string {
	return "the fixture contract " + ct.Name + " requires " + fmt.Sprintf(format, args...)
}

// Unsupported renders the reason of a spec whose rule concerns a
// configuration the contract does not have: "unsupported: the fixture
// contract FX-EIO4 <has>; this rule concerns <rule>".
func (ct Contract) Unsupported(has, rule string) string {
	return "unsupported: the fixture contract " + ct.Name + " " + has + "; this rule concerns " + rule
}
