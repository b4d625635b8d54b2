// broken client: on WebSocket writes a binary packet's attachments as text frames holding their base64 instead of binary frames (socket.io-client 4.8.4, Manager._packet patched)
// suite: sio5
// expect: SIO-BIN-10
// run: case:binary-websocket || case:binary-polling
// run is narrowed to the two SIO-BIN-10 cases: every binary spec that runs after the upgrade (SIO-BIN-01/02/03) loses its attachments to the same defect.
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket, Manager } = require(path.join(nm, "socket.io-client"));
Manager.prototype._packet = function (packet) {
  const encoded = this.encoder.encode(packet);
  const ws = this.engine.transport && this.engine.transport.name === "websocket";
  for (const e of encoded) {
    this.engine.write(ws && typeof e !== "string" ? Buffer.from(e).toString("base64") : e, packet.options);
  }
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
