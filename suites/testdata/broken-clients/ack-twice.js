// broken client: sends every ack twice (socket.io-client 4.8.4, ack patched to skip its double-call guard)
// suite: sio5
// expect: SIO-ACK-01
// run: area:ack
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
Socket.prototype.ack = function (id) {
  return (...args) => {
    this.packet({ type: 3, id, data: args });
    this.packet({ type: 3, id, data: args });
  };
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
