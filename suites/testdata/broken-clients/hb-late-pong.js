// broken client: engine.io-client answers each ping 1.5 s late, well beyond the reply budget (but before the server's own ping timeout in the pong cases)
// suite: eio4
// expect: EIO-HB-02
// run: case:heartbeat-pong-polling || case:heartbeat-pong-websocket || case:heartbeat-pong-empty
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const sendPacket = eio.Socket.prototype._sendPacket;
eio.Socket.prototype._sendPacket = function (type, ...rest) {
  if (type !== "pong") return sendPacket.call(this, type, ...rest);
  setTimeout(() => sendPacket.call(this, type, ...rest), 1500);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
