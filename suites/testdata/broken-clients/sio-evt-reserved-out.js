// broken client: emits events with reserved names (disconnect, connect...) instead of refusing them (socket.io-client 4.8.4, emit patched to write the packet itself)
// suite: sio5
// expect: SIO-EVT-03
// run: area:event
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const reserved = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];
const emit = Socket.prototype.emit;
Socket.prototype.emit = function (ev, ...args) {
  if (!reserved.includes(ev)) return emit.call(this, ev, ...args);
  this.packet({ type: 2, data: [ev, ...args], options: {} });
  return this;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
