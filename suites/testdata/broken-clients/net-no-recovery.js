// broken client: socket.io-client never sends the pid and offset it was given in its CONNECT, so a server with connection state recovery cannot restore its session
// suite: net
// expect: NET-HO-04 NET-CRASH-04
// run: req:NET-HO-04 || req:NET-CRASH-04
"use strict";
const path = require("path");
const { Socket } = require(path.join(__dirname, "../../../testees/node/node_modules/socket.io-client"));

Socket.prototype._sendConnectPacket = function (data) {
  this.packet({ type: 0, data });
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
