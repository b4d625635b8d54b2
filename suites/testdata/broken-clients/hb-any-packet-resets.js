// broken client: engine.io-client resets its heartbeat deadline on every packet, not only on pings, so a server that sends messages but no pings is never detected
// suite: eio4
// expect: EIO-HB-09
// run: case:heartbeat-pong-polling || case:heartbeat-pong-websocket || case:heartbeat-pong-empty || case:heartbeat-no-pings || case:heartbeat-messages-no-pings
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const onPacket = eio.Socket.prototype._onPacket;
eio.Socket.prototype._onPacket = function (packet) {
  onPacket.call(this, packet);
  if (packet.type === "message" && this.readyState === "open") this._resetPingTimeout();
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
