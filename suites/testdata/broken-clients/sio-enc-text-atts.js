// broken client: sends a binary packet's attachments as base64 text messages instead of binary messages (socket.io-client 4.8.4, Manager._packet patched)
// suite: sio5
// expect: SIO-ENC-01
// run: area:packet
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
Manager.prototype._packet = function (packet) {
  const encoded = this.encoder.encode(packet);
  for (let i = 0; i < encoded.length; i++) {
    const e = encoded[i];
    this.engine.write(typeof e === "string" ? e : Buffer.from(e).toString("base64"), packet.options);
  }
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
