// broken client: engine.io-client takes a refused WebSocket upgrade as fatal: on upgradeError it closes the session ("transport error"), so the Manager reconnects instead of staying on polling
// suite: net
// expect: NET-FW-01 NET-FW-02
// run: req:NET-FW-01 || req:NET-FW-02
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const emit = eio.Socket.prototype.emitReserved;
eio.Socket.prototype.emitReserved = function (ev, ...args) {
  const r = emit.call(this, ev, ...args);
  if (ev === "upgradeError") this._onClose("transport error", args[0]);
  return r;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
