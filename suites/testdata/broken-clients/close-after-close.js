// broken client: engine.io-client handles the packets after a close packet in a polling payload before the close, so a message that follows the close is surfaced
// suite: eio4
// expect: EIO-CLOSE-05
// run: case:close-polling || case:close-websocket || case:close-server-payload || case:close-sid-forgotten || case:error-poll-400
"use strict";
const path = require("path");
const parserPath = require.resolve("engine.io-parser", { paths: [path.join(__dirname, "../../../testees/node/node_modules/engine.io-client")] });
const parser = require(parserPath);

const decodePayload = parser.decodePayload;
parser.decodePayload = function (...args) {
  const packets = decodePayload.apply(this, args);
  return packets.filter((p) => p.type !== "close").concat(packets.filter((p) => p.type === "close"));
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
