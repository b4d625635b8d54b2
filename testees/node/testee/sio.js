"use strict";
// sio.js: the socket.io-client 4.8.x testee of testees/CLIENT-CONTRACT.md,
// suite sio5. One Manager (library defaults, plus SIOSPEC_TRANSPORTS and
// SIOSPEC_OPTIONS) and one Socket per namespace, all on its Engine.IO session.
//
// Usage: SIOSPEC_URL=... SIOSPEC_SUITE=sio5 SIOSPEC_CASE=... node testee/sio.js

const { Manager } = require("socket.io-client");
const lib = require("./lib");
const { report, message } = lib;

const env = lib.start(["sio5"], `socket.io-client ${require("socket.io-client/package.json").version}`);
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
  ackTimeout: "socket",
  retries: "socket",
});
const socketOpts = opts.socket || {};
const manager = new Manager(env.origin, {
  ...opts.manager,
  path: env.path,
  transports: env.transports,
  query: { ...env.query, ...(opts.manager && opts.manager.query) },
});
const driver = lib.sioDriver(manager, {
  connect(nsp, auth) {
    const s = driver.sockets.get(nsp) || open(nsp, auth);
    if (auth !== undefined) s.auth = auth;
    // A new socket connects by itself (autoConnect); connecting it again
    // would send a second CONNECT.
    if (!s.active) s.connect();
  },
  emit(s, nsp, cmd, args) {
    // With a timeout (the command's, or ackTimeout / retries), the library
    // calls back (err, ...args); without, (...args).
    const withErr = cmd.timeout !== undefined || socketOpts.ackTimeout !== undefined || socketOpts.retries > 0;
    const acked = driver.acked(nsp, cmd.tag);
    let target = cmd.volatile ? s.volatile : s;
    if (cmd.timeout !== undefined) target = target.timeout(cmd.timeout);
    if (!cmd.ack) return void target.emit(cmd.event, ...args);
    target.emit(cmd.event, ...args, (...res) => {
      if (!withErr) return acked.ok(res);
      if (res[0]) return acked.err(res[0]);
      acked.ok(res.slice(1));
    });
  },
  // timeout returns the emitter of acknowledged emits that fail after ms
  // (the stream command's timeout_ms).
  timeout(s, ms) {
    return s.timeout(ms);
  },
  // Manager.disconnect() (the public name of its close) sets skipReconnect,
  // then closes the engine, which sends the close packet: the library sees a
  // client-side close and does not reconnect; every namespace socket reports
  // disconnect with reason "forced close". (Disconnecting every socket
  // instead would send a DISCONNECT per namespace first.)
  close() {
    manager.disconnect();
  },
});

function open(nsp, auth) {
  const s = manager.socket(nsp, { ...socketOpts, ...(auth !== undefined ? { auth } : {}) });
  driver.sockets.set(nsp, s);
  s.on("connect", () => report({ ev: "connect", nsp, id: s.id, recovered: !!s.recovered }));
  s.on("connect_error", (e) => report({ ev: "connect_error", nsp, message: message(e), data: lib.toJSON(e && e.data) }));
  s.on("disconnect", (reason, details) => report({ ev: "disconnect", nsp, reason, description: message(details) || undefined }));
  s.onAny((event, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    driver.onEvent(nsp, event, args, ack);
  });
  return s;
}

for (const nsp of Array.isArray(env.options.namespaces) ? env.options.namespaces : ["/"]) open(nsp, socketOpts.auth);
