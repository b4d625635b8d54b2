// broken client: engine.io-client answers each ping with a pong that carries data ("3x" instead of "3")
// suite: eio4
// expect: EIO-HB-07
// run: case:heartbeat-pong-polling || case:heartbeat-pong-websocket || case:heartbeat-pong-empty || case:heartbeat-no-pings || case:heartbeat-messages-no-pings
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const sendPacket = eio.Socket.prototype._sendPacket;
eio.Socket.prototype._sendPacket = function (type, data, ...rest) {
  return sendPacket.call(this, type, type === "pong" ? "x" : data, ...rest);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
