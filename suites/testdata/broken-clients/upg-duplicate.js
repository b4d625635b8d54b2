// broken client: engine.io-client delivers the last message it got over polling a second time when it switches to WebSocket
// suite: eio4
// expect: EIO-UPG-12
// run: case:upgrade-default || case:upgrade-default-completes || case:upgrade-probe || case:upgrade-pause || case:upgrade-stream || case:upgrade-refused || case:upgrade-forbidden || case:upgrade-stripped || case:upgrade-stalled || case:upgrade-probe-unanswered || case:websocket-only
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const onPacket = eio.Socket.prototype._onPacket;
eio.Socket.prototype._onPacket = function (packet) {
  if (packet.type === "message" && this.transport && this.transport.name === "polling") this._lastPolled = packet;
  return onPacket.call(this, packet);
};
const setTransport = eio.Socket.prototype.setTransport;
eio.Socket.prototype.setTransport = function (transport) {
  const upgrade = !!this.transport;
  setTransport.call(this, transport);
  const last = this._lastPolled;
  if (upgrade && last) {
    this._lastPolled = null;
    process.nextTick(() => onPacket.call(this, last));
  }
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
