"use strict";
// sio.js: a small socket.io-client driver for package scripted's tests.
// SIO=4 uses socket.io-client 2.5 (socket.io-client-v2), otherwise 4.8.
// Reports are JSON lines on stdout; the "siospec" event is a command.
const v2 = process.env.SIO === "4";
const io = require(v2 ? "socket.io-client-v2" : "socket.io-client");
const u = new URL(process.env.URL);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const msg = (e) => String((e && e.message) || e || "");
const val = (a) => (Buffer.isBuffer(a) || a instanceof ArrayBuffer ? { bin: Buffer.from(a).toString("base64") } : a);
const socket = io(u.origin + (process.env.NSP || ""), Object.assign({
  path: u.pathname,
  transports: (process.env.TRANSPORTS || "polling,websocket").split(","),
}, JSON.parse(process.env.OPTS || "{}")));
const mgr = socket.io;
socket.on("connect", () => out({ ev: "connect", id: socket.id, sid: mgr.engine && mgr.engine.id }));
socket.on("connect_error", (e) => out({ ev: "connect_error", message: msg(e) }));
socket.on("disconnect", (reason) => out({ ev: "disconnect", reason }));
mgr.on("reconnect_attempt", (n) => out({ ev: "reconnect_attempt", attempt: n }));
mgr.on("reconnect", (n) => out({ ev: "reconnect", attempt: n }));
socket.on("siospec", (c, ack) => {
  if (c.cmd === "emit") socket.emit(c.event, ...c.args);
  if (c.cmd === "emitbin") socket.emit(c.event, Buffer.from(c.text), c.text);
  if (ack) ack({ ok: true });
});
for (const name of ["hello", "bin"]) {
  socket.on(name, (...args) => out({ ev: "event", event: name, args: args.map(val) }));
}
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
