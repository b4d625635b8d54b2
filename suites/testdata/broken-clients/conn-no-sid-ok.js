// broken client: takes a CONNECT reply without sid for a successful connection (socket.io-client 4.8.4, onpacket patched)
// suite: sio5
// expect: SIO-CONN-12
// run: area:connect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const onpacket = Socket.prototype.onpacket;
Socket.prototype.onpacket = function (packet) {
  if (packet.type === 0 && packet.nsp === this.nsp && !(packet.data && packet.data.sid)) {
    packet = { ...packet, data: { sid: "made-up" } };
  }
  return onpacket.call(this, packet);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
