// broken client: ignores ack timeouts: an unacknowledged emit never fails (socket.io-client 4.8.4, Socket.timeout patched to do nothing)
// suite: sio5
// expect: NODE-ACK-01
// run: case:ack-timeout
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket } = require(path.join(nm, "socket.io-client"));
Socket.prototype.timeout = function () {
  return this;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
