// broken client: sends every CONNECT without its auth payload (socket.io-client 4.8.4 with _sendConnectPacket patched)
// suite: sio5
// expect: SIO-CONN-01
// run: area:connect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
Socket.prototype._sendConnectPacket = function () {
  this.packet({ type: 0 });
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
