// broken client: a v3 engine that POSTs its close packet with trailing data (2:1x) instead of 1:1
// suite: sio4
// expect: EIO3-09
// run: case:poll-v3-close || case:poll-payload
"use strict";
const path = require("path");
const parser = require(path.join(__dirname, "../../../testees/node/node_modules/socket.io-client-v2/node_modules/engine.io-parser"));

const encodePayload = parser.encodePayload;
parser.encodePayload = function (packets, supportsBinary, callback) {
  return encodePayload.call(this, packets.map((p) => (p.type === "close" ? { ...p, data: "x" } : p)), supportsBinary, callback);
};
require(path.join(__dirname, "../../../testees/node/testee/sio-v2.js"));
