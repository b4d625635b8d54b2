// broken client: when the Engine.IO session closes, disconnects only the main namespace; the others stay "connected" (socket.io-client 4.8.4, onclose patched)
// suite: sio5
// expect: SIO-DISC-07
// run: area:disconnect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const onclose = Socket.prototype.onclose;
Socket.prototype.onclose = function (reason, description) {
  if (this.nsp !== "/" && reason !== "io server disconnect" && reason !== "io client disconnect") return;
  return onclose.call(this, reason, description);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
