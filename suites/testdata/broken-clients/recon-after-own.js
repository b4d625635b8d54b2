// broken client: reconnects after its own disconnect or close, the server's DISCONNECT and CONNECT_ERROR (socket.io-client 4.8.4, Manager._close patched to leave skipReconnect unset)
// suite: sio5
// expect: NODE-RECON-01
// run: case:no-reconnect-client-disconnect || case:no-reconnect-client-close || case:no-reconnect-server-disconnect || case:no-reconnect-connect-error
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Manager } = require(path.join(nm, "socket.io-client"));
Manager.prototype._close = function () {
  this._reconnecting = false;
  this.onclose("forced close");
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
