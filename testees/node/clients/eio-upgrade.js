"use strict";
// eio-upgrade.js — the default path: open on polling, upgrade to WebSocket,
// then send a message over the WebSocket and expect its echo there.
const lib = require("./eio-lib.js");
const args = lib.parseArgs();
const socket = lib.connect(args, {});
lib.watchdog(() => socket);
socket.on("upgrade", () => socket.send("after-upgrade"));
socket.on("upgradeError", () => lib.finish(socket, false, { reason: "upgrade failed" }));
socket.on("message", (data) => {
  lib.emit(Object.assign({ event: "message", transport: socket.transport.name }, lib.describe(data)));
  if (data === "after-upgrade") {
    lib.finish(socket, socket.transport.name === "websocket", { transport: socket.transport.name });
  }
});
