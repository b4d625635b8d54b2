package framework

// netCatalogue lists the network-failure requirements (issue 11): how a
// server (S), a client (C) or both (B) behave under each fault proxy
// profile of faults doc A9, judged with the sequenced workload of package
// suites/netload. The server role (suites/net) judges S and B rows through
// the reference client; the client role judges C and B rows through the
// client contract. "Delivered exactly once and in order" means: no loss, no
// duplicate, no reordering, every ack fired once.
//
// NET-RES-* are the resilience tier (seeded random faults over N trials,
// reported as a pass ratio); all others are the conformance tier
// (deterministic faults).
var netCatalogue = []Requirement{
	// corporate-firewall: the upgrade is answered 403 by the proxy.
	req("NET-FW-01", BindBoth, MUST, NET, "net", "Under corporate-firewall (upgrade answered 403) the session settles on polling with the same sid, and every event and ack in both directions is delivered exactly once and in order.", "P,N"),
	req("NET-FW-02", BindClient, MUST, NET, "net", "Under corporate-firewall the refused upgrade is not fatal: the client opens no new session and makes at most one upgrade attempt per session.", "N"),
	// ws-stripping-proxy.
	req("NET-STRIP-01", BindBoth, MUST, NET, "net", "Under ws-stripping-proxy the session settles on polling with the same sid, and every event and ack is delivered exactly once and in order.", "P,N"),
	req("NET-STRIP-02", BindServer, MUST, NET, "net", "Under ws-stripping-proxy the server refuses the stripped upgrade (a plain GET for transport=websocket with the sid) with an HTTP 4xx and leaves the polling session open.", "N"),
	// antivirus-buffering.
	req("NET-AV-01", BindBoth, MUST, NET, "net", "Under antivirus-buffering the client stays on polling until a probe round trip succeeds, and every event and ack is delivered exactly once and in order, none later than one pingInterval after it was sent.", "N"),
	// idle-timeout-lb.
	req("NET-IDLE-01", BindBoth, MUST, NET, "net", "Under idle-timeout-lb with an idle timeout longer than pingInterval plus a margin, the heartbeat keeps every connection busy: nothing is cut, there is no reconnection, and everything is delivered.", "N"),
	req("NET-IDLE-02", BindClient, MUST, NET, "net", "Under idle-timeout-lb shorter than pingInterval on a quiet connection, the client detects the cut as a transport close at once (not after a ping timeout), reconnects with a new handshake, and events emitted after the reconnection are delivered.", "N"),
	req("NET-IDLE-03", BindServer, MUST, NET, "net", "Under idle-timeout-lb shorter than pingInterval the server closes the cut session, and a later request with its sid gets HTTP 400.", "P,N"),
	// non-sticky-lb and sticky load balancing.
	req("NET-LB-01", BindServer, MUST, NET, "net", "Under non-sticky-lb over two instances, a polling request that reaches an instance that does not know its sid gets HTTP 400 (Node: {\"code\":1,\"message\":\"Session ID unknown\"}), never a 500 and never a silent new session.", "P,N"),
	req("NET-LB-02", BindBoth, MUST, NET, "net", "Under non-sticky-lb a WebSocket-only client connects, and every event and ack is delivered exactly once and in order.", "N"),
	req("NET-LB-03", BindBoth, MUST, NET, "net", "Behind a sticky load balancer (by sid or by cookie) over two instances a polling session works, and everything is delivered exactly once and in order.", "N"),
	req("NET-LB-04", BindClient, SHOULD, NET, "net", "Under non-sticky-lb with default transports the client does not retry in a tight loop: its handshake attempts keep the reconnection backoff.", "N,I"),
	// half-open.
	req("NET-HO-01", BindServer, SHOULD, NET, "net", "Under half-open (both directions blackholed from a moment on) the server closes the session by ping timeout within pingInterval + pingTimeout + grace of the loss.", "P,N"),
	req("NET-HO-02", BindClient, SHOULD, NET, "net", "Under half-open the client detects the loss as a ping timeout within pingInterval + pingTimeout + grace, then reconnects with a new handshake.", "P,N"),
	req("NET-HO-03", BindClient, SHOULD, NET, "net", "Under half-open every event the client emitted with an ack while the connection was silently dead is either delivered after the reconnection or reported to the application as failed; none is lost without a signal.", "N"),
	req("NET-HO-04", BindBoth, SHOULD, NET, "net", "Under half-open with connection state recovery enabled on the server, the reconnected session is recovered and the server-to-client events emitted meanwhile are replayed exactly once and in order.", "N"),
	// server-crash.
	req("NET-CRASH-01", BindClient, MUST, NET, "net", "Under server-crash the client notices the crash at once (transport close or error), reconnects with a new handshake, gets a new sid, and the application sees connect again.", "N"),
	req("NET-CRASH-02", BindClient, NODE, NET, "net", "Under server-crash the delays between reconnection attempts follow min(reconnectionDelay·2^n, reconnectionDelayMax) with ±randomizationFactor jitter.", "N"),
	req("NET-CRASH-03", BindServer, MUST, NET, "net", "After a server crash (the process killed and restarted, its state lost) the restarted server answers the old sid with HTTP 400 and a recovery attempt with a new session, never with a recovered one it cannot have kept.", "P,N"),
	req("NET-CRASH-04", BindBoth, SHOULD, NET, "net", "After a proxy-level outage shorter than maxDisconnectionDuration (the server kept its state), with recovery enabled, the client recovers its session (same socket id, recovered) and the missed server-to-client events are replayed exactly once and in order.", "N"),
	// mobile-3g.
	req("NET-3G-01", BindBoth, MUST, NET, "net", "Under mobile-3g (about 200 ms RTT with jitter, 750 kbit/s) every event, ack and binary payload is delivered exactly once and in order, and no heartbeat times out while the RTT stays inside the heartbeat budget.", "N"),
	// Resilience tier.
	req("NET-RES-01", BindBoth, SHOULD, NET, "net", "Under seeded random resets and jitter every trial ends connected, with no event delivered twice or out of order.", "N"),
	req("NET-RES-02", BindBoth, SHOULD, NET, "net", "Under seeded random latency and jitter within the heartbeat budget no trial ends in a heartbeat timeout and nothing is lost.", "N"),
}
