// broken client: surfaces every noop (6) from the server as an empty message
// suite: eio4
// expect: EIO-PKT-07
// run: case:pkt-valid || case:pkt-direction || case:pkt-utf8-polling || case:pkt-utf8-websocket || case:pkt-noop-polling || case:pkt-noop-websocket
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const onPacket = eio.Socket.prototype._onPacket;
eio.Socket.prototype._onPacket = function (packet) {
  onPacket.call(this, packet);
  if (packet.type === "noop" && this.readyState === "open") this.emitReserved("message", "");
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
