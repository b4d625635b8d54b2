// broken client: reads a CONNECT_ERROR payload as the v4 string form, so the object form {"message":...} surfaces with its JSON text as the message (socket.io-client 4.8.4, onpacket patched)
// suite: sio5
// expect: SIO-ERR-03
// run: area:errors
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const onpacket = Socket.prototype.onpacket;
Socket.prototype.onpacket = function (packet) {
  if (packet.type === 4 && packet.data && typeof packet.data === "object") packet = { ...packet, data: { message: JSON.stringify(packet.data) } };
  return onpacket.call(this, packet);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
