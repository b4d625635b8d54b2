// broken client: leaves null arguments out of the events it emits (socket.io-client 4.8.4, emit patched)
// suite: sio5
// expect: SIO-EVT-05
// run: area:event
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const emit = Socket.prototype.emit;
Socket.prototype.emit = function (ev, ...args) {
  return emit.call(this, ev, ...args.filter((a) => a !== null));
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
