// broken client: engine.io-client's heartbeat deadline is pingTimeout alone instead of pingInterval+pingTimeout
// suite: sio5
// expect: EIO-HB-04 EIO-HB-09
// run: case:heartbeat-no-pings || case:heartbeat-messages-no-pings
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

eio.Socket.prototype._resetPingTimeout = function () {
  this.clearTimeoutFn(this._pingTimeoutTimer);
  this._pingTimeoutTime = Date.now() + this._pingTimeout;
  this._pingTimeoutTimer = this.setTimeoutFn(() => this._onClose("ping timeout"), this._pingTimeout);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
