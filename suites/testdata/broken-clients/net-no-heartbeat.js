// broken client: engine.io-client never arms its heartbeat deadline, so a silently dead connection (half-open) is never detected
// suite: net
// expect: NET-HO-02
// run: req:NET-HO-02
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

eio.Socket.prototype._resetPingTimeout = function () {
  this.clearTimeoutFn(this._pingTimeoutTimer);
  this._pingTimeoutTime = Infinity;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
