// broken client: writes a binary packet's attachments on the next timer tick, so other packets slip between header and attachments (socket.io-client 4.8.4, Manager._packet patched)
// suite: sio5
// expect: SIO-BIN-03
// run: area:binary && req:SIO-BIN-03
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
Manager.prototype._packet = function (packet) {
  const encoded = this.encoder.encode(packet);
  this.engine.write(encoded[0], packet.options);
  if (encoded.length > 1) setTimeout(() => encoded.slice(1).forEach((a) => this.engine.write(a, packet.options)), 0);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
