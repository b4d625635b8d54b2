// broken client: engine.io-client probes the upgrade with "2prob" instead of "2probe", so the probe never succeeds
// suite: eio4
// expect: EIO-UPG-02
// run: case:upgrade-default || case:upgrade-probe || case:upgrade-refused || case:upgrade-forbidden || case:upgrade-stripped || case:upgrade-stalled || case:upgrade-probe-unanswered || case:websocket-only
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const WS = eio.transports.websocket;
const write = WS.prototype.write;
WS.prototype.write = function (packets) {
  return write.call(this, packets.map((p) => (p.type === "ping" && p.data === "probe" ? { ...p, data: "prob" } : p)));
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
