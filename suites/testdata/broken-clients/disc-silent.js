// broken client: leaves a namespace without sending DISCONNECT (socket.io-client 4.8.4, disconnect patched)
// suite: sio5
// expect: SIO-DISC-08
// run: area:disconnect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const disconnect = Socket.prototype.disconnect;
Socket.prototype.disconnect = function () {
  const packet = this.packet;
  this.packet = (p) => (p.type === 1 ? undefined : packet.call(this, p));
  try {
    return disconnect.call(this);
  } finally {
    this.packet = packet;
  }
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
