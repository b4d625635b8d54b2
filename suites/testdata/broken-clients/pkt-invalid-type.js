// broken client: after its message "pkt 2" it sends a packet of an unknown type (written "undefined")
// suite: eio4
// expect: EIO-PKT-01
// run: case:pkt-valid
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const sendPacket = eio.Socket.prototype._sendPacket;
eio.Socket.prototype._sendPacket = function (type, data, ...rest) {
  sendPacket.call(this, type, data, ...rest);
  if (type === "message" && data === "pkt 2") sendPacket.call(this, "bogus");
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
