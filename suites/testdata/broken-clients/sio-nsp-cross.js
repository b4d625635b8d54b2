// broken client: surfaces events of every joined namespace on the main namespace socket too (packets not kept apart by namespace; socket.io-client 4.8.4, onpacket patched)
// suite: sio5
// expect: SIO-NSP-02
// run: area:namespace
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const onpacket = Socket.prototype.onpacket;
Socket.prototype.onpacket = function (packet) {
  const cross = this.nsp === "/" && packet.nsp !== "/" && packet.type === 2 && this.io.nsps[packet.nsp] && Array.isArray(packet.data) && packet.data[0] !== "siospec";
  return onpacket.call(this, cross ? { ...packet, nsp: "/", id: undefined } : packet);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
