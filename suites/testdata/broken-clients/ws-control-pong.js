// broken client: on WebSocket engine.io-client answers the server's Engine.IO pings with a WebSocket control pong instead of a text frame 3
// suite: eio4
// expect: EIO-WS-07
// run: case:ws-rs-in || case:ws-rs-out || case:ws-control-ping-timeout || case:ws-control-engine-pong || case:websocket-only
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const sendPacket = eio.Socket.prototype._sendPacket;
eio.Socket.prototype._sendPacket = function (type, ...rest) {
  const t = this.transport;
  if (type === "pong" && t && t.name === "websocket" && t.ws && typeof t.ws.pong === "function") {
    t.ws.pong();
    return;
  }
  return sendPacket.call(this, type, ...rest);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
