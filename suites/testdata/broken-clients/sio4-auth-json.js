// broken client: sends a namespace's credentials as a JSON CONNECT payload (40/admin,{"token":"abc"}) instead of a query after the namespace (socket.io-client 2.5.0, onopen patched)
// suite: sio4
// expect: SIO4-03
// run: area:connect
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const v2 = path.join(nm, "socket.io-client-v2");
const Socket = require(path.join(v2, "lib/socket.js"));
Socket.prototype.onopen = function () {
  if (this.nsp === "/") return;
  this.packet(this.query ? { type: 0, data: this.query } : { type: 0 });
};
require(path.join(__dirname, "../../../testees/node/testee/sio-v2.js"));
