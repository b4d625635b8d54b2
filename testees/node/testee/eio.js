"use strict";
// eio.js: the engine.io-client testee of testees/CLIENT-CONTRACT.md:
// engine.io-client 6.6.x for eio4, 3.5.x (alias engine.io-client-v3) for eio3.
// Every message that is not a "siospec:" command is echoed back unchanged.
//
// Usage: SIOSPEC_URL=... SIOSPEC_SUITE=eio4|eio3 SIOSPEC_CASE=... node testee/eio.js

const lib = require("./lib");
const { report, message } = lib;

const pkg = process.env.SIOSPEC_SUITE === "eio3" ? "engine.io-client-v3" : "engine.io-client";
const env = lib.start(["eio4", "eio3"], `engine.io-client ${require(pkg + "/package.json").version}`);
const Socket = env.suite === "eio3" ? require(pkg) : require(pkg).Socket;
const opts = lib.mapOptions(env.options, { upgrade: "engine", rememberUpgrade: "engine", query: "engine" }).engine || {};
const socket = new Socket(env.origin, {
  ...opts,
  path: env.path,
  transports: env.transports,
  query: { ...env.query, ...opts.query },
});

socket.on("open", () => report({ ev: "open", sid: socket.id, transport: socket.transport.name }));
socket.on("upgrade", (t) => report({ ev: "upgrade", transport: t && t.name }));
socket.on("upgradeError", (e) => report({ ev: "upgrade_error", message: message(e) }));
socket.on("error", (e) => report({ ev: "error", message: message(e) }));
socket.on("close", (reason, desc) => report({ ev: "close", reason, description: message(desc) }));
socket.on("message", (data) => {
  if (typeof data === "string" && data.startsWith("siospec:")) return command(data.slice("siospec:".length));
  report({ ev: "message", data: lib.toJSON(data) });
  socket.send(data);
});

function command(text) {
  let cmd;
  try {
    cmd = JSON.parse(text);
  } catch (e) {
    return report({ ev: "error", message: `bad command ${JSON.stringify(text)}: ${e.message}` });
  }
  cmd = cmd && typeof cmd === "object" ? cmd : {};
  const done = () => report({ ev: "done", cmd: cmd.cmd, tag: cmd.tag });
  switch (cmd.cmd) {
    case "send": {
      const data = lib.fromJSON(cmd.data);
      if (typeof data !== "string" && !Buffer.isBuffer(data)) return report({ ev: "error", cmd: "send", tag: cmd.tag, message: "data is neither a string nor binary" });
      const count = Number.isInteger(cmd.count) ? cmd.count : 1;
      for (let i = 0; i < count; i++) socket.send(data);
      return done();
    }
    case "close":
      socket.close();
      return done();
    case "exit":
      done();
      return lib.exit(Number.isInteger(cmd.code) ? cmd.code : 0, socket);
    default:
      report({ ev: "unsupported", cmd: cmd.cmd, tag: cmd.tag, message: `${cmd.cmd} is not an Engine.IO command` });
  }
}
