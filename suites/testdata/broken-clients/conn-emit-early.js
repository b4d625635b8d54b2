// broken client: emits on a namespace before its CONNECT reply instead of buffering (socket.io-client 4.8.4, emit patched)
// suite: sio5
// expect: SIO-CONN-01
// run: area:connect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const emit = Socket.prototype.emit;
Socket.prototype.emit = function (...args) {
  if (this.connected || args[0] === "siospec") return emit.apply(this, args);
  // Pretend to be connected while emitting, so the packet goes out at once.
  this.connected = true;
  try {
    return emit.apply(this, args);
  } finally {
    this.connected = false;
  }
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
