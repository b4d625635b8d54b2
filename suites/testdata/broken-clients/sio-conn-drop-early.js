// broken client: drops events that arrive for a namespace before its CONNECT reply instead of holding them (socket.io-client 4.8.4, onevent patched)
// suite: sio5
// expect: SIO-CONN-13
// run: area:connect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const onevent = Socket.prototype.onevent;
Socket.prototype.onevent = function (packet) {
  if (!this.connected) return;
  return onevent.call(this, packet);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
