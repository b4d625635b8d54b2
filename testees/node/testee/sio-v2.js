"use strict";
// sio-v2.js: the socket.io-client 2.5.0 testee of testees/CLIENT-CONTRACT.md,
// suite sio4 (Socket.IO v4 over Engine.IO v3). The same shape as sio.js; the
// 2.x API differs: no auth (a namespace's query travels in its CONNECT
// packet instead, never for "/"), no ack timeouts or retries, no volatile,
// no catch-all listener, and a refused namespace arrives as an ERROR packet.
//
// Usage: SIOSPEC_URL=... SIOSPEC_SUITE=sio4 SIOSPEC_CASE=... node testee/sio-v2.js

const io = require("socket.io-client-v2");
const lib = require("./lib");
const { report, message } = lib;

const PACKET_ERROR = 4; // socket.io-parser 3.x packet type ERROR
const env = lib.start(["sio4"], `socket.io-client ${require("socket.io-client-v2/package.json").version}`);
const opts = lib.mapOptions(env.options, {
  reconnection: "manager",
  reconnectionAttempts: "manager",
  reconnectionDelay: "manager",
  reconnectionDelayMax: "manager",
  randomizationFactor: "manager",
  timeout: "manager",
  upgrade: "manager",
  rememberUpgrade: "manager",
  query: "manager",
  auth: "socket",
});
const auth = opts.socket && opts.socket.auth;
const manager = new io.Manager(env.origin, {
  ...opts.manager,
  path: env.path,
  transports: env.transports,
  query: { ...env.query, ...(opts.manager && opts.manager.query) },
});
const driver = lib.sioDriver(manager, {
  connect(nsp, auth) {
    if (auth !== undefined && nsp === "/") return "socket.io-client 2.x sends no CONNECT payload for /";
    const s = driver.sockets.get(nsp) || open(nsp, auth);
    if (auth !== undefined) s.query = auth;
    if (!s.subs) s.connect(); // not yet for a new socket: it connects by itself

  },
  emit(s, nsp, cmd, args) {
    if (cmd.timeout !== undefined) return "socket.io-client 2.x has no ack timeout";
    if (cmd.volatile) return "socket.io-client 2.x has no volatile emits";
    if (!cmd.ack) return void s.emit(cmd.event, ...args);
    s.emit(cmd.event, ...args, (...res) => driver.acked(nsp, cmd.tag).ok(res));
  },
  // Manager.close() sets skipReconnect and closes the engine (close packet
  // sent): a client-side close the library does not reconnect from.
  close() {
    manager.close();
  },
});
// A refused namespace: the ERROR packet, seen once on the Manager (the
// socket's own "error" event also carries the Manager's errors).
manager.on("packet", (p) => {
  if (p.type === PACKET_ERROR) report({ ev: "connect_error", nsp: p.nsp, message: message(p.data), data: lib.toJSON(p.data) });
});

function open(nsp, auth) {
  const s = manager.socket(nsp, auth !== undefined ? { query: auth } : undefined);
  driver.sockets.set(nsp, s);
  s.on("connect", () => report({ ev: "connect", nsp, id: s.id }));
  // The Manager's open failures and timeouts, relayed to every socket.
  s.on("connect_error", (e) => report({ ev: "connect_error", nsp, message: message(e) }));
  s.on("connect_timeout", () => report({ ev: "connect_error", nsp, message: "timeout" }));
  s.on("disconnect", (reason) => report({ ev: "disconnect", nsp, reason }));
  // 2.x has no onAny: take over the socket's event dispatch (events arrive
  // after CONNECT in this protocol, so its receive buffer is not needed).
  s.onevent = (packet) => {
    const args = packet.data || [];
    driver.onEvent(nsp, args[0], args.slice(1), packet.id != null ? s.ack(packet.id) : null);
  };
  return s;
}

const initial = Array.isArray(env.options.namespaces) ? env.options.namespaces : ["/"];
if (auth !== undefined && initial.includes("/")) report({ ev: "unsupported", cmd: "options", message: "socket.io-client 2.x sends no CONNECT payload for /" });
for (const nsp of initial) open(nsp, nsp === "/" ? undefined : auth);
