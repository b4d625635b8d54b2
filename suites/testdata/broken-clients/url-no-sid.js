// broken client: leaves the sid out of the WebSocket upgrade request, so the probe opens no upgrade of its session
// suite: eio4
// expect: EIO-URL-05
// run: case:url-eio || case:url-transport || case:url-sid || case:url-cache-buster
"use strict";
const path = require("path");
const eio = require(path.join(__dirname, "../../../testees/node/node_modules/engine.io-client"));

const createUri = eio.Transport.prototype.createUri;
eio.NodeWebSocket.prototype.createUri = function (schema, query) {
  const q = { ...query };
  delete q.sid;
  return createUri.call(this, schema, q);
};
require(path.join(__dirname, "../../../testees/node/testee/eio.js"));
