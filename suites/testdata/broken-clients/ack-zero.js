// broken client: tests the ack id for truthiness, so an event with id 0 is never acknowledged (IOP-08; socket.io-client 4.8.4, onevent patched)
// suite: sio5
// expect: SIO-ACK-04
// run: area:ack
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const onevent = Socket.prototype.onevent;
Socket.prototype.onevent = function (packet) {
  if (!packet.id) packet = { ...packet, id: undefined };
  return onevent.call(this, packet);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
