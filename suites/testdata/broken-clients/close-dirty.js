// broken client: the client's own close surfaces as a transport error (xhr poll error), as when a GET answered 400 after the close packet is taken for the cause; the close packet is still sent
// suite: eio4
// expect: EIO-CLOSE-01
// run: case:close-polling || case:close-websocket || case:close-server-payload || case:close-sid-forgotten || case:error-poll-400
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

eio.Socket.prototype.close = function () {
  const fail = () => this._onError(new Error("xhr poll error"));
  if (this.readyState === "opening" || this.readyState === "open") {
    this.readyState = "closing";
    if (this.writeBuffer.length) this.once("drain", fail);
    else fail();
  }
  return this;
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
