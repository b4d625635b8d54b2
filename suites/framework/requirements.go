package framework

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Level is the requirement level of a registered requirement.
type Level string

// Requirement levels (docs/requirements.md). Rules that only note
// behaviour are recorded as EDGE: they document behaviour and never gate.
const (
	MUST   Level = "MUST"
	SHOULD Level = "SHOULD"
	MAY    Level = "MAY"
	NODE   Level = "NODE"
	EDGE   Level = "EDGE"
)

// Gates reports whether a failure at level l can fail a run (MUST always,
// SHOULD and NODE under --strict).
func (l Level) Gates() bool { return l == MUST || l == SHOULD || l == NODE }

// Proto is a protocol revision label value.
type Proto string

// Protocol revisions as they appear in proto: labels.
const (
	EIO4 Proto = "EIO4"
	EIO3 Proto = "EIO3"
	SIO5 Proto = "SIO5"
	SIO4 Proto = "SIO4"
	// NET is the network-failure suite (requirements_net.go). It runs over
	// the Socket.IO revision the target speaks (v5, or v4 over Engine.IO
	// v3) and is not in AllSuites: see NetSuites.
	NET Proto = "NET"
)

// IsSocketIO reports whether p is a Socket.IO suite (SIO5, SIO4).
// NET counts as Socket.IO: its workload is Socket.IO events.
func (p Proto) IsSocketIO() bool { return p == SIO5 || p == SIO4 || p == NET }

// EIO returns the Engine.IO revision the suite's client speaks: 3 for EIO3
// and SIO4 (Socket.IO v4 runs over Engine.IO v3), 4 otherwise.
func (p Proto) EIO() int {
	if p == EIO3 || p == SIO4 {
		return 3
	}
	return 4
}

// DefaultPath returns the suite's default path prefix: DefaultSIOPath for
// the Socket.IO suites, DefaultPath for the Engine.IO ones.
func (p Proto) DefaultPath() string {
	if p.IsSocketIO() {
		return DefaultSIOPath
	}
	return DefaultPath
}

// Bind tells which side a requirement binds.
type Bind string

// Binding sides (docs/requirements.md).
const (
	BindServer Bind = "S"
	BindBoth   Bind = "B"
	BindClient Bind = "C"
)

// BindsServer reports whether a requirement on side b binds servers (S or B).
func (b Bind) BindsServer() bool { return b == BindServer || b == BindBoth }

// BindsClient reports whether a requirement on side b binds clients (C or B).
func (b Bind) BindsClient() bool { return b == BindClient || b == BindBoth }

// Requirement is one requirement of the catalogue (server-binding,
// client-binding or both), summarised in siospec's own words;
// docs/requirements.md states every one.
type Requirement struct {
	ID      string
	Bind    Bind
	Level   Level
	Proto   Proto
	Area    string
	Summary string
	// Source holds the requirement's source letters: P spec text, T official
	// suite, N Node source, I interop issues.
	Source string
}

// IsSocketIO reports whether r belongs to the Socket.IO layer.
func (r Requirement) IsSocketIO() bool { return r.Proto == SIO5 || r.Proto == SIO4 }

// Registry is the frozen set of requirements, indexed by ID.
type Registry struct {
	byID    map[string]Requirement
	order   []string // the suites' requirements (All)
	interop []string // the interop matrix's own (Interop)
}

// Lookup returns the requirement with the given ID.
func (g *Registry) Lookup(id string) (Requirement, bool) {
	r, ok := g.byID[id]
	return r, ok
}

// All returns every requirement the suites check, in registry order; the
// interop matrix's own rows (IOP-*) are left out: see Interop.
func (g *Registry) All() []Requirement {
	out := make([]Requirement, 0, len(g.order))
	for _, id := range g.order {
		out = append(out, g.byID[id])
	}
	return out
}

// Interop returns the interop matrix's own requirements (proto IOP,
// requirements_interop.go), which no suite checks. Lookup finds them too.
func (g *Registry) Interop() []Requirement {
	out := make([]Requirement, 0, len(g.interop))
	for _, id := range g.interop {
		out = append(out, g.byID[id])
	}
	return out
}

