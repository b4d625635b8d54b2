// broken client: rewrites the text it sends to Unicode NFD (é becomes e + U+0301), so text does not survive byte for byte
// suite: sio5
// expect: EIO-PKT-02
// run: case:pkt-valid || case:pkt-direction || case:pkt-utf8-polling || case:pkt-utf8-websocket || case:pkt-noop-polling || case:pkt-noop-websocket
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const sendPacket = eio.Socket.prototype._sendPacket;
eio.Socket.prototype._sendPacket = function (type, data, ...rest) {
  if (type === "message" && typeof data === "string") data = data.normalize("NFD");
  return sendPacket.call(this, type, data, ...rest);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
