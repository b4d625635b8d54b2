// broken client: ignores a Socket.IO packet it cannot decode instead of ending the session (socket.io-client 4.8.4, Manager.ondata swallows decoder errors)
// suite: sio5
// expect: SIO-ERR-02
// run: case:bad-sio-json || case:bad-sio-type
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Manager } = require(path.join(nm, "socket.io-client"));
Manager.prototype.ondata = function (data) {
  try {
    this.decoder.add(data);
  } catch {
    // ignored: the broken part
  }
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
