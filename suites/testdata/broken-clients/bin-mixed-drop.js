// broken client: drops the binary packets of a polling payload that also holds text (the IOP-01 class of payload bugs)
// suite: eio4
// expect: EIO-BIN-02
// run: case:bin-mixed || case:bin-polling
"use strict";
const path = require("path");
const parser = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-parser"));

const isText = (p) => p.type === "message" && typeof p.data === "string";
const decodePayload = parser.decodePayload;
parser.decodePayload = function (data, binaryType) {
  const pkts = decodePayload.call(this, data, binaryType);
  return pkts.some(isText) ? pkts.filter((p) => p.type !== "message" || isText(p)) : pkts;
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
