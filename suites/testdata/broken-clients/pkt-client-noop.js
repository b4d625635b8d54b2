// broken client: sends a noop (6) after every pong, a packet that only goes from server to client
// suite: eio4
// expect: EIO-PKT-04
// run: case:pkt-valid || case:pkt-direction
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const sendPacket = eio.Socket.prototype._sendPacket;
eio.Socket.prototype._sendPacket = function (type, ...rest) {
  sendPacket.call(this, type, ...rest);
  if (type === "pong") sendPacket.call(this, "noop");
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
