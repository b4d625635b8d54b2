// broken client: refuses an open packet with keys it does not know (closes the session as a parse error)
// suite: eio4
// expect: EIO-HS-11
// run: case:hs-extra-keys || case:hs-unknown-upgrade
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const known = new Set(["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]);
const onHandshake = eio.Socket.prototype.onHandshake;
eio.Socket.prototype.onHandshake = function (data) {
  if (Object.keys(data).some((k) => !known.has(k))) return this._onClose("parse error", new Error("unknown key in the open packet"));
  return onHandshake.call(this, data);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
