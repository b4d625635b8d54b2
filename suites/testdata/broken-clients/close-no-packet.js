// broken client: engine.io-client closes its polling transport without POSTing the close packet (1)
// suite: eio4
// expect: EIO-CLOSE-01
// run: case:close-polling || case:close-websocket || case:close-server-payload || case:close-sid-forgotten || case:error-poll-400
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const Polling = Object.getPrototypeOf(Object.getPrototypeOf(eio.transports.polling.prototype));
Polling.doClose = function () {};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
