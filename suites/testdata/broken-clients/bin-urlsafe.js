// broken client: writes polling binary as b plus URL-safe base64 without padding instead of standard padded base64
// suite: eio4
// expect: EIO-BIN-01
// run: case:bin-polling || case:bin-mixed
"use strict";
const path = require("path");
const parser = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-parser"));

const urlsafe = (rec) => (rec[0] === "b" ? "b" + Buffer.from(rec.slice(1), "base64").toString("base64url") : rec);
const encodePayload = parser.encodePayload;
parser.encodePayload = function (packets, callback) {
  return encodePayload.call(this, packets, (data) => callback(data.split("\x1e").map(urlsafe).join("\x1e")));
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
