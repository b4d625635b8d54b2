// broken client: surfaces every other server event 30 ms late, so events overtake each other (socket.io-client 4.8.4, emitEvent patched)
// suite: sio5
// expect: SIO-EVT-06
// run: area:event
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const emitEvent = Socket.prototype.emitEvent;
let n = 0;
Socket.prototype.emitEvent = function (args) {
  if (args[0] !== "siospec" && n++ % 2 === 0) return void setTimeout(() => emitEvent.call(this, args), 30);
  return emitEvent.call(this, args);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
