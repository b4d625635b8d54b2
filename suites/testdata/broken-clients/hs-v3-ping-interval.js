// broken client: a v3 engine that pings every 3 x the advertised pingInterval instead of every pingInterval
// suite: sio4
// expect: EIO-HS-11
// run: case:hs-extra-keys || case:hs-unknown-upgrade
"use strict";
const path = require("path");
const Socket = require(path.join(__dirname, "../../../testees/node/node_modules/socket.io-client-v2/node_modules/engine.io-client/lib/socket.js"));

const onHandshake = Socket.prototype.onHandshake;
Socket.prototype.onHandshake = function (data) {
  onHandshake.call(this, data);
  this.pingInterval = 3 * data.pingInterval;
};
require(path.join(__dirname, "../../../testees/node/testee/sio-v2.js"));
