package framework

const c = BindClient

// clientCatalogue lists the requirements that bind clients alone (side C).
// Rules that bind both sides (side B) are in catalogue; the client suites
// judge them too. Summaries are siospec's own words.
var clientCatalogue = []Requirement{
	// 1.1 Endpoint and query parameters.
	req("EIO-URL-07", c, NODE, EIO4, "url", "The client sends EIO and transport on every request, the sid on every request once it has one, and a fresh cache-buster t on polling requests.", "N"),
	// 1.2 Handshake.
	req("EIO-HS-11", c, MUST, EIO4, "handshake", "The client keeps sid, pingInterval, pingTimeout and maxPayload from the open packet and tolerates unknown keys and a missing maxPayload.", "P,N"),
	req("EIO-HS-12", c, SHOULD, EIO4, "handshake", "The client ignores advertised upgrades it does not implement.", "N"),
	// 1.3 Packet model.
	req("EIO-PKT-07", c, SHOULD, EIO4, "packet", "The client ignores noop packets wherever they come and does not take them for data.", "N"),
	// 1.4 Polling.
	req("EIO-POLL-17", c, MUST, EIO4, "polling", "The client has at most one GET and one POST in flight per session and polls again as soon as a GET completes.", "P"),
	req("EIO-POLL-18", c, SHOULD, EIO4, "polling", "The client sends the packets it has queued together, in one POST.", "N"),
	// 1.7 Upgrade.
	req("EIO-UPG-01", c, SHOULD, EIO4, "upgrade", "By default the client opens on polling and upgrades when websocket is advertised.", "P"),
	req("EIO-UPG-02", c, MUST, EIO4, "upgrade", "The client probes the upgrade on a WebSocket carrying the same sid and sends 2probe on it.", "P,T"),
	req("EIO-UPG-05", c, MUST, EIO4, "upgrade", "After 3probe the client starts no new polling request, lets the ones in flight finish, sends 5 and moves its traffic to the WebSocket.", "P"),
	req("EIO-UPG-13", c, NODE, EIO4, "upgrade", "A failed probe (refused, stalled, closed or answered wrongly) leaves the client on polling with its session open.", "N"),
	// 1.8 Heartbeat.
	req("EIO-HB-02", c, MUST, EIO4, "heartbeat", "The client answers every ping with a pong, promptly.", "P,T"),
	req("EIO-HB-04", c, SHOULD, EIO4, "heartbeat", "A client that gets no ping for pingInterval+pingTimeout closes the session as a ping timeout, and not after pingTimeout alone.", "P,I"),
	req("EIO-HB-09", c, NODE, EIO4, "heartbeat", "Only a ping resets the client's heartbeat deadline; other packets do not.", "N"),
	// 1.9 Close.
	req("EIO-CLOSE-02", c, NODE, EIO4, "close", "On WebSocket the client closes by closing the WebSocket.", "N"),
	req("EIO-CLOSE-05", c, MUST, EIO4, "close", "A close packet from the server ends the client's session; packets after it in the same payload are ignored.", "N"),
	req("EIO-CLOSE-08", c, NODE, EIO4, "close", "A non-200 polling response or a WebSocket error ends the client's session as a transport error.", "N"),
	// 1.10 Limits.
	req("EIO-LIMIT-04", c, SHOULD, EIO4, "limits", "The client splits what it has queued so that every POST body fits maxPayload.", "N"),
	// 1.12 Errors.
	req("EIO-ERR-06", c, NODE, EIO4, "errors", "The client surfaces transport failures as errors of the transport (xhr poll error, xhr post error, websocket error) and recovers from them.", "N"),
	// 2.3 Connect.
	req("SIO-CONN-01", c, MUST, SIO5, "connect", "The client sends a CONNECT for every namespace it joins, the main one included, with its auth payload when it has one.", "P,N"),
	req("SIO-CONN-12", c, MUST, SIO5, "connect", "A v5 CONNECT reply without sid is a connection error for the client.", "N,I"),
	req("SIO-CONN-13", c, SHOULD, SIO5, "connect", "Events that arrive for a namespace before its CONNECT reply are delivered after the connection, not lost.", "N"),
	req("SIO-CONN-14", c, NODE, SIO5, "connect", "After CONNECT_ERROR the client surfaces the message and data and does not retry that namespace by itself.", "N"),
	req("SIO-CONN-15", c, NODE, SIO5, "reconnect", "After an Engine.IO reconnection the client sends CONNECT again for every namespace it had joined.", "N"),
	// 2.4 Namespaces.
	req("SIO-NSP-08", c, NODE, SIO5, "namespace", "The client drops packets for namespaces it has not joined.", "N"),
	// 2.8 Disconnect.
	req("SIO-DISC-08", c, NODE, SIO5, "disconnect", "The client's disconnect sends DISCONNECT and closes the Engine.IO session when it was the last namespace.", "N"),
	// 2.9 Errors.
	req("SIO-ERR-02", c, NODE, SIO5, "errors", "A packet the client cannot decode ends its session with a parse error, after which it reconnects.", "N"),
	// 2.10 Socket.IO v4 deltas.
	req("SIO4-06", c, NODE, SIO4, "connect", "A v4 client joins the main namespace implicitly and needs no CONNECT for it.", "I"),
	// 4 Node client behaviour peers depend on.
	req("NODE-RECON-01", c, NODE, SIO5, "reconnect", "The client reconnects after a close it did not cause, and not after its own disconnect or the server's DISCONNECT of its last namespace.", "N"),
	req("NODE-RECON-02", c, NODE, SIO5, "reconnect", "Reconnection delays grow as reconnectionDelay×2^n, jittered by randomizationFactor and capped by reconnectionDelayMax.", "N"),
	req("NODE-RECON-03", c, NODE, SIO5, "reconnect", "The client gives up after reconnectionAttempts failed attempts and makes no further attempt.", "N"),
	req("NODE-RECON-04", c, NODE, SIO5, "reconnect", "Each reconnection opens a new Engine.IO session with a new handshake.", "N"),
	req("NODE-BUF-01", c, NODE, SIO5, "event", "Emits made while disconnected are buffered and sent, in order, after the next CONNECT reply.", "N"),
	req("NODE-ACK-01", c, NODE, SIO5, "ack", "An emit with an ack timeout fails once the timeout passes and ignores an ack that comes later.", "N"),
	req("NODE-ACK-03", c, NODE, SIO5, "ack", "Pending acks with a timeout fail when the socket disconnects.", "N"),
	req("NODE-CSR-03", c, NODE, SIO5, "recovery", "On reconnection the client sends the pid it was given and the offset of the last event it processed in its CONNECT.", "N,I"),
	req("NODE-TR-01", c, NODE, EIO4, "upgrade", "The client opens on polling and upgrades to WebSocket by default.", "N"),
}
