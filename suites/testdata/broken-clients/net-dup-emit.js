// broken client: socket.io-client writes the packet of stream event seq 7 twice, so the server receives it twice
// suite: net
// expect: NET-FW-01 NET-STRIP-01 NET-AV-01 NET-IDLE-01 NET-LB-02 NET-LB-03 NET-3G-01 NET-RES-01
// run: req:NET-FW-01 || req:NET-STRIP-01 || req:NET-AV-01 || req:NET-IDLE-01 || req:NET-LB-02 || req:NET-LB-03 || req:NET-3G-01 || req:NET-RES-01
"use strict";
const path = require("path");
const { Manager } = require(path.join(__dirname, "../../../testees/node/node_modules/socket.io-client"));

const packet = Manager.prototype._packet;
Manager.prototype._packet = function (p) {
  packet.call(this, p);
  const d = p && p.data;
  if (Array.isArray(d) && d[0] === "net:seq" && d[1] && d[1].seq === 7) packet.call(this, p);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
