// broken client: drops the EIO query parameter from every request after the handshake (the IOP-15 Swift bug)
// suite: sio5
// expect: EIO-URL-02
// run: case:url-eio || case:url-transport || case:url-sid || case:url-cache-buster
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const createUri = eio.Transport.prototype.createUri;
eio.Transport.prototype.createUri = function (schema, query) {
  const q = { ...query };
  if (q.sid) delete q.EIO;
  return createUri.call(this, schema, q);
};
require(path.join(__dirname, "../../../testees/node/testee/sio.js"));