// Requirements returns the registry of every requirement, server- and
// client-binding (Engine.IO v4 and v3, Socket.IO v5 and v4, Node
// behaviour; docs/requirements.md). Each call builds a fresh value;
// callers may keep it.
func Requirements() *Registry {
	g := &Registry{byID: make(map[string]Requirement, len(catalogue)+len(clientCatalogue)+len(netCatalogue)+len(clusterCatalogue)+len(interopCatalogue))}
	for _, r := range slices.Concat(catalogue, clientCatalogue, netCatalogue, clusterCatalogue, interopCatalogue) {
		if _, dup := g.byID[r.ID]; dup {
			panic(fmt.Sprintf("framework: duplicate requirement %s", r.ID))
		}
		g.byID[r.ID] = r
		if r.Proto == IOP {
			g.interop = append(g.interop, r.ID)
		} else {
			g.order = append(g.order, r.ID)
		}
	}
	return g
}

// SortIDs sorts requirement IDs by prefix and then numerically.
func SortIDs(ids []string) {
	sort.Slice(ids, func(i, j int) bool { return idLess(ids[i], ids[j]) })
}

func idLess(a, b string) bool {
	ai, bi := strings.LastIndexByte(a, '-'), strings.LastIndexByte(b, '-')
	if ai < 0 || bi < 0 || a[:ai] != b[:bi] {
		return a < b
	}
	if len(a[ai:]) != len(b[bi:]) {
		return len(a[ai:]) < len(b[bi:])
	}
	return a < b
}

func req(id string, bind Bind, lvl Level, proto Proto, area, summary, src string) Requirement {
	return Requirement{ID: id, Bind: bind, Level: lvl, Proto: proto, Area: area, Summary: summary, Source: src}
}

const s, b = BindServer, BindBoth

