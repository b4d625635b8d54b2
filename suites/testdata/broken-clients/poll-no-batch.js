// broken client: flushes one packet per POST even when several are queued
// suite: eio4
// expect: EIO-POLL-18
// run: case:poll-payload || case:poll-in-flight || case:poll-batch
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const getWritable = eio.Socket.prototype._getWritablePackets;
eio.Socket.prototype._getWritablePackets = function () {
  return getWritable.call(this).slice(0, 1);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
