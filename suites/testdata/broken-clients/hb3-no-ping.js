// broken client: engine.io-client 3.5 never sends its v3 pings
// suite: eio3
// expect: EIO3-02
// run: case:heartbeat-client-pings || case:heartbeat-no-pongs
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client-v3"));

eio.prototype.ping = function () {};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
