// broken client: engine.io-client ignores the close of its transport connection (no "close" from the transport), so a cut connection or a crashed server is noticed only by the heartbeat
// suite: net
// expect: NET-IDLE-02 NET-CRASH-01
// run: req:NET-IDLE-02 || req:NET-CRASH-01
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

eio.Transport.prototype.onClose = function () {
  this.readyState = "closed";
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
