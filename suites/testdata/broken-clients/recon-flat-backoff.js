// broken client: waits the same delay before every attempt: no exponential growth (socket.io-client 4.8.4, the backoff factor forced to 1)
// suite: sio5
// expect: NODE-RECON-02
// run: case:reconnect-backoff
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Manager } = require(path.join(nm, "socket.io-client"));
const reconnect = Manager.prototype.reconnect;
Manager.prototype.reconnect = function () {
  this.backoff.factor = 1;
  return reconnect.call(this);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
