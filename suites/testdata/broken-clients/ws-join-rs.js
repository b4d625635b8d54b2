// broken client: engine.io-client writes the packets it flushes at once as one WebSocket text frame, joined with 0x1E as on polling
// suite: eio4
// expect: EIO-WS-02
// run: case:ws-rs-in || case:ws-rs-out || case:ws-control-ping-timeout || case:ws-control-engine-pong || case:websocket-only
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));
const parser = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-parser"));

const WS = eio.transports.websocket;
const write = WS.prototype.write;
WS.prototype.write = function (packets) {
  if (packets.length < 2 || packets.some((p) => typeof p.data !== "string" && p.data !== undefined)) {
    return write.call(this, packets);
  }
  this.writable = false;
  const parts = [];
  for (const p of packets) parser.encodePacket(p, false, (d) => parts.push(d));
  try {
    this.doWrite(packets[0], parts.join("\x1e"));
  } catch (e) {
    // closed meanwhile
  }
  process.nextTick(() => {
    this.writable = true;
    this.emitReserved("drain");
  });
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
