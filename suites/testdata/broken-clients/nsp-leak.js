// broken client: surfaces packets of namespaces it has not joined on its main namespace socket (socket.io-client 4.8.4, onpacket patched)
// suite: sio5
// expect: SIO-NSP-08
// run: area:namespace
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const onpacket = Socket.prototype.onpacket;
Socket.prototype.onpacket = function (packet) {
  if (this.nsp === "/" && packet.nsp !== "/" && !this.io.nsps[packet.nsp]) packet = { ...packet, nsp: "/" };
  return onpacket.call(this, packet);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
