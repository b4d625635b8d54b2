// broken client: writes v3 payload lengths in UTF-8 bytes instead of UTF-16 code units (€ becomes 4:4€, not 2:4€)
// suite: sio4
// expect: EIO3-03
// run: case:poll-payload
"use strict";
const path = require("path");
const parser = require(path.join(__dirname, "../../../testees/node/node_modules/socket.io-client-v2/node_modules/engine.io-parser"));

// relength rewrites "<len>:<packet>" records (len in UTF-16 units) with byte lengths.
function relength(s) {
  let out = "";
  for (let i = 0; i < s.length; ) {
    const colon = s.indexOf(":", i);
    if (colon < 0) return s;
    const n = Number(s.slice(i, colon));
    const rec = s.slice(colon + 1, colon + 1 + n);
    out += Buffer.byteLength(rec) + ":" + rec;
    i = colon + 1 + n;
  }
  return out;
}
const encodePayload = parser.encodePayload;
parser.encodePayload = function (packets, supportsBinary, callback) {
  return encodePayload.call(this, packets, supportsBinary, (data) => callback(typeof data === "string" ? relength(data) : data));
};
require(path.join(__dirname, "../../../testees/node/testee/sio-v2.js"));