// catalogue lists the server-binding requirements. Summaries are siospec's
// own words; docs/requirements.md is generated from them.
var catalogue = []Requirement{
	// 1.1 Endpoint and query parameters.
	req("EIO-URL-01", s, MUST, EIO4, "url", "Engine.IO lives under one configurable path prefix; requests outside it are not served as Engine.IO.", "P,N"),
	req("EIO-URL-02", b, MUST, EIO4, "url", "The EIO query parameter is required and 4 selects the v4 protocol; a missing or non-numeric value opens no v4 session.", "P,T"),
	req("EIO-URL-03", s, NODE, EIO4, "url", "Node maps every EIO value except 4 to v3 and refuses it with code 5 unless v3 is enabled.", "N"),
	req("EIO-URL-04", b, MUST, EIO4, "url", "The transport parameter is required and is polling or websocket; anything else is refused with 400.", "P,T,N"),
	req("EIO-URL-05", b, MUST, EIO4, "url", "Polling requests after the handshake carry sid; a POST without sid is a failed handshake attempt.", "P"),
	req("EIO-URL-06", s, MUST, EIO4, "url", "The cache-buster t and unknown query parameters change nothing.", "P,N"),
	req("EIO-URL-08", b, EDGE, EIO4, "url", "With b64=1 a Node v4 WebSocket session sends binary as b-prefixed base64 text frames.", "N"),
	req("EIO-URL-09", s, EDGE, EIO4, "url", "The j parameter selects JSONP polling, answered with a ___eio[n](...) script.", "N"),
	// 1.2 Handshake.
	req("EIO-HS-01", s, MUST, EIO4, "handshake", "A request without sid opens a session: polling GET answers 200 starting with the open packet, WebSocket sends it as the first text frame.", "P,T"),
	req("EIO-HS-02", s, MUST, EIO4, "handshake", "The open packet JSON has exactly sid, upgrades, pingInterval, pingTimeout and maxPayload with the right JSON types.", "P,T"),
	req("EIO-HS-03", s, MUST, EIO4, "handshake", "upgrades names only better transports: websocket from polling, nothing from WebSocket.", "P,T,N"),
	req("EIO-HS-04", s, MUST, EIO4, "handshake", "The advertised timings and limit are the server's configuration, identical on every transport.", "T"),
	req("EIO-HS-05", s, SHOULD, EIO4, "handshake", "Session ids are unique, unpredictable and URL-safe.", "N"),
	req("EIO-HS-06", s, NODE, EIO4, "handshake", "The handshake polling response holds the open packet alone.", "N"),
	req("EIO-HS-07", s, MUST, EIO4, "handshake", "Only GET can open a session; other methods without sid get 400 (code 2 on Node).", "T,N"),
	req("EIO-HS-08", s, NODE, EIO4, "handshake", "A plain GET for transport=websocket without Upgrade and sid gets 400 code 3.", "N"),
	req("EIO-HS-09", s, MAY, EIO4, "handshake", "An application hook may refuse a handshake: 403 code 4 on polling.", "N"),
	req("EIO-HS-10", s, MAY, EIO4, "handshake", "A sticky-session cookie is sent only when configured.", "N"),
	// 1.3 Packet model.
	req("EIO-PKT-01", b, MUST, EIO4, "packet", "Every packet is one type digit 0-6 and optional data.", "P"),
	req("EIO-PKT-02", b, MUST, EIO4, "packet", "Text is UTF-8 and survives a round trip byte for byte.", "P"),
	req("EIO-PKT-03", s, MUST, EIO4, "packet", "An invalid packet type is a parse error that ends the session.", "T"),
	req("EIO-PKT-04", b, MUST, EIO4, "packet", "Packet types flow only in their allowed direction: the server never sends open after the handshake, nor pong or upgrade.", "P"),
	req("EIO-PKT-05", s, NODE, EIO4, "packet", "Node ignores open, upgrade and noop from the client on an established transport.", "N"),
	req("EIO-PKT-06", b, EDGE, EIO4, "packet", "An empty message 4 is legal and an echo server returns 4.", "N"),
	// 1.4 Polling.
	req("EIO-POLL-01", s, MUST, EIO4, "polling", "A GET with a valid sid returns buffered packets, or waits until one exists (at the latest the next ping).", "P,T"),
	req("EIO-POLL-02", b, MUST, EIO4, "polling", "A v4 payload joins packets with 0x1E and has no separator at either end.", "P,T"),
	req("EIO-POLL-03", s, SHOULD, EIO4, "polling", "All packets buffered when a GET is served go out in that one response, in order.", "T"),
	req("EIO-POLL-04", s, MUST, EIO4, "polling", "A POST body is a payload; success is 200 with body ok.", "P,T,N"),
	req("EIO-POLL-05", s, MUST, EIO4, "polling", "Every packet of a large multi-packet POST is processed, in order.", "P,I"),
	req("EIO-POLL-06", s, MUST, EIO4, "polling", "An unknown sid on GET or POST gets 400 (Node: code 1 JSON).", "P,T,N"),
	req("EIO-POLL-07", s, MUST, EIO4, "polling", "A second concurrent GET gets 400 and the session closes.", "P,T,N"),
	req("EIO-POLL-08", s, MUST, EIO4, "polling", "A second concurrent POST gets 400 and the session closes.", "P,N"),
	req("EIO-POLL-09", s, MUST, EIO4, "polling", "Aborting a pending GET ends the session.", "T"),
	req("EIO-POLL-10", s, NODE, EIO4, "polling", "Aborting a POST mid-body ends the session.", "N"),
	req("EIO-POLL-11", s, MUST, EIO4, "polling", "A POST with an undecodable packet ends the session.", "T,N"),
	req("EIO-POLL-12", s, EDGE, EIO4, "polling", "An empty POST body is a parse error on Node v4.", "N"),
	req("EIO-POLL-13", s, NODE, EIO4, "polling", "A v4 POST sent as application/octet-stream is refused and ends the session.", "N"),
	req("EIO-POLL-14", s, NODE, EIO4, "polling", "GET responses are text/plain UTF-8 with no-store caching, and large ones are compressed when allowed.", "N"),
	req("EIO-POLL-15", s, EDGE, EIO4, "polling", "Another method with a valid sid gets 500 and leaves the session alone.", "N"),
	req("EIO-POLL-16", s, MUST, EIO4, "polling", "Polling on a session that moved to WebSocket gets 400.", "T,N"),
	req("EIO-POLL-19", b, EDGE, EIO4, "polling", "A record separator inside text splits the payload on Node.", "P,N"),
	req("EIO-POLL-20", s, NODE, EIO4, "polling", "A server-side close completes a pending GET with 1, or the next GET with 6 then 1.", "N"),
	// 1.5 Binary.
	req("EIO-BIN-01", b, MUST, EIO4, "binary", "Polling binary is b plus padded standard base64, always a message.", "P,T"),
	req("EIO-BIN-02", b, MUST, EIO4, "binary", "Text and binary packets mix freely in one payload.", "P,T"),
	req("EIO-BIN-03", b, MUST, EIO4, "binary", "A WebSocket binary message is one binary frame with exactly the bytes, no type byte.", "P,T"),
	req("EIO-BIN-04", s, NODE, EIO4, "binary", "Node reads a text frame b<base64> as a binary message.", "N"),
	req("EIO-BIN-05", b, NODE, EIO4, "binary", "v4 polling binary is base64 text; octet-stream bodies belong to v3.", "P,N"),
	req("EIO-BIN-06", b, EDGE, EIO4, "binary", "A zero-length binary message is legal.", "N"),
	// 1.6 WebSocket.
	req("EIO-WS-01", s, MUST, EIO4, "websocket", "A WebSocket handshake answers 101 and sends the open packet with no upgrades first.", "P,T"),
	req("EIO-WS-02", b, MUST, EIO4, "websocket", "One WebSocket message carries one packet; 0x1E inside a text frame does not split it.", "P,N"),
	req("EIO-WS-03", s, MUST, EIO4, "websocket", "A WebSocket request with a bad or missing EIO or transport gets no session and is closed.", "P,T,N"),
	req("EIO-WS-04", s, MUST, EIO4, "websocket", "A WebSocket upgrade naming an unknown sid is refused.", "N"),
	req("EIO-WS-05", s, MUST, EIO4, "websocket", "A second WebSocket for a session that already has one is closed and the first keeps working.", "P,T"),
	req("EIO-WS-06", s, MUST, EIO4, "websocket", "An invalid packet on a WebSocket ends the session.", "T"),
	req("EIO-WS-07", b, MUST, EIO4, "websocket", "WebSocket control pings and pongs are not the Engine.IO heartbeat.", "P,I"),
	req("EIO-WS-08", s, NODE, EIO4, "websocket", "A server-side close of a WebSocket session is a bare close frame without a 1 packet.", "N"),
	req("EIO-WS-09", s, NODE, EIO4, "websocket", "permessage-deflate is not negotiated by default.", "N"),
	req("EIO-WS-10", s, NODE, EIO4, "websocket", "A refused WebSocket upgrade is a raw HTTP 400 and the socket is closed.", "N"),
	req("EIO-WS-11", s, EDGE, EIO4, "websocket", "Invalid UTF-8 in a text frame closes with 1007.", "N"),
	// 1.7 Upgrade.
	req("EIO-UPG-03", s, MUST, EIO4, "upgrade", "The probe WebSocket answers 2probe with 3probe.", "P,T"),
	req("EIO-UPG-04", s, MUST, EIO4, "upgrade", "Once probed, pending and new GETs are released with a noop.", "P,T,I"),
	req("EIO-UPG-06", s, MUST, EIO4, "upgrade", "After the upgrade packet the session runs on the WebSocket.", "P,T"),
	req("EIO-UPG-07", s, MUST, EIO4, "upgrade", "Polling with an upgraded sid gets 400.", "T"),
	req("EIO-UPG-08", s, MUST, EIO4, "upgrade", "Another WebSocket with an upgraded sid is closed; the first keeps working.", "T"),
	req("EIO-UPG-09", s, NODE, EIO4, "upgrade", "A packet other than the probe or upgrade on the probe socket closes that socket and leaves polling alive.", "N"),
	req("EIO-UPG-10", s, NODE, EIO4, "upgrade", "A probe socket that never sends upgrade is closed after upgradeTimeout; polling goes on.", "N"),
	req("EIO-UPG-11", s, MUST, EIO4, "upgrade", "The upgrade packet is accepted right after 2probe without waiting for 3probe.", "T"),
	req("EIO-UPG-12", b, MUST, EIO4, "upgrade", "No message is lost, duplicated or reordered by the upgrade.", "P"),
	req("EIO-UPG-14", s, NODE, EIO4, "upgrade", "The heartbeat continues across the upgrade.", "N"),
	req("EIO-UPG-15", s, SHOULD, EIO4, "upgrade", "An upgrade packet with data is still accepted.", "I"),
	// 1.8 Heartbeat.
	req("EIO-HB-01", s, MUST, EIO4, "heartbeat", "The server pings every pingInterval, the first one pingInterval after the open packet.", "P,T"),
	req("EIO-HB-03", s, SHOULD, EIO4, "heartbeat", "Without a pong within pingTimeout of a ping the server ends the session.", "P,T"),
	req("EIO-HB-05", s, NODE, EIO4, "heartbeat", "Only pongs keep the session alive; the next ping is scheduled pingInterval after a pong.", "N"),
	req("EIO-HB-06", s, NODE, EIO4, "heartbeat", "A v4 server that receives a ping from the client ends the session.", "N"),
	req("EIO-HB-07", b, MUST, EIO4, "heartbeat", "v4 pings and pongs carry no data (probe excepted).", "T"),
	req("EIO-HB-08", s, EDGE, EIO4, "heartbeat", "An unsolicited pong delays Node's next ping.", "N"),
	req("EIO-HB-10", b, EDGE, EIO4, "heartbeat", "On polling the pong deadline runs even while no GET is pending.", "T"),
	// 1.9 Close.
	req("EIO-CLOSE-01", b, MUST, EIO4, "close", "On polling a client closes by POSTing a close packet; the server ends the session, releases the pending GET with a noop and answers ok.", "P,T,N"),
	req("EIO-CLOSE-03", s, MUST, EIO4, "close", "A close packet on a WebSocket ends the session (Node only through the ping timeout).", "T,N"),
	req("EIO-CLOSE-04", s, NODE, EIO4, "close", "A server-initiated close is 1 on polling and a close frame on WebSocket.", "N"),
	req("EIO-CLOSE-06", s, MUST, EIO4, "close", "After a close every request with the old sid is refused.", "T"),
	req("EIO-CLOSE-07", s, NODE, EIO4, "close", "A graceful server close flushes what was already queued.", "N"),
	// 1.10 Limits.
	req("EIO-LIMIT-01", s, MUST, EIO4, "limits", "maxPayload advertises the largest POST body accepted.", "P,T"),
	req("EIO-LIMIT-02", s, NODE, EIO4, "limits", "A POST body over the limit gets 413 with an empty body.", "N,I"),
	req("EIO-LIMIT-03", s, NODE, EIO4, "limits", "A WebSocket message over the limit closes the socket with 1009.", "N"),
	req("EIO-LIMIT-05", s, NODE, EIO4, "limits", "Server-to-client payloads are not capped by maxPayload.", "N"),
	req("EIO-LIMIT-06", s, NODE, EIO4, "limits", "Limits count UTF-8 bytes, not characters.", "N"),
	// 1.11 CORS.
	req("EIO-CORS-01", s, NODE, EIO4, "cors", "Without CORS configuration no Access-Control headers are sent.", "N"),
	req("EIO-CORS-02", s, NODE, EIO4, "cors", "With origin * every response, errors included, allows any origin and a preflight gets 204.", "N"),
	req("EIO-CORS-03", s, NODE, EIO4, "cors", "Credentialed CORS reflects a concrete origin and allows credentials.", "N"),
	req("EIO-CORS-04", s, NODE, EIO4, "cors", "An Origin header with illegal characters gets 400 code 3.", "N"),
	// 1.12 Errors.
	req("EIO-ERR-01", s, NODE, EIO4, "errors", "Error codes 0-5 carry Node's standard messages.", "N"),
	req("EIO-ERR-02", s, NODE, EIO4, "errors", "Polling errors are JSON {code,message} with 400, or 403 for code 4.", "N"),
	req("EIO-ERR-03", s, NODE, EIO4, "errors", "Request checks run in Node's order, which decides the code of combined errors.", "N"),
	req("EIO-ERR-04", s, NODE, EIO4, "errors", "WebSocket refusals before the upgrade are raw HTTP 400 with the message as text.", "N"),
	req("EIO-ERR-05", s, NODE, EIO4, "errors", "Transport-level refusals have empty bodies.", "N"),
	// 1.13 v3 deltas.
	req("EIO3-01", b, MUST, EIO3, "url", "EIO=3 selects the v3 protocol.", "P,N,I"),
	req("EIO3-02", b, MUST, EIO3, "heartbeat", "In v3 the client pings and the server answers pong, echoing data; a silent client is dropped after pingInterval+pingTimeout.", "P,T,N"),
	req("EIO3-03", b, MUST, EIO3, "polling", "A v3 text payload is <len>:<packet> records, len in UTF-16 code units.", "P,T"),
	req("EIO3-04", b, MUST, EIO3, "binary", "A b64 session carries binary as b4<base64> inside text payloads.", "P,T"),
	req("EIO3-05", s, MUST, EIO3, "binary", "A binary-capable session gets binary payloads as XHR2 octet-stream framing.", "P,T"),
	req("EIO3-07", b, MUST, EIO3, "binary", "A v3 WebSocket binary frame starts with the type byte 0x04.", "P,T,I"),
	req("EIO3-08", s, SHOULD, EIO3, "handshake", "The v3 open packet has sid, upgrades and the timings; maxPayload is optional.", "P,T"),
	req("EIO3-09", b, MUST, EIO3, "polling", "v3 noop, close and pong on polling are 1:6, 1:1 and 1:3.", "T"),
	req("EIO3-10", s, MUST, EIO3, "polling", "A malformed v3 length prefix rejects the payload and ends the session.", "T,N"),
	req("EIO3-11", s, MAY, EIO3, "polling", "JSONP polling through the j parameter.", "P"),
	req("EIO3-12", b, EDGE, EIO3, "upgrade", "The upgrade sequence is the v4 one, the GET released by 1:6.", "T"),
	// 1.14 WebTransport (out of scope for the suites).
	req("EIO-WT-01", b, MAY, EIO4, "websocket", "WebTransport is an optional fourth-revision transport over HTTP/3.", "P,N"),
	req("EIO-WT-02", b, MAY, EIO4, "websocket", "WebTransport frames use a WebSocket-like length header.", "P"),
	// 2.1 Socket.IO encoding.
	req("SIO-ENC-01", b, MUST, SIO5, "packet", "Each Socket.IO packet rides in one Engine.IO message; attachments follow as binary messages.", "P,T"),
	req("SIO-ENC-02", b, MUST, SIO5, "packet", "String form: type, attachments-, namespace comma, ack id, JSON.", "P,T"),
	req("SIO-ENC-03", b, MUST, SIO5, "packet", "The main namespace is omitted by encoders; decoders accept it spelled out or without a comma at the end.", "P,T"),
	req("SIO-ENC-04", b, MUST, SIO5, "packet", "Namespaces begin with / and contain no comma.", "P,I"),
	req("SIO-ENC-05", b, MUST, SIO5, "packet", "The ack id is the digit run before the JSON.", "P,T"),
	req("SIO-ENC-06", s, MUST, SIO5, "packet", "Malformed JSON closes the connection.", "T"),
	req("SIO-ENC-07", s, MUST, SIO5, "packet", "An unknown Socket.IO packet type closes the connection.", "T"),
	req("SIO-ENC-08", b, NODE, SIO5, "packet", "JSON is written compactly with keys in insertion order.", "T,N"),
	req("SIO-ENC-09", s, NODE, SIO5, "packet", "Node validates the payload shape per packet type and closes on a mismatch.", "N"),
	req("SIO-ENC-10", s, EDGE, SIO5, "packet", "An EVENT with no payload is tolerated by Node.", "P,N"),
	req("SIO-ENC-11", b, NODE, SIO5, "packet", "Ack ids and counts fit JavaScript safe integers.", "N"),
	// 2.3 Connect.
	req("SIO-CONN-02", s, MUST, SIO5, "connect", "A successful CONNECT is answered with a CONNECT carrying only sid.", "P,T,N"),
	req("SIO-CONN-03", s, MUST, SIO5, "connect", "The Socket.IO sid differs from the Engine.IO sid.", "P,N"),
	req("SIO-CONN-04", b, MAY, SIO5, "connect", "The CONNECT payload is optional auth data handed to the application.", "P,T"),
	req("SIO-CONN-05", s, MUST, SIO5, "connect", "CONNECT to an unknown namespace gets CONNECT_ERROR Invalid namespace; the session stays.", "T"),
	req("SIO-CONN-06", s, MUST, SIO5, "connect", "Middleware refusal is a CONNECT_ERROR {message,data}.", "P,N"),
	req("SIO-CONN-07", s, MUST, SIO5, "connect", "A non-CONNECT packet before joining closes the connection.", "P,N"),
	req("SIO-CONN-08", s, MUST, SIO5, "connect", "A session that joins no namespace within connectTimeout is closed.", "T,N"),
	req("SIO-CONN-09", s, NODE, SIO5, "connect", "A CONNECT whose payload is not an object closes the connection.", "N"),
	req("SIO-CONN-10", s, NODE, SIO5, "connect", "A duplicate CONNECT closes the connection.", "N,I"),
	req("SIO-CONN-11", s, NODE, SIO5, "connect", "The CONNECT reply precedes the application's first emit.", "T,N"),
	req("SIO-CONN-16", s, NODE, SIO5, "connect", "Nothing is sent if the session closes while middleware runs.", "N"),
	req("SIO-CONN-17", s, NODE, SIO5, "connect", "A CONNECT_ERROR from a client closes the connection.", "N"),
	// 2.4 Namespaces.
	req("SIO-NSP-01", s, MUST, SIO5, "namespace", "The main namespace always exists.", "P,N"),
	req("SIO-NSP-02", b, MUST, SIO5, "namespace", "Several namespaces share one session, each with its own sid.", "P,T"),
	req("SIO-NSP-03", s, MUST, SIO5, "namespace", "A custom namespace can be joined without the main one.", "P,T"),
	req("SIO-NSP-04", s, NODE, SIO5, "namespace", "Namespace names match exactly and case-sensitively.", "N"),
	req("SIO-NSP-05", s, MUST, SIO5, "namespace", "A packet for a namespace not joined closes the connection.", "P,N"),
	req("SIO-NSP-06", s, MUST, SIO5, "namespace", "Leaving one namespace leaves the others working.", "T"),
	req("SIO-NSP-07", s, NODE, SIO5, "namespace", "After leaving every namespace Node keeps the Engine.IO session.", "T,N"),
	req("SIO-NSP-09", s, NODE, SIO5, "namespace", "Dynamic namespaces accept names declared by pattern.", "N"),
	// 2.5 Events.
	req("SIO-EVT-01", b, MUST, SIO5, "event", "An EVENT is a non-empty array: name then arguments.", "P"),
	req("SIO-EVT-02", s, MUST, SIO5, "event", "An EVENT payload that is not a non-empty array closes the connection.", "P,T"),
	req("SIO-EVT-03", b, MUST, SIO5, "event", "Reserved event names are refused and close the connection.", "N"),
	req("SIO-EVT-04", b, NODE, SIO5, "event", "Event names are strings or numbers only.", "N"),
	req("SIO-EVT-05", b, MUST, SIO5, "event", "Arguments are arbitrary JSON and keep their order.", "T"),
	req("SIO-EVT-06", b, MUST, SIO5, "event", "Packets of one connection arrive in send order.", "P"),
	// 2.6 Acks.
	req("SIO-ACK-01", b, MUST, SIO5, "ack", "An EVENT with an id is acknowledged once with the same id and namespace.", "P,T"),
	req("SIO-ACK-02", b, MUST, SIO5, "ack", "An ACK payload is a JSON array, possibly empty.", "P"),
	req("SIO-ACK-03", b, MUST, SIO5, "ack", "Binary ack arguments use BINARY_ACK with placeholders.", "P,T"),
	req("SIO-ACK-04", b, MUST, SIO5, "ack", "Ack id 0 is a valid id.", "I"),
	req("SIO-ACK-05", b, NODE, SIO5, "ack", "An ACK with an unknown id is ignored.", "N"),
	req("SIO-ACK-06", s, MUST, SIO5, "ack", "A malformed ack id closes the connection.", "T"),
	req("SIO-ACK-07", b, NODE, SIO5, "ack", "Server ack ids come from a per-namespace counter and must be echoed, never predicted.", "N"),
	req("SIO-ACK-08", s, EDGE, SIO5, "ack", "An ACK without payload is tolerated by Node.", "N"),
	req("SIO-ACK-09", b, NODE, SIO5, "ack", "Acks are never invoked after the socket disconnected.", "N"),
	// 2.7 Binary.
	req("SIO-BIN-01", b, MUST, SIO5, "binary", "Binary values become numbered placeholders in types 5 and 6.", "P,T"),
	req("SIO-BIN-02", b, MUST, SIO5, "binary", "Exactly the announced number of attachments follow, in order.", "P,T"),
	req("SIO-BIN-03", b, MUST, SIO5, "binary", "Nothing else comes between a binary header and its attachments.", "N"),
	req("SIO-BIN-04", s, MUST, SIO5, "binary", "A binary message with no pending header closes the connection.", "N"),
	req("SIO-BIN-05", s, MUST, SIO5, "binary", "A placeholder index out of range closes the connection.", "N"),
	req("SIO-BIN-06", b, EDGE, SIO5, "binary", "A header with zero attachments is delivered at once.", "N"),
	req("SIO-BIN-07", b, NODE, SIO5, "binary", "More than ten attachments are refused by Node.", "N,I"),
	req("SIO-BIN-08", s, MUST, SIO5, "binary", "A malformed attachment count closes the connection.", "N"),
	req("SIO-BIN-09", b, SHOULD, SIO5, "binary", "Placeholder keys are accepted in any order.", "T,I"),
	req("SIO-BIN-10", b, MUST, SIO5, "binary", "Polling attachments are base64 packets, WebSocket attachments binary frames.", "P,I"),
	req("SIO-BIN-11", b, NODE, SIO5, "binary", "Packets with binary are promoted to types 5 and 6 automatically.", "N"),
	req("SIO-BIN-12", b, EDGE, SIO5, "binary", "Placeholders inside a type 2 EVENT stay plain objects.", "N"),
	// 2.8 Disconnect.
	req("SIO-DISC-01", b, MUST, SIO5, "disconnect", "DISCONNECT ends one namespace without a reply.", "P,T"),
	req("SIO-DISC-02", s, NODE, SIO5, "disconnect", "A DISCONNECT with payload closes the connection.", "N"),
	req("SIO-DISC-03", s, NODE, SIO5, "disconnect", "A DISCONNECT for a namespace not joined closes the connection.", "N"),
	req("SIO-DISC-04", s, NODE, SIO5, "disconnect", "A server namespace disconnect sends DISCONNECT and keeps the session.", "N"),
	req("SIO-DISC-05", s, NODE, SIO5, "disconnect", "A full server disconnect sends DISCONNECT per namespace, then closes.", "N"),
	req("SIO-DISC-06", s, NODE, SIO5, "disconnect", "Server shutdown closes sessions without DISCONNECT packets.", "N"),
	req("SIO-DISC-07", b, MUST, SIO5, "disconnect", "Closing the Engine.IO session disconnects every namespace.", "P,N"),
	// 2.9 Errors.
	req("SIO-ERR-01", s, MUST, SIO5, "errors", "Any Socket.IO decode or validation failure closes the connection.", "P,T,N"),
	req("SIO-ERR-03", b, MUST, SIO5, "errors", "A v5 CONNECT_ERROR payload is an object with message and optional data.", "P,N"),
	req("SIO-ERR-04", s, NODE, SIO5, "errors", "An empty Engine.IO message is a decode error on a Socket.IO server.", "N"),
	// 2.10 Socket.IO v4 deltas.
	req("SIO4-01", b, MUST, SIO4, "connect", "Socket.IO v4 runs over Engine.IO v3.", "P"),
	req("SIO4-02", s, MUST, SIO4, "connect", "The server joins the main namespace implicitly after the Engine.IO open.", "P,N"),
	req("SIO4-03", b, MUST, SIO4, "connect", "CONNECT has no JSON; credentials ride in the namespace query.", "P,N"),
	req("SIO4-04", s, MUST, SIO4, "connect", "The v4 CONNECT reply carries no sid.", "P,N"),
	req("SIO4-05", s, MUST, SIO4, "errors", "Type 4 is ERROR, usually a JSON string payload.", "P,N"),
	req("SIO4-07", b, EDGE, SIO4, "ack", "BINARY_ACK exists in v4.", "P"),
	// 4 Node behaviour the server side shows.
	req("NODE-OPT-01", s, NODE, EIO4, "url", "A bare Node server answers 404 outside its Engine.IO path.", "N"),
	req("NODE-CSR-01", s, NODE, SIO5, "recovery", "With recovery enabled the CONNECT reply adds pid.", "N"),
	req("NODE-CSR-02", s, NODE, SIO5, "recovery", "With recovery, plain server events carry an offset as last argument.", "N"),
	req("NODE-CSR-04", s, NODE, SIO5, "recovery", "A known pid and offset restore the session, otherwise a new one starts.", "N"),
	req("NODE-CSR-05", s, NODE, SIO5, "recovery", "Missed events are replayed before the CONNECT reply.", "N"),
	req("NODE-CSR-06", s, NODE, SIO5, "recovery", "Only involuntary disconnects keep a session for recovery.", "N"),
	req("NODE-CSR-07", s, NODE, SIO5, "recovery", "Recovery can fail when the old ping timeout fires late.", "N"),
	req("NODE-VOL-01", s, NODE, SIO5, "event", "Volatile server emits are dropped while the transport is not writable.", "N"),
	req("NODE-CMP-01", s, NODE, EIO4, "polling", "The compress flag gzips large polling responses when allowed.", "N"),
	req("NODE-BUF-02", s, NODE, SIO5, "event", "Emits to a closed session are dropped; queued Engine.IO packets wait for the next GET.", "N"),
	req("NODE-ACK-02", b, NODE, SIO5, "ack", "Retrying clients resend with new ids; servers must ack every event.", "N"),
	req("NODE-ACK-04", s, NODE, SIO5, "ack", "Server acks time out with an error after the given delay.", "N"),
	req("NODE-DR-01", s, NODE, SIO5, "disconnect", "Server disconnect reasons follow Node's vocabulary.", "N"),
	req("NODE-DR-03", b, NODE, EIO4, "close", "Engine.IO close reasons follow Node's vocabulary.", "N"),
	req("NODE-TR-02", b, NODE, EIO4, "websocket", "A WebSocket-first session has no upgrades and needs no stickiness.", "N"),
}
