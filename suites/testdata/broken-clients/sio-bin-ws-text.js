// broken client: sends binary on WebSocket as base64 text frames ("b..."), as if the transport could not carry binary (engine.io-client WebSocket transport patched, the instance socket.io-client 4.8.4 uses)
// suite: sio5
// expect: SIO-BIN-10
// run: area:binary
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const eio = require(require.resolve("engine.io-client", { paths: [path.join(nm, "socket.io-client")] }));
for (const T of new Set([eio.transports.websocket, eio.WebSocket].filter(Boolean))) {
  const write = T.prototype.write;
  T.prototype.write = function (packets) {
    this.supportsBinary = false;
    return write.call(this, packets);
  };
}
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
