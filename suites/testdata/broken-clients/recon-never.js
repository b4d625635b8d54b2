// broken client: never reconnects after a close it did not cause (socket.io-client 4.8.4, Manager.reconnect patched to do nothing)
// suite: sio5
// expect: NODE-RECON-01
// run: case:reconnect-transport-close || case:reconnect-server-restart || case:reconnect-ping-timeout
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Manager } = require(path.join(nm, "socket.io-client"));
Manager.prototype.reconnect = function () {
  return this;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
