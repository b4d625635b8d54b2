"use strict";
// eio.js: a small engine.io-client driver for package scripted's tests.
// EIO=3 uses engine.io-client 3.5 (engine.io-client-v3), otherwise 6.6.
// Reports are JSON lines on stdout; "siospec:" messages are commands.
const v3 = process.env.EIO === "3";
const mod = require(v3 ? "engine.io-client-v3" : "engine.io-client");
const Socket = v3 ? mod : mod.Socket;
const u = new URL(process.env.URL);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const msg = (e) => String((e && (e.message || e.description)) || e || "");
const s = new Socket(u.origin, Object.assign({
  path: u.pathname,
  transports: (process.env.TRANSPORTS || "polling,websocket").split(","),
}, JSON.parse(process.env.OPTS || "{}")));
s.on("open", () => out({ ev: "open", sid: s.id, transport: s.transport.name }));
s.on("upgrade", (t) => out({ ev: "upgrade", transport: t && t.name }));
s.on("upgradeError", (e) => out({ ev: "upgrade_error", message: msg(e) }));
s.on("error", (e) => out({ ev: "error", message: msg(e) }));
s.on("close", (reason, desc) => out({ ev: "close", reason, description: msg(desc) }));
s.on("message", (d) => {
  if (typeof d === "string" && d.startsWith("siospec:")) {
    const c = JSON.parse(d.slice(8));
    if (c.cmd === "send") s.send(c.data);
    if (c.cmd === "sendbin") s.send(Buffer.from(c.data));
    if (c.cmd === "close") s.close();
    return;
  }
  out({ ev: "message", data: typeof d === "string" ? d : { bin: Buffer.from(d).toString("base64") } });
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
