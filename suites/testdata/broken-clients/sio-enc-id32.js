// broken client: reads ack ids as 32-bit unsigned integers, so an id of 2^32 or more is acknowledged under another id (socket.io-parser Decoder patched, the instance socket.io-client 4.8.4 uses)
// suite: sio5
// expect: SIO-ENC-05
// run: area:packet
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const parserPath = require.resolve("socket.io-parser", { paths: [path.join(nm, "socket.io-client")] });
const parser = require(parserPath);
const decodeString = parser.Decoder.prototype.decodeString;
parser.Decoder.prototype.decodeString = function (str) {
  const p = decodeString.call(this, str);
  if (typeof p.id === "number") p.id = p.id >>> 0;
  return p;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
