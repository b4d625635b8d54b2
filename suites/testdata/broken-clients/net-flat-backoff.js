// broken client: socket.io-client waits a flat 50 ms before every reconnection attempt instead of its jittered exponential backoff
// suite: net
// expect: NET-CRASH-02 NET-LB-04
// run: req:NET-CRASH-02 || req:NET-LB-04
"use strict";
const path = require("path");
const { Backoff } = require(path.join(__dirname, "../../../testees/node/node_modules/socket.io-client/build/cjs/contrib/backo2.js"));

Backoff.prototype.duration = function () {
  this.attempts++;
  return 50;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
