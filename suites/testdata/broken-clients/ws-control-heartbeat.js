// broken client: engine.io-client takes every WebSocket control ping for a heartbeat and resets its ping timeout on it
// suite: sio5
// expect: EIO-WS-07
// run: case:ws-rs-in || case:ws-rs-out || case:ws-control-ping-timeout || case:ws-control-engine-pong || case:websocket-only
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const WS = eio.transports.websocket;
const addEventListeners = WS.prototype.addEventListeners;
WS.prototype.addEventListeners = function () {
  addEventListeners.call(this);
  if (typeof this.ws.on === "function") {
    this.ws.on("ping", () => this.socket._resetPingTimeout());
  }
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
