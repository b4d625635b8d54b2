// broken client: keeps pending timed acks across a disconnection (socket.io-client 4.8.4, Socket._clearAcks patched to do nothing)
// suite: sio5
// expect: NODE-ACK-03
// run: case:ack-fail-on-disconnect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket } = require(path.join(nm, "socket.io-client"));
Socket.prototype._clearAcks = function () {};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
