// broken client: engine.io-client never sends its pong, so the server's pings go unanswered
// suite: sio5
// expect: EIO-HB-02
// run: case:heartbeat-pong-polling || case:heartbeat-pong-websocket || case:heartbeat-no-pings || case:heartbeat-messages-no-pings
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const sendPacket = eio.Socket.prototype._sendPacket;
eio.Socket.prototype._sendPacket = function (type, ...rest) {
  if (type === "pong") return;
  return sendPacket.call(this, type, ...rest);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
