// broken client: writes an event emitted without arguments as [name,null] instead of [name] (socket.io-client 4.8.4, emit patched)
// suite: sio5
// expect: SIO-EVT-01
// run: area:event
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const emit = Socket.prototype.emit;
Socket.prototype.emit = function (ev, ...args) {
  return args.length === 0 ? emit.call(this, ev, null) : emit.call(this, ev, ...args);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
