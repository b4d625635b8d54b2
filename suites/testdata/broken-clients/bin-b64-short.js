// broken client: a v3 engine that loses the last byte of every b4 base64 binary packet it decodes
// suite: eio3
// expect: EIO3-04
// run: case:bin-b64 || case:bin-websocket
"use strict";
const path = require("path");
const parser = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client-v3/node_modules/engine.io-parser"));

const decodeBase64Packet = parser.decodeBase64Packet;
parser.decodeBase64Packet = function (msg, binaryType) {
  const p = decodeBase64Packet.call(this, msg, binaryType);
  if (p && p.data && typeof p.data !== "string") p.data = p.data.slice(0, -1);
  return p;
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
