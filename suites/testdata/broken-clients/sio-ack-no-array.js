// broken client: acknowledges with no arguments as 3<id> with no payload instead of the empty array [] (socket.io-client 4.8.4, ack patched)
// suite: sio5
// expect: SIO-ACK-02
// run: area:ack
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
Socket.prototype.ack = function (id) {
  let sent = false;
  return (...args) => {
    if (sent) return;
    sent = true;
    this.packet({ type: 3, id, data: args.length ? args : undefined });
  };
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
