// broken client: never gives up: reconnectionAttempts ignored (socket.io-client 4.8.4, Manager.reconnectionAttempts patched to store Infinity)
// suite: sio5
// expect: NODE-RECON-03
// run: case:reconnect-give-up
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Manager } = require(path.join(nm, "socket.io-client"));
Manager.prototype.reconnectionAttempts = function (v) {
  if (v === undefined) return this._reconnectionAttempts;
  this._reconnectionAttempts = Infinity;
  return this;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
