// broken client: hangs on an undecodable polling payload: stops polling without closing (engine.io-client 6.6.8, _onPacket drops the transport on the parser's error packet)
// suite: eio4
// expect: EIO-POLL-02
// run: case:bad-payload
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket } = require(path.join(nm, "engine.io-client"));
const onPacket = Socket.prototype._onPacket;
Socket.prototype._onPacket = function (packet) {
  if (packet.type !== "error") return onPacket.call(this, packet);
  this.transport.removeAllListeners();
  this.transport.onPacket = () => {};
  this.transport.poll = () => {};
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
