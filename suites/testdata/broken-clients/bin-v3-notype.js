// broken client: a v3 engine that leaves out the type byte 0x04 of binary WebSocket frames
// suite: eio3
// expect: EIO3-07
// run: case:bin-websocket || case:bin-mixed
"use strict";
const path = require("path");
const WebSocket = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client-v3/node_modules/ws"));

const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data, ...rest) {
  if (typeof data !== "string" && data.length > 0 && data[0] === 4) data = data.slice(1);
  return send.call(this, data, ...rest);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
