// broken client: after the upgrade engine.io-client keeps writing on its old polling transport (POSTs on the upgraded session) instead of moving its traffic to the WebSocket
// suite: eio4
// expect: EIO-UPG-05 EIO-UPG-12 NODE-TR-01
// run: case:upgrade-default || case:upgrade-default-completes || case:upgrade-probe || case:upgrade-pause || case:upgrade-stream || case:upgrade-refused || case:upgrade-forbidden || case:upgrade-stripped || case:upgrade-stalled || case:upgrade-probe-unanswered || case:websocket-only
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const { Socket } = eio;
const setTransport = Socket.prototype.setTransport;
Socket.prototype.setTransport = function (transport) {
  const old = this.transport;
  setTransport.call(this, transport);
  if (old && old.name === "polling") this._oldPolling = old;
};
const flush = Socket.prototype.flush;
Socket.prototype.flush = function () {
  const old = this._oldPolling;
  if (!old || !old.writable || !this.writeBuffer.length) return flush.call(this);
  const packets = this.writeBuffer.splice(0);
  old.send(packets);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
