// broken client: sends the pid but not the offset in its CONNECT after reconnecting (socket.io-client 4.8.4, Socket._sendConnectPacket patched)
// suite: sio5
// expect: NODE-CSR-03
// run: case:recovery-pid-offset
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket } = require(path.join(nm, "socket.io-client"));
Socket.prototype._sendConnectPacket = function (data) {
  this.packet({ type: 0, data: this._pid ? Object.assign({ pid: this._pid }, data) : data });
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
