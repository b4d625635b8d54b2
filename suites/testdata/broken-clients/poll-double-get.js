// broken client: its third long-poll is sent twice, so two GETs of the session are in flight at once
// suite: eio4
// expect: EIO-POLL-17
// run: case:poll-in-flight
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const doPoll = eio.NodeXHR.prototype.doPoll;
let polls = 0;
eio.NodeXHR.prototype.doPoll = function () {
  doPoll.call(this);
  if (++polls === 3) doPoll.call(this);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
