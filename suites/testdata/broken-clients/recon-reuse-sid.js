// broken client: reconnects by reusing the closed session's sid instead of a new handshake (engine.io-client 6.6.8 under socket.io-client 4.8.4, createTransport patched)
// suite: sio5
// expect: NODE-RECON-04
// run: case:reconnect-new-handshake
"use strict";
const path = require("path");
const nm = path.join(__dirname, "../../../testees/node/node_modules");
const { Socket } = require(path.join(nm, "engine.io-client"));
let lastSid = null;
const createTransport = Socket.prototype.createTransport;
Socket.prototype.createTransport = function (name) {
  if (this.id) lastSid = this.id;
  const t = createTransport.call(this, name);
  if (!this.id && lastSid) t.query.sid = lastSid;
  return t;
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
