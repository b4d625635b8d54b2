// broken client: ignores the advertised maxPayload and POSTs everything it has queued at once
// suite: sio5
// expect: EIO-LIMIT-04
// run: case:limit-post-size || case:poll-batch
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

eio.Socket.prototype._getWritablePackets = function () {
  return this.writeBuffer;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
