// broken client: crashes on a packet of unknown type (engine.io-client 6.6.8, _onPacket throws on the parser's error packet)
// suite: eio4
// expect: EIO-PKT-01
// run: case:bad-packet-type
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket } = require(path.join(nm, "engine.io-client"));
const onPacket = Socket.prototype._onPacket;
Socket.prototype._onPacket = function (packet) {
  if (packet.type === "error") throw new Error("broken client: cannot handle " + JSON.stringify(packet));
  return onPacket.call(this, packet);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
