// broken client: acknowledges binary arguments as their JSON form ({"type":"Buffer","data":[...]}) in a plain ACK instead of a BINARY_ACK with placeholders (socket.io-client 4.8.4, ack patched)
// suite: sio5
// expect: SIO-ACK-03
// run: area:ack
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const ack = Socket.prototype.ack;
Socket.prototype.ack = function (id) {
  const send = ack.call(this, id);
  return (...args) => send(...JSON.parse(JSON.stringify(args)));
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
