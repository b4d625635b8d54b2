// broken client: accepts events with reserved names from the server (42["disconnect"]) and surfaces them, firing its own disconnect listeners, instead of refusing the packet (socket.io-parser Decoder.isPayloadValid patched, the instance socket.io-client 4.8.4 uses)
// suite: sio5
// expect: SIO-EVT-03
// run: area:event
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const parserPath = require.resolve("socket.io-parser", { paths: [path.join(nm, "socket.io-client")] });
const parser = require(parserPath);
const isPayloadValid = parser.Decoder.isPayloadValid;
parser.Decoder.isPayloadValid = function (type, payload) {
  if ((type === 2 || type === 5) && Array.isArray(payload) && typeof payload[0] === "string") return true;
  return isPayloadValid.call(this, type, payload);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
