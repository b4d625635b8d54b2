// broken client: engine.io-client's heartbeat deadline is pingTimeout alone instead of pingInterval+pingTimeout, so every trial of seeded latency ends in a ping timeout
// suite: net
// expect: NET-RES-02
// run: req:NET-RES-02
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

eio.Socket.prototype._resetPingTimeout = function () {
  this.clearTimeoutFn(this._pingTimeoutTimer);
  this._pingTimeoutTime = Date.now() + this._pingTimeout;
  this._pingTimeoutTimer = this.setTimeoutFn(() => this._onClose("ping timeout"), this._pingTimeout);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
