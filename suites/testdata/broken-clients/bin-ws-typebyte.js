// broken client: puts the v3 type byte 0x04 in front of every binary WebSocket frame of a v4 session
// suite: eio4
// expect: EIO-BIN-03
// run: case:bin-websocket || case:bin-polling
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const doWrite = eio.NodeWebSocket.prototype.doWrite;
eio.NodeWebSocket.prototype.doWrite = function (packet, data) {
  if (typeof data !== "string") data = Buffer.concat([Buffer.from([4]), Buffer.from(data)]);
  return doWrite.call(this, packet, data);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
