// broken client: retries a namespace by itself 50 ms after its CONNECT_ERROR (socket.io-client 4.8.4, onpacket patched)
// suite: sio5
// expect: SIO-CONN-14
// run: area:connect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const onpacket = Socket.prototype.onpacket;
Socket.prototype.onpacket = function (packet) {
  const r = onpacket.call(this, packet);
  if (packet.type === 4 && packet.nsp === this.nsp) setTimeout(() => this.connect(), 50);
  return r;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
