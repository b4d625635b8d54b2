// broken client: ends every POST payload of several packets with an extra record separator 0x1E
// suite: eio4
// expect: EIO-POLL-02
// run: case:poll-payload
"use strict";
const path = require("path");
const parser = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-parser"));

const encodePayload = parser.encodePayload;
parser.encodePayload = function (packets, callback) {
  return encodePayload.call(this, packets, (data) => callback(packets.length > 1 ? data + "\x1e" : data));
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
