"use strict";
// eio-polling.js — polling only: open, send three messages, expect them
// echoed in order, stay on polling (no upgrade), close.
const lib = require("./eio-lib.js");
const args = lib.parseArgs();
const socket = lib.connect(args, { transports: ["polling"] });
lib.watchdog(() => socket);
const sent = ["one", "two", "€ three 😀"];
const got = [];
socket.on("open", () => sent.forEach((m) => socket.send(m)));
socket.on("message", (data) => {
  lib.emit(Object.assign({ event: "message", transport: socket.transport.name }, lib.describe(data)));
  got.push(data);
  if (got.length === sent.length) {
    const ok = got.every((m, i) => m === sent[i]) && socket.transport.name === "polling";
    lib.finish(socket, ok, { transport: socket.transport.name });
  }
});
