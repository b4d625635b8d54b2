// broken client: sends emits made while its namespace is disconnected at once on a reconnected engine, before the CONNECT reply (socket.io-client 4.8.4, emit patched)
// suite: sio5
// expect: NODE-BUF-01
// run: case:buffer-while-disconnected
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket } = require(path.join(nm, "socket.io-client"));
const emit = Socket.prototype.emit;
Socket.prototype.emit = function (...args) {
  if (this.connected || this.io._readyState !== "open") return emit.apply(this, args);
  this.connected = true;
  try {
    return emit.apply(this, args);
  } finally {
    this.connected = false;
  }
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
