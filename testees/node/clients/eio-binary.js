"use strict";
// eio-binary.js — binary both ways: on the transports given by --transport
// (polling or websocket, default websocket), send text and binary messages
// and expect each echoed as the same kind with the same bytes; the server
// (asked with ?greet=binary) also sends a binary message of its own, the
// bytes 00..ff, when the session opens.
const lib = require("./eio-lib.js");
const args = lib.parseArgs();
const tIdx = process.argv.indexOf("--transport");
const transport = tIdx > 0 ? process.argv[tIdx + 1] : "websocket";
const socket = lib.connect(args, { transports: [transport], query: { greet: "binary" } });
lib.watchdog(() => socket);
const sent = [Buffer.from([1, 2, 3, 4]), "text", Buffer.alloc(0), Buffer.from([0xff, 0x00, 0x1e, 0x7f])];
const want = [Buffer.from([...Array(256).keys()])].concat(sent);
const got = [];
socket.on("open", () => sent.forEach((m) => socket.send(m)));
socket.on("message", (data) => {
  lib.emit(Object.assign({ event: "message", transport: socket.transport.name }, lib.describe(data)));
  got.push(data);
  if (got.length === want.length) {
    const same = (a, b) => {
      if (typeof b === "string") return a === b;
      if (typeof a === "string") return false;
      const ab = Buffer.from(a instanceof ArrayBuffer ? new Uint8Array(a) : a);
      return ab.equals(b);
    };
    lib.finish(socket, got.every((m, i) => same(m, want[i])), { transport: socket.transport.name });
  }
});
