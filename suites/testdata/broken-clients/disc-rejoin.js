// broken client: joins a namespace again by itself 20 ms after the server's DISCONNECT (socket.io-client 4.8.4, ondisconnect patched)
// suite: sio5
// expect: SIO-DISC-01
// run: area:disconnect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
const ondisconnect = Socket.prototype.ondisconnect;
Socket.prototype.ondisconnect = function () {
  ondisconnect.call(this);
  setTimeout(() => this.connect(), 20);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
