// broken client: after a reconnection joins only the main namespace again (socket.io-client 4.8.4, Socket.onopen patched for other namespaces)
// suite: sio5
// expect: SIO-CONN-15
// run: case:reconnect-namespaces
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket } = require(path.join(nm, "socket.io-client"));
const onopen = Socket.prototype.onopen;
Socket.prototype.onopen = function () {
  if (this.nsp !== "/" && this.siospecJoined) return;
  this.siospecJoined = true;
  return onopen.call(this);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
