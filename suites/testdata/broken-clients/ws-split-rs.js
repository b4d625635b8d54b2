// broken client: engine.io-client splits every incoming WebSocket text frame at 0x1E and decodes each part as a packet of its own
// suite: eio4
// expect: EIO-WS-02
// run: case:ws-rs-in || case:ws-rs-out || case:ws-control-ping-timeout || case:ws-control-engine-pong || case:websocket-only
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const WS = eio.transports.websocket;
const onData = WS.prototype.onData;
WS.prototype.onData = function (data) {
  if (typeof data !== "string" || !data.includes("\x1e")) return onData.call(this, data);
  for (const part of data.split("\x1e")) onData.call(this, part);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
