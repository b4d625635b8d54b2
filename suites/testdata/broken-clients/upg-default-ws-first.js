// broken client: engine.io-client opens directly on WebSocket when websocket is among its transports, although the default is polling first, then the upgrade
// suite: eio4
// expect: EIO-UPG-01
// run: case:upgrade-default || case:websocket-only || case:ws-rs-out
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const open = eio.Socket.prototype._open;
eio.Socket.prototype._open = function () {
  if (Array.isArray(this.transports) && this.transports.includes("websocket")) {
    this.transports = ["websocket", ...this.transports.filter((t) => t !== "websocket")];
  }
  return open.call(this);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
